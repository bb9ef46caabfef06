from __future__ import annotations

from pydantic import Field

from sadeem.api.schemas import ResponseModel


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
