"""Uploaded files (CSV or Parquet on local disk) as a stream of Arrow record batches.

Memory stays bounded whatever the file size: CSV is parsed in small blocks by pyarrow's streaming
reader, Parquet is read batch by batch. Every batch already has the source's *normalised* schema:
clean column names and types that Iceberg can store (microsecond timestamps, 32/64-bit integers,
UTF-8 strings...), so the caller never re-derives either.

Anything wrong with the file becomes `InvalidInput` with a one-line message that names columns
and rows but never quotes the file's contents (uploads can hold personal data, and error
messages end up in logs and audit records).
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal, get_args

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from sadeem.core.errors import InvalidInput

SourceFormat = Literal["csv", "parquet"]
SOURCE_FORMATS: tuple[SourceFormat, ...] = get_args(SourceFormat)

# pyarrow's streaming reader reads up to 32 blocks ahead in the background: small blocks keep that
# to a few MB, at no cost in throughput. Types are inferred from a separate, larger sample.
CSV_BLOCK_BYTES = 256 << 10
# pyarrow infers CSV types from the first block only; this much of the file decides the types.
CSV_TYPE_SAMPLE_BYTES = 8 << 20
PARQUET_BATCH_ROWS = 64 * 1024

_PARQUET_MAGIC = b"PAR1"
_CONVERSION_ERROR = re.compile(r"In CSV column #(\d+): CSV conversion error to ([^:]+):")
_UNSUPPORTED = (
    "only flat columns of numbers, text, booleans, dates, times, timestamps and binary are supported"
)


class SourceReader:
    """An open upload: its normalised schema and its rows as record batches (iterate once)."""

    def __init__(
        self,
        schema: pa.Schema,
        batches: Iterator[pa.RecordBatch],
        total_bytes: int,
        bytes_read: Callable[[], int],
        close: Callable[[], None],
    ) -> None:
        self.schema = schema
        self.total_bytes = total_bytes
        self._batches = batches
        self._bytes_read = bytes_read
        self._close = close

    @property
    def bytes_read(self) -> int:
        """How much of the file has been consumed so far (for progress reporting)."""
        return min(self._bytes_read(), self.total_bytes)

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return self._batches

    def close(self) -> None:
        self._close()

    def __enter__(self) -> SourceReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_source(
    path: Path, fmt: SourceFormat, *, csv_column_types: Mapping[str, pa.DataType] | None = None
) -> SourceReader:
    """Open an uploaded file for streaming.

    `csv_column_types` (by clean column name) makes the CSV parser read those columns straight
    into the given types, e.g. the types of the table being appended to: text has no types of its
    own, and a guess from a sample could disagree with the table. Parquet files carry their types.
    """
    if fmt not in SOURCE_FORMATS:
        raise InvalidInput(f"Unknown file format '{fmt}'; expected one of: {', '.join(SOURCE_FORMATS)}.")
    if not path.is_file():
        raise InvalidInput("The uploaded file is missing.")
    if fmt == "csv":
        return _open_csv(path, csv_column_types or {})
    return _open_parquet(path)


def clean_column_names(raw_names: Sequence[str]) -> list[str]:
    """Strip surrounding whitespace; refuse names that would be ambiguous or invisible.

    Duplicates are compared without case because SQL engines (Trino, Spark, DuckDB) resolve
    column names case-insensitively.
    """
    names = [name.strip() for name in raw_names]
    empty = [str(position) for position, name in enumerate(names, start=1) if not name]
    if empty:
        raise InvalidInput(f"Column(s) {', '.join(empty)} have an empty name; every column needs a header.")
    unprintable = [name for name in names if any(unicodedata.category(ch) == "Cc" for ch in name)]
    if unprintable:
        shown = ", ".join(repr(name) for name in unprintable[:5])
        raise InvalidInput(f"Column names contain control characters: {shown}.")
    seen: dict[str, str] = {}
    duplicates: list[str] = []
    for name in names:
        key = name.casefold()
        if key in seen:
            duplicates.append(f"'{seen[key]}' and '{name}'")
        else:
            seen[key] = name
    if duplicates:
        raise InvalidInput(f"Duplicate column names (compared without case): {'; '.join(duplicates)}.")
    return names


def normalised_type(name: str, source_type: pa.DataType) -> pa.DataType:
    """The Iceberg-storable Arrow type for a source column (raises InvalidInput if there is none).

    Integers narrower than 32 bits widen to int32 (Iceberg `int`), wider ones become int64
    (unsigned 64-bit values that do not fit fail the ingest);
    timestamps and times become microseconds (Iceberg's unit; nanoseconds are truncated); zoned
    timestamps become UTC instants (`timestamptz`); large/view variants become plain ones. An
    all-null column stays `null` so it can still be appended to a column of any type.
    """
    t = source_type
    if pa.types.is_dictionary(t):
        return normalised_type(name, t.value_type)
    if pa.types.is_null(t) or pa.types.is_boolean(t):
        return t
    if pa.types.is_integer(t):
        if t.bit_width < 32 or t == pa.int32():
            return pa.int32()
        return pa.int64()
    if pa.types.is_floating(t):
        return pa.float64() if t == pa.float64() else pa.float32()
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_fixed_size_binary(t):
        return t
    if pa.types.is_date(t):
        return pa.date32()
    if pa.types.is_time(t):
        return pa.time64("us")
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz="UTC" if t.tz is not None else None)
    if pa.types.is_decimal(t) and t.precision <= 38:
        return pa.decimal128(t.precision, t.scale)
    raise InvalidInput(f"Column '{name}' has type {t}; {_UNSUPPORTED}.")


def _normalised_schema(names: Sequence[str], types: Sequence[pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, normalised_type(name, t)) for name, t in zip(names, types, strict=True)])


# --- CSV -------------------------------------------------------------------------------------


class _CountingReader(io.RawIOBase):
    """A file whose reads are counted, so progress can be reported while pyarrow reads ahead."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb", buffering=0)
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        count = self._file.readinto(buffer) or 0
        self.consumed += count
        return count

    def close(self) -> None:
        self._file.close()
        super().close()


class _BadRowRecorder:
    """pyarrow's invalid-row hook: remember the first ragged row, then let the read fail."""

    def __init__(self) -> None:
        self.expected: int | None = None
        self.actual: int | None = None
        self.number: int | None = None

    def __call__(self, row: pa_csv.InvalidRow) -> str:
        if self.expected is None:
            self.expected, self.actual, self.number = row.expected_columns, row.actual_columns, row.number
        return "error"

    def message(self) -> str | None:
        if self.expected is None:
            return None
        where = f"Row {self.number}" if self.number is not None else "A row"
        return f"{where} has {self.actual} fields but the header has {self.expected}."


def _csv_parse_options(recorder: _BadRowRecorder) -> pa_csv.ParseOptions:
    return pa_csv.ParseOptions(newlines_in_values=True, invalid_row_handler=recorder)


def _csv_convert_options(column_types: Mapping[str, pa.DataType] | None = None) -> pa_csv.ConvertOptions:
    """An empty field is a missing value, in every column; `""` (quoted) is an empty string.

    Like DuckDB and Spark, and unlike pyarrow's default list, words such as `NA` or `null` stay
    text: `NA` is also a country code.
    """
    return pa_csv.ConvertOptions(
        column_types=column_types,
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
    )


def _sample_csv_columns(path: Path) -> tuple[list[str], list[pa.DataType]]:
    """Header and inferred types from the start of the file (pyarrow's inference, on one block)."""
    with path.open("rb") as file:
        # One byte more than the block: the block is then not the last one, so the reader infers
        # from the complete rows in it and leaves the row the sample cuts in half unparsed.
        sample = file.read(CSV_TYPE_SAMPLE_BYTES + 1)
    if not sample.strip():
        raise InvalidInput("The CSV file is empty; it needs at least a header row.")
    if sample.startswith(_PARQUET_MAGIC):
        raise InvalidInput("This is a Parquet file, not CSV; upload it with format 'parquet'.")
    if b"\x00" in sample:
        raise InvalidInput("This is a binary file, not CSV text.")
    recorder = _BadRowRecorder()
    try:
        reader = pa_csv.open_csv(
            pa.BufferReader(sample),
            read_options=pa_csv.ReadOptions(block_size=CSV_TYPE_SAMPLE_BYTES),
            parse_options=_csv_parse_options(recorder),
            convert_options=_csv_convert_options(),
        )
        raw_names, types = list(reader.schema.names), list(reader.schema.types)
        reader.close()
    except UnicodeDecodeError:
        raise InvalidInput("The CSV header is not valid UTF-8 text.") from None
    except pa.ArrowException as error:
        raise InvalidInput(_csv_error_message(error, recorder, [])) from None
    return raw_names, types


def _csv_column_type(name: str, inferred: pa.DataType, requested: pa.DataType | None) -> pa.DataType:
    if requested is not None:
        return requested
    if pa.types.is_null(inferred):
        return pa.string()  # empty in the sample: text is the only type every later value fits
    if pa.types.is_binary(inferred):
        raise InvalidInput(f"Column '{name}' is not valid UTF-8 text; save the file as UTF-8.")
    return normalised_type(name, inferred)


def _csv_error_message(
    error: BaseException,
    recorder: _BadRowRecorder,
    names: Sequence[str],
    inferred_columns: frozenset[str] = frozenset(),
) -> str:
    if bad_row := recorder.message():
        return bad_row
    text = str(error)
    if "Empty CSV file" in text:
        return "The CSV file has no header row (an empty file, or a header with no line break after it)."
    if match := _CONVERSION_ERROR.search(text):
        index, target = int(match.group(1)), match.group(2)
        name = names[index] if index < len(names) else None
        column = f"'{name}'" if name is not None else f"#{index + 1}"
        if "invalid UTF8" in text:
            return f"Column {column} is not valid UTF-8 text; save the file as UTF-8."
        inferred = (
            f" (the type was inferred from the first {CSV_TYPE_SAMPLE_BYTES >> 20} MiB of the file)"
            if name in inferred_columns
            else ""
        )
        return f"Column {column} has a value that is not a valid {target}{inferred}."
    # Unknown pyarrow error: keep its wording, not the fragment of data it may end with.
    first_line = text.splitlines()[0] if text else type(error).__name__
    summary = ": ".join(first_line.split(": ")[:2]).split("'")[0].split('"')[0].strip(" :")
    return f"The file could not be read as CSV ({summary[:200]})."


def _open_csv(path: Path, requested_types: Mapping[str, pa.DataType]) -> SourceReader:
    raw_names, inferred_types = _sample_csv_columns(path)
    if len(raw_names) == 1 and (separator := next((sep for sep in ";\t|" if sep in raw_names[0]), None)):
        raise InvalidInput(
            f"The header is a single column whose name contains {separator!r}: the file seems to be "
            "separated by that, but only comma-separated files are supported."
        )
    names = clean_column_names(raw_names)
    types = [
        _csv_column_type(name, inferred, requested_types.get(name))
        for name, inferred in zip(names, inferred_types, strict=True)
    ]
    schema = pa.schema([pa.field(name, t) for name, t in zip(names, types, strict=True)])
    inferred_columns = frozenset(name for name in names if name not in requested_types)
    recorder = _BadRowRecorder()
    counting = _CountingReader(path)
    try:
        reader = pa_csv.open_csv(
            counting,
            read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES, use_threads=True),
            parse_options=_csv_parse_options(recorder),
            convert_options=_csv_convert_options(dict(zip(raw_names, types, strict=True))),
        )
    except (pa.ArrowException, UnicodeDecodeError) as error:
        counting.close()
        raise InvalidInput(_csv_error_message(error, recorder, names, inferred_columns)) from None

    def batches() -> Iterator[pa.RecordBatch]:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (pa.ArrowException, UnicodeDecodeError) as error:
                raise InvalidInput(_csv_error_message(error, recorder, names, inferred_columns)) from None
            yield pa.RecordBatch.from_arrays(batch.columns, schema=schema)

    def close() -> None:
        reader.close()
        counting.close()

    return SourceReader(schema, batches(), path.stat().st_size, lambda: counting.consumed, close)


# --- Parquet ---------------------------------------------------------------------------------


def _open_parquet(path: Path) -> SourceReader:
    try:
        parquet = pq.ParquetFile(path)
        file_schema = parquet.schema_arrow
    except (pa.ArrowException, OSError):
        raise InvalidInput("This is not a readable Parquet file.") from None
    try:
        schema = _normalised_schema(clean_column_names(file_schema.names), file_schema.types)
    except InvalidInput:
        parquet.close()
        raise
    total_rows = parquet.metadata.num_rows
    total_bytes = path.stat().st_size
    rows_read = 0

    def batches() -> Iterator[pa.RecordBatch]:
        nonlocal rows_read
        stream = parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS)
        while True:
            try:
                batch = next(stream)
            except StopIteration:
                return
            except (pa.ArrowException, OSError):
                raise InvalidInput("The Parquet file is corrupt: a data page could not be decoded.") from None
            rows_read += batch.num_rows
            yield _cast_to_normalised(batch, schema)

    def bytes_read() -> int:
        # Parquet is read by row group and column, not front to back: report the share of rows.
        return total_bytes if total_rows == 0 else total_bytes * rows_read // total_rows

    return SourceReader(schema, batches(), total_bytes, bytes_read, parquet.close)


def _cast_to_normalised(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    columns = []
    for column, field in zip(batch.columns, schema, strict=True):
        if column.type == field.type:
            columns.append(column)
            continue
        # Dropping sub-microsecond digits is the one lossy step, and it is deliberate.
        truncating = pa.types.is_temporal(column.type) and pa.types.is_temporal(field.type)
        try:
            columns.append(column.cast(field.type, safe=not truncating))
        except pa.ArrowException:
            raise InvalidInput(
                f"Column '{field.name}' has values that do not fit {field.type} (from {column.type})."
            ) from None
    return pa.RecordBatch.from_arrays(columns, schema=schema)
