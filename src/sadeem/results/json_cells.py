"""The result contract: how every JSON result, preview and page (statement pages, a SQL run's
first rows, a table preview) describes its columns and writes its cells.

Columns: `{"name": …, "type": …}`, `type` being the Arrow type of the column as Arrow writes it
(`int64`, `large_string`, `decimal128(10, 2)`, `timestamp[us, tz=UTC]`, `list<item: string>`,
`struct<x: double>`, `map<string, int64>`, `extension<arrow.uuid>`). One vocabulary whatever produced
the rows (DuckDB, Trino, Spark, an Iceberg table read by pyiceberg): a table's Iceberg types are
shown by the catalog's schema endpoints, not in results. Nullability is not part of it: engines
report nearly every result column as nullable, so it would say nothing.

Cells: rows are arrays in column order, each cell what JSON can carry exactly:
- null as null; booleans, strings and finite floats as themselves;
- integers (any width, signed or not) as numbers up to ±2^53, text beyond: JavaScript would round
  them, so one column can mix numbers and text;
- decimals as text in plain digits (`"0.0000000001"`, never `1E-10`);
- NaN, Infinity and -Infinity as the text `"NaN"`, `"Infinity"`, `"-Infinity"` (as Trino does);
- dates, times and timestamps ISO 8601, times and timestamps with the fraction digits of their
  unit (6 for microseconds), `T` between date and time, a timestamp with a time zone with its
  offset (`Z` for UTC);
- binary as base64; UUIDs as their text;
- structs as objects, lists as arrays, maps as arrays of `[key, value]` pairs (keys need not be
  text).
"""

from __future__ import annotations

import base64
import math
import threading
from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc

# JavaScript loses integers beyond 2^53: such values travel as text.
_SAFE_INTEGER = 2**53


def result_columns(schema: pa.Schema) -> list[dict[str, str]]:
    """The columns of a result, as every result and preview describes them."""
    return [{"name": field.name, "type": str(field.type)} for field in schema]


def json_rows_text(batches: Iterable[pa.RecordBatch]) -> bytes:
    """The rows of `batches` as the inside of a JSON array (`[…],[…]`), by the rules of
    `json_rows`. Flat columns are formatted by DuckDB after Arrow has turned the values JSON would
    lose into text (twice as fast as building Python lists), all batches in one call; rows with
    nested or binary columns, non-finite doubles or integers beyond 2^53 go through `json_rows`."""
    rows = [batch for batch in batches if batch.num_rows]
    if not rows:
        return b""
    prepared = _flat_json_ready(pa.Table.from_batches(rows))
    if prepared is None:
        return orjson.dumps(json_rows(rows))[1:-1]
    return _duckdb_json_rows(prepared)


def _flat_json_ready(rows: pa.Table) -> pa.Table | None:
    columns = []
    for column in rows.columns:
        kind = column.type
        text = _as_text(column)
        if text is not None:
            column = text
        elif pa.types.is_floating(kind):
            if pc.all(pc.or_kleene(pc.is_finite(column), pc.is_null(column))).as_py() is False:
                return None
        elif pa.types.is_integer(kind) and kind.bit_width == 64:
            low, high = pc.min_max(column).values()
            if low.as_py() is not None and not (
                low.as_py() > -_SAFE_INTEGER and high.as_py() < _SAFE_INTEGER
            ):
                return None
        elif not (
            pa.types.is_integer(kind)
            or pa.types.is_boolean(kind)
            or pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
        ):
            return None
        columns.append(column)
    return pa.Table.from_arrays(columns, names=[f"c{i}" for i in range(len(columns))])


# One converter for the process: no files, no network, locked; one thread keeps the rows' order.
_converter = duckdb.connect(
    ":memory:",
    config={
        "threads": 1,
        "enable_external_access": "false",
        "autoload_known_extensions": "false",
        "autoinstall_known_extensions": "false",
        "lock_configuration": "true",
    },
)
_converter_lock = threading.Lock()


def _duckdb_json_rows(table: pa.Table) -> bytes:
    names = ", ".join(table.column_names)
    with _converter_lock:
        converted = _converter.from_arrow(table).project(f"json_array({names})::VARCHAR").arrow()
        # Read whole under the lock: the reader pulls from the shared connection, and a thread
        # running the next conversion on it meanwhile deadlocks both (seen with 48 threads).
        texts = converted.read_all() if isinstance(converted, pa.RecordBatchReader) else converted
    return ",".join(texts.column(0).to_pylist()).encode()


def json_rows(batches: Iterable[pa.RecordBatch]) -> list[list[Any]]:
    """Rows as JSON-ready lists, by the rules of this module's docstring."""
    rows: list[list[Any]] = []
    for batch in batches:
        if batch.num_rows:
            rows.extend(map(list, zip(*(_json_column(column) for column in batch.columns), strict=True)))
    return rows


def _json_column(column: pa.Array) -> list[Any]:
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_boolean(kind):
        return column.to_pylist()
    if pa.types.is_integer(kind) and kind.bit_width <= 32:
        return column.to_pylist()
    if pa.types.is_floating(kind):
        if pc.all(pc.or_kleene(pc.is_finite(column), pc.is_null(column))).as_py() is False:
            return [json_value(value) for value in column.to_pylist()]  # NaN, infinities as text
        return column.to_pylist()
    if pa.types.is_integer(kind):
        low, high = pc.min_max(column).values()
        if (low.as_py() is None) or (low.as_py() > -_SAFE_INTEGER and high.as_py() < _SAFE_INTEGER):
            return column.to_pylist()
    text = _as_text(column)
    if text is not None:
        return text.to_pylist()
    try:
        return [json_value(value) for value in column.to_pylist()]
    except (OverflowError, ValueError):
        # A nested date beyond Python's range (year 9999): the temporal values as Arrow's text.
        return [json_value(value) for value in pc.cast(column, _temporal_as_text(kind)).to_pylist()]


def json_value(value: Any) -> Any:
    """One Python value (as Arrow's `to_pylist` gives it) by the rules of this module's docstring."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, int):
        return value if abs(value) < _SAFE_INTEGER else str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
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


def _as_text(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray | None:
    """Decimal and temporal values as the text JSON carries them, by Arrow (no Python object per
    value, no year-9999 limit); None for other types."""
    kind = column.type
    if pa.types.is_decimal(kind):
        return _decimal_text(column)
    if pa.types.is_date(kind) or pa.types.is_time(kind):
        return pc.cast(column, pa.string())
    if pa.types.is_timestamp(kind):  # 2026-01-02T03:04:05.000123, with a Z when it has a time zone
        return pc.replace_substring(pc.cast(column, pa.string()), " ", "T", max_replacements=1)
    return None


def _decimal_text(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Exact decimal text by Arrow (no Python Decimal per value), in plain digits: Arrow writes
    tiny values as 1E-10, which those few are rewritten from."""
    text = pc.cast(column, pa.string())
    if not pc.any(pc.match_substring(text, "E")).as_py():
        return text
    values = [v if v is None or "E" not in v else format(Decimal(v), "f") for v in text.to_pylist()]
    return pa.array(values, pa.string())


def _temporal_as_text(kind: pa.DataType) -> pa.DataType:
    """`kind` with every date, time and timestamp inside it (lists, structs, maps) as string."""
    if pa.types.is_date(kind) or pa.types.is_time(kind) or pa.types.is_timestamp(kind):
        return pa.string()
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        inner = kind.value_field.with_type(_temporal_as_text(kind.value_type))
        if pa.types.is_large_list(kind):
            return pa.large_list(inner)
        if pa.types.is_fixed_size_list(kind):
            return pa.list_(inner, kind.list_size)
        return pa.list_(inner)
    if pa.types.is_struct(kind):
        return pa.struct([field.with_type(_temporal_as_text(field.type)) for field in kind])
    if pa.types.is_map(kind):
        return pa.map_(_temporal_as_text(kind.key_type), _temporal_as_text(kind.item_type))
    return kind
