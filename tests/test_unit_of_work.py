"""One unit of work per request (and per CLI command, worker iteration...): services only flush,
the boundary commits. A failure injected between the steps of a multi-step flow leaves nothing
half-done: no row of the earlier steps, no success event, only the safety net's failure event.
After-commit actions run after a commit, never after a rollback."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pyiceberg.catalog.sql import IcebergNamespaceProperties
from sqlalchemy import func, select

from sadeem.api.route_table import api_routes
from sadeem.audit.models import AuditEvent
from sadeem.core.actor import Actor
from sadeem.core.errors import Conflict
from sadeem.db import unit_of_work
from sadeem.db.engine import Database
from sadeem.db.session import UnitOfWorkRoute
from sadeem.jobs import service as jobs_service
from sadeem.jobs.models import Job, JobVersion
from sadeem.queries.models import SavedQueryJob
from sadeem.runs import service as runs_service
from sadeem.runs.models import Run
from sadeem.workspaces import service as workspace_service
from sadeem.workspaces.models import Membership, Workspace
from tests.conftest import World

INJECTED = "injected failure between the steps"


def _fail(*_args: Any, **_kwargs: Any) -> Any:
    raise Conflict(INJECTED)


def _count(db: Database, model: Any, *where: Any) -> int:
    with db.reads() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _events_of(db: Database, request_id: str) -> list[tuple[str, str]]:
    with db.reads() as session:
        found = session.scalars(
            select(AuditEvent).where(AuditEvent.request_id == request_id).order_by(AuditEvent.seq)
        )
        return [(e.action, e.outcome) for e in found]


def _refused_and_recorded_as_failure(db: Database, response: Any, action: str) -> None:
    assert response.status_code == 409, response.text
    assert INJECTED in response.json()["detail"]
    assert _events_of(db, response.headers["x-request-id"]) == [(action, "failure")]


# --- multi-step flows: all or nothing ------------------------------------------------------------


def test_run_as_job_is_all_or_nothing(
    client: TestClient, world: World, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job and its version, the link to the query and the job's audit event are written; the
    run then fails to be queued: none of it is kept."""
    base = "/api/v1/workspaces/alpha/queries"
    headers = world.headers("ws_editor")
    created = client.post(base, headers=headers, json={"name": "answer", "sql": "SELECT 42 AS x"})
    assert created.status_code == 201, created.text
    jobs_before, versions_before = _count(db, Job), _count(db, JobVersion)
    monkeypatch.setattr(runs_service, "new_run", _fail)

    response = client.post(f"{base}/answer/run-as-job", headers=headers, json={})

    _refused_and_recorded_as_failure(db, response, "run_as_job")
    assert (_count(db, Job), _count(db, JobVersion)) == (jobs_before, versions_before)
    assert _count(db, SavedQueryJob) == 0
    assert _count(db, Run) == 0
    monkeypatch.undo()
    again = client.post(f"{base}/answer/run-as-job", headers=headers, json={})
    assert again.status_code == 201, again.text
    assert again.json()["job_created"] is True and again.json()["run"] is not None


def test_workspace_creation_is_all_or_nothing(
    client: TestClient, world: World, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workspace row, its admin membership and its Iceberg namespace are written; recording
    the change then fails: none of it is kept, and the slug is free."""
    memberships_before = _count(db, Membership)
    monkeypatch.setattr(workspace_service, "_audit", _fail)

    response = client.post("/api/v1/workspaces", headers=world.headers("root"), json={"slug": "gamma"})

    _refused_and_recorded_as_failure(db, response, "create_workspace")
    assert _count(db, Workspace, Workspace.slug == "gamma") == 0
    assert _count(db, Membership) == memberships_before
    assert _count(db, IcebergNamespaceProperties, IcebergNamespaceProperties.namespace == "gamma") == 0
    monkeypatch.undo()
    again = client.post("/api/v1/workspaces", headers=world.headers("root"), json={"slug": "gamma"})
    assert again.status_code == 201, again.text


def test_job_creation_is_all_or_nothing(
    client: TestClient, world: World, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job and its first version are flushed; the author details of its audit event then
    fail: neither is kept."""
    monkeypatch.setattr(jobs_service, "_identity_details", _fail)
    body = {"name": "nightly", "task": {"type": "sql", "engine": "duckdb", "sql": "SELECT 1 AS x"}}

    response = client.post("/api/v1/workspaces/alpha/jobs", headers=world.headers("ws_editor"), json=body)

    _refused_and_recorded_as_failure(db, response, "create_job")
    assert _count(db, Job) == 0
    assert _count(db, JobVersion) == 0


# --- the unit of work itself ---------------------------------------------------------------------


def test_after_commit_actions_run_after_a_commit_and_never_after_a_rollback(db: Database) -> None:
    ran: list[str] = []
    with db.unit_of_work("test.kept") as session:
        unit_of_work.after_commit(session, lambda: ran.append("kept"))
        with session.begin_nested():  # releasing a savepoint commits nothing yet
            session.execute(select(1))
        assert ran == []
    assert ran == ["kept"]
    with pytest.raises(Conflict), db.unit_of_work("test.dropped") as session:
        unit_of_work.after_commit(session, lambda: ran.append("dropped"))
        raise Conflict("no")
    with db.unit_of_work("test.rolled_back") as session:
        unit_of_work.after_commit(session, lambda: ran.append("rolled back"))
        session.rollback()
    assert ran == ["kept"]


def test_a_refusal_that_must_be_remembered_is_committed_with_its_error(db: Database) -> None:
    from sadeem.audit import service as audit

    with pytest.raises(Conflict), db.unit_of_work("test.refused") as session:
        audit.record(session, Actor.system("cli"), outcome="failure")
        unit_of_work.keep_when_refused(session)
        raise Conflict("refused, and remembered")
    with db.reads() as session:
        assert (
            session.scalar(select(AuditEvent.outcome).where(AuditEvent.action == "test.refused")) == "failure"
        )


def test_release_refuses_a_transaction_with_changes(db: Database) -> None:
    with db.unit_of_work("test.release") as session:
        unit_of_work.release(session)  # nothing written yet: fine
        session.add(Workspace(slug="x", name="x", namespace="x", storage_location="file:///x"))
        with pytest.raises(RuntimeError):
            unit_of_work.release(session)
        session.rollback()


def test_every_route_is_a_unit_of_work(app: FastAPI) -> None:
    routes = api_routes(app)
    assert len(routes) > 50
    assert [r.path for r in routes if not isinstance(r.original_route, UnitOfWorkRoute)] == []
