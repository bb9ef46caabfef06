"""One error body everywhere: RFC 9457 problem+json.

Domain errors, FastAPI's validation errors, Starlette's HTTP errors (unknown route, wrong method)
and unexpected failures all leave through here with the same shape and the request id.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from sadeem.api.route_table import allowed_methods
from sadeem.core import errors

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("sadeem.api")

STATUS_OF: dict[type[errors.SadeemError], int] = {
    errors.InvalidInput: 400,
    errors.NotAuthenticated: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Gone: 410,
    errors.TooLarge: 413,
    errors.TooManyRequests: 429,
    errors.StateUnknown: 500,
    errors.Unavailable: 503,
}

# An API that must answer in its own error shape (the Iceberg REST catalog's spec has one) renders
# errors under its path prefix itself: (request, status, code, detail, headers, exception) -> Response.
ErrorRenderer = Callable[[Request, int, str, str, Mapping[str, str] | None, Exception | None], Response]
_renderers: dict[str, ErrorRenderer] = {}


def register_error_renderer(path_prefix: str, renderer: ErrorRenderer) -> None:
    _renderers[path_prefix] = renderer


# The console's pages live at paths no route has (its router runs in the browser): a GET that no
# route answers may be one of them, and the console decides (sadeem.ui.console).
PageFallback = Callable[[Request], Response | None]
_page_fallbacks: list[PageFallback] = []


def register_page_fallback(fallback: PageFallback) -> None:
    if fallback not in _page_fallbacks:
        _page_fallbacks.append(fallback)


def _renderer_for(path: str) -> ErrorRenderer | None:
    return next((r for prefix, r in _renderers.items() if path.startswith(prefix)), None)


# Every `type` a Sadeem problem can have is `urn:sadeem:problem:<code>`, with one of these codes: the
# domain errors' (core/errors.py and their subclasses; tests/test_openapi_document.py checks they are all
# here) and the HTTP layer's own. The OpenAPI document lists them as an enum, so a client can switch
# on `type` and its compiler knows every case.
PROBLEM_CODES = (
    "conflict",
    "destination-refused",
    "gone",
    "http-error",
    "internal-error",
    "invalid-input",
    "malformed-json",
    "method-not-allowed",
    "not-authenticated",
    "not-found",
    "outside-workspace-storage",
    "permission-denied",
    "state-unknown",
    "too-large",
    "too-many-attempts",
    "too-many-requests",
    "unavailable",
    "validation-error",
)


def problem_type(code: str) -> str:
    return f"urn:sadeem:problem:{code}"


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every Sadeem error is returned."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        examples=[problem_type("not-found")],
        json_schema_extra={"enum": [problem_type(code) for code in PROBLEM_CODES]},
    )
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


def problem_response(
    request: Request,
    status: int,
    code: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
    exc: Exception | None = None,
    **extra: Any,
) -> Response:
    if renderer := _renderer_for(request.url.path):
        return renderer(request, status, code, detail, headers, exc)
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": ctx.request_id if (ctx := getattr(request.state, "ctx", None)) else None,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Never echo the rejected input back: it may be a password or a connection secret.
    return [
        {
            "loc": [str(p) if not isinstance(p, int) else p for p in e["loc"]],
            "msg": e["msg"],
            "type": e["type"],
        }
        for e in exc.errors()
    ]


async def _on_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.SadeemError)
    status = next(s for cls, s in STATUS_OF.items() if isinstance(exc, cls))
    headers = None
    if isinstance(exc, errors.TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after_seconds)}
    if isinstance(exc, errors.NotAuthenticated):
        headers = {"WWW-Authenticate": 'Bearer realm="sadeem"'}
    return problem_response(request, status, exc.code, exc.detail, headers=headers, exc=exc, **exc.extra)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    field_errors = _field_errors(exc)
    if any(e["type"] == "json_invalid" for e in field_errors):
        return problem_response(request, 400, "malformed-json", "The request body is not valid JSON.")
    where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in field_errors[:5])
    return problem_response(
        request,
        422,
        "validation-error",
        f"The request is not valid: {where}"
        if _renderer_for(request.url.path)
        else "The request is not valid; see `errors`.",
        errors=field_errors,
    )


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404 and request.method in ("GET", "HEAD"):
        for fallback in _page_fallbacks:
            if (page := fallback(request)) is not None:
                return page
    code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    headers = dict(exc.headers or {})
    # On a 405 the router names only the methods of the first route that matched the path; each
    # method of a path is its own route, so list them all (RFC 9110 §15.5.6).
    if exc.status_code == 405 and (methods := allowed_methods(request.app, request.scope)):
        headers["Allow"] = ", ".join(methods)
    return problem_response(request, exc.status_code, code, detail, headers=headers)


def log_unexpected_error(exc: Exception) -> None:
    """Log an unhandled error with its traceback. A pydantic ValidationError's message quotes the
    rejected input, which may be a secret, so for those only the error locations and types go out."""
    if isinstance(exc, ValidationError):
        where = "".join(traceback.format_tb(exc.__traceback__))
        what = exc.errors(include_url=False, include_input=False, include_context=False)
        log.error("unhandled ValidationError for %s: %s\n%s", exc.title, what, where)
        return
    log.error("unhandled error", exc_info=exc)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.SadeemError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
