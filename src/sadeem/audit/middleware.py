"""The audit safety net: a state-changing request that left no event in the trail (refused by a
permission check, rejected as invalid, failed, or unaudited by mistake) is recorded here, so
*every* mutating request leaves an event. So is any admin request made with a bearer token, and
a failed request whose service recorded an event that was then rolled back with its change.

It reads the request's unit of work: the events its committed transactions appended, and whether
they wrote anything. A route declared `unaudited_when_unchanged` (an Iceberg client's metrics
report, stopping a run that already ended, saving an identical version) is not recorded when its
request succeeds without writing anything."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from anyio import to_thread
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sadeem.api.context import RequestContext
from sadeem.audit import service
from sadeem.db import unit_of_work
from sadeem.db.engine import Database
from sadeem.db.session import SAFE_METHODS
from sadeem.observability.middleware import route_template

log = logging.getLogger("sadeem.audit")

_UNCHANGED = "sadeem_unaudited_when_unchanged"
Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def unaudited_when_unchanged(endpoint: Endpoint) -> Endpoint:
    """Declare that a request to this route that succeeds without writing anything changed
    nothing (a repeat, an identical update), so it leaves no event."""
    setattr(endpoint, _UNCHANGED, True)
    return endpoint


def _outcome(status: int) -> str:
    if status in (401, 403):
        return "denied"
    return "success" if status < 400 else "failure"


def _needs_event(ctx: RequestContext, scope: Scope, status: int) -> bool:
    if ctx.method in SAFE_METHODS and not ctx.audit_token_use:
        return False
    write_session: Session | None = scope.get("state", {}).get("write_session")
    if write_session is None:
        return True
    work = unit_of_work.of(write_session)
    if work.committed_events:
        return False
    unchanged_is_silent = getattr(getattr(scope.get("route"), "endpoint", None), _UNCHANGED, False)
    return not (status < 400 and unchanged_is_silent and not work.committed_writes)


class AuditSafetyNet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            ctx: RequestContext | None = scope.get("state", {}).get("ctx")
            if ctx is not None and _needs_event(ctx, scope, status):
                db: Database = scope["app"].state.db
                await to_thread.run_sync(self._record, db, ctx, scope, status)

    @staticmethod
    def _record(db: Database, ctx: RequestContext, scope: Scope, status: int) -> None:
        route = scope.get("route")
        action = ctx.action or getattr(route, "name", None) or f"{ctx.method} {route_template(scope)}"
        workspace = scope.get("path_params", {}).get("workspace")
        try:
            with db.unit_of_work(action) as session:
                service.record(
                    session,
                    ctx.actor,
                    outcome=_outcome(status),
                    status_code=status,
                    workspace=workspace if isinstance(workspace, str) else None,
                    details={"method": ctx.method, "path": ctx.path},
                )
        except Exception:  # the response is already sent; losing the event must at least be loud
            log.exception("could not record audit event for %s %s", ctx.method, ctx.path)
