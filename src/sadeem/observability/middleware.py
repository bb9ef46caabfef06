"""The outermost request layer: request id, request context, access log and metrics."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sadeem.api.context import RequestContext
from sadeem.api.problems import log_unexpected_error, problem_response
from sadeem.observability.logging import request_id_var
from sadeem.observability.metrics import HttpMetrics

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
access_log = logging.getLogger("sadeem.access")


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "<unmatched>"


class RequestObservability:
    def __init__(self, app: ASGIApp, metrics: HttpMetrics | None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        offered = headers.get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = offered if _VALID_REQUEST_ID.match(offered) else uuid.uuid4().hex
        client = scope.get("client")
        scope.setdefault("state", {})["ctx"] = RequestContext(
            request_id=request_id,
            method=scope["method"],
            path=scope["path"],
            client_addr=client[0] if client else None,
            user_agent=headers.get(b"user-agent", b"").decode("latin-1")[:300] or None,
        )
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Unhandled errors end here rather than in Starlette's outermost middleware, so the 500
            # carries the request id and the log record leaves out what the caller sent.
            log_unexpected_error(exc)
            if not response_started:
                internal_error = problem_response(
                    Request(scope), 500, "internal-error", "An internal error occurred; see the server log."
                )
                await internal_error(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            if self.metrics is not None:
                self.metrics.observe(scope["method"], route, status, elapsed)
            access_log.info(
                "%s %s %s %.1fms",
                scope["method"],
                scope["path"],
                status,
                elapsed * 1000,
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": elapsed * 1000,
                },
            )
            request_id_var.reset(token)
