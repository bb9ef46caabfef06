"""Writing a stream of batches into a table's Parquet data files, with bounded memory.

pyiceberg's own `append(RecordBatchReader)` hands every file's batches to a thread pool whose
`map` consumes the whole stream up front, so a large upload would be held in memory. Here batches
go through a rolling writer instead: buffered only up to one row group, flushed to the open data
file, and a new file is started once the table's target file size is reached (measured like
pyiceberg measures it, in Arrow bytes). pyiceberg still does the Iceberg parts: the Parquet writer
settings from the table properties, file locations, and the column statistics of each data file.

Encoding a row group runs on a background thread while the caller goes on parsing the next one
(both release the GIL), which is what lets a streaming ingest keep up with pyarrow reading the
whole file at once. One row group is written while at most one more is being collected.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa
import pyiceberg.io.pyarrow  # noqa: F401  (registers the Parquet format model with FileFormatFactory)
from pyiceberg.io import FileIO, OutputFile
from pyiceberg.io.fileformat import FileFormatFactory, FileFormatWriter
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
from pyiceberg.schema import Schema
from pyiceberg.table import TableProperties
from pyiceberg.table.locations import load_location_provider
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.typedef import Record
from pyiceberg.utils.properties import property_as_int

from sadeem.core.errors import InvalidInput

logger = logging.getLogger(__name__)

# Arrow bytes buffered before they are written as one row group: large enough for efficient
# Parquet, small next to the file being ingested.
ROW_GROUP_BYTES = 16 << 20


class DataFileWriter:
    """Rolling Parquet writer for one table; call `finish()` for the DataFiles, `discard()` to undo."""

    def __init__(self, metadata: TableMetadata, io: FileIO, file_schema: Schema) -> None:
        properties = metadata.properties
        format_name = properties.get(
            TableProperties.WRITE_FILE_FORMAT, TableProperties.WRITE_FILE_FORMAT_DEFAULT
        )
        try:
            self._file_format = FileFormat(format_name)
            self._format_model = FileFormatFactory.get(self._file_format)
        except ValueError:
            raise InvalidInput(
                f"The table's data file format '{format_name}' is not supported here."
            ) from None
        self._metadata = metadata
        self._io = io
        self._file_schema = file_schema
        self._locations = load_location_provider(metadata.location, properties)
        self._target_file_bytes: int = property_as_int(  # type: ignore[assignment]  # default is not None
            properties,
            TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
            TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT,
        )
        self._row_group_rows: int = property_as_int(  # type: ignore[assignment]  # default is not None
            properties,
            TableProperties.PARQUET_ROW_GROUP_LIMIT,
            TableProperties.PARQUET_ROW_GROUP_LIMIT_DEFAULT,
        )
        self._write_uuid = uuid.uuid4()
        self._file_numbers = itertools.count()
        self._pending: list[pa.RecordBatch] = []
        self._pending_bytes = 0
        self._pending_rows = 0
        self._open: _OpenFile | None = None
        self._encoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sadeem-ingest-parquet")
        self._row_group_in_flight: Future[None] | None = None
        self.data_files: list[DataFile] = []
        self.paths_written: list[str] = []

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        self._pending.append(batch)
        self._pending_bytes += batch.nbytes
        self._pending_rows += batch.num_rows
        if self._pending_bytes >= ROW_GROUP_BYTES or self._pending_rows >= self._row_group_rows:
            self._flush_row_group()

    def finish(self) -> list[DataFile]:
        """Flush and close; the data files, ready to be committed."""
        try:
            self._flush_row_group()
            self._close_file()
        finally:
            self._encoder.shutdown()
        return self.data_files

    def discard(self) -> None:
        """Delete every file this writer created: for writes that will certainly never be committed."""
        try:
            self._wait_for_row_group()
        except Exception:  # the write is being undone anyway
            logger.debug("Row group write failed while discarding", exc_info=True)
        self._encoder.shutdown()
        if self._open is not None:
            self._open.abandon()
            self._open = None
        for path in self.paths_written:
            try:
                self._io.delete(path)
            except Exception:  # best effort: an orphan file is harmless, keep going
                logger.warning("Could not delete uncommitted data file %s", path, exc_info=True)
        self.paths_written.clear()
        self.data_files.clear()

    def _flush_row_group(self) -> None:
        if not self._pending:
            return
        row_group = pa.Table.from_batches(self._pending)
        arrow_bytes = self._pending_bytes
        self._pending, self._pending_bytes, self._pending_rows = [], 0, 0
        self._wait_for_row_group()
        if self._open is None:
            self._open = self._new_file()
        self._open.arrow_bytes += arrow_bytes
        self._row_group_in_flight = self._encoder.submit(self._open.writer.write, row_group)
        if self._open.arrow_bytes >= self._target_file_bytes:
            self._close_file()

    def _wait_for_row_group(self) -> None:
        if self._row_group_in_flight is not None:
            in_flight, self._row_group_in_flight = self._row_group_in_flight, None
            in_flight.result()

    def _new_file(self) -> _OpenFile:
        name = f"00000-{next(self._file_numbers)}-{self._write_uuid}.{self._format_model.file_extension()}"
        path = self._locations.new_data_location(data_file_name=name)
        self.paths_written.append(path)
        output = self._io.new_output(path)
        writer = self._format_model.create_writer(output, self._file_schema, self._metadata.properties)
        return _OpenFile(path, output, writer)

    def _close_file(self) -> None:
        self._wait_for_row_group()
        if self._open is None:
            return
        opened, self._open = self._open, None
        statistics = opened.writer.close()
        self.data_files.append(
            DataFile.from_args(
                content=DataFileContent.DATA,
                file_path=opened.path,
                file_format=self._file_format,
                partition=Record(),
                file_size_in_bytes=len(opened.output),
                sort_order_id=None,
                spec_id=self._metadata.default_spec_id,
                equality_ids=None,
                key_metadata=None,
                **statistics.to_serialized_dict(),
            )
        )


@dataclass
class _OpenFile:
    path: str
    output: OutputFile
    writer: FileFormatWriter
    arrow_bytes: int = 0

    def abandon(self) -> None:
        try:
            self.writer.close()
        except Exception:  # the file is being thrown away; closing is only tidiness
            logger.debug("Closing abandoned data file %s failed", self.path, exc_info=True)
