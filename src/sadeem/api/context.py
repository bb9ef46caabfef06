"""What a request knows about itself: id, client, route action and (once authenticated) principal.

It lives in the ASGI scope's `state`, so middleware (audit safety net, access log) and
dependencies see the same object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from sadeem.core.actor import Actor

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
    # An admin request made with a bearer token: audited even when it reads.
    audit_token_use: bool = False

    @property
    def actor(self) -> Actor:
        """Who acts in this request, for the services: its principal once authenticated."""
        p = self.principal
        return Actor(
            username=p.username if p else None,
            request_id=self.request_id,
            user_id=p.user_id if p else None,
            auth_method=p.auth_method if p else None,
            token_id=p.token_id if p else None,
            acting_for=p.acting_for if p else None,
            client_addr=self.client_addr,
            user_agent=self.user_agent,
        )


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
