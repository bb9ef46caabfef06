"""Identity providers: who vouches for a user's credentials.

Sadeem's sessions, tokens and roles do not depend on where a user's identity comes from. The
local user store is one provider; an OIDC provider (Keycloak, Azure AD, Okta) will be another,
resolving its callback to a `VerifiedIdentity` and then to a Sadeem user through
`service.user_for_identity` — without touching any route.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from sadeem.auth import passwords
from sadeem.auth.models import User


@dataclass(frozen=True)
class VerifiedIdentity:
    provider: str
    username: str
    display_name: str = ""
    email: str | None = None


class IdentityProvider(Protocol):
    name: str

    def verify_password(self, session: Session, username: str, password: str) -> VerifiedIdentity | None:
        """The identity behind a username/password pair, or None if the pair is not valid."""
        ...


class LocalIdentityProvider:
    """Users and argon2id hashes in Sadeem's own database."""

    name = "local"

    def verify_password(self, session: Session, username: str, password: str) -> VerifiedIdentity | None:
        user = session.scalar(
            select(User).where(User.username == username, User.identity_provider == "local")
        )
        if not passwords.verify_password(user.password_hash if user else None, password) or user is None:
            return None
        if user.password_hash and passwords.needs_rehash(user.password_hash):
            user.password_hash = passwords.hash_password(password)
        return VerifiedIdentity(self.name, user.username, user.display_name, user.email)
