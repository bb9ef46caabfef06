from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sadeem.core.clock import utcnow
from sadeem.db.base import Base, UTCDateTime


class ServiceKind(enum.StrEnum):
    worker = "worker"
    scheduler = "scheduler"


class ServiceHeartbeat(Base):
    """A running worker or scheduler process, as it last said it was alive. It beats every
    `interval_seconds` and deletes its row when it stops cleanly; a row whose beat is older than
    a few intervals belongs to a process that died or hangs (health/components.py)."""

    __tablename__ = "service_heartbeats"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # a worker's id is its worker_id
    kind: Mapped[ServiceKind] = mapped_column(Enum(ServiceKind, native_enum=False, length=20))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    interval_seconds: Mapped[float] = mapped_column(Float)
    slots: Mapped[int | None] = mapped_column(Integer)
    slots_in_use: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
