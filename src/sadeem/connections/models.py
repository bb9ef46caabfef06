from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sadeem.connections.types import ConnectionType
from sadeem.core.clock import utcnow
from sadeem.db.base import Base, UTCDateTime


class Connection(Base):
    """A workspace's connection. Non-secret settings are plain JSON in `config`; the write-only
    secret fields are one Fernet token (of a JSON object) in `secrets_encrypted`, and only their
    names are readable (`secret_fields`), so listing never needs the key."""

    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No separate index: the unique (workspace_id, name) constraint's index serves lookups by workspace.
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    type: Mapped[ConnectionType] = mapped_column(
        Enum(ConnectionType, native_enum=False, length=32, validate_strings=True)
    )
    description: Mapped[str] = mapped_column(String(2000), default="")
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secret_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    secrets_encrypted: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # The outcome of the latest "test connection" (None until tested).
    last_test_ok: Mapped[bool | None] = mapped_column(Boolean)
    last_test_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_test_latency_ms: Mapped[float | None] = mapped_column(Float)
    last_test_detail: Mapped[str | None] = mapped_column(String(1000))
    # Its steps, as the test answered them (see checks.CheckStep); None before steps were recorded.
    last_test_steps: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
