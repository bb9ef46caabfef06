from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sadeem.core.clock import utcnow
from sadeem.db.base import Base, UTCDateTime


class StatementState(enum.StrEnum):
    QUEUED = "QUEUED"  # waiting for a free statement slot on its server
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TIMED_OUT = "TIMED_OUT"

    @property
    def finished(self) -> bool:
        return self not in (StatementState.QUEUED, StatementState.RUNNING)


ACTIVE_STATES = (StatementState.QUEUED, StatementState.RUNNING)


class Statement(Base):
    """One SQL statement (or script) run from the worksheet: the history row of its caller and
    the handle of its result, which lives as Arrow chunks in the server's results directory."""

    __tablename__ = "sql_statements"
    __table_args__ = (
        Index("ix_sql_statements_history", "workspace_id", "user_id", "id"),
        Index("ix_sql_statements_state", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What the API calls it: unguessable, so a result URL leaks nothing about other statements.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    sql: Mapped[str] = mapped_column(Text)
    engine: Mapped[str] = mapped_column(String(20))
    connection_name: Mapped[str | None] = mapped_column(String(100))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    row_limit: Mapped[int | None] = mapped_column(BigInteger)
    byte_limit: Mapped[int | None] = mapped_column(BigInteger)
    timeout_seconds: Mapped[float] = mapped_column()
    state: Mapped[StatementState] = mapped_column(
        Enum(StatementState, native_enum=False, length=20), default=StatementState.QUEUED
    )
    error_message: Mapped[str | None] = mapped_column(Text)
    error_line: Mapped[int | None] = mapped_column(Integer)
    error_column: Mapped[int | None] = mapped_column(Integer)
    # The result, once written: [{name, type}], rows and Arrow bytes kept, cut at a limit or not.
    columns: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    result_rows: Mapped[int | None] = mapped_column(BigInteger)
    result_bytes: Mapped[int | None] = mapped_column(BigInteger)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    result_expired: Mapped[bool] = mapped_column(Boolean, default=False)
    # Which server process runs it, and when that process last said it still does.
    executor_id: Mapped[str | None] = mapped_column(String(80))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_ms: Mapped[int | None] = mapped_column(Integer)


class StatementTransition(Base):
    """Every state change of a statement, in order: its timeline (`GET …/statements/{id}/timeline`)."""

    __tablename__ = "statement_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("sql_statements.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[StatementState | None] = mapped_column(
        Enum(StatementState, native_enum=False, length=20)
    )
    to_state: Mapped[StatementState] = mapped_column(Enum(StatementState, native_enum=False, length=20))
    reason: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
