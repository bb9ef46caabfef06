"""A statement's result on disk, as Arrow: written once, batch by batch, then read many ways.

Layout of `<results dir>/<statement id>/`:

    schema.arrow                     the IPC stream's schema message
    000000000000-1000.batch          consecutive record-batch messages (the engine's batches,
    000000001000-65536.batch         as they came), named by first row and row count, renamed
                                     into place only once complete

Because every chunk is a run of encapsulated IPC messages, the Arrow stream of the whole result
is just `schema.arrow` + every chunk + the end-of-stream marker, copied from disk without
decoding; a JSON page memory-maps only the chunks it touches (its cells written by
`sadeem.results.json_cells`, as every JSON result's); CSV and Parquet downloads convert one
chunk at a time, so memory stays one chunk whatever the result's size. Chunks become visible
as they are written: the first page can be served while the engine is still producing the rest.
Engines hand over small batches (the first rows sooner); the writer groups them into chunks
without copying them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from sadeem.results.json_cells import result_columns

SCHEMA_FILE = "schema.arrow"
_CHUNK_SUFFIX = ".batch"
# The first chunk is small so the first page is on disk as soon as the engine has produced it.
FIRST_CHUNK_ROWS = 1_000
CHUNK_ROWS = 65_536
# IPC end-of-stream: a continuation marker and a zero length.
END_OF_STREAM = b"\xff\xff\xff\xff\x00\x00\x00\x00"
_SEND_BYTES = 4 << 20  # per write to the client


@dataclass(frozen=True)
class Chunk:
    first_row: int
    rows: int
    path: Path


@dataclass(frozen=True)
class WrittenResult:
    columns: list[dict[str, str]]
    rows: int
    bytes: int
    truncated: bool


class ResultWriter:
    """Writes an engine's RecordBatchReader into chunks, stopping at a row or byte limit."""

    def __init__(
        self, directory: Path, max_rows: int, max_bytes: int, on_chunk: Callable[[], None] | None = None
    ) -> None:
        self.directory = directory
        self._on_chunk = on_chunk
        self.max_rows, self.max_bytes = max_rows, max_bytes
        self.rows = 0
        self.bytes = 0
        self.truncated = False
        self._schema: pa.Schema | None = None
        self._chunk: BinaryIO | None = None  # the chunk being written, as `<its first row>.partial`
        self._chunk_rows = 0

    def start(self, schema: pa.Schema) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._schema = _plain_schema(schema)
        _write_atomically(self.directory / SCHEMA_FILE, self._schema.serialize().to_pybytes())

    def write(self, batch: pa.RecordBatch) -> bool:
        """Append `batch`; False once a limit is reached (the caller stops reading then)."""
        assert self._schema is not None, "start() first"
        batch = _plain_batch(batch, self._schema)
        offset = 0
        while offset < batch.num_rows:
            room = self._chunk_target() - self._chunk_rows
            piece = batch.slice(offset, min(room, batch.num_rows - offset))
            offset += piece.num_rows
            if self.rows + piece.num_rows > self.max_rows:
                piece = piece.slice(0, self.max_rows - self.rows)
                self.truncated = True
            message = piece.serialize()
            if self.bytes + message.size > self.max_bytes:
                self.truncated = True
                return False
            if piece.num_rows:
                self._append(piece.num_rows, message)
            if self.truncated:
                return False
        return True

    def _append(self, rows: int, message: pa.Buffer) -> None:
        if self._chunk is None:
            self._chunk = (self.directory / f"{self.rows:012d}.partial").open("wb")
        self._chunk.write(message)
        self.rows += rows
        self.bytes += message.size
        self._chunk_rows += rows
        if self._chunk_rows == self._chunk_target():
            self._close_chunk()

    def _chunk_target(self) -> int:
        """Rows the chunk being written holds when complete: the first chunk is small."""
        return FIRST_CHUNK_ROWS if self.rows == self._chunk_rows else CHUNK_ROWS

    def _close_chunk(self) -> None:
        if self._chunk is None:
            return
        self._chunk.close()
        partial, self._chunk = Path(self._chunk.name), None
        first = self.rows - self._chunk_rows
        partial.replace(self.directory / f"{first:012d}-{self._chunk_rows}{_CHUNK_SUFFIX}")
        self._chunk_rows = 0
        if self._on_chunk is not None:
            self._on_chunk()

    def finish(self) -> WrittenResult:
        assert self._schema is not None
        self._close_chunk()
        return WrittenResult(result_columns(self._schema), self.rows, self.bytes, self.truncated)


def _plain_schema(schema: pa.Schema) -> pa.Schema:
    """Dictionary-encoded columns as their values: a chunk then never needs a dictionary message."""
    fields = [
        field.with_type(field.type.value_type) if pa.types.is_dictionary(field.type) else field
        for field in schema
    ]
    return pa.schema(fields, metadata=schema.metadata)


def _plain_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    if batch.schema.equals(schema):
        return batch
    columns = [
        column.dictionary_decode() if pa.types.is_dictionary(column.type) else column
        for column in batch.columns
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _write_atomically(path: Path, data: bytes | pa.Buffer) -> None:
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as out:
        out.write(data)
    partial.replace(path)


class StoredResult:
    """Reads a result written by ResultWriter, complete or still being written."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.schema = pa.ipc.read_schema(pa.py_buffer((directory / SCHEMA_FILE).read_bytes()))

    @staticmethod
    def exists(directory: Path) -> bool:
        return (directory / SCHEMA_FILE).is_file()

    def chunks(self) -> list[Chunk]:
        found = []
        for entry in os.scandir(self.directory):
            if entry.name.endswith(_CHUNK_SUFFIX):
                first, _, rows = entry.name.removesuffix(_CHUNK_SUFFIX).partition("-")
                found.append(Chunk(int(first), int(rows), Path(entry.path)))
        found.sort(key=lambda chunk: chunk.first_row)
        return found

    def available_rows(self) -> int:
        chunks = self.chunks()
        return chunks[-1].first_row + chunks[-1].rows if chunks else 0

    def read_chunk(self, chunk: Chunk) -> list[pa.RecordBatch]:
        # Memory-mapped: the batches' buffers point into the page cache, nothing is copied.
        messages = pa.ipc.MessageReader.open_stream(pa.memory_map(str(chunk.path)))
        return [pa.ipc.read_record_batch(message, self.schema) for message in messages]

    def chunk_batches(self, start: int = 0, count: int | None = None) -> Iterator[list[pa.RecordBatch]]:
        """Rows [start, start + count), one chunk's batches at a time."""
        end = None if count is None else start + count
        for chunk in self.chunks():
            if chunk.first_row + chunk.rows <= start:
                continue
            if end is not None and chunk.first_row >= end:
                break
            wanted, first_row = [], chunk.first_row
            for batch in self.read_chunk(chunk):
                lo = max(start - first_row, 0)
                hi = batch.num_rows if end is None else min(end - first_row, batch.num_rows)
                if hi > lo:
                    wanted.append(batch.slice(lo, hi - lo))
                first_row += batch.num_rows
            yield wanted

    def batches(self, start: int = 0, count: int | None = None) -> Iterator[pa.RecordBatch]:
        """Rows [start, start + count) as batches, one chunk's worth in memory at a time."""
        for batches in self.chunk_batches(start, count):
            yield from batches

    def arrow_stream(self, chunks: Iterable[Chunk] | None = None) -> Iterator[bytes | memoryview]:
        """The whole result as one Arrow IPC stream, straight from the files (`chunks`: as they
        are written, for a statement still running)."""
        yield (self.directory / SCHEMA_FILE).read_bytes()
        for chunk in self.chunks() if chunks is None else chunks:
            with chunk.path.open("rb") as source:
                while data := source.read(_SEND_BYTES):
                    yield data
        yield END_OF_STREAM


def csv_chunks(result: StoredResult) -> Iterator[bytes]:
    """CSV with a header row, one chunk at a time."""
    header = True
    for batch in result.batches():
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(batch, sink, pa_csv.WriteOptions(include_header=header))
        header = False
        yield sink.getvalue().to_pybytes()
    if header:  # an empty result still has its header
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(result.schema.empty_table(), sink)
        yield sink.getvalue().to_pybytes()


class _Drain:
    """A write-only file for ParquetWriter whose bytes are taken out after each row group."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def parquet_chunks(result: StoredResult) -> Iterator[bytes]:
    """One Parquet file, written and sent one row group (chunk) at a time."""
    drain = _Drain()
    with pq.ParquetWriter(drain, result.schema, compression="zstd") as writer:
        for batches in result.chunk_batches():
            writer.write_table(pa.Table.from_batches(batches, result.schema))
            if data := drain.take():
                yield data
    if data := drain.take():
        yield data


def remove(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
