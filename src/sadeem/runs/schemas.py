from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from sadeem.api.schemas import ResponseModel
from sadeem.results.schemas import ROWS_DESCRIPTION, ResultColumn
from sadeem.runs.models import RunState, RunTrigger


class RunOut(ResponseModel):
    id: int
    job: str
    job_version: int
    state: RunState
    state_reason: str | None = Field(
        description="Why it is in this state: `worker_lost`, `timeout`, `stopped`, …"
    )
    state_message: str | None = Field(
        description="The engine's or the system's message, e.g. a SQL error with its line."
    )
    trigger: RunTrigger
    owner: str = Field(
        description="The user the run acts as: its job version's `run_as`, whoever started it. Its "
        "engine's catalog access is this user's, in this workspace only."
    )
    version_author: str | None = Field(description="Who wrote the job version the run executes.")
    triggered_by: str | None = Field(description="Who submitted it (manual runs); none for scheduled runs.")
    parameters: dict[str, Any]
    idempotency_key: str | None
    scheduled_for: datetime | None
    attempt: int = Field(description="The current attempt (1 for the first).")
    max_attempts: int = Field(description="The last attempt automatic retries may reach.")
    next_attempt_at: datetime | None = Field(
        description="WAITING_FOR_RETRY: when the next attempt may start."
    )
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    run_time_seconds: float | None = Field(
        description="Seconds its attempts spent running (a running one up to now); the waits between "
        "attempts, such as the time before a manual retry, do not count. None before the first start."
    )


class AttemptOut(ResponseModel):
    number: int
    state: RunState
    reason: str | None
    message: str | None
    worker_id: str | None
    queued_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    result_rows: int | None = Field(description="SQL runs: rows in the full result.")


class TransitionOut(ResponseModel):
    attempt: int
    from_state: RunState | None
    to_state: RunState
    reason: str | None
    rule: str | None = Field(
        description="The run policy's rule that decided it: `retry-with-backoff`, `cancel-takes-effect`, …"
    )
    decision: str | None = Field(description="The rule's words, e.g. `attempt 2 of 3 in 10 s`.")
    actor: str
    at: datetime


class RunDetailOut(RunOut):
    attempts: list[AttemptOut]
    transitions: list[TransitionOut]


class RunSubmitted(RunOut):
    created: bool = Field(description="False when the idempotency key had already submitted this run.")


class LogPageOut(ResponseModel):
    attempt: int
    text: str
    next_after: int = Field(description="Pass as `after` to get what came since.")
    complete: bool = Field(description="The attempt has ended; no more lines will come.")


class RunResultOut(ResponseModel):
    attempt: int
    columns: list[ResultColumn]
    rows: list[list[Any]] = Field(description=f"The first rows. {ROWS_DESCRIPTION}")
    total_rows: int
    truncated: bool = Field(description="True when `rows` holds fewer rows than the full result.")
    size_bytes: int = Field(description="Size of the full result as Parquet (`…/result.parquet`).")
