"""Make the OpenAPI document declare every status each route can return, in the problem+json
shape, derived from what the route is: its permission, its parameters, its body. Also derived
from the permission: which credentials an operation needs (`security`); and from api/text.py:
the no-NUL `pattern` on free-text parameters.

The document is the contract the console's TypeScript client is generated from (openapi-typescript),
committed as `openapi.json` (`sadeem openapi > openapi.json`). For that: every operation has one
tag of `TAGS` and an explicit `operationId` `<tag>:<verb>` (`runs:submit`), declared on its route
so the console's call and the route are found by the same grep; pages are named schemas
(`RunPage`, core/pagination.py); a problem's `type` is an enum (api/problems.py).
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, params
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_flat_params
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext

from sadeem.api.problems import PROBLEM_MEDIA_TYPE, FieldError, Problem
from sadeem.api.route_table import api_routes
from sadeem.api.text import declare_no_nul
from sadeem.auth.permissions import CSRF_HEADER, SESSION_COOKIE, Permission, permission_of
from sadeem.db.session import SAFE_METHODS
from sadeem.workspaces.models import WorkspaceRole

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# Headers that come with a status wherever it is returned (see api/problems.py).
PROBLEM_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "The authentication scheme to use.",
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds to wait before trying again.",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
}


# One per area of the API, in the order a reader meets them; each operation has exactly one.
TAGS: list[dict[str, str]] = [
    {"name": "auth", "description": "Signing in and out, and the signed-in user's own account."},
    {
        "name": "tokens",
        "description": "The signed-in user's personal access tokens: bearer credentials for scripts and "
        "the CLI.",
    },
    {"name": "users", "description": "Local user accounts and their platform roles (platform admins)."},
    {
        "name": "workspaces",
        "description": "Workspaces (tenants): their lifecycle, the provisioning of their namespace and "
        "storage, and their members.",
    },
    {
        "name": "connections",
        "description": "Typed connections to storage, catalogs and engines, with write-only secrets and a "
        "real connectivity test.",
    },
    {
        "name": "catalog",
        "description": "The catalog explorer: a workspace's Iceberg namespaces and tables, their schemas, "
        "data files and a preview (read-only).",
    },
    {
        "name": "datasets",
        "description": "Iceberg tables registered as datasets, with an owner, a description and tags.",
    },
    {"name": "ingest", "description": "Upload a CSV or Parquet file into a table of the workspace."},
    {
        "name": "jobs",
        "description": "Job definitions, each edit a new immutable version: typed parameters, schedule, "
        "retry policy; pause, resume, roll back.",
    },
    {
        "name": "runs",
        "description": "Runs of jobs: submit, follow (state, timeline, logs), stop, retry, repair, and "
        "read or download their results.",
    },
    {
        "name": "queries",
        "description": "Saved SQL queries of the worksheet: versioned, shareable, runnable as a job.",
    },
    {
        "name": "statements",
        "description": "The SQL worksheet: execute statements, poll or cancel them, and page or download "
        "their results.",
    },
    {
        "name": "audit",
        "description": "The audit trail: who did what, when, from where, to what, with what outcome.",
    },
    {"name": "health", "description": "Liveness, readiness and Prometheus metrics."},
    {
        "name": "iceberg",
        "description": "The Iceberg REST catalog under `/iceberg/v1`, for engines (Spark, Trino, DuckDB, "
        "pyiceberg). Its operations are not in this document: their contract is the official "
        "Iceberg REST catalog spec, whose operationIds they carry (`iceberg:loadTable`).",
    },
]

# Either credential authenticates a request (auth/permissions.py); operations that need one say so.
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal access token (`sdm_…`), created with `POST /api/v1/me/tokens`.",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": f"The session `POST /api/v1/auth/login` sets. A state-changing request "
        f"also sends the session's CSRF token in `{CSRF_HEADER}`.",
    },
}


def route_permission(route: APIRoute | RouteContext) -> Permission | None:
    """The permission a route declares through its dependencies (None: it declares none)."""

    def walk(dependant: Dependant) -> Permission | None:
        for dep in dependant.dependencies:
            found = permission_of(dep.call) or walk(dep)
            if found is not None:
                return found
        return None

    return walk(route.dependant)


def implied_statuses(route: APIRoute | RouteContext, method: str) -> set[int]:
    statuses: set[int] = set()
    permission = route_permission(route)
    # Parameters of the route's dependencies count too: pagination's `limit`/`cursor`, the
    # permission's `{workspace}`.
    parameters = get_flat_params(route.dependant)
    has_body = route.body_field is not None
    if permission is not None and permission.scope != "public":
        statuses.add(401)
        if permission.scope != "authenticated" or method not in SAFE_METHODS:
            statuses.add(403)  # role checks, and CSRF on cookie-authenticated writes
    if permission is not None and permission.scope == "workspace":
        statuses.add(404)  # a workspace the caller may not see does not exist for them
        if permission.workspace_role is WorkspaceRole.editor:
            statuses.add(409)  # archived workspace
    if any(isinstance(p.field_info, params.Path) for p in parameters):
        statuses.add(404)
    if has_body:
        statuses.update({400, 422})  # malformed JSON, invalid body
    if parameters or has_body:
        statuses.add(422)
    if any(p.alias == "cursor" and isinstance(p.field_info, params.Query) for p in parameters):
        statuses.add(400)  # invalid cursor
    return statuses


def _problem_response(status: int, existing: dict[str, Any] | None) -> dict[str, Any]:
    description = (existing or {}).get("description") or HTTPStatus(status).phrase
    if status == 422:
        description = "Validation error"
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}},
    }
    if status in PROBLEM_HEADERS:
        response["headers"] = PROBLEM_HEADERS[status]
    return response


def _name_schemas_by_title(schema: dict[str, Any]) -> None:
    """Name each schema component by its title. They differ only for generic models: pydantic
    names `Page[RunOut]`'s schema `Page_RunOut_`, but titles it with the class name the model
    chose (`RunPage`, core/pagination.py), which is what a generated client should call it."""
    components: dict[str, Any] = schema["components"]["schemas"]
    renamed = {
        name: component["title"]
        for name, component in components.items()
        if component.get("title", name) != name
    }
    for old, new in renamed.items():
        if new in components:
            raise RuntimeError(f"Schemas {old} and {new} would share the name {new}.")
        components[new] = components.pop(old)
    refs = {f"#/components/schemas/{old}": f"#/components/schemas/{new}" for old, new in renamed.items()}

    def rewrite(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("$ref") in refs:
                node["$ref"] = refs[node["$ref"]]
            for value in node.values():
                rewrite(value)
        elif isinstance(node, list):
            for item in node:
                rewrite(item)

    rewrite(schema)


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes, tags=TAGS
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["FieldError"] = FieldError.model_json_schema()
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        problem.pop("$defs", None)
        components["Problem"] = problem
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        _name_schemas_by_title(schema)
        schema["components"]["securitySchemes"] = SECURITY_SCHEMES
        for route in api_routes(app):
            if not route.include_in_schema:
                continue
            for method in route.methods or ():
                operation = schema["paths"][route.path_format].get(method.lower())
                if operation is None:
                    continue
                permission = route_permission(route)
                if permission is not None and permission.scope != "public":
                    operation["security"] = [{name: []} for name in SECURITY_SCHEMES]
                for parameter in operation.get("parameters", []):
                    declare_no_nul(parameter.get("schema"))  # enforced by api.text for all parameters
                responses = operation.setdefault("responses", {})
                declared = {int(s) for s in responses if s.isdigit() and int(s) >= 400}
                for status in sorted(declared | implied_statuses(route, method)):
                    responses[str(status)] = _problem_response(status, responses.get(str(status)))
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def openapi_json(app: FastAPI) -> str:
    """The document as committed in `openapi.json`: keys sorted, so the file changes only where the
    API does and a diff of it reads as a diff of the API."""
    return json.dumps(app.openapi(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
