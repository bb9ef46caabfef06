from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, StrictBool

from sadeem.api.schemas import JSON_INTEGER, RequestModel, ResponseModel
from sadeem.auth import passwords
from sadeem.auth.models import PlatformRole

Username = Annotated[
    str,
    Field(
        min_length=2,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9._-]*$",
        description="Lower-case letters, digits, '.', '_' and '-'.",
        examples=["ada.lovelace"],
    ),
]
Password = Annotated[SecretStr, Field(min_length=1, max_length=passwords.MAX_LENGTH)]
NewPassword = Annotated[SecretStr, Field(min_length=passwords.MIN_LENGTH, max_length=passwords.MAX_LENGTH)]
DisplayName = Annotated[str, Field(max_length=200)]
# No '@', space or control character around the '@'. The control ranges are spelled out because
# regex engines disagree on `\s` (U+0085 for pydantic's, U+FEFF for JSON Schema's ECMA 262).
_EMAIL_PART = r"[^@\s\x00-\x1f\x7f-\x9f\ufeff]+"
Email = Annotated[str, Field(max_length=254, pattern=rf"^{_EMAIL_PART}@{_EMAIL_PART}$")]


class LoginRequest(RequestModel):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Password


class UserOut(ResponseModel):
    username: str
    display_name: str
    email: str | None
    role: PlatformRole
    identity_provider: str
    disabled: bool
    created_at: datetime


class MeOut(UserOut):
    """The signed-in user, with what the console needs to know about their rights."""

    can_create_workspaces: bool = Field(
        description="Whether you may create workspaces: platform admins always; other users when the "
        "server allows it (setting `users_can_create_workspaces`)."
    )


class LoginResponse(ResponseModel):
    user: UserOut
    csrf_token: str = Field(description="Send as the X-CSRF-Token header on state-changing requests.")
    expires_at: datetime


class UserCreate(RequestModel):
    username: Username
    password: NewPassword
    role: PlatformRole = PlatformRole.user
    display_name: DisplayName = ""
    email: Email | None = None


class UserUpdate(RequestModel):
    display_name: DisplayName | None = None
    email: Email | None = None
    role: PlatformRole | None = None
    disabled: StrictBool | None = None


class PasswordReset(RequestModel):
    password: NewPassword


class PasswordChange(RequestModel):
    current_password: Password
    new_password: NewPassword


class TokenCreate(RequestModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    expires_in_days: Annotated[int, Field(ge=1, le=3650), JSON_INTEGER] | None = None


class TokenOut(ResponseModel):
    # From a row: its `public_id` (the row's own `id` is internal). From a dump of this model: `id`.
    id: str = Field(validation_alias=AliasChoices("public_id", "id"))
    name: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The token itself. Shown only in this response; store it now.")
