from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from sadeem.core.clock import utcnow
from sadeem.db.base import Base, UTCDateTime


class WorkspaceEngineLimits(Base):
    """A workspace's own Trino limits, set by a platform admin; without a row the workspace has
    Settings.engine_limits (so changing the default changes every workspace that kept it)."""

    __tablename__ = "workspace_engine_limits"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    limits: Mapped[dict[str, Any]] = mapped_column(JSON)  # an EngineLimits dump
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
