"""The audit safety net: a state-changing request that no service recorded (refused by a
permission check, rejected as invalid, failed, or unaudited by mistake) is recorded here, so
*every* mutating request leaves an event. So is any admin request made with a bearer token, and
a failed request whose service recorded an event that was then rolled back with its change."""

from __future__ import annotations

import logging

from anyio import to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sadeem.api.context import RequestContext
from sadeem.audit import service
from sadeem.db.engine import Database
from sadeem.db.session import SAFE_METHODS
from sadeem.observability.middleware import route_template

log = logging.getLogger("sadeem.audit")


def _outcome(status: int) -> str:
    if status in (401, 403):
        return "denied"
    return "success" if status < 400 else "failure"


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
            if (
                ctx is not None
                and (not ctx.audited or status >= 400)
                and (ctx.method not in SAFE_METHODS or ctx.audit_token_use)
                and not (ctx.changes_nothing and status < 400)
            ):
                db: Database = scope["app"].state.db
                await to_thread.run_sync(self._record, db, ctx, scope, status)

    @staticmethod
    def _record(db: Database, ctx: RequestContext, scope: Scope, status: int) -> None:
        route = scope.get("route")
        ctx.action = ctx.action or getattr(route, "name", None) or f"{ctx.method} {route_template(scope)}"
        workspace = scope.get("path_params", {}).get("workspace")
        try:
            if ctx.audited:
                with db.reads() as session:
                    if service.committed_event_of(session, ctx):
                        return
            with db.writes() as session:
                service.record(
                    session,
                    ctx,
                    outcome=_outcome(status),
                    status_code=status,
                    workspace=workspace if isinstance(workspace, str) else None,
                    details={"method": ctx.method, "path": ctx.path},
                )
                session.commit()
        except Exception:  # the response is already sent; losing the event must at least be loud
            log.exception("could not record audit event for %s %s", ctx.method, ctx.path)
