"""The Iceberg REST catalog's authorization matrix (ARCHITECTURE.md §5): every route under
/iceberg/v1, walked from the app's route table, against anonymous, a browser session, the admin
of another workspace, and a viewer, an editor and an admin of workspace `alpha`, and a platform
admin — under both kinds of catalog prefix (`alpha`, and `all-workspaces`, where the decision
falls per namespace).

The catalog authorizes per namespace (catalog/access.py): reading needs a viewer, changing an
editor, dropping a table or a namespace an admin; another workspace's namespace is refused with
403; only a bearer token authenticates. Unlike the generic matrix, every request here is a valid
one for an object that exists, so "allowed" means it succeeded (2xx); a refused request must
leave the catalog's tables exactly as they were. Every status must be one the official spec
declares for the operation, and every error body must match the spec's error schema.

A catalog route without a permission dependency, or one this file has no request for, fails here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import jsonschema_rs
import pytest
import yaml
from fastapi.routing import RouteContext
from fastapi.testclient import TestClient
from pyiceberg.catalog.sql import IcebergNamespaceProperties, IcebergTables
from sqlalchemy import select

from sadeem.api.openapi import route_permission
from sadeem.api.route_table import api_routes
from sadeem.auth.permissions import CSRF_HEADER
from sadeem.catalog.access import ALL_WORKSPACES
from sadeem.db.engine import Database
from sadeem.db.session import SAFE_METHODS
from sadeem.workspaces.models import WorkspaceRole
from tests.conftest import PASSWORD, World, reference_app

SPEC_PATH = Path(__file__).resolve().parents[1] / "specs" / "iceberg-rest-catalog-open-api.yaml"
BASE = "/iceberg"
ACTORS = ("anonymous", "session_cookie", "outsider", "ws_viewer", "ws_editor", "ws_admin", "root")
ROLE_IN_ALPHA = {
    "ws_viewer": WorkspaceRole.viewer,
    "ws_editor": WorkspaceRole.editor,
    "ws_admin": WorkspaceRole.admin,
    "root": WorkspaceRole.admin,  # platform admins act as admins of every workspace
}
PREFIXES = ("alpha", ALL_WORKSPACES)
SEP = "%1F"  # the spec's namespace separator, URL-encoded, in paths
SCHEMA = {
    "type": "struct",
    "schema-id": 0,
    "fields": [{"id": 1, "name": "id", "type": "long", "required": False}],
}

Outcome = Literal["unauthenticated", "forbidden", "allowed", "public"]


@cache
def spec() -> dict[str, Any]:
    assert SPEC_PATH.is_file(), f"the official Iceberg REST spec is expected at {SPEC_PATH}"
    loaded: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
    return loaded


def spec_operation(method: str, route_path: str) -> dict[str, Any]:
    """The spec's operation a route implements (its path without Sadeem's `/iceberg` base)."""
    path = route_path.removeprefix(BASE)
    operation = spec()["paths"].get(path, {}).get(method.lower())
    assert operation is not None, f"{method} {route_path} is not an operation of the Iceberg REST spec"
    return dict(operation)


@cache
def component_validator(name: str) -> Any:
    """A validator for one of the spec's component schemas (`$ref`s resolve inside the spec)."""
    root = {"$ref": f"#/components/schemas/{name}", "components": spec()["components"]}
    return jsonschema_rs.Draft4Validator(root)


def assert_matches(name: str, body: Any, who: str) -> None:
    errors = [e.message for e in component_validator(name).iter_errors(body)]
    assert not errors, f"{who}: the body does not match the spec's {name}: {errors}: {body}"


def assert_iceberg_error(response: Any, who: str) -> None:
    """The spec's `IcebergErrorResponse`: {"error": {"message", "type", "code"}} and nothing else."""
    assert response.headers.get("content-type") == "application/json", f"{who}: {response.headers}"
    if response.request.method == "HEAD":
        return  # no body
    body = response.json()
    assert_matches("IcebergErrorResponse", body, who)
    assert body["error"]["code"] == response.status_code, f"{who}: {body}"
    assert body["error"]["message"], f"{who}: {body}"


# --- the route table ---------------------------------------------------------------------------


def _catalog_routes() -> list[RouteContext]:
    with reference_app() as app:
        return [route for route in api_routes(app) if route.path_format.startswith(f"{BASE}/v1/")]


ROUTES = _catalog_routes()


@dataclass(frozen=True)
class Endpoint:
    route: RouteContext
    method: str

    @property
    def path(self) -> str:
        return str(self.route.path_format)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


ENDPOINTS = [Endpoint(route, method) for route in ROUTES for method in sorted(route.methods or ())]


# --- one valid request per operation -----------------------------------------------------------


@dataclass
class Call:
    """What a request needs from the world: the actor, and a client authenticated as `root` to put
    in place what the request acts on."""

    actor: str
    client: TestClient
    world: World

    @property
    def root(self) -> dict[str, str]:
        return self.world.headers("root")

    def catalog(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(
            method, f"{BASE}/v1/{ALL_WORKSPACES}{path}", headers=self.root, **kwargs
        )
        assert response.status_code < 300, (method, path, response.text)
        return response

    def ensure_namespace(self, *parts: str) -> None:
        head = self.client.head(f"{BASE}/v1/{ALL_WORKSPACES}/namespaces/{SEP.join(parts)}", headers=self.root)
        if head.status_code == 404:
            self.catalog("POST", "/namespaces", json={"namespace": list(parts)})

    def ensure_table(self, namespace: str, name: str) -> dict[str, Any]:
        path = f"/namespaces/{namespace}/tables/{name}"
        found = self.client.get(f"{BASE}/v1/{ALL_WORKSPACES}{path}", headers=self.root)
        if found.status_code == 200:
            loaded: dict[str, Any] = found.json()
            return loaded
        created: dict[str, Any] = self.catalog(
            "POST", f"/namespaces/{namespace}/tables", json={"name": name, "schema": SCHEMA}
        ).json()
        return created


@dataclass(frozen=True)
class CatalogRequest:
    role: WorkspaceRole | None  # what `alpha`'s members need; None: a public route
    namespace: str = "alpha"
    table: str = "readings"
    params: dict[str, str] | None = None
    json: Callable[[Call], Any] | None = None
    form: Callable[[Call], dict[str, str]] | None = None
    setup: Callable[[Call], None] | None = None
    success: int = 200


def _token_form(call: Call) -> dict[str, str]:
    if call.actor not in call.world.tokens:
        return {"grant_type": "client_credentials"}  # no credentials to offer
    _, client_id, secret = call.world.tokens[call.actor].split("_", 2)
    return {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}


def _set_property(call: Call) -> dict[str, Any]:
    return {"requirements": [], "updates": [{"action": "set-properties", "updates": {"by": call.actor}}]}


def _doomed_namespace(call: Call) -> None:
    call.ensure_namespace("alpha", "doomed")


def _doomed_table(call: Call) -> None:
    call.ensure_table("alpha", "doomed")


def _movable_table(call: Call) -> None:
    call.ensure_table("alpha", "movable")


def _register(call: Call) -> dict[str, Any]:
    location = call.ensure_table("alpha", "readings")["metadata-location"]
    return {"name": f"registered_{call.actor}", "metadata-location": location}


COMMIT_REPORT = {
    "report-type": "commit-report",
    "table-name": "sadeem.alpha.readings",
    "snapshot-id": 1,
    "sequence-number": 1,
    "operation": "append",
    "metrics": {"added-records": {"unit": "count", "value": 1}},
}

V, E, A = WorkspaceRole.viewer, WorkspaceRole.editor, WorkspaceRole.admin
NS = "/iceberg/v1/{prefix}/namespaces"
TABLE = NS + "/{namespace}/tables/{table}"
REQUESTS: dict[str, CatalogRequest] = {
    # Without `warehouse` the config lists the caller's own workspaces: anyone may ask. For
    # another workspace's warehouse it is refused, as any request under that prefix would be.
    "GET /iceberg/v1/config": CatalogRequest(V, params={"warehouse": "alpha"}),
    "POST /iceberg/v1/oauth/tokens": CatalogRequest(None, form=_token_form),
    f"GET {NS}": CatalogRequest(V, params={"parent": "alpha"}),
    f"POST {NS}": CatalogRequest(E, json=lambda call: {"namespace": ["alpha", f"made_by_{call.actor}"]}),
    f"GET {NS}/{{namespace}}": CatalogRequest(V),
    f"HEAD {NS}/{{namespace}}": CatalogRequest(V, success=204),
    f"DELETE {NS}/{{namespace}}": CatalogRequest(
        A, namespace=f"alpha{SEP}doomed", setup=_doomed_namespace, success=204
    ),
    f"POST {NS}/{{namespace}}/properties": CatalogRequest(
        E, json=lambda call: {"updates": {"by": call.actor}}
    ),
    f"GET {NS}/{{namespace}}/tables": CatalogRequest(V),
    f"POST {NS}/{{namespace}}/tables": CatalogRequest(
        E, json=lambda call: {"name": f"made_by_{call.actor}", "schema": SCHEMA}
    ),
    f"GET {TABLE}": CatalogRequest(V),
    f"HEAD {TABLE}": CatalogRequest(V, success=204),
    f"POST {TABLE}": CatalogRequest(E, json=_set_property),
    f"DELETE {TABLE}": CatalogRequest(A, table="doomed", setup=_doomed_table, success=204),
    f"POST {NS}/{{namespace}}/register": CatalogRequest(E, json=_register),
    "POST /iceberg/v1/{prefix}/tables/rename": CatalogRequest(
        E,
        setup=_movable_table,
        json=lambda call: {
            "source": {"namespace": ["alpha"], "name": "movable"},
            "destination": {"namespace": ["alpha"], "name": f"moved_by_{call.actor}"},
        },
        success=204,
    ),
    # Reading a table is enough to report metrics about it (catalog/rest.py).
    f"POST {TABLE}/metrics": CatalogRequest(V, json=lambda call: COMMIT_REPORT, success=204),
    "POST /iceberg/v1/{prefix}/transactions/commit": CatalogRequest(
        E,
        json=lambda call: {
            "table-changes": [
                {"identifier": {"namespace": ["alpha"], "name": "readings"}, **_set_property(call)}
            ]
        },
        success=204,
    ),
}


def expected_outcome(request: CatalogRequest, actor: str) -> Outcome:
    if request.role is None:
        return "public"
    if actor in ("anonymous", "session_cookie"):
        return "unauthenticated"  # the catalog takes bearer tokens only
    role = ROLE_IN_ALPHA.get(actor)
    if role is None:
        return "forbidden"  # alpha's namespaces are another workspace's
    return "allowed" if role.at_least(request.role) else "forbidden"


def catalog_rows(db: Database) -> tuple[list[Any], list[Any]]:
    with db.reads() as session:
        tables = sorted(map(tuple, session.execute(select(*IcebergTables.__table__.c))), key=repr)
        namespaces = sorted(
            map(tuple, session.execute(select(*IcebergNamespaceProperties.__table__.c))), key=repr
        )
    return tables, namespaces


def session_cookie_headers(client: TestClient, username: str) -> dict[str, str]:
    """A browser session's credentials (its cookie and its CSRF token), without a bearer token."""
    login = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    client.cookies.clear()
    return {"Cookie": cookies, CSRF_HEADER: login.json()["csrf_token"]}


# --- the tests ---------------------------------------------------------------------------------


def test_every_catalog_route_is_walked() -> None:
    """Guards the walk: the routes come from the app, not from this file's table; each one has a
    request here and is an operation of the official spec."""
    labels = {endpoint.label for endpoint in ENDPOINTS}
    assert "GET /iceberg/v1/{prefix}/namespaces/{namespace}/tables/{table}" in labels
    assert labels == set(REQUESTS), (
        f"routes without a request here: {sorted(labels - set(REQUESTS))}; "
        f"requests for no route: {sorted(set(REQUESTS) - labels)}"
    )
    for endpoint in ENDPOINTS:
        spec_operation(endpoint.method, endpoint.path)


def test_every_catalog_route_declares_a_permission() -> None:
    undeclared = [endpoint.label for endpoint in ENDPOINTS if route_permission(endpoint.route) is None]
    assert not undeclared, f"catalog routes without a permission dependency: {undeclared}"
    for endpoint in ENDPOINTS:
        permission = route_permission(endpoint.route)
        assert permission is not None
        public = REQUESTS[endpoint.label].role is None
        assert permission.scope == ("public" if public else "catalog"), (endpoint.label, permission)


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.label)
def test_catalog_authorization_matrix(
    endpoint: Endpoint, prefix: str, client: TestClient, world: World, db: Database
) -> None:
    route, method = endpoint.route, endpoint.method
    permission = route_permission(route)
    assert permission is not None, f"{endpoint.label} declares no permission"
    request = REQUESTS[endpoint.label]
    operation = spec_operation(method, endpoint.path)
    declared = {str(status) for status in operation["responses"]}
    cookie = session_cookie_headers(client, "ws_admin")
    Call("root", client, world).ensure_table("alpha", "readings")
    path = endpoint.path.format(prefix=prefix, namespace=request.namespace, table=request.table)

    for actor in ACTORS:
        who = f"{endpoint.label} under {prefix} as {actor}"
        call = Call(actor, client, world)
        if request.setup:
            request.setup(call)
        headers = cookie if actor == "session_cookie" else world.headers(actor)
        kwargs: dict[str, Any] = {"params": request.params}
        if request.json:
            kwargs["json"] = request.json(call)
        if request.form:
            kwargs["data"] = request.form(call)
        before = catalog_rows(db)
        response = client.request(method, path, headers=headers, **kwargs)
        status = response.status_code
        assert status < 500, f"{who}: server error {status}: {response.text}"
        assert str(status) in declared, (
            f"{who}: {status} is not in the spec for the operation: {response.text}"
        )

        expected = expected_outcome(request, actor)
        if expected == "unauthenticated":
            assert status == 401, f"{who}: expected 401, got {status}: {response.text}"
            assert response.headers.get("www-authenticate", "").startswith("Bearer"), who
        elif expected == "forbidden":
            assert status == 403, f"{who}: expected 403, got {status}: {response.text}"
        elif expected == "allowed":
            assert status == request.success, (
                f"{who}: expected {request.success}, got {status}: {response.text}"
            )
        if status >= 400 and request.form is None:
            assert_iceberg_error(response, who)
        if status in (401, 403):
            assert catalog_rows(db) == before, f"{who}: a refused request changed the catalog"
        if expected == "public":  # the OAuth2 token endpoint: the credentials are in the body
            if actor in ("anonymous", "session_cookie"):
                assert status == 400, f"{who}: {response.text}"
                assert_matches("OAuthError", response.json(), who)
            else:
                assert status == 200, f"{who}: {response.text}"
                assert_matches("OAuthTokenResponse", response.json(), who)
                assert response.json()["access_token"] == world.tokens[actor]
        if method not in SAFE_METHODS:
            client.cookies.clear()


def test_config_without_a_warehouse_is_for_everyone(client: TestClient, world: World) -> None:
    """The config of no particular warehouse: the caller's own workspaces, whoever asks."""
    for actor in ("outsider", "ws_viewer", "root"):
        response = client.get(f"{BASE}/v1/config", headers=world.headers(actor))
        assert response.status_code == 200, (actor, response.text)
        assert response.json()["overrides"]["prefix"] == ALL_WORKSPACES


def test_outsider_sees_only_its_own_namespaces(client: TestClient, world: World) -> None:
    listed = client.get(f"{BASE}/v1/{ALL_WORKSPACES}/namespaces", headers=world.headers("outsider"))
    assert listed.status_code == 200, listed.text
    assert listed.json()["namespaces"] == [["beta"]]
    everything = client.get(f"{BASE}/v1/{ALL_WORKSPACES}/namespaces", headers=world.headers("root"))
    assert everything.json()["namespaces"] == [["alpha"], ["beta"]]
