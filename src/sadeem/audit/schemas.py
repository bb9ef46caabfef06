from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from sadeem.api.schemas import ResponseModel


class AuditEventOut(ResponseModel):
    seq: int = Field(description="Position in the hash chain.")
    occurred_at: datetime
    actor: str | None
    auth_method: str | None
    token_id: str | None
    action: str
    target_type: str | None
    target_id: str | None
    workspace: str | None
    outcome: str
    status_code: int | None
    client_addr: str | None
    request_id: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str
