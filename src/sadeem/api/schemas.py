"""Base classes for request and response bodies."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

from sadeem.api.text import contains_nul, declare_no_nul, nul_error

_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)")


def _not_a_number(value: Any) -> Any:
    # pydantic reads a number as Unix time: `since=2024` would silently mean 1970-01-01T00:33:44Z.
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value.strip())):
        raise PydanticCustomError("datetime_type", "Input should be an ISO 8601 date and time, not a number")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_not_a_number)]
"""A date and time in ISO 8601 (not Unix time), as request parameters and bodies take them."""


def _json_integer(value: Any) -> Any:
    # pydantic reads `true` as 1 and "5" as 5, which JSON Schema's `integer` refuses; 5.0 it
    # accepts, and so does JSON Schema. (A strict int would refuse 5.0.)
    if isinstance(value, bool | str):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


JSON_INTEGER = BeforeValidator(_json_integer)
"""Makes an `int` field take integers as JSON Schema means them: `Annotated[int, Field(...),
JSON_INTEGER]` (after the Field, or pydantic drops its bounds from the JSON schema). Request
booleans are `StrictBool` for the same reason (pydantic would read 1 or "yes" as true). The model
itself cannot be strict: enums arrive as text."""


class RequestModel(BaseModel):
    """Request bodies reject unknown fields, so a typo is an error instead of a silent no-op, and
    text with a NUL character (see api/text.py)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=declare_no_nul)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if contains_nul(value):
            raise nul_error()
        return value


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)
