"""The one orphan path (worker/reaper.py, #11 item 3): a run whose worker's lease expired and a
statement whose server stopped heartbeating, orphaned at the same time, are both resolved by one
reaper round, each through its own domain's gate (run policy: FAILED `worker_lost`; statement
transitions: FAILED `server_lost`), with their catalog tokens revoked and the reaper named in
their timelines. On SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
import time
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from sadeem.auth import service as auth_service
from sadeem.auth.models import ApiToken, User
from sadeem.config import Settings
from sadeem.core.clock import utcnow
from sadeem.db.engine import Database
from sadeem.runs.models import Run, RunAttempt, RunState, RunTransition
from sadeem.statements.models import Statement, StatementState, StatementTransition
from sadeem.worker import queue, reaper
from sadeem.workspaces.models import Workspace
from tests.conftest import World, bearer


def _orphaned_statement(db: Database, silent_seconds: float) -> str:
    """A RUNNING statement of a server process that stopped `silent_seconds` ago."""
    public_id = secrets.token_hex(16)
    with db.writes() as session:
        workspace_id = session.scalars(select(Workspace.id).where(Workspace.slug == "alpha")).one()
        owner = session.scalars(select(User.id).where(User.username == "ws_editor")).one()
        token = auth_service.issue_run_token(
            session, owner, f"statement {public_id}", timedelta(hours=1), workspace_id=workspace_id
        )
        session.flush()
        session.add(
            Statement(
                public_id=public_id,
                workspace_id=workspace_id,
                user_id=owner,
                sql="SELECT 1",
                engine="duckdb",
                parameters={},
                timeout_seconds=900,
                state=StatementState.RUNNING,
                executor_id="gone-host:4242:dead",
                started_at=utcnow() - timedelta(seconds=silent_seconds),
                heartbeat_at=utcnow() - timedelta(seconds=silent_seconds),
                token_id=token.token.id,
            )
        )
        session.commit()
    return public_id


def _run_of_a_lost_worker(app: FastAPI, world: World, db: Database) -> int:
    """A RUNNING run whose worker claimed it with a lease it never renewed."""
    client = TestClient(app)  # no lifespan: this server's own reaper stays off
    headers = bearer(world.tokens["ws_editor"])
    created = client.post(
        "/api/v1/workspaces/alpha/jobs",
        json={"name": "lost", "task": {"type": "sql", "engine": "duckdb", "sql": "SELECT 1"}},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    submitted = client.post("/api/v1/workspaces/alpha/jobs/lost/runs", json={}, headers=headers)
    assert submitted.status_code in (200, 201), submitted.text
    (claim,) = queue.claim(db, "gone-worker", 0.05, 1)
    time.sleep(0.1)  # the lease runs out; nobody renews it
    return claim.run_id


def test_a_run_and_a_statement_orphaned_at_once_are_both_reaped_by_one_round(
    app: FastAPI, world: World, settings: Settings, db: Database
) -> None:
    after = settings.statement_orphan_after_seconds
    run_id = _run_of_a_lost_worker(app, world, db)
    statement_id = _orphaned_statement(db, after + 30)
    alive = _orphaned_statement(db, 1)  # its server beat a second ago

    reaped = reaper.reap(db, "one", after)

    assert reaped.runs == [(run_id, RunState.FAILED)]
    assert reaped.statements == [statement_id]
    with db.reads() as session:
        run = session.get(Run, run_id)
        assert run is not None
        assert (run.state, run.state_reason) == (RunState.FAILED, "worker_lost")
        attempt = session.scalars(select(RunAttempt).where(RunAttempt.run_id == run_id)).one()
        run_token = session.scalars(select(ApiToken).where(ApiToken.public_id == attempt.token_id)).one()
        assert run_token.revoked_at is not None
        run_timeline = session.scalars(
            select(RunTransition).where(RunTransition.run_id == run_id).order_by(RunTransition.id)
        ).all()
        assert (run_timeline[-1].to_state, run_timeline[-1].actor) == (RunState.FAILED, "reaper:one")

        for public_id, state in ((statement_id, StatementState.FAILED), (alive, StatementState.RUNNING)):
            statement = session.scalars(select(Statement).where(Statement.public_id == public_id)).one()
            token = session.get(ApiToken, statement.token_id)
            assert token is not None
            assert statement.state is state and (token.revoked_at is not None) is (
                state is StatementState.FAILED
            )
        statement = session.scalars(select(Statement).where(Statement.public_id == statement_id)).one()
        assert statement.error_message == "The server process running this statement stopped; run it again."
        change = session.scalars(
            select(StatementTransition).where(StatementTransition.statement_id == statement.id)
        ).one()
        assert (change.from_state, change.to_state, change.reason, change.actor) == (
            StatementState.RUNNING,
            StatementState.FAILED,
            "server_lost",
            "reaper:one",
        )

    again = reaper.reap(db, "two", after)  # nothing twice
    assert (again.runs, again.statements) == ([], [])
