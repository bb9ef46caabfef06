"""The audit trail: who/what/where/outcome of every mutating request, logins, admin token use,
redaction, the query API, the hash chain with its tamper detection, and concurrent appends."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import DBAPIError

from sadeem.api.context import Ctx
from sadeem.audit import service as audit
from sadeem.audit.models import AuditChainHead, AuditEvent
from sadeem.core.actor import Actor
from sadeem.core.errors import Conflict
from sadeem.core.redaction import REDACTED, redact
from sadeem.db import unit_of_work
from sadeem.db.engine import Database
from sadeem.db.session import DbSession
from tests.conftest import PASSWORD, World, bearer

SECRET_PASSWORD = "Pa55word that must never be logged"


def events(db: Database, **where: Any) -> list[AuditEvent]:
    with db.reads() as session:
        stmt = select(AuditEvent).order_by(AuditEvent.seq)
        for name, value in where.items():
            stmt = stmt.where(getattr(AuditEvent, name) == value)
        return list(session.scalars(stmt))


def events_of(db: Database, response: Any) -> list[AuditEvent]:
    return events(db, request_id=response.headers["x-request-id"])


def one_event_of(db: Database, response: Any) -> AuditEvent:
    found = events_of(db, response)
    assert len(found) == 1, [(e.action, e.outcome) for e in found]
    return found[0]


def token_id(world: World, who: str) -> str:
    return world.tokens[who].split("_", 2)[1]


# --- what gets recorded ------------------------------------------------------------------------


def test_successful_change_is_audited_by_its_service(client: TestClient, world: World, db: Database) -> None:
    response = client.post(
        "/api/v1/workspaces",
        json={"slug": "audited"},
        headers={**world.headers("ws_editor"), "X-Request-ID": "req-audit-1"},
    )
    assert response.status_code == 201
    assert response.headers["x-request-id"] == "req-audit-1"
    event = one_event_of(db, response)
    assert event.actor == "ws_editor"
    assert event.auth_method == "token"
    assert event.token_id == token_id(world, "ws_editor")
    assert event.action == "create_workspace"
    assert (event.target_type, event.target_id, event.workspace) == ("workspace", "audited", "audited")
    assert event.outcome == "success"
    assert event.client_addr == "testclient"
    assert event.request_id == "req-audit-1"
    assert event.details["namespace"] == "audited"

    # Without an incoming id, the generated one is both in the header and in the event.
    generated = client.patch(
        "/api/v1/workspaces/audited", json={"name": "Audited"}, headers=world.headers("ws_editor")
    )
    assert generated.status_code == 200
    event = one_event_of(db, generated)
    assert event.action == "update_workspace"
    assert event.details == {"changed": {"name": "Audited"}}


def test_refused_and_failed_requests_are_audited_by_the_safety_net(
    client: TestClient, world: World, db: Database
) -> None:
    anonymous = client.post("/api/v1/workspaces", json={"slug": "anon"})
    assert anonymous.status_code == 401
    event = one_event_of(db, anonymous)
    assert (event.outcome, event.status_code, event.actor) == ("denied", 401, None)
    assert event.action == "create_workspace"
    assert event.details == {"method": "POST", "path": "/api/v1/workspaces"}
    assert event.client_addr == "testclient"

    duplicate = client.post("/api/v1/workspaces", json={"slug": "alpha"}, headers=world.headers("ws_editor"))
    assert duplicate.status_code == 409
    event = one_event_of(db, duplicate)
    assert (event.outcome, event.status_code, event.actor) == ("failure", 409, "ws_editor")
    assert event.token_id == token_id(world, "ws_editor")

    forbidden = client.patch(
        "/api/v1/workspaces/alpha", json={"name": "x"}, headers=world.headers("ws_viewer")
    )
    assert forbidden.status_code == 403
    event = one_event_of(db, forbidden)
    assert (event.outcome, event.status_code, event.actor) == ("denied", 403, "ws_viewer")
    assert event.workspace == "alpha"

    invalid = client.post("/api/v1/workspaces", json={"slug": "Bad Slug"}, headers=world.headers("ws_editor"))
    assert invalid.status_code == 422
    assert one_event_of(db, invalid).outcome == "failure"

    unknown_route = client.post("/api/v1/nowhere", headers=world.headers("ws_editor"))
    assert unknown_route.status_code == 404
    event = one_event_of(db, unknown_route)
    assert event.outcome == "failure"
    assert event.details["path"] == "/api/v1/nowhere"


def test_every_mutating_request_leaves_exactly_one_event(
    client: TestClient, world: World, db: Database
) -> None:
    root, admin, editor = world.headers("root"), world.headers("ws_admin"), world.headers("ws_editor")
    responses: list[Any] = []

    def call(method: str, url: str, **kwargs: Any) -> Any:
        response = client.request(method, url, **kwargs)
        responses.append(response)
        return response

    call("POST", "/api/v1/workspaces", json={"slug": "every"}, headers=editor)
    call("PATCH", "/api/v1/workspaces/every", json={"description": "d"}, headers=editor)
    call(
        "POST",
        "/api/v1/workspaces/every/members",
        json={"username": "ws_viewer", "role": "viewer"},
        headers=editor,
    )
    call("PATCH", "/api/v1/workspaces/every/members/ws_viewer", json={"role": "editor"}, headers=editor)
    call("DELETE", "/api/v1/workspaces/every/members/ws_viewer", headers=editor)
    call("DELETE", "/api/v1/workspaces/every/members/ws_editor", headers=editor)  # last admin: 409
    call("POST", "/api/v1/workspaces/every/archive", headers=editor)
    call("POST", "/api/v1/workspaces/every/archive", headers=editor)  # already archived: 409
    call("POST", "/api/v1/workspaces/every/unarchive", headers=editor)
    call("DELETE", "/api/v1/workspaces/every", headers=editor)
    call("DELETE", "/api/v1/workspaces/alpha", headers=world.headers("ws_viewer"))  # 403
    created = call("POST", "/api/v1/me/tokens", json={"name": "t"}, headers=admin)
    call("DELETE", f"/api/v1/me/tokens/{created.json()['id']}", headers=admin)
    call("POST", "/api/v1/users", json={"username": "newbie", "password": SECRET_PASSWORD}, headers=root)
    call("PATCH", "/api/v1/users/newbie", json={"display_name": "New"}, headers=root)
    call("POST", "/api/v1/users/newbie/password", json={"password": SECRET_PASSWORD + "!"}, headers=root)
    call("POST", "/api/v1/users", json={"username": "newbie", "password": SECRET_PASSWORD}, headers=root)
    call("POST", "/api/v1/auth/login", json={"username": "newbie", "password": "wrong password"})
    login = call("POST", "/api/v1/auth/login", json={"username": "newbie", "password": SECRET_PASSWORD + "!"})
    csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
    call(
        "POST",
        "/api/v1/me/password",
        json={"current_password": "nope", "new_password": "x" * 12},
        headers=csrf,
    )
    call("POST", "/api/v1/workspaces", json={"slug": "no_csrf"})  # cookie without CSRF: 403
    call("POST", "/api/v1/auth/logout", headers=csrf)
    call("POST", "/api/v1/workspaces", content=b"{", headers={**editor, "Content-Type": "application/json"})
    call("PUT", "/api/v1/workspaces/alpha", json={}, headers=editor)  # 405

    statuses = [r.status_code for r in responses]
    assert statuses == [
        201, 200, 201, 200, 204, 409, 200, 409, 200, 204, 403, 201, 204, 201, 200, 204, 409,
        401, 200, 403, 403, 204, 400, 405,
    ]  # fmt: skip
    for response in responses:
        event = one_event_of(db, response)
        status = response.status_code
        if response.request.url.path == "/api/v1/auth/login" or response.request.url.path.endswith(
            "/me/password"
        ):
            expected = "success" if status < 400 else "failure"  # the login service's own verdict
        else:
            expected = "success" if status < 400 else "denied" if status in (401, 403) else "failure"
        assert event.outcome == expected, (response.request.method, response.request.url, status)
    # All of it, and nothing else, with a valid chain.
    with db.reads() as session:
        assert audit.verify_chain(session).ok


def test_every_mutating_catalog_request_leaves_exactly_one_event(
    client: TestClient, world: World, db: Database
) -> None:
    """The Iceberg catalog's changes are recorded by its service (with the table's snapshot), its
    refusals by the safety net; an accepted metrics report changes nothing and is not recorded."""
    base = "/iceberg/v1/alpha"
    editor, viewer = world.headers("ws_editor"), world.headers("ws_viewer")
    schema = {
        "type": "struct",
        "schema-id": 0,
        "fields": [{"id": 1, "name": "id", "type": "long", "required": False}],
    }
    readings = f"{base}/namespaces/alpha/tables/readings"
    set_property = {"requirements": [], "updates": [{"action": "set-properties", "updates": {"k": "v"}}]}
    stale = {
        **set_property,
        "requirements": [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": 1}],
    }
    calls: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
        ("POST", f"{base}/namespaces", {"json": {"namespace": ["alpha", "raw"]}}, editor),
        ("POST", f"{base}/namespaces", {"json": {"namespace": ["alpha", "raw"]}}, editor),  # 409
        ("POST", f"{base}/namespaces/alpha%1Fraw/properties", {"json": {"updates": {"k": "v"}}}, editor),
        ("POST", f"{base}/namespaces/alpha/tables", {"json": {"name": "readings", "schema": schema}}, editor),
        ("POST", readings, {"json": set_property}, editor),
        ("POST", readings, {"json": stale}, editor),  # 409: the requirement does not hold
        ("POST", readings, {"json": set_property}, viewer),  # 403
        ("POST", readings, {"json": set_property}, {}),  # 401
        ("POST", readings, {"json": {"updates": [{"action": "explode"}]}}, editor),  # 400
        ("DELETE", readings, {}, editor),  # 403: dropping needs an admin
        ("DELETE", f"{base}/namespaces/alpha%1Fraw", {}, world.headers("ws_admin")),
    ]
    responses = [
        client.request(method, url, headers=headers, **kwargs) for method, url, kwargs, headers in calls
    ]
    assert [r.status_code for r in responses] == [200, 409, 200, 200, 200, 409, 403, 401, 400, 403, 204]
    for response in responses:
        event = one_event_of(db, response)
        status = response.status_code
        expected = "success" if status < 400 else "denied" if status in (401, 403) else "failure"
        assert event.outcome == expected, (response.request.method, response.request.url, status)
    created, committed = one_event_of(db, responses[3]), one_event_of(db, responses[4])
    assert (created.action, created.target_type, created.target_id, created.workspace) == (
        "create_table",
        "table",
        "alpha.readings",
        "alpha",
    )
    assert committed.details["snapshot_id"] is None and committed.details["updates"] == ["set-properties"]
    assert committed.details["table_uuid"] == created.details["table_uuid"]

    metrics = {
        "report-type": "commit-report",
        "table-name": "alpha.readings",
        "snapshot-id": 1,
        "sequence-number": 1,
        "operation": "append",
        "metrics": {},
    }
    accepted = client.post(f"{readings}/metrics", json=metrics, headers=viewer)
    assert accepted.status_code == 204, accepted.text
    assert events_of(db, accepted) == []
    refused = client.post(f"{readings}/metrics", json=metrics, headers=world.headers("outsider"))
    assert refused.status_code == 403
    assert one_event_of(db, refused).outcome == "denied"
    with db.reads() as session:
        assert audit.verify_chain(session).ok


def test_refused_requests_with_unstorable_values_are_still_recorded(
    client: TestClient, world: World, db: Database
) -> None:
    """Path parameters too long for their column, or holding a NUL (which PostgreSQL refuses)."""
    for slug in ("x" * 100, "a%00b"):
        response = client.post(f"/api/v1/workspaces/{slug}/archive", headers=world.headers("ws_editor"))
        assert response.status_code == 422
        event = one_event_of(db, response)
        assert event.outcome == "failure"
        assert event.workspace is not None and len(event.workspace) <= 64
        assert "\x00" not in event.workspace
    with db.reads() as session:
        assert audit.verify_chain(session).ok


def _record_then_fail(db: DbSession, ctx: Ctx) -> None:
    """A service that records its event and then fails: the event is rolled back with it."""
    audit.record(db, ctx.actor, target_type="thing", target_id="t")
    db.flush()
    raise Conflict("Changed my mind.")


def test_an_event_rolled_back_with_its_change_is_replaced_by_the_safety_net(
    app: FastAPI, db: Database
) -> None:
    app.add_api_route("/api/v1/record-then-fail", _record_then_fail, methods=["POST"])
    with TestClient(app) as client:
        response = client.post("/api/v1/record-then-fail")
    assert response.status_code == 409
    event = one_event_of(db, response)
    assert (event.outcome, event.status_code, event.target_type) == ("failure", 409, None)
    with db.reads() as session:
        assert audit.verify_chain(session).ok


def test_logins_are_audited(client: TestClient, world: World, db: Database) -> None:
    ok = client.post("/api/v1/auth/login", json={"username": "ws_viewer", "password": PASSWORD})
    event = one_event_of(db, ok)
    assert (event.action, event.outcome, event.actor, event.auth_method) == (
        "login",
        "success",
        "ws_viewer",
        None,
    )
    assert event.target_id == "ws_viewer"
    assert event.details.keys() == {"session_id"}
    assert event.client_addr == "testclient"

    wrong = client.post("/api/v1/auth/login", json={"username": "ws_viewer", "password": "nope nope"})
    event = one_event_of(db, wrong)
    assert (event.action, event.outcome, event.status_code) == ("login", "failure", 401)
    assert event.actor == "ws_viewer"
    assert event.details == {"reason": "bad_credentials"}

    unknown = client.post("/api/v1/auth/login", json={"username": "ghost", "password": "nope nope"})
    event = one_event_of(db, unknown)
    assert (event.outcome, event.actor, event.actor_id) == ("failure", "ghost", None)
    assert event.details == {"reason": "bad_credentials"}


def test_admin_token_use_is_audited_even_for_reads(client: TestClient, world: World, db: Database) -> None:
    listed = client.get("/api/v1/users", headers=world.headers("root"))
    assert listed.status_code == 200
    event = one_event_of(db, listed)
    assert (event.action, event.outcome, event.status_code) == ("list_users", "success", 200)
    assert (event.actor, event.auth_method, event.token_id) == ("root", "token", token_id(world, "root"))
    trail = client.get("/api/v1/audit/events", headers=world.headers("root"))
    assert one_event_of(db, trail).action == "list_audit_events"

    # A platform admin reading a workspace they are no member of acts as an admin, too.
    foreign = client.get("/api/v1/workspaces/beta", headers=world.headers("root"))
    assert foreign.status_code == 200
    event = one_event_of(db, foreign)
    assert (event.action, event.workspace, event.token_id) == (
        "get_workspace",
        "beta",
        token_id(world, "root"),
    )

    # Ordinary reads are not audited: not a member's, nor an admin's through a session.
    assert events_of(db, client.get("/api/v1/workspaces/alpha", headers=world.headers("ws_viewer"))) == []
    assert events_of(db, client.get("/api/v1/me", headers=world.headers("root"))) == []
    session_client = TestClient(client.app)
    session_client.post("/api/v1/auth/login", json={"username": "root", "password": PASSWORD})
    assert events_of(db, session_client.get("/api/v1/users")) == []


def test_secrets_never_reach_the_trail(client: TestClient, world: World, db: Database) -> None:
    root = world.headers("root")
    client.post("/api/v1/users", json={"username": "secretive", "password": SECRET_PASSWORD}, headers=root)
    client.post("/api/v1/users/secretive/password", json={"password": SECRET_PASSWORD + "2"}, headers=root)
    client.post("/api/v1/users", json={"username": "Bad!", "password": SECRET_PASSWORD + "3"}, headers=root)
    client.post("/api/v1/auth/login", json={"username": "secretive", "password": SECRET_PASSWORD + "4"})
    login = client.post(
        "/api/v1/auth/login", json={"username": "secretive", "password": SECRET_PASSWORD + "2"}
    )
    csrf = login.json()["csrf_token"]
    client.post(
        "/api/v1/me/password",
        json={"current_password": SECRET_PASSWORD + "2", "new_password": SECRET_PASSWORD + "5"},
        headers={"X-CSRF-Token": csrf},
    )
    token = client.post("/api/v1/me/tokens", json={"name": "t"}, headers=root).json()["token"]
    client.get("/api/v1/users", headers=bearer(token))
    session_cookie = login.cookies.get("sadeem_session")
    assert session_cookie
    with db.reads() as session:
        dump = json.dumps(
            [list(row) for row in session.execute(text("SELECT * FROM audit_events"))], default=str
        )
    assert SECRET_PASSWORD not in dump
    assert "Pa55word" not in dump
    assert token.split("_", 2)[2] not in dump
    assert csrf not in dump
    assert session_cookie not in dump


def test_redaction_masks_secret_keys_at_any_depth() -> None:
    redacted = redact(
        {
            "password": "p",
            "name": "n",
            "nested": {"secret_access_key": "s", "Authorization": "Bearer x", "list": [{"api_key": "k"}]},
            "new_password": "p2",
            "options": ({"token": "t", "port": 5432},),
        }
    )
    assert redacted == {
        "password": REDACTED,
        "name": "n",
        "nested": {
            "secret_access_key": REDACTED,
            "Authorization": REDACTED,
            "list": [{"api_key": REDACTED}],
        },
        "new_password": REDACTED,
        "options": [{"token": REDACTED, "port": 5432}],
    }


def test_recorded_details_are_redacted(db: Database) -> None:
    with db.unit_of_work("test.redact") as session:
        audit.record(session, Actor.system("cli"), details={"user": "u", "password": "hunter2!"})
        session.commit()
    (event,) = events(db, action="test.redact")
    assert event.details == {"user": "u", "password": REDACTED}
    assert event.actor == "cli"
    with db.reads() as session:
        assert audit.verify_chain(session).ok


# --- the query API -----------------------------------------------------------------------------


def _walk(client: TestClient, url: str, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get(url, params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= params.get("limit", 50)
        items += page["items"]
        if not (cursor := page["next_cursor"]):
            return items


def _make_traffic(client: TestClient, world: World) -> None:
    for i in range(4):
        client.post("/api/v1/workspaces", json={"slug": f"traffic_{i}"}, headers=world.headers("ws_editor"))
    client.post("/api/v1/workspaces", json={"slug": "alpha"}, headers=world.headers("ws_editor"))
    client.patch("/api/v1/workspaces/alpha", json={"name": "A"}, headers=world.headers("ws_admin"))
    client.patch("/api/v1/workspaces/alpha", json={"name": "B"}, headers=world.headers("ws_viewer"))
    client.patch("/api/v1/workspaces/beta", json={"name": "C"}, headers=world.headers("outsider"))
    client.post("/api/v1/auth/login", json={"username": "ws_viewer", "password": "wrong one!"})


def test_query_walks_all_pages_newest_first(client: TestClient, world: World, db: Database) -> None:
    _make_traffic(client, world)
    everything = [e.seq for e in events(db)]
    walked = _walk(client, "/api/v1/audit/events", world.headers("root"), limit=3)
    seqs = [e["seq"] for e in walked]
    assert len(seqs) == len(set(seqs))  # no duplicates
    assert seqs == sorted(seqs, reverse=True)  # newest first
    # No gaps: everything that existed when the walk started (the walk's own admin reads add more).
    assert set(everything) <= set(seqs)
    assert seqs[-1] == 1
    bad = client.get("/api/v1/audit/events", params={"cursor": "!!!"}, headers=world.headers("root"))
    assert bad.status_code == 400
    assert (
        client.get("/api/v1/audit/events", params={"limit": 0}, headers=world.headers("root")).status_code
        == 422
    )


def test_query_filters(client: TestClient, world: World, db: Database) -> None:
    _make_traffic(client, world)
    root = world.headers("root")
    url = "/api/v1/audit/events"
    filters: list[dict[str, Any]] = [
        {"actor": "ws_editor"},
        {"action": "create_workspace"},
        {"outcome": "denied"},
        {"outcome": "failure"},
        {"workspace": "alpha"},
        {"actor": "ws_editor", "outcome": "success"},
        {"target_type": "workspace", "target_id": "traffic_2"},
    ]
    for params in filters:
        found = _walk(client, url, root, limit=4, **params)
        expected = [e.seq for e in reversed(events(db, **params))]
        assert [e["seq"] for e in found] == expected, params
        assert found, params
        for event in found:
            assert all(event[k] == v for k, v in params.items()), (params, event)

    ordered = events(db)
    middle = ordered[len(ordered) // 2]
    since = _walk(client, url, root, since=middle.occurred_at.isoformat())
    assert since
    assert all(datetime.fromisoformat(e["occurred_at"]) >= middle.occurred_at for e in since)
    assert middle.seq in [e["seq"] for e in since]
    until = _walk(client, url, root, until=middle.occurred_at.isoformat())
    assert all(datetime.fromisoformat(e["occurred_at"]) < middle.occurred_at for e in until)
    assert middle.seq not in [e["seq"] for e in until]
    low, high = ordered[1].occurred_at, ordered[3].occurred_at + timedelta(microseconds=1)
    window = _walk(client, url, root, since=low.isoformat(), until=high.isoformat())
    expected = [e.seq for e in reversed(ordered) if low <= e.occurred_at < high]
    assert [e["seq"] for e in window] == expected
    assert {2, 3, 4} <= set(expected)
    # A bound without a zone means UTC, not an error.
    naive = client.get(url, params={"since": "2000-01-01T00:00:00"}, headers=root)
    assert naive.status_code == 200, naive.text
    future = client.get(url, params={"since": "2999-01-01T00:00:00Z"}, headers=root)
    assert future.json()["items"] == []
    for bad in ({"outcome": "maybe"}, {"since": "yesterday"}, {"actor": "x" * 201}):
        assert client.get(url, params=bad, headers=root).status_code == 422, bad


def test_trail_needs_platform_admin(client: TestClient, world: World) -> None:
    assert client.get("/api/v1/audit/events").status_code == 401
    assert client.get("/api/v1/audit/events", headers=world.headers("ws_admin")).status_code == 403


def test_workspace_admins_see_only_their_workspace(client: TestClient, world: World, db: Database) -> None:
    _make_traffic(client, world)
    url = "/api/v1/workspaces/alpha/audit/events"
    seen = _walk(client, url, world.headers("ws_admin"), limit=2)
    assert seen
    assert {e["workspace"] for e in seen} == {"alpha"}
    assert [e["seq"] for e in seen] == [e.seq for e in reversed(events(db, workspace="alpha"))]
    # A `workspace` query parameter cannot widen the view.
    widened = _walk(client, url, world.headers("ws_admin"), workspace="beta")
    assert {e["workspace"] for e in widened} == {"alpha"}
    filtered = _walk(client, url, world.headers("ws_admin"), outcome="denied")
    assert filtered and {e["actor"] for e in filtered} == {"ws_viewer"}

    assert client.get(url, headers=world.headers("ws_viewer")).status_code == 403
    assert client.get(url, headers=world.headers("ws_editor")).status_code == 403
    assert client.get(url, headers=world.headers("outsider")).status_code == 404
    assert client.get(url).status_code == 401
    assert (
        client.get("/api/v1/workspaces/beta/audit/events", headers=world.headers("ws_admin")).status_code
        == 404
    )
    beta = _walk(client, "/api/v1/workspaces/beta/audit/events", world.headers("outsider"))
    assert beta and {e["workspace"] for e in beta} == {"beta"}
    assert all(e["workspace"] == "alpha" for e in _walk(client, url, world.headers("root")))


# --- the hash chain ----------------------------------------------------------------------------


@contextmanager
def as_db_owner(db: Database) -> Iterator[Connection]:
    """An attacker with the database owner's rights: switch off the append-only triggers."""
    with db.engine.begin() as connection:
        if db.dialect == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_update")
            connection.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_delete")
        else:
            connection.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
        yield connection


def verify(db: Database) -> audit.ChainReport:
    with db.reads() as session:
        return audit.verify_chain(session)


def some_events(db: Database, count: int = 6) -> None:
    for i in range(count):
        with db.unit_of_work("test.chain") as session:
            audit.record(session, Actor.system("cli"), target_type="thing", target_id=str(i))


def test_chain_is_valid_on_a_normal_trail(client: TestClient, world: World, db: Database) -> None:
    _make_traffic(client, world)
    report = verify(db)
    assert report.ok, report
    assert report.events_checked == len(events(db)) > 10
    with db.reads() as session:
        head = session.get(AuditChainHead, 1)
        assert head is not None
        assert head.last_seq == report.events_checked
        assert head.last_hash == events(db)[-1].hash
    first = events(db)[0]
    assert first.seq == 1 and first.prev_hash == "0" * 64


def test_empty_trail_verifies(db: Database) -> None:
    report = verify(db)
    assert report.ok and report.events_checked == 0


def test_edited_event_is_detected(db: Database) -> None:
    some_events(db)
    with as_db_owner(db) as connection:
        connection.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3"))
    report = verify(db)
    assert not report.ok
    assert report.first_bad_seq == 3
    assert report.events_checked == 2
    assert report.problem is not None and "edited" in report.problem


def test_edited_details_are_detected(db: Database) -> None:
    some_events(db)
    with as_db_owner(db) as connection:
        connection.execute(text("UPDATE audit_events SET details = :d WHERE seq = 5"), {"d": '{"x": 1}'})
    report = verify(db)
    assert (report.ok, report.first_bad_seq) == (False, 5)


def test_edit_with_recomputed_hash_breaks_the_next_link(db: Database) -> None:
    some_events(db)
    (victim,) = events(db, seq=2)
    victim.outcome = "failure"
    forged_hash = audit.event_hash(victim)
    with as_db_owner(db) as connection:
        connection.execute(
            text("UPDATE audit_events SET outcome = 'failure', hash = :h WHERE seq = 2"), {"h": forged_hash}
        )
    report = verify(db)
    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert report.problem is not None and "link" in report.problem


def test_deleted_event_is_detected(db: Database) -> None:
    some_events(db)
    with as_db_owner(db) as connection:
        connection.execute(text("DELETE FROM audit_events WHERE seq = 4"))
    report = verify(db)
    assert (report.ok, report.first_bad_seq) == (False, 4)
    assert report.problem is not None and "missing" in report.problem


def test_truncated_tail_is_detected(db: Database) -> None:
    some_events(db)
    with as_db_owner(db) as connection:
        connection.execute(text("DELETE FROM audit_events WHERE seq > 4"))
    report = verify(db)
    assert (report.ok, report.first_bad_seq, report.events_checked) == (False, 5, 4)
    assert report.problem is not None and "truncated" in report.problem


def test_triggers_refuse_update_and_delete(db: Database) -> None:
    some_events(db, 2)
    statements = ["UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events"]
    if db.dialect == "postgresql":
        statements.append("TRUNCATE audit_events")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as connection:
            connection.execute(text(statement))
    assert [e.actor for e in events(db)] == ["cli", "cli"]
    assert verify(db).ok


def test_concurrent_appends_keep_a_gap_free_valid_chain(db: Database) -> None:
    threads, per_thread = 8, 25
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def append(worker: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with db.unit_of_work("test.concurrent") as session:
                    audit.record(session, Actor.system("cli"), target_type="n", target_id=f"{worker}-{i}")
                    session.commit()
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=append, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert errors == []
    recorded = events(db, action="test.concurrent")
    assert len(recorded) == threads * per_thread
    assert sorted(e.target_id for e in recorded) == sorted(
        f"{w}-{i}" for w in range(threads) for i in range(per_thread)
    )
    all_seqs = [e.seq for e in events(db)]
    assert all_seqs == list(range(1, len(all_seqs) + 1))
    report = verify(db)
    assert report.ok, report
    assert report.events_checked == len(all_seqs)


def test_a_rolled_back_change_leaves_no_event_and_no_gap(db: Database) -> None:
    some_events(db, 2)
    with db.unit_of_work("test.rollback") as session:
        audit.record(session, Actor.system("cli"))
        session.rollback()
    some_events(db, 1)
    assert [e.seq for e in events(db)] == [1, 2, 3]
    assert events(db, action="test.rollback") == []
    assert verify(db).ok


def test_concurrent_transactions_of_several_events_each_keep_a_gap_free_valid_chain(db: Database) -> None:
    """A transaction's events join the chain in one step at commit: consecutive, in the order
    they were recorded; every fifth transaction rolls back and leaves nothing."""
    threads, transactions, per_transaction = 6, 10, 4
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def append(worker: int) -> None:
        try:
            start.wait()
            for t in range(transactions):
                with db.unit_of_work("test.batch") as session:
                    for i in range(per_transaction):
                        audit.record(
                            session,
                            Actor.system("cli"),
                            target_type="n",
                            target_id=f"{worker}-{t}-{i}",
                        )
                    if t % 5 == 4:
                        session.rollback()
                    else:
                        session.commit()
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=append, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert errors == []
    recorded = events(db, action="test.batch")
    committed = [(w, t) for w in range(threads) for t in range(transactions) if t % 5 != 4]
    assert len(recorded) == len(committed) * per_transaction
    by_transaction: dict[str, list[AuditEvent]] = {}
    for event in recorded:
        by_transaction.setdefault(event.target_id.rsplit("-", 1)[0], []).append(event)
    assert sorted(by_transaction) == sorted(f"{w}-{t}" for w, t in committed)
    for batch in by_transaction.values():
        assert [e.target_id.rsplit("-", 1)[1] for e in batch] == [str(i) for i in range(per_transaction)]
        assert [e.seq for e in batch] == list(range(batch[0].seq, batch[0].seq + per_transaction))
    all_seqs = [e.seq for e in events(db)]
    assert all_seqs == list(range(1, len(all_seqs) + 1))
    report = verify(db)
    assert report.ok, report
    assert report.events_checked == len(all_seqs)


def test_a_transactions_events_are_chained_when_it_commits(db: Database) -> None:
    some_events(db, 2)
    with db.unit_of_work("test.commit") as session:
        for i in range(3):
            audit.record(session, Actor.system("cli"), target_type="thing", target_id=str(i))
        session.flush()
        assert unit_of_work.of(session).committed_events == []  # not numbered before the commit
        with db.reads() as other:
            assert other.get(AuditChainHead, 1).last_seq == 2  # type: ignore[union-attr]
        session.commit()
        assert unit_of_work.of(session).committed_events == [3, 4, 5]
    assert [(e.seq, e.target_id) for e in events(db, action="test.commit")] == [(3, "0"), (4, "1"), (5, "2")]
    assert verify(db).ok


def test_an_edit_inside_a_batch_of_one_transaction_is_detected(db: Database) -> None:
    """A transaction's events are stored in one INSERT and chained in one step, yet each is its
    own link: editing the middle one of a batch, or forging its hash, is found at that event."""
    some_events(db, 2)
    with db.unit_of_work("test.batch") as session:
        for i in range(5):
            audit.record(
                session, Actor.system("cli"), target_type="thing", target_id=f"b{i}", details={"i": i}
            )
    batch = events(db, action="test.batch")
    assert [e.seq for e in batch] == [3, 4, 5, 6, 7]
    assert [e.prev_hash for e in batch[1:]] == [e.hash for e in batch[:-1]]
    assert all(audit.event_hash(e) == e.hash for e in batch)
    assert verify(db).ok
    with as_db_owner(db) as connection:
        connection.execute(text("UPDATE audit_events SET details = :d WHERE seq = 5"), {"d": '{"i": 9}'})
    assert (verify(db).ok, verify(db).first_bad_seq) == (False, 5)
    victim = events(db, seq=5)[0]
    with as_db_owner(db) as connection:
        connection.execute(
            text("UPDATE audit_events SET hash = :h WHERE seq = 5"), {"h": audit.event_hash(victim)}
        )
    report = verify(db)
    assert (report.ok, report.first_bad_seq, report.problem) == (False, 6, "previous-hash link is broken")


def test_a_rolled_back_savepoint_drops_only_its_events(db: Database) -> None:
    with db.unit_of_work("test.savepoint") as session:
        audit.record(session, Actor.system("cli"), target_id="before")
        with session.begin_nested():
            audit.record(session, Actor.system("cli"), target_id="released")
        savepoint = session.begin_nested()
        audit.record(session, Actor.system("cli"), target_id="rolled back")
        savepoint.rollback()
        audit.record(session, Actor.system("cli"), target_id="after")
        session.commit()
        assert unit_of_work.of(session).committed_events == [1, 2, 3]
    assert [(e.seq, e.target_id) for e in events(db)] == [(1, "before"), (2, "released"), (3, "after")]
    assert verify(db).ok


def test_verification_during_appends_sees_a_consistent_chain(db: Database) -> None:
    some_events(db, 20)
    stop = threading.Event()

    def keep_appending() -> None:
        while not stop.is_set():
            with db.unit_of_work("test.busy") as session:
                audit.record(session, Actor.system("cli"))

    writer = threading.Thread(target=keep_appending)
    writer.start()
    try:
        reports = [verify(db) for _ in range(30)]
    finally:
        stop.set()
        writer.join()
    assert all(r.ok for r in reports), [r for r in reports if not r.ok][:3]
    assert verify(db).ok


def _fail_unexpectedly() -> None:
    raise RuntimeError("a bug")


def test_unexpected_errors_are_audited_as_failures(app: FastAPI, db: Database) -> None:
    app.add_api_route("/api/v1/boom", _fail_unexpectedly, methods=["POST"])
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/api/v1/boom")
    assert response.status_code == 500
    event = one_event_of(db, response)
    assert (event.outcome, event.status_code, event.action) == ("failure", 500, "_fail_unexpectedly")
