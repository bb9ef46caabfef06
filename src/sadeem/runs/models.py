from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from sadeem.core.clock import utcnow
from sadeem.db.base import Base, UTCDateTime


class RunState(enum.StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    CANCELLING = "CANCELLING"
    WAITING_FOR_RETRY = "WAITING_FOR_RETRY"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED, RunState.TIMED_OUT})
# States in which a worker holds the run's lease and counts against the job's max concurrent runs.
LEASED_STATES = frozenset({RunState.RUNNING, RunState.CANCELLING})


class RunTrigger(enum.StrEnum):
    manual = "manual"
    schedule = "schedule"
    retry = "retry"  # a manual retry of a finished run
    repair = "repair"  # "rerun failed" over a job's failed runs


class Run(Base):
    """One execution of one job version. Several attempts (automatic retries, manual retries,
    repairs) share the run; `attempt` is the current one. The lease columns belong to the worker
    executing the current attempt; the attempt number is the fencing token of every lease write."""

    __tablename__ = "runs"
    __table_args__ = (
        # Exactly one run per idempotency key and per schedule slot, also under races.
        UniqueConstraint("job_id", "idempotency_key"),
        UniqueConstraint("job_id", "scheduled_for"),
        Index("ix_runs_dispatch", "state", "not_before"),
        Index("ix_runs_job_state", "job_id", "state"),
        Index("ix_runs_workspace_id_id", "workspace_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    job_version: Mapped[int] = mapped_column(Integer)
    state: Mapped[RunState] = mapped_column(Enum(RunState, native_enum=False, length=20))
    state_reason: Mapped[str | None] = mapped_column(String(64))
    state_message: Mapped[str | None] = mapped_column(Text)
    trigger: Mapped[RunTrigger] = mapped_column(Enum(RunTrigger, native_enum=False, length=20))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    max_attempts: Mapped[int] = mapped_column(Integer, default=1)
    max_concurrent_runs: Mapped[int] = mapped_column(Integer, default=1)
    # Not claimable before this time (a retry's backoff).
    not_before: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    worker_id: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RunAttempt(Base):
    """One attempt of a run: its own timestamps, outcome, the catalog token it ran with (revoked
    when it ends) and, for SQL, its result."""

    __tablename__ = "run_attempts"
    __table_args__ = (UniqueConstraint("run_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[RunState] = mapped_column(Enum(RunState, native_enum=False, length=20))
    reason: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(Text)
    worker_id: Mapped[str | None] = mapped_column(String(128))
    token_id: Mapped[str | None] = mapped_column(String(32))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result_columns: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    result_preview: Mapped[list[list[Any]] | None] = mapped_column(JSON)
    result_rows: Mapped[int | None] = mapped_column(BigInteger)
    result_bytes: Mapped[int | None] = mapped_column(BigInteger)
    result_location: Mapped[str | None] = mapped_column(String(1024))


class RunTransition(Base):
    """Every state change of a run, in order: the timeline the API shows (also audited)."""

    __tablename__ = "run_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    from_state: Mapped[RunState | None] = mapped_column(Enum(RunState, native_enum=False, length=20))
    to_state: Mapped[RunState] = mapped_column(Enum(RunState, native_enum=False, length=20))
    reason: Mapped[str | None] = mapped_column(String(64))
    # The run policy's rule that decided it, and its words for users (runs/policy.py).
    rule: Mapped[str | None] = mapped_column(String(64))
    decision: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RunLogChunk(Base):
    """A batch of log lines of one attempt, in order. Workers flush every second or so, so the
    log of a running attempt can be followed from any API process."""

    __tablename__ = "run_log_chunks"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
