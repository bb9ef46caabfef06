"""Authentication and user management: logins, sessions, personal access tokens, users.

No HTTP here: routes hand in values and get values or domain errors back.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sadeem.audit import service as audit
from sadeem.auth import passwords
from sadeem.auth.identity import IdentityProvider, VerifiedIdentity
from sadeem.auth.models import ApiToken, PlatformRole, User, UserSession
from sadeem.auth.principal import Principal, catalog_scope
from sadeem.config import Settings
from sadeem.core.actor import Actor
from sadeem.core.clock import utcnow
from sadeem.core.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    TooManyAttempts,
)
from sadeem.core.pagination import PageRequest, keyset_page
from sadeem.db import unit_of_work
from sadeem.db.search import contains_text
from sadeem.db.unique import add_unique

TOKEN_PREFIX = "sdm"  # noqa: S105 (a label, not a secret)
# `sdm_<public id: 16 hex digits>_<secret: URL-safe base64>`, as `create_token` makes them.
_TOKEN_SHAPE = re.compile(rf"{TOKEN_PREFIX}_([0-9a-f]{{16}})_([A-Za-z0-9_-]{{1,100}})")
# Sessions' `last_seen_at` and tokens' `last_used_at` are touched at most this often, so reads do
# not turn into writes on every request.
TOUCH_INTERVAL = timedelta(seconds=60)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def validate_new_password(password: str) -> None:
    if not passwords.MIN_LENGTH <= len(password) <= passwords.MAX_LENGTH:
        raise InvalidInput(
            f"A password must have {passwords.MIN_LENGTH} to {passwords.MAX_LENGTH} characters."
        )


# --- users -------------------------------------------------------------------------------------


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"No user named '{username}'.")
    return user


def create_user(
    session: Session,
    actor: Actor,
    username: str,
    password: str | None,
    role: PlatformRole = PlatformRole.user,
    display_name: str = "",
    email: str | None = None,
) -> User:
    if password is not None:
        validate_new_password(password)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"A user named '{username}' already exists.")
    user = User(
        username=username,
        role=role,
        display_name=display_name,
        email=email,
        password_hash=passwords.hash_password(password) if password is not None else None,
    )
    add_unique(session, user, f"A user named '{username}' already exists.")
    audit.record(session, actor, target_type="user", target_id=username, details={"role": role.value})
    return user


def list_users(
    session: Session, page: PageRequest, text: str | None = None
) -> tuple[Sequence[User], str | None]:
    """Users in creation order; with `text`, those whose username, display name or email has it."""
    stmt = select(User)
    if text:
        stmt = stmt.where(contains_text(text, User.username, User.display_name, User.email))
    return keyset_page(session, stmt, User.id, page)


@dataclass(frozen=True)
class UserChanges:
    display_name: str | None = None
    email: str | None = None
    role: PlatformRole | None = None
    disabled: bool | None = None
    # None above means "unchanged"; this removes the email.
    clear_email: bool = False


def update_user(session: Session, actor: Actor, user: User, changes: UserChanges) -> User:
    if changes.disabled and actor.user_id is not None and actor.user_id == user.id:
        raise Conflict("You cannot disable your own account; another platform admin can.")
    demoting = changes.role is not None and changes.role is not PlatformRole.admin
    if demoting or changes.disabled:
        ensure_not_last_admin(session, user)
    applied: dict[str, object] = {
        k: v for k, v in vars(changes).items() if v is not None and k != "clear_email"
    }
    if changes.clear_email and changes.email is None:
        applied["email"] = None
    for name, value in applied.items():
        setattr(user, name, value)
    if changes.disabled:
        revoke_all_sessions(session, user)
    audit.record(session, actor, target_type="user", target_id=user.username, details={"changed": applied})
    return user


def set_password(session: Session, actor: Actor, user: User, password: str) -> None:
    """Set a new password; it ends the user's sessions and lifts a lockout."""
    validate_new_password(password)
    user.password_hash = passwords.hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    revoke_all_sessions(session, user)
    audit.record(session, actor, target_type="user", target_id=user.username)


def change_own_password(
    session: Session, actor: Actor, user: User, current_password: str, new_password: str
) -> None:
    if not passwords.verify_password(user.password_hash, current_password):
        audit.record(
            session,
            actor,
            target_type="user",
            target_id=user.username,
            outcome="failure",
            status_code=403,
            details={"reason": "wrong_current_password"},
        )
        unit_of_work.keep_when_refused(session)
        raise PermissionDenied("The current password is not correct.")
    set_password(session, actor, user, new_password)


def revoke_all_sessions(session: Session, user: User) -> None:
    now = utcnow()
    for row in session.scalars(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    ):
        row.revoked_at = now


def ensure_not_last_admin(session: Session, user: User) -> None:
    """Refuse to remove the last active platform admin. The active admins' rows stay locked until
    the caller commits (PostgreSQL; SQLite serializes writers anyway), so two admins demoting each
    other at the same moment cannot both succeed."""
    if user.role is not PlatformRole.admin or user.disabled:
        return
    active_admins = session.scalars(
        select(User.id).where(User.role == PlatformRole.admin, User.disabled.is_(False)).with_for_update()
    ).all()
    if len(active_admins) <= 1:
        raise Conflict("This is the last active platform admin; promote another admin first.")


def user_for_identity(session: Session, identity: VerifiedIdentity) -> User:
    """The Sadeem user behind an identity; external identities are provisioned on first login."""
    user = session.scalar(select(User).where(User.username == identity.username))
    if user is None:
        user = User(
            username=identity.username,
            display_name=identity.display_name,
            email=identity.email,
            identity_provider=identity.provider,
        )
        session.add(user)
        session.flush()
    return user


# --- login and sessions ------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSession:
    user: User
    session_token: str
    csrf_token: str
    expires_at: datetime


def login(
    session: Session,
    actor: Actor,
    settings: Settings,
    provider: IdentityProvider,
    username: str,
    password: str,
) -> NewSession:
    """Verify credentials with throttling; on success open a session. Every attempt is audited.

    The user's row stays locked until the attempt is decided (PostgreSQL; SQLite serializes
    writers anyway), so parallel guesses cannot lose each other's failure count."""
    now = utcnow()
    user = session.scalar(select(User).where(User.username == username).with_for_update())

    def refuse(reason: str, error: Exception) -> Exception:
        audit.record(
            session,
            actor,
            action="login",
            outcome="failure",
            status_code=401 if reason != "locked" else 429,
            target_type="user",
            target_id=username,
            username=username,
            user_id=user.id if user else None,
            details={"reason": reason},
        )
        unit_of_work.keep_when_refused(session)  # the failure count too
        return error

    invalid = NotAuthenticated("Invalid username or password.")
    if user is not None and user.locked_until is not None and user.locked_until > now:
        retry_after = int((user.locked_until - now).total_seconds()) + 1
        raise refuse(
            "locked",
            TooManyAttempts("Too many failed logins; try again later.", retry_after_seconds=retry_after),
        )
    identity = provider.verify_password(session, username, password)
    if identity is None or user is None:
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= settings.login_max_failures:
                user.locked_until = now + timedelta(seconds=settings.login_lockout_seconds)
                user.failed_logins = 0
        raise refuse("bad_credentials", invalid)
    if user.disabled:
        raise refuse("disabled", invalid)

    user.failed_logins = 0
    user.locked_until = None
    session_token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=settings.session_absolute_timeout_seconds)
    row = UserSession(
        token_hash=_digest(session_token),
        csrf_hash=_digest(csrf_token),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=expires_at,
        client_addr=actor.client_addr,
        user_agent=(actor.user_agent or "")[:300] or None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        action="login",
        target_type="user",
        target_id=user.username,
        username=user.username,
        user_id=user.id,
        details={"session_id": row.id},
    )
    return NewSession(user, session_token, csrf_token, expires_at)


def logout(session: Session, actor: Actor, principal: Principal) -> None:
    if principal.session_id is not None:
        row = session.get(UserSession, principal.session_id)
        if row is not None and row.revoked_at is None:
            row.revoked_at = utcnow()
    audit.record(session, actor, target_type="user", target_id=principal.username)


@dataclass(frozen=True)
class ResolvedSession:
    principal: Principal
    csrf_hash: str
    needs_touch: bool


def resolve_session(session: Session, settings: Settings, session_token: str) -> ResolvedSession:
    row = session.scalar(select(UserSession).where(UserSession.token_hash == _digest(session_token)))
    now = utcnow()
    if row is None or row.revoked_at is not None:
        raise NotAuthenticated("The session is not valid; log in again.")
    if row.expires_at <= now:
        raise NotAuthenticated("The session has expired; log in again.")
    idle_timeout = timedelta(seconds=settings.session_idle_timeout_seconds)
    if row.last_seen_at + idle_timeout <= now:
        raise NotAuthenticated("The session timed out after inactivity; log in again.")
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        raise NotAuthenticated("The session's user is disabled; log in again.")
    principal = Principal(user.id, user.username, user.role, "session", session_id=row.id)
    # `last_seen_at` lags real activity by up to the touch interval, and the session ends that much
    # early: with a short idle timeout, touch more often so that an active session never times out.
    touch_interval = min(TOUCH_INTERVAL, idle_timeout / 4)
    return ResolvedSession(principal, row.csrf_hash, now - row.last_seen_at >= touch_interval)


def touch_session(session: Session, session_id: int) -> None:
    row = session.get(UserSession, session_id)
    if row is not None:
        row.last_seen_at = utcnow()


def csrf_matches(csrf_hash: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(csrf_hash, _digest(presented))


# --- personal access tokens --------------------------------------------------------------------


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the whole `sdm_<id>_<secret>` string; shown once, never stored


def create_token(
    session: Session,
    actor: Actor,
    settings: Settings,
    user: User,
    name: str,
    expires_in_days: int | None,
) -> NewToken:
    days = settings.token_default_ttl_days if expires_in_days is None else expires_in_days
    if not 1 <= days <= settings.token_max_ttl_days:
        raise InvalidInput(f"A token may live at least 1 and at most {settings.token_max_ttl_days} days.")
    public_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    token = ApiToken(
        public_id=public_id,
        user_id=user.id,
        name=name,
        secret_hash=_digest(secret),
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor,
        target_type="token",
        target_id=public_id,
        details={"owner": user.username, "name": name, "expires_at": token.expires_at.isoformat()},
    )
    return NewToken(token, f"{TOKEN_PREFIX}_{public_id}_{secret}")


def issue_run_token(
    session: Session, user_id: int, name: str, lifetime: timedelta, *, workspace_id: int
) -> NewToken:
    """An engine credential for work done as `user_id` (a run attempt's or a worksheet statement's
    catalog access), in the caller's transaction; the work's audit events name it, and its owner
    revokes it when the work ends.

    It is scoped to the Iceberg catalog of `workspace_id` alone: engines hand it to code we do not
    control (DuckDB's SQL, a Spark program), so whoever reads it there must gain no more than the
    work itself already has — never the control-plane API, never another workspace's warehouse.
    It is kept out of its user's token list, so it cannot be mistaken for (or revoked as) one of
    their own."""
    public_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    token = ApiToken(
        public_id=public_id,
        user_id=user_id,
        name=name,
        secret_hash=_digest(secret),
        expires_at=utcnow() + lifetime,
        scope=catalog_scope(workspace_id),
    )
    session.add(token)
    return NewToken(token, f"{TOKEN_PREFIX}_{public_id}_{secret}")


def list_tokens(session: Session, user_id: int, page: PageRequest) -> tuple[Sequence[ApiToken], str | None]:
    """The user's own tokens (engine credentials minted for their runs are not theirs to manage)."""
    stmt = select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.scope.is_(None))
    return keyset_page(session, stmt, ApiToken.id, page)


def get_token(session: Session, public_id: str, user_id: int | None = None) -> ApiToken:
    """A token by id; with `user_id`, only that user's own tokens (no engine credential)."""
    stmt = select(ApiToken).where(ApiToken.public_id == public_id)
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id, ApiToken.scope.is_(None))
    token = session.scalar(stmt)
    if token is None:
        raise NotFound(f"No token with id '{public_id}'.")
    return token


def revoke_token(session: Session, actor: Actor, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    audit.record(session, actor, target_type="token", target_id=token.public_id)


@dataclass(frozen=True)
class ResolvedToken:
    principal: Principal
    needs_touch: bool


def resolve_token(session: Session, presented: str) -> ResolvedToken:
    # Checked before the lookup: a header may carry any byte, and PostgreSQL refuses some (NUL).
    shape = _TOKEN_SHAPE.fullmatch(presented)
    if shape is None:
        raise NotAuthenticated("The bearer token is not a Sadeem token.")
    public_id, secret = shape.groups()
    # One round trip for token and user: this runs on every bearer-authenticated request.
    found = session.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.public_id == public_id)
    ).first()
    if found is None or not hmac.compare_digest(found[0].secret_hash, _digest(secret)):
        raise NotAuthenticated("The bearer token is not valid.")
    token, user = found
    if token.revoked_at is not None:
        raise NotAuthenticated("The bearer token has been revoked.")
    now = utcnow()
    if token.expires_at <= now:
        raise NotAuthenticated("The bearer token has expired.")
    if user.disabled:
        raise NotAuthenticated("The bearer token's user is disabled.")
    principal = Principal(
        user.id,
        user.username,
        user.role,
        "token",
        token_id=token.public_id,
        scope=token.scope,
        acting_for=token.name if token.scope is not None else None,
    )
    needs_touch = token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL
    return ResolvedToken(principal, needs_touch)


def touch_token(session: Session, public_id: str) -> None:
    token = session.scalar(select(ApiToken).where(ApiToken.public_id == public_id))
    if token is not None:
        token.last_used_at = utcnow()


def usernames(session: Session, ids: Iterable[int | None]) -> dict[int | None, str]:
    """Usernames by user id, in one query (None ids are skipped)."""
    wanted = {i for i in ids if i is not None}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(wanted))).all())
