from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

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


class ChainVerificationOut(ResponseModel):
    status: Literal["ok", "broken", "incomplete"] = Field(
        description="`ok`: every event matches its hash and links to the one before; `broken`: "
        "one does not (see `first_broken_seq` and `problem`); `incomplete`: no break in the "
        "events checked, but the time limit ran out before the end of the chain."
    )
    events_checked: int = Field(description="Events verified, from the first one on, before the check ended.")
    chain_length: int | None = Field(description="Events in the chain when the check began.")
    first_broken_seq: int | None = Field(description="The first event that does not match its chain.")
    problem: str | None = Field(description="What is wrong with that event.")
    duration_ms: float
    time_limit_seconds: float
    checked_at: datetime
