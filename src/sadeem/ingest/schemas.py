from __future__ import annotations

from typing import Any

from pydantic import Field

from sadeem.api.schemas import ResponseModel
from sadeem.results.schemas import ROWS_DESCRIPTION, ResultColumn


class IngestOut(ResponseModel):
    table: str = Field(description="`namespace.table`.")
    mode: str = Field(description="What was done: create, append or overwrite.")
    rows: int
    data_files: int
    bytes_received: int = Field(description="Size of the uploaded file.")
    bytes_written: int = Field(description="Size of the Parquet data files written.")
    snapshot_id: str = Field(description="The snapshot the ingest committed (exact 64-bit id as a string).")
    attempts: int = Field(description="Commit attempts (more than 1: concurrent writers were waited out).")
    duration_s: float


class PreviewColumnOut(ResponseModel):
    name: str
    type: str = Field(
        description="The column's Iceberg type in the table: the one a create gives it, or the table's."
    )
    file_type: str | None = Field(
        description="The type read from the file, in Iceberg's words; null for a table column the file lacks "
        "(it is written as empty)."
    )


class IngestPreviewOut(ResponseModel):
    table: str = Field(description="`namespace.table`.")
    mode: str = Field(description="What the upload would do: create, append or overwrite.")
    columns: list[PreviewColumnOut] = Field(description="The table's columns after the upload.")
    rows: int = Field(description="Rows in the file (every one was read and checked).")
    bytes_received: int
    sample_columns: list[ResultColumn] = Field(description="The file's columns, as its first rows show them.")
    sample_rows: list[list[Any]] = Field(description=f"The file's first rows. {ROWS_DESCRIPTION}")
    upload_id: str | None = Field(
        default=None, description="With `keep`: pass as `upload` to commit the file without sending it again."
    )
