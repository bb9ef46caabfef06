# ruff: noqa: E501  (the case table reads best one case per line)
"""Bad input gets a precise 4xx in the problem+json shape and changes nothing.

"Nothing" is checked literally: every table except the audit trail (which records the refusal)
has exactly the rows it had before the request — the Iceberg catalog's tables included.

Under /iceberg/ the same holds in the Iceberg REST spec's error shape (`IcebergErrorResponse`),
where there is no 422: a request that does not parse, or holds a NUL anywhere, is a 400.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sadeem.audit.models import AuditChainHead, AuditEvent
from sadeem.db.engine import Database
from sadeem.models import ALL_METADATA
from tests.conftest import World
from tests.test_catalog_authorization import SCHEMA, assert_iceberg_error, assert_matches

LONG = "x" * 5000
AUDIT_TABLES = {AuditEvent.__tablename__, AuditChainHead.__tablename__}
# Credential bookkeeping, written on use whatever the request asks for.
BOOKKEEPING_COLUMNS = {"last_used_at", "last_seen_at"}


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    with db.reads() as session:
        return {
            table.name: sorted(
                map(
                    tuple, session.execute(select(*(c for c in table.c if c.name not in BOOKKEEPING_COLUMNS)))
                ),
                key=repr,
            )
            for metadata in ALL_METADATA
            for table in metadata.sorted_tables
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


# --- the Iceberg REST catalog ------------------------------------------------------------------

CAT = "/iceberg/v1/alpha"
TABLES = f"{CAT}/namespaces/alpha/tables"
READINGS = f"{TABLES}/readings"


def _commit(*updates: dict[str, Any], requirements: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"json": {"requirements": requirements or [], "updates": list(updates)}}


def _schema_with(field: dict[str, Any]) -> dict[str, Any]:
    return {**SCHEMA, "fields": [*SCHEMA["fields"], {"id": 2, "required": False, **field}]}


WRONG_DEFAULT = {
    "name": "m",
    "type": {
        "type": "map",
        "key-id": 3,
        "key": "string",
        "value-id": 4,
        "value": "string",
        "value-required": False,
    },
    "initial-default": True,
}
SET_PROPERTY = {"action": "set-properties", "updates": {"k": "v"}}

# (name, actor, method, path, kwargs, status, the spec's error type)
CATALOG_CASES: list[tuple[str, str, str, str, dict[str, Any], int, str]] = [
    ("NUL in a namespace part", "ws_editor", "POST", f"{CAT}/namespaces",
     {"json": {"namespace": ["alpha", "a\x00b"]}}, 400, "BadRequestException"),
    ("NUL in a namespace property", "ws_editor", "POST", f"{CAT}/namespaces",
     {"json": {"namespace": ["alpha", "fine"], "properties": {"k": "v\x00"}}}, 400, "BadRequestException"),
    ("NUL in a property key", "ws_editor", "POST", f"{CAT}/namespaces/alpha/properties",
     {"json": {"updates": {"k\x00": "v"}}}, 400, "BadRequestException"),
    ("NUL in a property removal", "ws_editor", "POST", f"{CAT}/namespaces/alpha/properties",
     {"json": {"removals": ["\x00"]}}, 400, "BadRequestException"),
    ("NUL in a table name", "ws_editor", "POST", TABLES,
     {"json": {"name": "t\x00", "schema": SCHEMA}}, 400, "BadRequestException"),
    ("NUL in a column name", "ws_editor", "POST", TABLES,
     {"json": {"name": "t", "schema": _schema_with({"name": "c\x00", "type": "string"})}}, 400, "BadRequestException"),
    ("NUL in a table property", "ws_editor", "POST", TABLES,
     {"json": {"name": "t", "schema": SCHEMA, "properties": {"owner": "\x00"}}}, 400, "BadRequestException"),
    ("NUL in a committed property", "ws_editor", "POST", READINGS,
     _commit({"action": "set-properties", "updates": {"k": "\x00"}}), 400, "BadRequestException"),
    ("NUL in a transaction", "ws_editor", "POST", f"{CAT}/transactions/commit",
     {"json": {"table-changes": [{"identifier": {"namespace": ["alpha"], "name": "readings"}, "requirements": [],
      "updates": [{"action": "set-properties", "updates": {"\x00": "v"}}]}]}}, 400, "BadRequestException"),
    ("NUL in a rename", "ws_editor", "POST", f"{CAT}/tables/rename",
     {"json": {"source": {"namespace": ["alpha"], "name": "readings"},
               "destination": {"namespace": ["alpha"], "name": "r\x00"}}}, 400, "BadRequestException"),
    ("NUL in a metrics report", "ws_viewer", "POST", f"{READINGS}/metrics",
     {"json": {"report-type": "commit-report", "table-name": "alpha.readings\x00", "snapshot-id": 1,
               "sequence-number": 1, "operation": "append", "metrics": {}}}, 400, "BadRequestException"),
    ("NUL in a registration", "ws_editor", "POST", f"{CAT}/namespaces/alpha/register",
     {"json": {"name": "r", "metadata-location": "file:///x\x00"}}, 400, "BadRequestException"),
    ("NUL in the namespace path", "ws_admin", "DELETE", f"{CAT}/namespaces/al%00pha", {}, 400, "BadRequestException"),
    ("NUL in the table path", "ws_admin", "DELETE", f"{TABLES}/read%00ings", {}, 400, "BadRequestException"),
    ("NUL in the prefix", "ws_editor", "POST", "/iceberg/v1/al%00pha/namespaces",
     {"json": {"namespace": ["alpha", "fine"]}}, 400, "BadRequestException"),
    ("NUL in parent", "ws_viewer", "GET", f"{CAT}/namespaces", {"params": {"parent": "\x00"}}, 400,
     "BadRequestException"),
    ("NUL in pageToken", "ws_viewer", "GET", TABLES, {"params": {"pageToken": "a\x00"}}, 400, "BadRequestException"),
    ("NUL in warehouse", "ws_viewer", "GET", "/iceberg/v1/config", {"params": {"warehouse": "\x00"}}, 400,
     "BadRequestException"),
    ("NUL without credentials", "anonymous", "GET", f"{CAT}/namespaces/al%00pha", {}, 400, "BadRequestException"),
    ("malformed JSON", "ws_editor", "POST", f"{CAT}/namespaces",
     {"content": b'{"namespace": [', "headers": {"content-type": "application/json"}}, 400, "BadRequestException"),
    ("body is a list", "ws_editor", "POST", TABLES, {"json": [SCHEMA]}, 400, "BadRequestException"),
    ("missing field", "ws_editor", "POST", f"{CAT}/namespaces", {"json": {}}, 400, "BadRequestException"),
    ("unknown update", "ws_editor", "POST", READINGS, _commit({"action": "explode"}), 400, "BadRequestException"),
    ("unknown requirement", "ws_editor", "POST", READINGS,
     _commit(SET_PROPERTY, requirements=[{"type": "assert-nothing"}]), 400, "BadRequestException"),
    ("a default of the wrong type", "ws_editor", "POST", TABLES,
     {"json": {"name": "t", "schema": _schema_with(WRONG_DEFAULT)}}, 400, "BadRequestException"),
    ("a wrong default in a commit", "ws_editor", "POST", READINGS,
     _commit({"action": "add-schema", "schema": _schema_with(WRONG_DEFAULT)}), 400, "BadRequestException"),
    ("location outside the workspace", "ws_editor", "POST", TABLES,
     {"json": {"name": "t", "schema": SCHEMA, "location": "file:///tmp/elsewhere"}}, 400, "BadRequestException"),
    # pyiceberg, which writes the catalog's metadata files, cannot write format v3 metadata yet
    ("a format v3 table", "ws_editor", "POST", TABLES,
     {"json": {"name": "t", "schema": SCHEMA, "properties": {"format-version": "3"}}}, 400, "BadRequestException"),
    ("an upgrade to format v3", "ws_editor", "POST", READINGS,
     _commit({"action": "upgrade-format-version", "format-version": 3}), 400, "BadRequestException"),
    ("namespace part with a dot", "ws_editor", "POST", f"{CAT}/namespaces",
     {"json": {"namespace": ["alpha", "a.b"]}}, 400, "BadRequestException"),
    # createNamespace has no 404 in the spec
    ("parent namespace missing", "ws_editor", "POST", f"{CAT}/namespaces",
     {"json": {"namespace": ["alpha", "nope", "child"]}}, 400, "BadRequestException"),
    ("unknown warehouse", "ws_editor", "POST", "/iceberg/v1/nowhere/namespaces",
     {"json": {"namespace": ["alpha", "fine"]}}, 400, "BadRequestException"),
    ("pageSize zero", "ws_viewer", "GET", TABLES, {"params": {"pageSize": 0}}, 400, "BadRequestException"),
    ("unknown snapshots mode", "ws_viewer", "GET", READINGS, {"params": {"snapshots": "some"}}, 400,
     "BadRequestException"),
    ("duplicate namespace", "ws_editor", "POST", f"{CAT}/namespaces", {"json": {"namespace": ["alpha"]}}, 409,
     "AlreadyExistsException"),
    ("duplicate table", "ws_editor", "POST", TABLES, {"json": {"name": "readings", "schema": SCHEMA}}, 409,
     "AlreadyExistsException"),
    ("missing table", "ws_admin", "DELETE", f"{TABLES}/nothing", {}, 404, "NoSuchTableException"),
    ("missing namespace", "ws_viewer", "GET", f"{CAT}/namespaces/alpha%1Fnothing", {}, 404,
     "NoSuchNamespaceException"),
    ("failed requirement", "ws_editor", "POST", READINGS,
     _commit(SET_PROPERTY, requirements=[{"type": "assert-table-uuid", "uuid": "00000000-0000-0000-0000-000000000000"}]),
     409, "CommitFailedException"),
    ("foreign namespace", "outsider", "POST", "/iceberg/v1/all-workspaces/namespaces",
     {"json": {"namespace": ["alpha", "mine"]}}, 403, "ForbiddenException"),
    ("unknown route", "ws_viewer", "GET", f"{CAT}/nothing-here", {}, 404, "NoSuchEntityException"),
    ("wrong method", "ws_editor", "PUT", f"{CAT}/namespaces", {"json": {}}, 405, "UnsupportedOperationException"),
]  # fmt: skip


@pytest.fixture
def readings(client: TestClient, world: World) -> None:
    created = client.post(
        TABLES, json={"name": "readings", "schema": SCHEMA}, headers=world.headers("ws_editor")
    )
    assert created.status_code == 200, created.text


@pytest.mark.parametrize(
    ("actor", "method", "path", "kwargs", "status", "iceberg_type"),
    [pytest.param(*case[1:], id=case[0]) for case in CATALOG_CASES],
)
def test_bad_catalog_input_is_refused_in_the_spec_shape_and_changes_nothing(
    client: TestClient,
    world: World,
    db: Database,
    readings: None,
    actor: str,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    iceberg_type: str,
) -> None:
    before = snapshot(db)
    extra_headers = kwargs.get("headers", {})
    request_kwargs = {k: v for k, v in kwargs.items() if k != "headers"}
    response = client.request(
        method, path, headers={**world.headers(actor), **extra_headers}, **request_kwargs
    )
    assert response.status_code == status, response.text
    assert_iceberg_error(response, f"{method} {path}")
    assert response.json()["error"]["type"] == iceberg_type
    assert "\x00" not in response.text, "the rejected value is not echoed back"
    assert snapshot(db) == before


VALID_FORM = {"grant_type": "client_credentials", "client_id": "abc", "client_secret": "s"}


@pytest.mark.parametrize(
    ("query", "form"),
    [
        ("", {**VALID_FORM, "client_secret": "s\x00"}),
        ("", {**VALID_FORM, "grant_type": "client_credentials\x00"}),
        ("?scope=%00", VALID_FORM),
    ],
    ids=["secret", "grant-type", "query"],
)
def test_nul_in_an_oauth_token_request_is_a_400(
    client: TestClient, db: Database, query: str, form: dict[str, str]
) -> None:
    """The token endpoint answers in the spec's OAuth error shape, not the catalog's."""
    before = snapshot(db)
    response = client.post(f"/iceberg/v1/oauth/tokens{query}", data=form)
    assert response.status_code == 400, response.text
    assert_matches("OAuthError", response.json(), "oauth")
    assert response.json()["error"] == "invalid_request"
    assert snapshot(db) == before
