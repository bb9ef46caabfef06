"""What a request knows about itself: id, client, route action and (once authenticated) actor.

It lives in the ASGI scope's `state`, so middleware (audit safety net, access log) and
dependencies see the same object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

if TYPE_CHECKING:
    from sadeem.auth.principal import Principal


@dataclass
class RequestContext:
    request_id: str
    method: str
    path: str
    client_addr: str | None
    user_agent: str | None
    action: str | None = None
    principal: Principal | None = None
    # Who acts when no authenticated user does (the CLI, Sadeem itself); audited as the actor.
    system_actor: str | None = None
    audited: bool = False
    # The last event a service recorded for this request; the audit safety net checks that it
    # was committed when the request fails after recording it.
    audit_seq: int | None = None
    audit_token_use: bool = False
    # A POST that changes nothing (an Iceberg client's metrics report): not audited when it succeeds.
    changes_nothing: bool = False
    extra: dict[str, object] = field(default_factory=dict)


async def request_context(request: Request) -> RequestContext:
    ctx: RequestContext | None = getattr(request.state, "ctx", None)
    if ctx is None:  # a request that bypassed the middleware (never in the app; safe in unit tests)
        ctx = RequestContext(
            request_id="-",
            method=request.method,
            path=request.url.path,
            client_addr=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
        )
        request.state.ctx = ctx
    route = request.scope.get("route")
    if ctx.action is None and route is not None:
        ctx.action = getattr(route, "name", None)
    return ctx


Ctx = Annotated[RequestContext, Depends(request_context)]
