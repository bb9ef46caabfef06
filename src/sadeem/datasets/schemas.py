from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from sadeem.api.schemas import RequestModel, ResponseModel
from sadeem.auth.schemas import Username

_TAG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
MAX_TAGS = 20

Tag = Annotated[
    str,
    Field(
        max_length=32,
        pattern=_TAG_PATTERN,
        description="Lower-case letters, digits, '_' and '-', starting with a letter or digit.",
        examples=["finance"],
    ),
]
TagQuery = Annotated[str, Field(max_length=32, pattern=_TAG_PATTERN)]
OwnerQuery = Annotated[str, Field(max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
# As the catalog names them: parts without '.' (or control characters), joined by '.'.
Namespace = Annotated[
    str,
    Field(
        max_length=255,
        pattern=r"^[^.\x00-\x1f]+(\.[^.\x00-\x1f]+)*$",
        description="The table's full namespace, dotted; it starts with the workspace's namespace.",
        examples=["alpha.sales"],
    ),
]
TableName = Annotated[str, Field(max_length=255, pattern=r"^[^.\x00-\x1f]+$", examples=["orders"])]
Description = Annotated[str, Field(max_length=2000)]
Tags = Annotated[
    list[Tag],
    Field(max_length=MAX_TAGS, description=f"Up to {MAX_TAGS}; duplicates are dropped, order is not kept."),
]


class DatasetCreate(RequestModel):
    namespace: Namespace
    table: TableName
    owner: Username | None = Field(default=None, description="A member of the workspace; default: you.")
    description: Description = ""
    tags: Tags = Field(default_factory=list)


class DatasetUpdate(RequestModel):
    """Omitted fields keep their value; `tags` replaces the whole list."""

    owner: Username | None = Field(default=None, description="A member of the workspace.")
    description: Description | None = None
    tags: Tags | None = None


class DatasetOut(ResponseModel):
    namespace: str
    table: str
    identifier: str = Field(description="`namespace.table`, as engines name the table.")
    owner: str | None = Field(description="Null if the owner's account is gone.")
    description: str
    tags: list[str]
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class TableSummary(ResponseModel):
    row_count: int = Field(description="Rows in the current snapshot (before row-level deletes).")
    total_size_bytes: int
    current_snapshot_id: str | None = Field(description="Exact 64-bit id as a string; null: no data yet.")
    last_updated: datetime = Field(description="When the table's metadata last changed.")


class DatasetDetail(DatasetOut):
    table_summary: TableSummary | None = Field(
        description="The registered table now; null if it no longer exists in the catalog."
    )
