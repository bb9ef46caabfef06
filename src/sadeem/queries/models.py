from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sadeem.core.clock import utcnow
from sadeem.db.base import Base, UTCDateTime


class SavedQuery(Base):
    """A workspace's saved worksheet query: its name, owner and sharing, and a copy of its current
    version's content (so list and search read one row). Every edit appends an immutable
    `SavedQueryVersion`; the copy here always equals the version `current_version`."""

    __tablename__ = "saved_queries"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    # Users are disabled, never deleted; SET NULL only keeps the constraint honest (an ownerless
    # query is then workspace admins' to edit).
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # False: only its owner (and workspace admins) see it; True: every workspace member does.
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    description: Mapped[str] = mapped_column(String(2000), default="")
    engine: Mapped[str] = mapped_column(String(16))
    connection: Mapped[str | None] = mapped_column(String(63))
    sql: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    tag_rows: Mapped[list[SavedQueryTag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="SavedQueryTag.tag", lazy="selectin"
    )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class SavedQueryTag(Base):
    """One tag of a saved query's current version: a row per tag, so `WHERE tag = ?` is indexed."""

    __tablename__ = "saved_query_tags"

    query_id: Mapped[int] = mapped_column(
        ForeignKey("saved_queries.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)


class SavedQueryVersion(Base):
    """One immutable version of a saved query's content (description, tags, sql, engine,
    connection, parameters) as JSON."""

    __tablename__ = "saved_query_versions"
    __table_args__ = (UniqueConstraint("query_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("saved_queries.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    message: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SavedQueryJob(Base):
    """A job made from a saved query by "run as job": running the query as that job again updates
    the job (a new job version) instead of refusing the name. Deleting either side drops the link."""

    __tablename__ = "saved_query_jobs"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    query_id: Mapped[int] = mapped_column(ForeignKey("saved_queries.id", ondelete="CASCADE"), index=True)
