from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sadeem.core.clock import utcnow
from sadeem.db.base import Base, UTCDateTime


class Dataset(Base):
    """A workspace's Iceberg table registered with an owner, a description and tags. Metadata
    only: unregistering (or deleting the workspace, ON DELETE CASCADE) leaves the table as it is.

    The table is named as the catalog names it (`namespace` dotted, e.g. `alpha.sales`, and
    `table_name`), so a join with the catalog's `iceberg_tables` finds it."""

    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("workspace_id", "namespace", "table_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No separate index: the unique constraint's index (workspace_id first) serves lookups by workspace.
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    namespace: Mapped[str] = mapped_column(String(255))
    table_name: Mapped[str] = mapped_column(String(255))
    # A user who leaves the workspace stays the owner until someone changes it; a user row is
    # never deleted (users are disabled), SET NULL only keeps the constraint honest.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    description: Mapped[str] = mapped_column(String(2000), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    tag_rows: Mapped[list[DatasetTag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="DatasetTag.tag", lazy="selectin"
    )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]

    @property
    def identifier(self) -> str:
        return f"{self.namespace}.{self.table_name}"


class DatasetTag(Base):
    """One tag of one dataset: a row per tag (not a JSON list), so `WHERE tag = ?` is an indexed
    lookup on SQLite and PostgreSQL alike."""

    __tablename__ = "dataset_tags"

    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)
