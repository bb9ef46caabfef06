# ruff: noqa: E501  (the case table reads best one case per line)
"""Bad input gets a precise 4xx in the problem+json shape and changes nothing.

"Nothing" is checked literally: every table except the audit trail (which records the refusal)
has exactly the rows it had before the request.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sadeem.audit.models import AuditChainHead, AuditEvent
from sadeem.db.base import Base
from sadeem.db.engine import Database
from tests.conftest import World

LONG = "x" * 5000
AUDIT_TABLES = {AuditEvent.__tablename__, AuditChainHead.__tablename__}
# Credential bookkeeping, written on use whatever the request asks for.
BOOKKEEPING_COLUMNS = {"last_used_at", "last_seen_at"}


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    import sadeem.models  # noqa: F401  (all tables)

    with db.reads() as session:
        return {
            table.name: sorted(
                map(
                    tuple, session.execute(select(*(c for c in table.c if c.name not in BOOKKEEPING_COLUMNS)))
                ),
                key=repr,
            )
            for table in Base.metadata.sorted_tables
            if table.name not in AUDIT_TABLES
        }


# (name, actor, method, path, kwargs, status, problem code)
CASES: list[tuple[str, str, str, str, dict[str, Any], int, str]] = [
    ("malformed JSON", "root", "POST", "/api/v1/workspaces",
     {"content": b'{"slug": "x",', "headers": {"content-type": "application/json"}}, 400, "malformed-json"),
    ("not JSON at all", "root", "POST", "/api/v1/workspaces",
     {"content": b"slug=x", "headers": {"content-type": "application/json"}}, 400, "malformed-json"),
    ("unknown field", "root", "POST", "/api/v1/workspaces", {"json": {"slug": "gamma", "colour": "red"}},
     422, "validation-error"),
    ("over-long name", "root", "POST", "/api/v1/workspaces", {"json": {"slug": "gamma", "name": LONG}},
     422, "validation-error"),
    ("over-long description", "ws_admin", "PATCH", "/api/v1/workspaces/alpha", {"json": {"description": LONG}},
     422, "validation-error"),
    ("invalid slug", "root", "POST", "/api/v1/workspaces", {"json": {"slug": "Gamma-1"}}, 422, "validation-error"),
    ("wrong type", "root", "POST", "/api/v1/workspaces", {"json": {"slug": 12}}, 422, "validation-error"),
    ("body is a list", "root", "POST", "/api/v1/workspaces", {"json": ["gamma"]}, 422, "validation-error"),
    ("duplicate workspace", "root", "POST", "/api/v1/workspaces", {"json": {"slug": "alpha"}}, 409, "conflict"),
    ("duplicate user", "root", "POST", "/api/v1/users",
     {"json": {"username": "ws_viewer", "password": "long enough password"}}, 409, "conflict"),
    ("duplicate member", "ws_admin", "POST", "/api/v1/workspaces/alpha/members",
     {"json": {"username": "ws_viewer", "role": "viewer"}}, 409, "conflict"),
    ("unknown role", "ws_admin", "POST", "/api/v1/workspaces/alpha/members",
     {"json": {"username": "outsider", "role": "owner"}}, 422, "validation-error"),
    ("member who does not exist", "ws_admin", "POST", "/api/v1/workspaces/alpha/members",
     {"json": {"username": "nobody", "role": "viewer"}}, 404, "not-found"),
    ("missing auth", "anonymous", "POST", "/api/v1/workspaces", {"json": {"slug": "gamma"}},
     401, "not-authenticated"),
    ("foreign workspace", "outsider", "PATCH", "/api/v1/workspaces/alpha", {"json": {"name": "mine"}},
     404, "not-found"),
    ("foreign workspace member change", "outsider", "DELETE", "/api/v1/workspaces/alpha/members/ws_viewer", {},
     404, "not-found"),
    ("viewer writes", "ws_viewer", "PATCH", "/api/v1/workspaces/alpha", {"json": {"name": "mine"}},
     403, "permission-denied"),
    ("last workspace admin leaves", "ws_admin", "DELETE", "/api/v1/workspaces/alpha/members/ws_admin", {},
     409, "conflict"),
    ("bad cursor", "root", "GET", "/api/v1/workspaces", {"params": {"cursor": "not-a-cursor"}}, 400,
     "invalid-input"),
    ("limit out of range", "root", "GET", "/api/v1/workspaces", {"params": {"limit": 100000}}, 422,
     "validation-error"),
    ("unknown route", "root", "GET", "/api/v1/nothing-here", {}, 404, "not-found"),
    ("wrong method", "root", "PUT", "/api/v1/workspaces", {"json": {}}, 405, "method-not-allowed"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("actor", "method", "path", "kwargs", "status", "code"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_bad_input_is_refused_precisely_and_changes_nothing(
    client: TestClient,
    world: World,
    db: Database,
    actor: str,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    code: str,
) -> None:
    before = snapshot(db)
    extra_headers = kwargs.get("headers", {})
    request_kwargs = {k: v for k, v in kwargs.items() if k != "headers"}
    response = client.request(
        method, path, headers={**world.headers(actor), **extra_headers}, **request_kwargs
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == f"urn:sadeem:problem:{code}"
    assert problem["status"] == status
    assert problem["detail"]
    assert problem["request_id"] == response.headers["x-request-id"]
    if status == 422:
        assert problem["errors"], "validation problems name the fields"
        assert LONG not in response.text, "the rejected value is not echoed back"
    assert snapshot(db) == before


def test_refused_mutations_are_audited_as_such(client: TestClient, world: World, db: Database) -> None:
    def count() -> int:
        with db.reads() as session:
            return session.scalar(select(func.count()).select_from(AuditEvent)) or 0

    before = count()
    client.post("/api/v1/workspaces", json={"slug": "gamma"})
    client.patch("/api/v1/workspaces/alpha", json={"name": "x"}, headers=world.headers("ws_viewer"))
    assert count() == before + 2, "one event per refused request, no more"
    with db.reads() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(2)).all()
    viewer_event, anonymous_event = events
    assert (anonymous_event.actor, anonymous_event.outcome, anonymous_event.status_code) == (
        None,
        "denied",
        401,
    )
    assert anonymous_event.action == "create_workspace"
    assert (viewer_event.actor, viewer_event.outcome, viewer_event.status_code) == (
        "ws_viewer",
        "denied",
        403,
    )
    assert viewer_event.workspace == "alpha"
