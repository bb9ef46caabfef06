"""Who is calling: the typed subject that permission dependencies hand to routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sadeem.auth.models import PlatformRole

CATALOG_SCOPE_PREFIX = "catalog:"


def catalog_scope(workspace_id: int) -> str:
    """The scope of an engine credential: the Iceberg catalog of this one workspace."""
    return f"{CATALOG_SCOPE_PREFIX}{workspace_id}"


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    platform_role: PlatformRole
    auth_method: Literal["session", "token"]
    session_id: int | None = None
    token_id: str | None = None
    # An engine credential's scope (ApiToken.scope) and the work it was minted for ("run 12
    # attempt 1", "statement …"); both None for a user's own session or token.
    scope: str | None = None
    acting_for: str | None = None

    @property
    def is_platform_admin(self) -> bool:
        return self.platform_role is PlatformRole.admin

    @property
    def catalog_workspace_id(self) -> int | None:
        """The one workspace whose warehouse an engine credential reaches; None otherwise (also
        for a scope this version does not know, which therefore reaches nothing)."""
        if self.scope is None or not self.scope.startswith(CATALOG_SCOPE_PREFIX):
            return None
        suffix = self.scope.removeprefix(CATALOG_SCOPE_PREFIX)
        return int(suffix) if suffix.isdigit() else None
