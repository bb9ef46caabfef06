"""Property-based fuzzing of the whole API against its own OpenAPI document (schemathesis,
in-process): no 5xx, and every response — status, content type, headers, body — as documented.

All of schemathesis' checks run (one widened, see CONFIG), `ignored_auth` included: the document
declares which operations need credentials, and the check re-sends each request without them. The
fuzz authenticates as the platform admin `root` with a bearer token, so every route is reachable;
path parameters are pointed at things that exist (workspace `alpha`, its members) often enough to
get past the 404 for a made-up name, and the world is restored before every case. Login is fuzzed
too and may lock `root`'s password login; tokens are not affected by that lockout
(test_authorization_matrix.py proves it).

One pytest item per operation and backend: the schema is loaded at collection time from an app
built like the real one, and each case is sent to the test's own `app` (its database). (The
fixture-based loader, `schemathesis.pytest.from_fixture`, fails under pytest 9.2: it reads
`Function._nodeid`, which pytest no longer has.)
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from sadeem.api.text import NO_NUL_PATTERN, NUL_MESSAGE
from sadeem.config import Settings
from sadeem.db.engine import Database
from tests.conftest import World, reference_app, restore_world

# Values that exist in the `world`; each path parameter gets one of them or a generated one.
EXISTING_PATH_VALUES: dict[str, list[str]] = {
    "workspace": ["alpha"],
    "username": ["ws_viewer", "ws_editor", "ws_admin", "outsider"],
}


def _existing_or_generated(_context: schemathesis.HookContext, path_parameters: dict[str, Any] | None) -> Any:
    if not path_parameters:
        return st.just(path_parameters)
    choices = [
        st.sampled_from(EXISTING_PATH_VALUES[name]) | st.just(value)
        if name in EXISTING_PATH_VALUES and _plausible(value)
        else st.just(value)
        for name, value in path_parameters.items()
    ]
    return st.tuples(*choices).map(lambda values: dict(zip(path_parameters, values, strict=True)))


def _plausible(value: object) -> bool:
    """A value the schema accepts, so swapping in an existing one keeps a valid case valid (a
    deliberately invalid value stays, to be rejected)."""
    return isinstance(value, str) and 0 < len(value) <= 63 and "\x00" not in value


# Every check runs, with one widening: `positive_data_acceptance` also accepts 400. That is this
# API's answer to a well-formed request whose values only the server can judge, and no JSON schema
# can say: a `cursor` it did not issue (cursors are opaque), a token lifetime above the configured
# `token_max_ttl_days`. A 422 for schema-valid data stays a failure: the schema and the validation
# must agree.
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]
            }
        }
    }
)


def _schema() -> schemathesis.BaseSchema:
    """The API's OpenAPI document, from an app built the way `sadeem up` builds it. Requests go to
    each test's own app (its database, its `world`); the document is the same."""
    with reference_app() as app:
        loaded = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)
    loaded.hook("flatmap_path_parameters")(_existing_or_generated)
    return loaded


schema = _schema()


@pytest.mark.slow
@schema.parametrize()
@hypothesis_settings(
    max_examples=25,
    deadline=None,
    # The same cases on every run, so CI is reproducible; SADEEM_FUZZ_EXPLORE=1 draws new ones.
    derandomize=not os.environ.get("SADEEM_FUZZ_EXPLORE"),
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi(
    case: schemathesis.Case, app: FastAPI, world: World, db: Database, settings: Settings
) -> None:
    restore_world(db, settings)
    excluded = []
    if (case.method, case.path) in ONE_ELEMENT_ARRAY_AMBIGUOUS:
        excluded.append(schemathesis.checks.negative_data_rejection)
    case.call_and_validate(headers=world.headers("root"), app=app, excluded_checks=excluded)


# Operations where the derandomized fuzz draws a "negative" case that is not one: a nullable
# string query parameter mutated into a one-element array, which form encoding sends as the very
# same bytes as a string (`?q=false`), so the server rightly answers 200. (A repeated value,
# `?q=a&q=b`, is refused with a 422 app-wide: tests/test_statements_api.py pins it.)
ONE_ELEMENT_ARRAY_AMBIGUOUS = {("GET", "/api/v1/statements")}


# --- what the fuzz found, pinned (fast, on both backends) --------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "loc"),
    [
        ("POST", "/api/v1/users", {"username": "nul", "password": "p" * 12, "display_name": "a\x00"}, None),
        ("POST", "/api/v1/auth/login", {"username": "ro\x00ot", "password": "secret"}, ["body", "username"]),
        ("POST", "/api/v1/auth/login", {"username": "root", "password": "secret\x00"}, ["body", "password"]),
        ("GET", "/api/v1/users/ro%00ot", None, ["path", "username"]),
        ("PATCH", "/api/v1/workspaces/al%00pha", {}, ["path", "workspace"]),
        ("GET", "/api/v1/audit/events?actor=%00", None, ["query", "actor"]),
        ("GET", "/api/v1/users?cursor=a%00", None, ["query", "cursor"]),
    ],
    ids=["body", "login-username", "login-password", "path", "workspace-path", "query", "cursor"],
)
def test_nul_in_any_request_string_is_a_422(
    client: TestClient, world: World, method: str, path: str, body: Any, loc: list[str] | None
) -> None:
    response = client.request(method, path, json=body, headers=world.headers("root"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert {"loc": loc or ["body", "display_name"], "msg": NUL_MESSAGE, "type": "string_nul"} in errors
    assert "\x00" not in response.text  # the input is never echoed
    assert client.get("/api/v1/users/nul", headers=world.headers("root")).status_code == 404


def test_the_openapi_document_declares_the_nul_rule(client: TestClient) -> None:
    """Every free-text string a request can carry says it refuses NUL (a `pattern`), so clients
    and the fuzz know; strings with their own pattern or an enum are checked by the fuzz."""
    document = client.get("/openapi.json").json()
    undeclared: list[str] = []

    def visit(schema: Any, where: str) -> None:
        if isinstance(schema, list):
            for item in schema:
                visit(item, where)
        elif isinstance(schema, dict):
            if schema.get("type") == "string" and not {"pattern", "enum", "const"} & schema.keys():
                undeclared.append(where)
            elif schema.get("pattern") == NO_NUL_PATTERN:
                assert re.fullmatch(schema["pattern"], "text") and not re.search(schema["pattern"], "a\x00")
            for key, sub in schema.items():
                visit(sub, f"{where}.{key}")

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                visit(parameter["schema"], f"{method.upper()} {path} {parameter['name']}")
    for name in request_schemas(document):
        visit(document["components"]["schemas"][name], name)
    assert not undeclared, undeclared


def request_schemas(document: dict[str, Any]) -> set[str]:
    """Names of the component schemas that request bodies use, directly or nested."""
    components = document["components"]["schemas"]
    todo = [
        media["schema"]
        for operations in document["paths"].values()
        for operation in operations.values()
        for media in operation.get("requestBody", {}).get("content", {}).values()
    ]
    names: set[str] = set()
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.rsplit("/", 1)[-1] not in names:
                names.add(ref.rsplit("/", 1)[-1])
                todo.append(components[ref.rsplit("/", 1)[-1]])
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return names


def test_unix_time_is_not_a_date(client: TestClient, world: World) -> None:
    """pydantic reads `since=2024` as 2024 seconds after 1970; the API documents ISO 8601."""
    for value in ("2024", "0.5", "-1"):
        response = client.get(f"/api/v1/audit/events?since={value}", headers=world.headers("root"))
        assert response.status_code == 422, (value, response.text)
    iso = client.get("/api/v1/audit/events?since=2024-01-01T00:00:00Z", headers=world.headers("root"))
    assert iso.status_code == 200, iso.text


def test_405_lists_every_method_of_the_path(client: TestClient, world: World) -> None:
    response = client.request("PUT", "/api/v1/workspaces/alpha", headers=world.headers("root"))
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, PATCH"
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/api/v1/me/tokens", {"name": "t", "expires_in_days": True}, ["body", "expires_in_days"]),
        ("/api/v1/me/tokens", {"name": "t", "expires_in_days": "5"}, ["body", "expires_in_days"]),
        (
            "/api/v1/workspaces/alpha/connection-tests",
            {"config": {"type": "postgres", "host": "h", "port": True, "database": "d", "user": "u"}},
            ["body", "config", "postgres", "port"],
        ),
        (
            "/api/v1/workspaces/alpha/connection-tests",
            {"config": {"type": "trino", "host": "h", "user": "u", "verify_tls": 1}},
            ["body", "config", "trino", "verify_tls"],
        ),
    ],
    ids=["bool-as-int", "string-as-int", "bool-as-port", "int-as-bool"],
)
def test_json_types_are_not_coerced(
    client: TestClient, world: World, path: str, body: Any, loc: list[str]
) -> None:
    """What the document calls an integer or a boolean must be one (the fuzz found `true` taken
    for 1 day)."""
    response = client.post(path, json=body, headers=world.headers("root"))
    assert response.status_code == 422, response.text
    assert loc in [e["loc"] for e in response.json()["errors"]]
