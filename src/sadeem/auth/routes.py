from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from sadeem.api.context import Ctx
from sadeem.api.pagination import PageParams
from sadeem.api.responses import errors
from sadeem.auth import service
from sadeem.auth.permissions import CSRF_COOKIE, SESSION_COOKIE, CurrentUser, PlatformAdmin, Public
from sadeem.auth.schemas import (
    LoginRequest,
    LoginResponse,
    MeOut,
    PasswordChange,
    PasswordReset,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from sadeem.config import Settings
from sadeem.core.pagination import Page
from sadeem.db.session import DbSession, UnitOfWorkRoute

router = APIRouter(prefix="/api/v1", route_class=UnitOfWorkRoute)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.post("/auth/login", operation_id="auth:login", tags=["auth"], responses=errors(401, 429))
def login(
    body: LoginRequest, _: Public, request: Request, response: Response, db: DbSession, ctx: Ctx
) -> LoginResponse:
    """Log in with a username and password; sets the session cookie and returns the CSRF token."""
    settings = _settings(request)
    new = service.login(
        db,
        ctx.actor,
        settings,
        request.app.state.identity_provider,
        body.username,
        body.password.get_secret_value(),
    )
    max_age = settings.session_absolute_timeout_seconds
    common = {
        "max_age": max_age,
        "secure": settings.cookie_secure,
        "samesite": settings.cookie_samesite,
        "path": "/",
    }
    response.set_cookie(SESSION_COOKIE, new.session_token, httponly=True, **common)  # type: ignore[arg-type]
    # Readable by the console's JavaScript, which echoes it in X-CSRF-Token (double submit).
    response.set_cookie(CSRF_COOKIE, new.csrf_token, httponly=False, **common)  # type: ignore[arg-type]
    return LoginResponse(
        user=UserOut.model_validate(new.user), csrf_token=new.csrf_token, expires_at=new.expires_at
    )


@router.post(
    "/auth/logout", operation_id="auth:logout", tags=["auth"], status_code=status.HTTP_204_NO_CONTENT
)
def logout(principal: CurrentUser, request: Request, response: Response, db: DbSession, ctx: Ctx) -> None:
    """End the current session (a bearer token stays valid; revoke it instead)."""
    service.logout(db, ctx.actor, principal)
    settings = _settings(request)
    for name, httponly in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        # With the attributes they were set with, so the browser replaces them.
        response.delete_cookie(
            name,
            path="/",
            secure=settings.cookie_secure,
            httponly=httponly,
            samesite=settings.cookie_samesite,
        )


@router.get("/me", operation_id="auth:getMe", tags=["auth"])
def get_me(principal: CurrentUser, request: Request, db: DbSession) -> MeOut:
    user = UserOut.model_validate(service.get_user(db, principal.username))
    # The same rule as `POST /api/v1/workspaces` applies.
    may_create = principal.is_platform_admin or _settings(request).users_can_create_workspaces
    return MeOut(**user.model_dump(), can_create_workspaces=may_create)


@router.post(
    "/me/password", operation_id="auth:changePassword", tags=["auth"], status_code=status.HTTP_204_NO_CONTENT
)
def change_my_password(body: PasswordChange, principal: CurrentUser, db: DbSession, ctx: Ctx) -> None:
    """Change your own password; ends all your sessions."""
    user = service.get_user(db, principal.username)
    service.change_own_password(
        db, ctx.actor, user, body.current_password.get_secret_value(), body.new_password.get_secret_value()
    )


@router.get("/me/tokens", operation_id="tokens:list", tags=["tokens"])
def list_my_tokens(principal: CurrentUser, db: DbSession, page: PageParams) -> Page[TokenOut]:
    rows, cursor = service.list_tokens(db, principal.user_id, page)
    return Page(items=[TokenOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.post("/me/tokens", operation_id="tokens:create", tags=["tokens"], status_code=status.HTTP_201_CREATED)
def create_my_token(
    body: TokenCreate, principal: CurrentUser, request: Request, db: DbSession, ctx: Ctx
) -> TokenCreated:
    """Create a personal access token. The token is in this response only."""
    user = service.get_user(db, principal.username)
    new = service.create_token(db, ctx.actor, _settings(request), user, body.name, body.expires_in_days)
    return TokenCreated(**TokenOut.model_validate(new.token).model_dump(), token=new.secret)


@router.delete(
    "/me/tokens/{token_id}",
    operation_id="tokens:revoke",
    tags=["tokens"],
    status_code=status.HTTP_204_NO_CONTENT,
)
def revoke_my_token(token_id: str, principal: CurrentUser, db: DbSession, ctx: Ctx) -> None:
    service.revoke_token(db, ctx.actor, service.get_token(db, token_id, principal.user_id))


@router.get("/users", operation_id="users:list", tags=["users"])
def list_users(
    _: PlatformAdmin,
    db: DbSession,
    page: PageParams,
    q: Annotated[
        str | None, Query(max_length=100, description="Part of the username, display name or email.")
    ] = None,
) -> Page[UserOut]:
    rows, cursor = service.list_users(db, page, q)
    return Page(items=[UserOut.model_validate(r) for r in rows], next_cursor=cursor)


@router.post(
    "/users",
    operation_id="users:create",
    tags=["users"],
    status_code=status.HTTP_201_CREATED,
    responses=errors(409),
)
def create_user(body: UserCreate, _: PlatformAdmin, db: DbSession, ctx: Ctx) -> UserOut:
    user = service.create_user(
        db,
        ctx.actor,
        body.username,
        body.password.get_secret_value(),
        body.role,
        body.display_name,
        body.email,
    )
    return UserOut.model_validate(user)


@router.get("/users/{username}", operation_id="users:get", tags=["users"])
def get_user(username: str, _: PlatformAdmin, db: DbSession) -> UserOut:
    return UserOut.model_validate(service.get_user(db, username))


@router.patch("/users/{username}", operation_id="users:update", tags=["users"], responses=errors(409))
def update_user(username: str, body: UserUpdate, _: PlatformAdmin, db: DbSession, ctx: Ctx) -> UserOut:
    """Change a user's display name, email (null removes it), platform role or disabled flag.
    Disabling ends the user's sessions; nobody can disable themselves, nor demote or disable the
    last active admin."""
    user = service.get_user(db, username)
    sent = body.model_dump(exclude_unset=True)
    changes = service.UserChanges(**sent, clear_email="email" in sent and sent["email"] is None)
    return UserOut.model_validate(service.update_user(db, ctx.actor, user, changes))


@router.post(
    "/users/{username}/password",
    operation_id="users:resetPassword",
    tags=["users"],
    status_code=status.HTTP_204_NO_CONTENT,
)
def reset_password(username: str, body: PasswordReset, _: PlatformAdmin, db: DbSession, ctx: Ctx) -> None:
    """Set a user's password; ends their sessions and lifts a lockout."""
    service.set_password(db, ctx.actor, service.get_user(db, username), body.password.get_secret_value())
