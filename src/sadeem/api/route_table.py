"""The app's route table as it is served: what the OpenAPI document, the 405 answers and the
authorization-matrix test walk.

`app.routes` holds the included routers, not their routes (FastAPI resolves an included route's
full path and dependencies per inclusion), so looking there for `APIRoute`s finds only routes
declared on the app itself; `api_routes` walks the inclusions.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from starlette.types import Scope


def api_routes(app: FastAPI) -> list[RouteContext]:
    """Every API route of `app`: full path, methods, and the dependencies of the routers it was
    included through."""
    return [route for route in iter_route_contexts(app.routes) if isinstance(route.original_route, APIRoute)]


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """The methods the requested path answers to, over all the routes that share it."""
    path = scope["path"].removeprefix(scope.get("root_path", "")) or "/"
    return sorted(
        {
            method
            for route in api_routes(app)
            if route.path_regex.match(path)
            for method in route.methods or ()
        }
    )
