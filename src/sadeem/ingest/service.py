"""Ingest: load an uploaded CSV or Parquet file into an Iceberg table as exactly one snapshot.

Works against any pyiceberg `Catalog`. The order of work is what makes it safe:

1. Everything about the request and the file's shape is checked first (identifier, mode, table
   existence, columns and types), so a caller's mistake costs nothing and leaves nothing behind.
2. The rows are streamed into Parquet data files (bounded memory, see `datafiles`). A CSV value
   far into the file that does not parse as its column's type fails the ingest here; the files
   written so far are deleted.
3. One commit adds those files: a fast append, an overwrite replacing every current data file,
   or, for `create`, the table itself with its first snapshot (it appears fully loaded or not
   at all). A commit that lost a race with another writer is retried with exponential backoff
   and jitter against the refreshed table, re-checking that the written files still fit it and
   reusing them as they are; data is never rewritten.
4. Written files are deleted only when their commit certainly did not happen. When the outcome
   is unknown they are kept: deleting files a committed snapshot references would corrupt the
   table for every reader, while an orphan costs only disk until maintenance removes it.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol, get_args

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import (
    CommitFailedException,
    CommitStateUnknownException,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.io import load_file_io
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table, TableProperties, Transaction
from pyiceberg.utils.properties import property_as_bool

from sadeem.core.errors import Conflict, InvalidInput, NotFound, Unavailable
from sadeem.ingest.columns import (
    ColumnMapping,
    csv_types_for,
    iceberg_type_name,
    map_columns,
    schema_for_new_table,
)
from sadeem.ingest.datafiles import DataFileWriter
from sadeem.ingest.reader import SOURCE_FORMATS, SourceFormat, SourceReader, open_source

logger = logging.getLogger(__name__)

IngestMode = Literal["create", "append", "overwrite", "create_or_append"]
INGEST_MODES: tuple[IngestMode, ...] = get_args(IngestMode)
ResolvedMode = Literal["create", "append", "overwrite"]
ProgressCallback = Callable[[int, int], None]

COMMIT_BACKOFF_FIRST_S = 0.1
COMMIT_BACKOFF_MAX_S = 5.0
# Recorded in each ingest snapshot's summary, so a table's history shows how data arrived.
SNAPSHOT_SOURCE_FORMAT = "sadeem.ingest.source-format"
PREVIEW_ROWS = 10


@dataclass(frozen=True)
class IngestResult:
    table: str
    """`namespace.name`."""
    mode: ResolvedMode
    """What was done (`create_or_append` resolves to one of the others)."""
    rows: int
    data_files: int
    bytes_written: int
    snapshot_id: int
    duration_s: float
    attempts: int
    """Commit attempts; more than 1 means concurrent writers were waited out."""


def ingest(
    catalog: Catalog,
    identifier: tuple[str, str] | str,
    source_path: str | PathLike[str],
    fmt: SourceFormat,
    mode: IngestMode,
    *,
    location: str | None = None,
    progress: ProgressCallback | None = None,
    max_commit_attempts: int = 8,
) -> IngestResult:
    """Load the file at `source_path` (format `csv` or `parquet`) into a table, as one snapshot.

    `create` makes the table from the file's schema (Conflict if it exists; `location` overrides
    the warehouse default). `append` and `overwrite` need the table (NotFound) and a file whose
    columns fit it (InvalidInput). `create_or_append` appends when the table exists. `progress`
    is called on the calling thread with (bytes read, file size), about a hundred times.
    """
    started = time.monotonic()
    namespace, name = parse_table_identifier(identifier)
    if mode not in INGEST_MODES:
        raise InvalidInput(f"Unknown ingest mode '{mode}'; expected one of: {', '.join(INGEST_MODES)}.")
    if fmt not in SOURCE_FORMATS:
        raise InvalidInput(f"Unknown file format '{fmt}'; expected one of: {', '.join(SOURCE_FORMATS)}.")
    if max_commit_attempts < 1:
        raise ValueError("max_commit_attempts must be at least 1")
    resolved: ResolvedMode
    if mode == "create_or_append":
        resolved = "append" if catalog.table_exists((namespace, name)) else "create"
    else:
        if location is not None and mode != "create":
            raise InvalidInput("A location can only be given when the ingest creates the table.")
        resolved = mode
    job = _Ingest(catalog, namespace, name, Path(source_path), fmt, progress or _no_progress)
    if resolved == "create":
        committed = job.create(location)
    else:
        committed = job.write_into_existing(resolved, max_commit_attempts)
    return IngestResult(
        table=job.display_name,
        mode=resolved,
        rows=committed.rows,
        data_files=len(committed.data_files),
        bytes_written=sum(data_file.file_size_in_bytes for data_file in committed.data_files),
        snapshot_id=committed.snapshot_id,
        duration_s=time.monotonic() - started,
        attempts=committed.attempts,
    )


@dataclass(frozen=True)
class PreviewColumn:
    name: str
    type: str
    """The column's Iceberg type in the table: the one `create` would give it, or the table's."""
    file_type: str | None
    """As read from the file, in Iceberg's words; None for a table column the file lacks."""


@dataclass(frozen=True)
class IngestPreview:
    table: str
    mode: ResolvedMode
    columns: list[PreviewColumn]
    rows: int
    sample: pa.Table
    """The first rows as read from the file (its own column names and normalised types)."""


def preview(
    catalog: Catalog,
    identifier: tuple[str, str] | str,
    source_path: str | PathLike[str],
    fmt: SourceFormat,
    mode: IngestMode,
    *,
    sample_rows: int = PREVIEW_ROWS,
) -> IngestPreview:
    """What `ingest` would do with this file, writing nothing: the same checks in the same order
    (target, columns and types, then every value, since a CSV value far down that does not parse
    fails an ingest too), the schema the table gets or has, the row count and the first rows."""
    namespace, name = parse_table_identifier(identifier)
    if mode not in INGEST_MODES:
        raise InvalidInput(f"Unknown ingest mode '{mode}'; expected one of: {', '.join(INGEST_MODES)}.")
    job = _Ingest(catalog, namespace, name, Path(source_path), fmt, _no_progress)
    exists = catalog.table_exists((namespace, name))
    resolved: ResolvedMode = ("append" if exists else "create") if mode == "create_or_append" else mode
    if resolved == "create":
        if not catalog.namespace_exists(namespace):
            raise NotFound(f"Namespace '{namespace}' does not exist.")
        if exists:
            raise Conflict(f"Table {job.display_name} already exists.")
        with open_source(job.path, fmt) as source:
            new_schema = schema_for_new_table(source.schema)
            columns = [
                PreviewColumn(new.name, iceberg_type_name(new.type), iceberg_type_name(read.type))
                for new, read in zip(new_schema, source.schema, strict=True)
            ]
            rows, sample = _read_through(source, sample_rows, check=None)
    else:
        table = job._load_table()
        job._check_unpartitioned(table)
        schema = table.schema()
        with open_source(job.path, fmt, csv_column_types=csv_types_for(schema)) as source:
            mapping = map_columns(job.display_name, schema, source.schema)
            read_types = {f.name: iceberg_type_name(f.type) for f in source.schema}
            columns = [
                PreviewColumn(field.name, str(field.field_type), read_types.get(field.name))
                for field in schema.fields
            ]
            rows, sample = _read_through(source, sample_rows, check=mapping.apply)
    return IngestPreview(job.display_name, resolved, columns, rows, sample)


def _read_through(
    source: SourceReader, sample_rows: int, check: Callable[[pa.RecordBatch], object] | None
) -> tuple[int, pa.Table]:
    """Read every batch (converting it as the ingest would, when `check` is given), keeping the first rows."""
    rows = 0
    kept: list[pa.RecordBatch] = []
    for batch in source:
        if check is not None:
            check(batch)
        if rows < sample_rows:
            kept.append(batch.slice(0, sample_rows - rows))
        rows += batch.num_rows
    return rows, pa.Table.from_batches(kept, schema=source.schema)


def parse_table_identifier(identifier: tuple[str, str] | str) -> tuple[str, str]:
    """`"ns.table"` or `("ns", "table")` to a (namespace, table) pair.

    In the string form the last dot separates the table, so nested namespaces (`"ws.raw.t"`)
    work; no part may be empty.
    """
    if isinstance(identifier, str):
        namespace, _, name = identifier.rpartition(".")
    elif len(identifier) == 2:
        namespace, name = identifier
    else:
        namespace, name = "", ""
    if not name.strip() or not namespace or not all(level.strip() for level in namespace.split(".")):
        raise InvalidInput(f"A table is named 'namespace.table'; got {identifier!r}.")
    return namespace, name


class _SnapshotProducer(Protocol):
    """What this module uses of pyiceberg's snapshot producers (fast/merge append, overwrite)."""

    @property
    def snapshot_id(self) -> int: ...

    def append_data_file(self, data_file: DataFile) -> object: ...

    def __enter__(self) -> object: ...

    def __exit__(
        self, exctype: type[BaseException] | None, excinst: BaseException | None, exctb: TracebackType | None
    ) -> None: ...


@dataclass(frozen=True)
class _Committed:
    rows: int
    data_files: list[DataFile]
    snapshot_id: int
    attempts: int


class _Ingest:
    """One ingest's state: where it goes, what it read, and what it wrote."""

    def __init__(
        self,
        catalog: Catalog,
        namespace: str,
        name: str,
        path: Path,
        fmt: SourceFormat,
        progress: ProgressCallback,
    ) -> None:
        self.catalog = catalog
        self.identifier = (namespace, name)
        self.display_name = f"{namespace}.{name}"
        self.path = path
        self.fmt = fmt
        self.progress = progress

    # --- create ----------------------------------------------------------------------------

    def create(self, location: str | None) -> _Committed:
        namespace = self.identifier[0]
        if not self.catalog.namespace_exists(namespace):
            raise NotFound(f"Namespace '{namespace}' does not exist.")
        if self.catalog.table_exists(self.identifier):
            raise Conflict(f"Table {self.display_name} already exists.")
        with open_source(self.path, self.fmt) as source:
            try:
                transaction = self.catalog.create_table_transaction(
                    self.identifier, schema_for_new_table(source.schema), location=location
                )
            except TableAlreadyExistsError:
                raise Conflict(f"Table {self.display_name} already exists.") from None
            metadata = transaction.table_metadata
            mapping = map_columns(self.display_name, metadata.schema(), source.schema)
            # The table does not exist yet; its files use the IO the catalog will give it.
            io = load_file_io({**self.catalog.properties, **metadata.properties}, metadata.location)
            writer = DataFileWriter(metadata, io, mapping.file_schema)
            rows = self._copy(source, mapping, writer)
        with _WrittenFiles(writer) as written:
            producer = self._appender(transaction, metadata.properties)
            written.stage(producer)
            try:
                if not written.commit(transaction):
                    raise Conflict(f"Table {self.display_name} was created by someone else meanwhile.")
            except CommitStateUnknownException:
                self._resolve_unknown_commit(producer.snapshot_id, writer)
        return _Committed(rows, writer.data_files, producer.snapshot_id, attempts=1)

    # --- append / overwrite ----------------------------------------------------------------

    def write_into_existing(self, mode: Literal["append", "overwrite"], max_attempts: int) -> _Committed:
        table = self._load_table()
        self._check_unpartitioned(table)
        schema = table.schema()
        with open_source(self.path, self.fmt, csv_column_types=csv_types_for(schema)) as source:
            mapping = map_columns(self.display_name, schema, source.schema)
            writer = DataFileWriter(table.metadata, table.io, mapping.file_schema)
            rows = self._copy(source, mapping, writer)
        with _WrittenFiles(writer) as written:
            for attempt in range(1, max_attempts + 1):
                if attempt > 1:
                    time.sleep(commit_backoff_s(attempt - 1))
                # Always against the latest metadata: the write above may have taken minutes.
                table = self._current_table_for(mapping)
                transaction = _single_attempt(table).transaction()
                producer = (
                    self._appender(transaction, table.properties)
                    if mode == "append"
                    else self._replacer(transaction, table)
                )
                written.stage(producer)
                try:
                    if not written.commit(transaction):
                        logger.info(
                            "Commit %d to %s lost a race with another writer", attempt, self.display_name
                        )
                        continue
                except CommitStateUnknownException:
                    self._resolve_unknown_commit(producer.snapshot_id, writer)
                return _Committed(rows, writer.data_files, producer.snapshot_id, attempt)
            raise Conflict(
                f"Table {self.display_name} kept changing under concurrent writers; gave up after "
                f"{max_attempts} commit attempts. Nothing was written; try again."
            )

    # --- shared steps ----------------------------------------------------------------------

    def _copy(self, source: SourceReader, mapping: ColumnMapping, writer: DataFileWriter) -> int:
        """Stream every row into data files; on any failure, delete what was written."""
        rows = 0
        reported_percent = -1
        try:
            for batch in source:
                writer.write(mapping.apply(batch))
                rows += batch.num_rows
                # About a hundred calls however large the file: callers may persist each one.
                percent = 100 * source.bytes_read // max(source.total_bytes, 1)
                if percent > reported_percent:
                    reported_percent = percent
                    self.progress(source.bytes_read, source.total_bytes)
            writer.finish()
        except BaseException:
            writer.discard()
            raise
        self.progress(source.total_bytes, source.total_bytes)
        return rows

    def _load_table(self) -> Table:
        try:
            return self.catalog.load_table(self.identifier)
        except (NoSuchTableError, NoSuchNamespaceError):
            raise NotFound(f"Table {self.display_name} does not exist.") from None

    def _check_unpartitioned(self, table: Table) -> None:
        if not table.spec().is_unpartitioned():
            raise InvalidInput(
                f"Table {self.display_name} is partitioned; ingest writes unpartitioned tables only."
            )

    def _current_table_for(self, mapping: ColumnMapping) -> Table:
        """The table as it is now, if the written files still fit it; otherwise explain."""
        try:
            table = self._load_table()
            self._check_unpartitioned(table)
        except (NotFound, InvalidInput) as changed:
            raise Conflict(f"{changed.detail} It changed during the ingest; nothing was written.") from None
        if reason := mapping.unfit_reason(table.schema()):
            raise Conflict(
                f"Table {self.display_name} changed during the ingest ({reason}); nothing was written. "
                "Check the file against the new schema and try again."
            )
        return table

    def _appender(self, transaction: Transaction, table_properties: dict[str, str]) -> _SnapshotProducer:
        """A fast append, or a merging one if the table asks for it (as pyiceberg's own append does)."""
        update = transaction.update_snapshot(snapshot_properties={SNAPSHOT_SOURCE_FORMAT: self.fmt})
        merge = property_as_bool(
            table_properties,
            TableProperties.MANIFEST_MERGE_ENABLED,
            TableProperties.MANIFEST_MERGE_ENABLED_DEFAULT,
        )
        return update.merge_append() if merge else update.fast_append()

    def _replacer(self, transaction: Transaction, table: Table) -> _SnapshotProducer:
        """One OVERWRITE snapshot: every current data file out, ours in."""
        overwrite = transaction.update_snapshot(
            snapshot_properties={SNAPSHOT_SOURCE_FORMAT: self.fmt}
        ).overwrite()
        for task in table.scan().plan_files():
            overwrite.delete_data_file(task.file)
        return overwrite

    def _resolve_unknown_commit(self, snapshot_id: int, writer: DataFileWriter) -> None:
        """Return if our snapshot is in the table after all; else fail, keeping the files."""
        try:
            landed = self.catalog.load_table(self.identifier).snapshot_by_id(snapshot_id) is not None
        except Exception:  # any failure to look means we still do not know
            landed = False
        if landed:
            return
        raise Unavailable(
            f"The catalog did not confirm the commit to {self.display_name}; it may still be applied. "
            f"Its {len(writer.data_files)} data file(s) were kept. Check the table's history before retrying."
        )


class _WrittenFiles:
    """An ingest's data files, and the one rule about deleting them.

    If the ingest fails, the files are deleted unless a commit referencing them is in doubt: sent
    to the catalog without an answer. A commit that lost a race (or found the table already
    created) certainly did not happen; anything else the catalog raises might have.
    """

    def __init__(self, writer: DataFileWriter) -> None:
        self._writer = writer
        self._commit_in_doubt = False

    def stage(self, producer: _SnapshotProducer) -> None:
        """Add the files to the producer's transaction (this writes its manifests, nothing else)."""
        with producer:
            for data_file in self._writer.data_files:
                producer.append_data_file(data_file)

    def commit(self, transaction: Transaction) -> bool:
        """True once committed, False if another writer got there first (nothing applied)."""
        self._commit_in_doubt = True
        try:
            transaction.commit_transaction()
        except (CommitFailedException, TableAlreadyExistsError):
            self._commit_in_doubt = False
            return False
        self._commit_in_doubt = False
        return True

    def __enter__(self) -> _WrittenFiles:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None and not self._commit_in_doubt:
            self._writer.discard()


def commit_backoff_s(failures: int) -> float:
    """Exponential backoff with "equal jitter": at least half the step, so waits grow, plus a random
    half, so writers that collided once do not collide again in lockstep."""
    step = min(COMMIT_BACKOFF_MAX_S, COMMIT_BACKOFF_FIRST_S * 2 ** (failures - 1))
    return step / 2 + random.uniform(0, step / 2)


def _single_attempt(table: Table) -> Table:
    """The table, with pyiceberg's own commit retries turned off for our commits.

    pyiceberg's `Transaction` retries failed commits by itself (the `commit.retry.*` table
    properties). Retries are this module's job: it counts attempts, re-checks the schema, and
    decides when to give up. The override lives only in this in-memory copy; a commit sends
    updates, never the base metadata's properties.
    """
    properties = {**table.metadata.properties, TableProperties.COMMIT_NUM_RETRIES: "0"}
    metadata = table.metadata.model_copy(update={"properties": properties})
    return Table(table.name(), metadata, table.metadata_location, table.io, table.catalog, table.config)


def _no_progress(_bytes_read: int, _total_bytes: int) -> None:
    return None
