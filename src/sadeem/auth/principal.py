"""Who is calling: the typed subject that permission dependencies hand to routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sadeem.auth.models import PlatformRole


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    platform_role: PlatformRole
    auth_method: Literal["session", "token"]
    session_id: int | None = None
    token_id: str | None = None

    @property
    def is_platform_admin(self) -> bool:
        return self.platform_role is PlatformRole.admin
