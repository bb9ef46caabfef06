"""The authorization matrix (ARCHITECTURE.md §5): every route of the app, walked from its route
table, against anonymous, a viewer, an editor and an admin of workspace `alpha`, a platform admin,
and the admin of another workspace. What each may do follows from the permission the route
declares; a route that declares none fails here, so a new route cannot skip its check. The
Iceberg REST catalog's routes (permission scope `catalog`) decide per namespace, not per route, and
have their own matrix (test_catalog_authorization.py); they are only checked for a permission here.

Requests carry no body or `{}`: a 422 for a missing field means authorization passed and nothing
changed. Actors go least-privileged first, and the world is restored after every state-changing
request, so a DELETE that succeeds for one admin does not turn into a 404 for the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import pytest
from fastapi import params
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from sadeem.api.openapi import route_permission
from sadeem.api.problems import PROBLEM_MEDIA_TYPE
from sadeem.api.route_table import api_routes
from sadeem.auth.models import ApiToken, User
from sadeem.auth.permissions import Permission
from sadeem.auth.service import issue_run_token
from sadeem.config import Settings
from sadeem.core.clock import utcnow
from sadeem.db.engine import Database
from sadeem.db.session import SAFE_METHODS
from sadeem.workspaces.models import Workspace, WorkspaceRole
from tests.conftest import PASSWORD, World, bearer, reference_app, restore_world

WORKSPACE = "alpha"
# Least privileged first; see the module docstring.
ACTORS = ("anonymous", "outsider", "ws_viewer", "ws_editor", "ws_admin", "root")
ROLE_IN_ALPHA: dict[str, WorkspaceRole] = {
    "ws_viewer": WorkspaceRole.viewer,
    "ws_editor": WorkspaceRole.editor,
    "ws_admin": WorkspaceRole.admin,
    "root": WorkspaceRole.admin,  # platform admins act as admins of every workspace
}
# Path values that exist in the world; any other path parameter gets one that does not exist.
EXISTING_PATH_VALUES = {"workspace": WORKSPACE, "username": "ws_viewer"}
HIDDEN_WORKSPACE_DETAIL = f"No workspace '{WORKSPACE}'."

Outcome = Literal["unauthenticated", "forbidden", "hidden", "allowed"]


def _route_table() -> tuple[list[RouteContext], list[str]]:
    """The routes of an app built the way `sadeem up` builds it (no database is touched): its API
    routes, and the paths of any other routes besides FastAPI's own documentation pages."""
    with reference_app() as app:
        routes = api_routes(app)
    documentation = {app.openapi_url, app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    others = [
        str(getattr(route, "path", route))
        for route in iter_route_contexts(app.routes)
        if not isinstance(route.original_route, APIRoute) and route.path not in documentation
    ]
    return routes, others


ROUTES, OTHER_ROUTES = _route_table()


@dataclass(frozen=True)
class Endpoint:
    route: RouteContext
    method: str

    @property
    def label(self) -> str:
        return f"{self.method} {self.route.path_format}"


ENDPOINTS = [Endpoint(route, method) for route in ROUTES for method in sorted(route.methods)]


def _decided_per_namespace(endpoint: Endpoint) -> bool:
    permission = route_permission(endpoint.route)
    return permission is not None and permission.scope == "catalog"


# The catalog's routes are walked by test_catalog_authorization.py.
MATRIX_ENDPOINTS = [endpoint for endpoint in ENDPOINTS if not _decided_per_namespace(endpoint)]
# Under /iceberg/ errors take the Iceberg REST spec's shape (catalog/errors.py), not problem+json.
ICEBERG_PATH = "/iceberg/"


def error_media_type(path: str) -> str:
    return "application/json" if path.startswith(ICEBERG_PATH) else PROBLEM_MEDIA_TYPE


def expected_outcome(permission: Permission, actor: str) -> Outcome:
    if permission.scope == "public":
        return "allowed"
    if actor == "anonymous":
        return "unauthenticated"
    if permission.scope == "platform_admin":
        return "allowed" if actor == "root" else "forbidden"
    if permission.scope == "workspace":
        assert permission.workspace_role is not None
        role = ROLE_IN_ALPHA.get(actor)
        if role is None:
            return "hidden"  # a non-member learns nothing, not even that the workspace exists
        return "allowed" if role.at_least(permission.workspace_role) else "forbidden"
    assert permission.scope == "authenticated", f"no expectation for the permission {permission}"
    return "allowed"


def request_path(route: RouteContext) -> str:
    values: dict[str, str] = {}
    for field in get_flat_params(route.dependant):
        if not isinstance(field.field_info, params.Path):
            continue
        if field.alias in EXISTING_PATH_VALUES:
            values[field.alias] = EXISTING_PATH_VALUES[field.alias]
        elif field.field_info.annotation is int:
            values[field.alias] = "987654321"
        else:
            values[field.alias] = "no-such-thing"
    return route.path_format.format(**values)


def is_hidden_workspace(response: Any) -> bool:
    return (
        response.status_code == 404
        and response.headers.get("content-type") == PROBLEM_MEDIA_TYPE
        and response.json().get("detail") == HIDDEN_WORKSPACE_DETAIL
    )


def check_outcome(expected: Outcome, response: Any, who: str, path: str) -> None:
    status = response.status_code
    assert status < 500, f"{who}: server error {status}: {response.text}"
    if expected == "unauthenticated":
        assert status == 401, f"{who}: expected 401, got {status}: {response.text}"
        assert response.headers.get("www-authenticate", "").startswith("Bearer"), who
    elif expected == "forbidden":
        assert status == 403, f"{who}: expected 403, got {status}: {response.text}"
    elif expected == "hidden":
        assert is_hidden_workspace(response), f"{who}: expected the workspace to be hidden: {response.text}"
    else:
        assert status not in (401, 403), f"{who}: refused with {status}: {response.text}"
        assert not is_hidden_workspace(response), f"{who}: the workspace was hidden: {response.text}"
    if status >= 400:
        assert response.headers.get("content-type") == error_media_type(path), f"{who}: {response.headers}"


def test_the_route_table_is_walked() -> None:
    """Guards the walk itself: a FastAPI change in how `app.routes` holds routers once made it
    find nothing, which would pass every check below vacuously."""
    paths = {route.path_format for route in ROUTES}
    assert {"/api/v1/me", "/api/v1/workspaces/{workspace}", "/health", "/"} <= paths


def test_every_route_is_an_api_route() -> None:
    """A mount or a plain Starlette route cannot declare a permission, so nothing here could
    check it; serve through FastAPI routes (or give such a route its own test and list it here)."""
    assert not OTHER_ROUTES, f"routes outside the authorization matrix: {OTHER_ROUTES}"


def test_the_catalog_has_its_own_matrix() -> None:
    """Only routes that decide per namespace leave this matrix, and all of the catalog's do."""
    left_out = {endpoint.label for endpoint in ENDPOINTS} - {endpoint.label for endpoint in MATRIX_ENDPOINTS}
    assert left_out, "no catalog route found"
    assert all(label.split(" ")[1].startswith("/iceberg/v1/") for label in left_out), left_out


def test_every_route_declares_a_permission() -> None:
    undeclared = [endpoint.label for endpoint in ENDPOINTS if route_permission(endpoint.route) is None]
    assert not undeclared, f"routes without a permission dependency: {undeclared}"


# Who may call which route follows from the permission the route declares: the same code on either
# database. The walks below (every route by six actors, the world restored after each write) run once,
# on SQLite, which halves their share of CI; every route still meets PostgreSQL in the API fuzz
# (test_openapi_fuzz.py) and in its domain's tests.
ONE_DATABASE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@ONE_DATABASE
@pytest.mark.parametrize("endpoint", MATRIX_ENDPOINTS, ids=lambda e: e.label)
def test_authorization_matrix(
    endpoint: Endpoint, client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    route, method = endpoint.route, endpoint.method
    permission = route_permission(route)
    assert permission is not None, f"{endpoint.label} declares no permission"
    path = request_path(route)
    body = {} if route.body_field is not None else None
    operation = client.get("/openapi.json").json()["paths"].get(route.path_format, {}).get(method.lower())
    if route.include_in_schema:
        assert operation is not None, f"{endpoint.label} is missing from the OpenAPI document"

    for actor in ACTORS:
        who = f"{endpoint.label} as {actor}"
        response = client.request(method, path, json=body, headers=world.headers(actor))
        check_outcome(expected_outcome(permission, actor), response, who, path)
        if operation is not None:
            declared = set(operation["responses"])
            assert str(response.status_code) in declared, (
                f"{who}: status {response.status_code} is not declared in the OpenAPI document "
                f"(declared: {sorted(declared)})"
            )
        if method not in SAFE_METHODS:
            restore_world(db, settings)


# --- bearer tokens -----------------------------------------------------------------------------


def _token_id(client: TestClient, token: str) -> str:
    tokens = client.get("/api/v1/me/tokens", headers=bearer(token)).json()["items"]
    (only,) = tokens
    return str(only["id"])


def _assert_unauthenticated(response: Any, detail_fragment: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.headers["www-authenticate"] == 'Bearer realm="sadeem"'
    body = response.json()
    assert body["type"] == "urn:sadeem:problem:not-authenticated"
    assert detail_fragment in body["detail"], body


@pytest.mark.parametrize(
    ("authorization", "detail"),
    [
        ("Basic cm9vdDpwYXNzd29yZA==", "Authorization: Bearer"),
        ("Bearer", "Authorization: Bearer"),
        ("Bearer    ", "Authorization: Bearer"),
        ("Token sdm_0123456789abcdef_secret", "Authorization: Bearer"),
        ("Bearer not-a-sadeem-token", "not a Sadeem token"),
        ("Bearer sdm_0123456789abcdef_unknown", "not valid"),
        ("Bearer sdm__", "not a Sadeem token"),
        ("Bearer sdm_\u00e9\u00e9_x", "not a Sadeem token"),
        ("Bearer sdm_0123456789abcdef_\x00", "not a Sadeem token"),
    ],
    ids=[
        "basic",
        "no-credentials",
        "blank",
        "other-scheme",
        "foreign",
        "unknown",
        "empty-parts",
        "latin1",
        "nul",
    ],
)
def test_malformed_or_unknown_bearer_is_401(
    client: TestClient, world: World, authorization: str, detail: str
) -> None:
    response = client.get("/api/v1/me", headers={"Authorization": authorization.encode("latin-1")})
    _assert_unauthenticated(response, detail)


def test_wrong_secret_of_a_real_token_is_401(client: TestClient, world: World) -> None:
    token = world.tokens["ws_viewer"]
    forged = token[: token.rindex("_") + 1] + "A" * 43
    _assert_unauthenticated(client.get("/api/v1/me", headers=bearer(forged)), "not valid")


def test_expired_token_is_401(client: TestClient, world: World, db: Database) -> None:
    token = world.tokens["ws_viewer"]
    public_id = _token_id(client, token)
    with db.writes() as session:
        session.execute(update(ApiToken).where(ApiToken.public_id == public_id).values(expires_at=utcnow()))
        session.commit()
    _assert_unauthenticated(client.get("/api/v1/me", headers=bearer(token)), "expired")


def test_revoked_token_is_401(client: TestClient, world: World) -> None:
    token = world.tokens["ws_viewer"]
    revoked = client.delete(f"/api/v1/me/tokens/{_token_id(client, token)}", headers=bearer(token))
    assert revoked.status_code == 204, revoked.text
    _assert_unauthenticated(client.get("/api/v1/me", headers=bearer(token)), "revoked")


def test_token_of_a_disabled_user_is_401(client: TestClient, world: World) -> None:
    disabled = client.patch("/api/v1/users/ws_viewer", json={"disabled": True}, headers=world.headers("root"))
    assert disabled.status_code == 200, disabled.text
    _assert_unauthenticated(client.get("/api/v1/me", headers=world.headers("ws_viewer")), "disabled")


def test_login_lockout_does_not_lock_out_tokens(client: TestClient, world: World, settings: Settings) -> None:
    """Lockout throttles password guessing; a token is not a password, so it keeps working (the
    API fuzz relies on this: it fuzzes the login route while authenticated as `root`)."""
    for _ in range(settings.login_max_failures):
        failed = client.post("/api/v1/auth/login", json={"username": "root", "password": "wrong password"})
        assert failed.status_code == 401, failed.text
    locked = client.post("/api/v1/auth/login", json={"username": "root", "password": PASSWORD})
    assert locked.status_code == 429, locked.text
    assert int(locked.headers["retry-after"]) > 0
    assert client.get("/api/v1/users", headers=world.headers("root")).status_code == 200


# --- engine credentials ---------------------------------------------------------------------------


@ONE_DATABASE
@pytest.mark.parametrize(
    "endpoint",
    [e for e in MATRIX_ENDPOINTS if route_permission(e.route) != Permission("public")],
    ids=lambda e: e.label,
)
def test_every_api_route_refuses_an_engine_credential(
    endpoint: Endpoint, client: TestClient, world: World, db: Database
) -> None:
    """A run's or a statement's catalog credential (security issue #10) is good for its workspace's
    Iceberg catalog only: every other authenticated route refuses it, even a platform admin's."""
    with db.writes() as session:
        root = session.scalars(select(User).where(User.username == "root")).one()
        alpha = session.scalars(select(Workspace).where(Workspace.slug == WORKSPACE)).one()
        token = issue_run_token(
            session, root.id, "run 1 attempt 1", timedelta(minutes=5), workspace_id=alpha.id
        )
        session.commit()
    path = request_path(endpoint.route)
    body = {} if endpoint.route.body_field is not None else None
    response = client.request(endpoint.method, path, json=body, headers=bearer(token.secret))
    assert response.status_code == 401, f"{endpoint.label}: {response.status_code} {response.text}"
    assert "engine credential" in response.json()["detail"], response.text
