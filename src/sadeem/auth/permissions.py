"""Permission dependencies. Every route takes exactly one of these typed subjects, so its
permission is visible in its signature and checkable by the authorization-matrix test:

    Public            anyone, no credentials
    CurrentUser       any authenticated, enabled user
    PlatformAdmin     a platform admin
    WorkspaceViewer   a member of the `{workspace}` in the path with role viewer or higher
    WorkspaceEditor   ... editor or higher (and the workspace is not archived)
    WorkspaceAdmin    ... admin (platform admins count as admins of every workspace)
    CatalogUser       an authenticated user with a bearer token; the Iceberg REST catalog then
                      decides per namespace (catalog/access.py)

Credentials are a bearer personal access token or the session cookie; a cookie-authenticated
request that changes state must carry the session's CSRF token in `X-CSRF-Token`. An engine
credential (a token with a `scope`, minted for one run or statement) is accepted by CatalogUser
alone; every other dependency builds on `authenticated`, which refuses it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from sadeem.api.context import Ctx
from sadeem.auth import service
from sadeem.auth.principal import Principal
from sadeem.config import Settings
from sadeem.core.errors import Conflict, NotAuthenticated, NotFound, PermissionDenied
from sadeem.db import unit_of_work
from sadeem.db.session import SAFE_METHODS, DbSession, database_of
from sadeem.workspaces.access import WorkspaceAccess
from sadeem.workspaces.models import Membership, Workspace, WorkspaceRole, WorkspaceStatus

SESSION_COOKIE = "sadeem_session"
CSRF_COOKIE = "sadeem_csrf"
CSRF_HEADER = "X-CSRF-Token"
log = logging.getLogger("sadeem.auth")


@dataclass(frozen=True)
class Permission:
    scope: Literal["public", "authenticated", "platform_admin", "workspace", "catalog"]
    workspace_role: WorkspaceRole | None = None

    def __str__(self) -> str:
        return f"workspace:{self.workspace_role}" if self.workspace_role else self.scope


def declares(permission: Permission) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.__sadeem_permission__ = permission  # type: ignore[attr-defined]
        return fn

    return mark


def permission_of(call: Any) -> Permission | None:
    return getattr(call, "__sadeem_permission__", None)


@declares(Permission("public"))
async def public() -> None:
    """No credentials needed."""


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _bookkeeping_write(request: Request, db: Session, write: Callable[[Session], None]) -> None:
    """Record that a session or token was used, in its own short unit of work.

    A read request's own transaction stays a read. A state-changing request already holds the
    write transaction (on SQLite, `BEGIN IMMEDIATE` took the database's write lock), so a second
    writer would wait on it: there the write follows the request's commit (a request that fails
    records nothing; the next one will).
    """
    database = database_of(request)

    def bookkeeping() -> None:
        with database.unit_of_work() as writer:
            write(writer)

    if request.method in SAFE_METHODS:
        bookkeeping()
    else:
        unit_of_work.after_commit(db, bookkeeping)


ENGINE_CREDENTIAL_REFUSED = (
    "This token is an engine credential: it is good only for its workspace's Iceberg catalog "
    "(/iceberg), not for the Sadeem API. Use a personal access token or log in."
)


def _credentials(request: Request, db: Session, ctx: Ctx) -> Principal:
    """Whoever the request's credentials name, any kind of token included."""
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise NotAuthenticated("Use `Authorization: Bearer <token>`.")
        token = service.resolve_token(db, credentials.strip())
        principal = token.principal
        if token.needs_touch and principal.token_id is not None:
            token_id = principal.token_id
            _bookkeeping_write(request, db, lambda writer: service.touch_token(writer, token_id))
    elif cookie := request.cookies.get(SESSION_COOKIE):
        resolved = service.resolve_session(db, _settings(request), cookie)
        principal = resolved.principal
        if request.method not in SAFE_METHODS and not service.csrf_matches(
            resolved.csrf_hash, request.headers.get(CSRF_HEADER)
        ):
            ctx.principal = principal
            raise PermissionDenied(f"The {CSRF_HEADER} header is missing or does not match the session.")
        if resolved.needs_touch and principal.session_id is not None:
            session_id = principal.session_id
            _bookkeeping_write(request, db, lambda writer: service.touch_session(writer, session_id))
    else:
        raise NotAuthenticated("Authentication required: log in or send a bearer token.")
    ctx.principal = principal  # set before any refusal below, so the audit names who tried
    return principal


@declares(Permission("authenticated"))
def authenticated(request: Request, db: DbSession, ctx: Ctx) -> Principal:
    principal = _credentials(request, db, ctx)
    if principal.scope is not None:
        # 401 (not 403): the credential is not one this API takes at all, whatever the route.
        raise NotAuthenticated(ENGINE_CREDENTIAL_REFUSED)
    return principal


CurrentUser = Annotated[Principal, Depends(authenticated)]


@declares(Permission("catalog"))
def catalog_user(request: Request, db: DbSession, ctx: Ctx) -> Principal:
    """Iceberg clients authenticate with a bearer token only: a personal access token, one from
    the catalog's OAuth2 endpoint, or an engine credential (whose workspace catalog/access.py
    enforces). A browser session cannot reach the catalog."""
    if not request.headers.get("authorization"):
        raise NotAuthenticated(
            "The catalog needs `Authorization: Bearer <token>` (or OAuth2 client credentials)."
        )
    principal = _credentials(request, db, ctx)
    if principal.scope is not None and principal.catalog_workspace_id is None:
        raise NotAuthenticated(f"A token of scope '{principal.scope}' is not good for the catalog.")
    return principal


CatalogUser = Annotated[Principal, Depends(catalog_user)]


@declares(Permission("platform_admin"))
async def platform_admin(principal: CurrentUser, ctx: Ctx) -> Principal:
    if not principal.is_platform_admin:
        raise PermissionDenied("This needs the platform admin role.")
    if principal.auth_method == "token":
        ctx.audit_token_use = True
    return principal


WorkspaceSlug = Annotated[str, Path(max_length=63, description="Workspace slug.")]


def _workspace_access(minimum: WorkspaceRole) -> Callable[..., WorkspaceAccess]:
    @declares(Permission("workspace", minimum))
    def dependency(
        workspace: WorkspaceSlug, principal: CurrentUser, db: DbSession, ctx: Ctx
    ) -> WorkspaceAccess:
        found = db.scalar(select(Workspace).where(Workspace.slug == workspace))
        role: WorkspaceRole | None = None
        if found is not None:
            role = db.scalar(
                select(Membership.role).where(
                    Membership.workspace_id == found.id, Membership.user_id == principal.user_id
                )
            )
            if principal.is_platform_admin:
                if role is None and principal.auth_method == "token":
                    ctx.audit_token_use = True  # an admin override, not a member's access
                role = WorkspaceRole.admin
        if found is None or role is None:  # a non-member learns nothing, not even that it exists
            raise NotFound(f"No workspace '{workspace}'.")
        if not role.at_least(minimum):
            raise PermissionDenied(f"This needs the workspace role '{minimum}' or higher; yours is '{role}'.")
        if minimum is WorkspaceRole.editor and found.status is WorkspaceStatus.archived:
            raise Conflict(f"Workspace '{workspace}' is archived; unarchive it to make changes.")
        return WorkspaceAccess(principal, found, role)

    dependency.__name__ = f"workspace_{minimum}"
    return dependency


Public = Annotated[None, Depends(public)]
PlatformAdmin = Annotated[Principal, Depends(platform_admin)]
WorkspaceViewer = Annotated[WorkspaceAccess, Depends(_workspace_access(WorkspaceRole.viewer))]
WorkspaceEditor = Annotated[WorkspaceAccess, Depends(_workspace_access(WorkspaceRole.editor))]
WorkspaceAdmin = Annotated[WorkspaceAccess, Depends(_workspace_access(WorkspaceRole.admin))]
