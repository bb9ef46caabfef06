"""How an upload's columns line up with a table's columns.

Everything a caller could get wrong about the *shape* of the data is decided here, from the two
schemas alone and before a byte is written: columns the table does not have, required columns the
file lacks, types that cannot be converted without losing information. The resulting mapping then
turns every batch into the table's data-file schema (Iceberg field ids included), so the written
Parquet files are read back by field id like any other writer's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
from pyiceberg.exceptions import ResolveError
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.schema import Schema, promote, sanitize_column_names
from pyiceberg.types import IcebergType, NestedField

from sadeem.core.errors import InvalidInput

# CSV text parses straight into these Arrow types, so they can be requested from the CSV reader.
_CSV_PARSABLE = (
    pa.types.is_boolean,
    pa.types.is_integer,
    pa.types.is_floating,
    pa.types.is_decimal,
    pa.types.is_string,
    pa.types.is_date,
    pa.types.is_time,
    pa.types.is_timestamp,
)


def schema_for_new_table(source: pa.Schema) -> pa.Schema:
    """The schema a `create` gives the table: the source's, with all-empty columns as strings.

    Every column is optional: a later file may well have gaps where this one had none.
    """
    return pa.schema(
        [pa.field(f.name, pa.string() if pa.types.is_null(f.type) else f.type, nullable=True) for f in source]
    )


def csv_types_for(table_schema: Schema) -> dict[str, pa.DataType]:
    """The table's column types that the CSV reader can parse text into directly."""
    file_types = _file_arrow_schema(table_schema)
    return {
        field.name: arrow_field.type
        for field, arrow_field in zip(table_schema.fields, file_types, strict=True)
        if any(is_kind(arrow_field.type) for is_kind in _CSV_PARSABLE)
    }


@dataclass(frozen=True)
class ColumnMapping:
    """Turns source batches into batches of the table's data-file schema."""

    table_schema: Schema
    file_schema: Schema
    """The table schema under the column names Parquet files use (pyiceberg sanitizes some)."""
    target: pa.Schema
    source_index: tuple[int | None, ...]
    """For each target column, the source column that fills it, or None for an all-null column."""

    def apply(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        columns = []
        for target_field, index in zip(self.target, self.source_index, strict=True):
            if index is None:
                columns.append(pa.nulls(batch.num_rows, target_field.type))
                continue
            column = batch.column(index)
            if column.type != target_field.type:
                try:
                    column = column.cast(target_field.type, safe=True)
                except pa.ArrowException:
                    name = batch.schema.names[index]
                    raise InvalidInput(
                        f"Column '{name}' has values that do not fit the table's type "
                        f"{iceberg_type_name(target_field.type)}."
                    ) from None
            if not target_field.nullable and column.null_count:
                raise InvalidInput(
                    f"Column '{batch.schema.names[index]}' is required by the table but has empty values."
                )
            columns.append(column)
        return pa.RecordBatch.from_arrays(columns, schema=self.target)

    def unfit_reason(self, current: Schema) -> str | None:
        """Why files written with this mapping no longer fit the table's current schema, if they don't.

        Data files are matched to columns by field id, so what matters is that every column we
        wrote still exists with the same (or a promoted) type, and that we did not skip a column
        that has since become required.
        """
        written_ids = {field.field_id for field in self.table_schema.fields}
        for field in self.table_schema.fields:
            try:
                now = current.find_field(field.field_id)
            except ValueError:
                return f"column '{field.name}' was dropped"
            if now.field_type != field.field_type and not _promotable(field.field_type, now.field_type):
                return f"column '{field.name}' changed type from {field.field_type} to {now.field_type}"
        for field in current.fields:
            if field.required and field.field_id not in written_ids:
                return f"required column '{field.name}' was added"
        return None


MismatchKind = Literal["missing", "type", "not_in_table"]


@dataclass(frozen=True)
class ColumnMismatch:
    """One way a file's column does not fit the table: a required table column the file lacks, a
    type that cannot be converted, or a file column the table does not have."""

    column: str
    kind: MismatchKind
    file_type: str | None
    table_type: str | None

    def sentence(self) -> str:
        if self.kind == "missing":
            return f"required column '{self.column}' is missing"
        if self.kind == "type":
            return (
                f"column '{self.column}' is {self.file_type} in the file but {self.table_type} in the table"
            )
        return f"column '{self.column}' is not in the table"

    def as_dict(self) -> dict[str, str | None]:
        return {
            "column": self.column,
            "kind": self.kind,
            "file_type": self.file_type,
            "table_type": self.table_type,
        }


def map_columns(table_name: str, table_schema: Schema, source: pa.Schema) -> ColumnMapping:
    """Check the source's columns against the table's and build the mapping; InvalidInput lists all
    differences at once, with both column lists, so one correction fixes the file."""
    file_schema = sanitize_column_names(table_schema)
    target = _file_arrow_schema(table_schema)
    by_name = {name: index for index, name in enumerate(source.names)}
    mismatches: list[ColumnMismatch] = []
    source_index: list[int | None] = []
    for field, target_field in zip(table_schema.fields, target, strict=True):
        index = by_name.get(field.name)
        source_index.append(index)
        if index is None:
            if field.required:
                mismatches.append(ColumnMismatch(field.name, "missing", None, str(field.field_type)))
            continue
        source_type = source.field(index).type
        if not _convertible(source_type, target_field.type):
            mismatches.append(
                ColumnMismatch(field.name, "type", iceberg_type_name(source_type), str(field.field_type))
            )
    table_names = {field.name for field in table_schema.fields}
    mismatches.extend(
        ColumnMismatch(f.name, "not_in_table", iceberg_type_name(f.type), None)
        for f in source
        if f.name not in table_names
    )
    if mismatches:
        table_columns = ", ".join(_describe_table_field(field) for field in table_schema.fields)
        file_columns = ", ".join(f"{f.name} {iceberg_type_name(f.type)}" for f in source)
        # The same differences as data too, so a console can list them column by column.
        raise InvalidInput(
            f"The file does not match table {table_name}: "
            f"{'; '.join(mismatch.sentence() for mismatch in mismatches)}. "
            f"Table columns: {table_columns}. File columns: {file_columns}.",
            mismatches=[mismatch.as_dict() for mismatch in mismatches],
        )
    return ColumnMapping(table_schema, file_schema, target, tuple(source_index))


def _promotable(written: IcebergType, current: IcebergType) -> bool:
    try:
        promote(written, current)
    except ResolveError:
        return False
    return True


def _file_arrow_schema(table_schema: Schema) -> pa.Schema:
    """The Arrow schema of data files: pyiceberg's mapping (field ids in the metadata), sanitized
    names, and plain rather than 64-bit-offset strings (the same Parquet, without a copy)."""
    arrow = schema_to_pyarrow(sanitize_column_names(table_schema))
    return pa.schema(
        [
            field.with_type(pa.string())
            if pa.types.is_large_string(field.type)
            else field.with_type(pa.binary())
            if pa.types.is_large_binary(field.type)
            else field
            for field in arrow
        ]
    )


def _checked_conversion(source: pa.DataType, target: pa.DataType) -> bool:
    """Conversions that keep every value or, cast with Arrow's checks, fail the ingest on one that
    does not fit: between integer widths, integer to double (exact up to 2^53), float to double,
    and decimals to decimals with at least as many integer and fraction digits."""
    if pa.types.is_integer(source):
        return pa.types.is_integer(target) or pa.types.is_float64(target)
    if pa.types.is_float32(source):
        return pa.types.is_float64(target)
    if pa.types.is_decimal(source) and pa.types.is_decimal(target):
        return (
            target.scale >= source.scale
            and target.precision - target.scale >= source.precision - source.scale
        )
    return False


def _convertible(source: pa.DataType, target: pa.DataType) -> bool:
    """The same type, an all-null column, or a checked conversion."""
    return source == target or pa.types.is_null(source) or _checked_conversion(source, target)


_ICEBERG_NAMES: Mapping[pa.DataType, str] = {
    pa.null(): "empty",
    pa.bool_(): "boolean",
    pa.int32(): "int",
    pa.int64(): "long",
    pa.float32(): "float",
    pa.float64(): "double",
    pa.string(): "string",
    pa.large_string(): "string",
    pa.binary(): "binary",
    pa.large_binary(): "binary",
    pa.date32(): "date",
    pa.time64("us"): "time",
    pa.timestamp("us"): "timestamp",
    pa.timestamp("us", tz="UTC"): "timestamptz",
}


def iceberg_type_name(arrow_type: pa.DataType) -> str:
    """Arrow types in Iceberg's words, so file and table columns read in one vocabulary."""
    if arrow_type in _ICEBERG_NAMES:
        return _ICEBERG_NAMES[arrow_type]
    if pa.types.is_decimal(arrow_type):
        return f"decimal({arrow_type.precision}, {arrow_type.scale})"
    if pa.types.is_fixed_size_binary(arrow_type):
        return f"fixed[{arrow_type.byte_width}]"
    return str(arrow_type)


def _describe_table_field(field: NestedField) -> str:
    kind: IcebergType = field.field_type
    return f"{field.name} {kind}{' (required)' if field.required else ''}"
