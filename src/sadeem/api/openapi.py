"""Make the OpenAPI document declare every status each route can return, in the problem+json
shape, derived from what the route is: its permission, its path parameters, its body."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from sadeem.api.problems import PROBLEM_MEDIA_TYPE, FieldError, Problem
from sadeem.auth.permissions import Permission, permission_of
from sadeem.db.session import SAFE_METHODS

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def route_permission(route: APIRoute) -> Permission | None:
    """The permission a route declares through its dependencies (None: it declares none)."""

    def walk(dependant: Dependant) -> Permission | None:
        for dep in dependant.dependencies:
            found = permission_of(dep.call) or walk(dep)
            if found is not None:
                return found
        return None

    return walk(route.dependant)


def implied_statuses(route: APIRoute, method: str) -> set[int]:
    statuses: set[int] = set()
    permission = route_permission(route)
    if permission is not None and permission.scope != "public":
        statuses.add(401)
        if permission.scope != "authenticated" or method not in SAFE_METHODS:
            statuses.add(403)  # role checks, and CSRF on cookie-authenticated writes
    if permission is not None and permission.scope == "workspace":
        statuses.add(404)
        if method not in SAFE_METHODS:
            statuses.add(409)  # archived workspace
    if route.dependant.path_params:
        statuses.add(404)
    if route.dependant.body_params:
        statuses.update({400, 422})
    if route.dependant.query_params or route.dependant.path_params or route.dependant.body_params:
        statuses.add(422)
    if any(p.name == "cursor" for p in route.dependant.query_params):
        statuses.add(400)  # invalid cursor
    return statuses


def _problem_response(status: int, existing: dict[str, Any] | None) -> dict[str, Any]:
    description = (existing or {}).get("description") or HTTPStatus(status).phrase
    if status == 422:
        description = "Validation error"
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}}


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["FieldError"] = FieldError.model_json_schema()
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        problem.pop("$defs", None)
        components["Problem"] = problem
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        for route in app.routes:
            if not isinstance(route, APIRoute) or not route.include_in_schema:
                continue
            for method in route.methods or ():
                operation = schema["paths"][route.path_format].get(method.lower())
                if operation is None:
                    continue
                responses = operation.setdefault("responses", {})
                declared = {int(s) for s in responses if s.isdigit() and int(s) >= 400}
                for status in sorted(declared | implied_statuses(route, method)):
                    responses[str(status)] = _problem_response(status, responses.get(str(status)))
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
