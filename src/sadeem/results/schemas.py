"""How every JSON result, preview and page describes its columns and rows in the API (the rules
are `sadeem.results.json_cells`')."""

from __future__ import annotations

from pydantic import Field

from sadeem.api.schemas import ResponseModel

ROWS_DESCRIPTION = (
    "Rows as arrays in column order. Integers beyond ±2^53 and decimals are text (plain digits); "
    'NaN and infinities the text "NaN", "Infinity", "-Infinity"; dates, times and timestamps '
    "ISO 8601 (a timestamp with a time zone with its offset, Z for UTC); binary base64; UUIDs "
    "text; structs objects, lists arrays, maps arrays of [key, value] pairs."
)


class ResultColumn(ResponseModel):
    name: str
    type: str = Field(
        description="The Arrow type, the same whatever engine or table produced the rows.",
        examples=["int64", "large_string", "decimal128(10, 2)", "timestamp[us, tz=UTC]"],
    )
