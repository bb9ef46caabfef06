"""A SQL run's result: the full rows as one Parquet file in the workspace's own storage, and the
first rows as JSON kept with the attempt (what the API shows without reading the file, in the
cells and columns of `sadeem.results.json_cells`). The worker writes it; the runs API reads it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs

from sadeem.catalog.errors import OutsideWorkspaceStorage
from sadeem.catalog.storage import inside_storage, local_path
from sadeem.config import Settings
from sadeem.results.json_cells import json_rows, result_columns

ROW_GROUP_ROWS = 65_536  # at least; engines hand over smaller batches


def result_location(workspace_location: str, run_id: int, attempt: int) -> str:
    """Where an attempt's result goes. The random part makes the path unguessable: run ids count
    up, and a table's manifest can name any path, so a predictable path invites a commit that
    points at another run's result (the server also reads only inside the table's workspace)."""
    token = secrets.token_hex(16)
    return f"{workspace_location.rstrip('/')}/_sadeem/runs/{run_id}/attempt-{attempt}-{token}/result.parquet"


def open_result(settings: Settings, workspace_location: str, location: str) -> pa.NativeFile:
    """The stored result to stream, if it lies inside the workspace's storage (it always should:
    the worker puts it there; this is checked when the file is read, as every server-side read is)."""
    if inside_storage(workspace_location, location) is None:
        raise OutsideWorkspaceStorage(f"The run's result {location} is outside the workspace's storage.")
    filesystem_, path = filesystem(settings, location)
    return filesystem_.open_input_stream(path)


def filesystem(settings: Settings, location: str) -> tuple[fs.FileSystem, str]:
    """The pyarrow filesystem and path of a `file://` or `s3://` location."""
    path = local_path(location)
    if path is not None:
        return fs.LocalFileSystem(), str(path)
    parsed = urlparse(location)
    secret = settings.s3_secret_access_key
    endpoint = urlparse(settings.s3_endpoint_url) if settings.s3_endpoint_url else None
    s3 = fs.S3FileSystem(
        access_key=settings.s3_access_key_id,
        secret_key=secret.get_secret_value() if secret else None,
        region=settings.s3_region or "us-east-1",
        endpoint_override=endpoint.netloc if endpoint else None,
        scheme=endpoint.scheme if endpoint else "https",
        force_virtual_addressing=not settings.s3_path_style,
    )
    return s3, f"{parsed.netloc}{parsed.path}"


@dataclass(frozen=True)
class StoredRunResult:
    columns: list[dict[str, str]]
    preview: list[list[Any]]
    rows: int
    bytes: int
    location: str


def store(
    settings: Settings, reader: pa.RecordBatchReader, location: str, preview_rows: int
) -> StoredRunResult:
    """Stream `reader` into Parquet at `location` (memory stays one row group), keeping the first rows."""
    filesystem_, path = filesystem(settings, location)
    filesystem_.create_dir(path.rsplit("/", 1)[0], recursive=True)
    preview: list[list[Any]] = []
    rows = 0
    group: list[pa.RecordBatch] = []  # the batches of the next row group
    group_rows = 0
    with pq.ParquetWriter(path, reader.schema, filesystem=filesystem_) as writer:
        for batch in reader:
            group.append(batch)
            group_rows += batch.num_rows
            rows += batch.num_rows
            if group_rows >= ROW_GROUP_ROWS:
                writer.write_table(pa.Table.from_batches(group, reader.schema))
                group, group_rows = [], 0
            if len(preview) < preview_rows:
                preview.extend(json_rows([batch.slice(0, preview_rows - len(preview))]))
        if group:
            writer.write_table(pa.Table.from_batches(group, reader.schema))
    size = filesystem_.get_file_info(path).size or 0
    return StoredRunResult(result_columns(reader.schema), preview, rows, size, location)
