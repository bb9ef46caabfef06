"""How many statements one user and one workspace may have queued or running at once (security
issue #10 item 7: one viewer could take every slot and deny the worksheet to everyone). A real
uvicorn with one statement slot, so one endless DuckDB query runs and the others wait QUEUED; on
SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from sadeem.app import create_app
from sadeem.audit.models import AuditEvent
from sadeem.auth.models import ApiToken, User
from sadeem.config import Settings
from sadeem.db.engine import Database
from sadeem.statements.models import Statement
from tests.conftest import World, live_uvicorn
from tests.jobs_support import Platform
from tests.statements_support import submit, wait_for
from tests.test_statements_execution import ENDLESS, cancel, start, statement, wait_until

PER_USER, PER_WORKSPACE = 2, 3


@pytest.fixture
def limited(world: World, settings: Settings, db: Database) -> Iterator[Platform]:
    small = settings.model_copy(
        update={
            "statement_slots": 1,
            "statement_max_concurrent_per_user": PER_USER,
            "statement_max_concurrent_per_workspace": PER_WORKSPACE,
        }
    )
    app = create_app(small, db)
    with live_uvicorn(app) as base_url:
        app.state.statements.catalog_url = f"{base_url}/iceberg"
        yield Platform(base_url, world, small, db)


def queued(p: Platform, sql: str, who: str, workspace: str = "alpha") -> str:
    response = submit(p, sql, who, workspace, wait_timeout=0)
    assert response.status_code == 200, response.text
    assert response.json()["state"] in ("QUEUED", "RUNNING"), response.json()
    statement_id: str = response.json()["id"]
    return statement_id


def assert_too_many(response: httpx.Response, limit: int, setting: str) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    problem: dict[str, Any] = response.json()
    assert problem["type"] == "urn:sadeem:problem:too-many-requests"
    assert problem["title"] == "Too Many Requests"
    assert problem["limit"] == limit and problem["active"] == limit, problem
    assert setting in problem["detail"] and f"at most {limit} at once" in problem["detail"], problem
    return problem


def counts(db: Database, username: str) -> tuple[int, int, int]:
    """The user's statements, API tokens, and successful audit events."""
    with db.reads() as session:
        user = session.scalars(select(User.id).where(User.username == username)).one()
        return (
            session.scalar(select(func.count()).select_from(Statement).where(Statement.user_id == user)) or 0,
            session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user)) or 0,
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.actor == username, AuditEvent.outcome == "success")
            )
            or 0,
        )


def last_outcomes(db: Database, username: str, n: int) -> list[tuple[str, int | None]]:
    with db.reads() as session:
        last = session.scalars(
            select(AuditEvent).where(AuditEvent.actor == username).order_by(AuditEvent.seq.desc()).limit(n)
        ).all()
        return [(e.outcome, e.status_code) for e in last]


def test_a_viewer_cannot_take_every_slot(limited: Platform) -> None:
    p = limited
    # The viewer fills its allowance: one statement runs (the only slot), the next waits.
    endless = start(p, ENDLESS, "ws_viewer")
    waiting = queued(p, "SELECT 1 AS one", "ws_viewer")

    before = counts(p.db, "ws_viewer")
    refused = submit(p, "SELECT 2 AS two", "ws_viewer", wait_timeout=0)
    problem = assert_too_many(refused, PER_USER, "statement_max_concurrent_per_user")
    assert f"You have {PER_USER} statements queued or running" in problem["detail"]
    # EXPLAIN runs a statement too, so it counts against the same allowance.
    explained = httpx.post(
        f"{p.base_url}/api/v1/workspaces/alpha/statements/explain",
        json={"sql": "SELECT 3"},
        headers=p.world.headers("ws_viewer"),
        timeout=60,
    )
    assert_too_many(explained, PER_USER, "statement_max_concurrent_per_user")
    # Nothing was created (no statement, no catalog token), nothing audited as a success.
    assert counts(p.db, "ws_viewer") == before
    # The audit safety net records a refused request once its response is sent: wait for it.
    wait_until(lambda: last_outcomes(p.db, "ws_viewer", 2) == [("failure", 429)] * 2, 5, "both 429s audited")
    assert counts(p.db, "ws_viewer") == before

    # Another user of the workspace still gets in, up to the workspace's limit…
    editors = queued(p, "SELECT 4 AS four", "ws_editor")
    full = submit(p, "SELECT 5 AS five", "ws_editor", wait_timeout=0)
    problem = assert_too_many(full, PER_WORKSPACE, "statement_max_concurrent_per_workspace")
    assert "Workspace 'alpha'" in problem["detail"]
    # …and another workspace is not limited by this one.
    elsewhere = queued(p, "SELECT 6 AS six", "outsider", workspace="beta")

    # Once the viewer cancels, it may submit again, and everything that waited runs.
    assert cancel(p, endless, "ws_viewer").json()["state"] == "CANCELLED"
    again = submit(p, "SELECT 7 AS seven", "ws_viewer", wait_timeout=30)
    assert again.status_code == 200, again.text
    assert wait_for(p, again.json()["id"], "ws_viewer")["state"] == "SUCCEEDED"
    for statement_id, who in ((waiting, "ws_viewer"), (editors, "ws_editor")):
        assert wait_for(p, statement_id, who)["state"] == "SUCCEEDED"
    assert statement(p, elsewhere, "outsider", "beta")["state"] in ("QUEUED", "RUNNING", "SUCCEEDED")


def test_simultaneous_submits_cannot_overrun_the_limit(limited: Platform) -> None:
    """Parallel submits by one user: exactly the allowance is accepted (the user's and workspace's
    rows are locked while counting on PostgreSQL; SQLite serializes writers)."""
    p = limited
    answers: list[httpx.Response] = []
    go = threading.Barrier(6)

    def one() -> None:
        go.wait()
        answers.append(submit(p, ENDLESS, "ws_editor", wait_timeout=0))

    threads = [threading.Thread(target=one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    accepted = [a.json()["id"] for a in answers if a.status_code == 200]
    assert sorted(a.status_code for a in answers) == [200] * PER_USER + [429] * (6 - PER_USER), [
        a.text for a in answers
    ]
    assert counts(p.db, "ws_editor")[0] == PER_USER
    for statement_id in accepted:
        assert cancel(p, statement_id).json()["state"] in ("CANCELLED", "RUNNING")
    for statement_id in accepted:
        wait_until(
            lambda s=statement_id: statement(p, s)["state"] == "CANCELLED", 10, f"{statement_id} cancelled"
        )
