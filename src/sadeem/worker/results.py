"""A SQL run's result: the full rows as one Parquet file in the workspace's own storage, and the
first rows as JSON kept with the attempt (what the API shows without reading the file)."""

from __future__ import annotations

import base64
import math
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs

from sadeem.catalog.errors import OutsideWorkspaceStorage
from sadeem.catalog.storage import inside_storage, local_path
from sadeem.config import Settings

# JavaScript loses integers beyond 2^53: such values travel as text.
_SAFE_INTEGER = 2**53
ROW_GROUP_ROWS = 65_536  # at least; engines hand over smaller batches


def json_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):  # JSON has no NaN or infinities: text, as in Trino's protocol
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, int):
        return value if abs(value) < _SAFE_INTEGER else str(value)
    if isinstance(value, Decimal):
        return format(value, "f")  # plain digits, never 1E-10
    if isinstance(value, datetime):  # as Arrow writes top-level values: 6 fraction digits, Z for UTC
        text = value.isoformat(timespec="microseconds")
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, time):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return str(value)


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
class StoredResult:
    columns: list[dict[str, str]]
    preview: list[list[Any]]
    rows: int
    bytes: int
    location: str


def store(settings: Settings, reader: pa.RecordBatchReader, location: str, preview_rows: int) -> StoredResult:
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
                head = batch.slice(0, preview_rows - len(preview))
                columns = [column.to_pylist() for column in head.columns]
                preview.extend([json_value(value) for value in row] for row in zip(*columns, strict=True))
        if group:
            writer.write_table(pa.Table.from_batches(group, reader.schema))
    size = filesystem_.get_file_info(path).size or 0
    columns = [{"name": field.name, "type": str(field.type)} for field in reader.schema]
    return StoredResult(columns, preview, rows, size, location)
