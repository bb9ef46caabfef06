"""The one rule for text in requests: no NUL character (U+0000) anywhere.

PostgreSQL cannot store NUL in text, so such a string would fail as a database error (500) on
PostgreSQL and be stored on SQLite; no name, description, filter or password needs one. It is
refused with a 422 before any handler runs — in request bodies by `RequestModel`, in path and
query parameters by `reject_nul_in_parameters` — and the OpenAPI document says so with a
`pattern` on every free-text string (`declare_no_nul`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic_core import PydanticCustomError

NUL = "\x00"
NO_NUL_PATTERN = "^[^\\u0000]*$"
NUL_ERROR_TYPE = "string_nul"
NUL_MESSAGE = "Text must not contain the NUL character (\\u0000)."


def contains_nul(value: object) -> bool:
    """Whether a (nested) request value holds a NUL in any string, dictionary key or secret."""
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, SecretStr):
        return NUL in value.get_secret_value()
    if isinstance(value, SecretBytes):
        return False
    if isinstance(value, BaseModel):
        return any(contains_nul(item) for item in vars(value).values())
    if isinstance(value, Mapping):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(contains_nul(item) for item in value)
    return False


def nul_error() -> PydanticCustomError:
    return PydanticCustomError(NUL_ERROR_TYPE, NUL_MESSAGE)


def declare_no_nul(schema: Any) -> None:
    """Add the no-NUL `pattern` to every free-text string in a JSON schema, in place. Strings that
    already have a pattern, an enum or a constant are left as they are: their own rule decides
    (and the API fuzz proves it excludes NUL). `$ref`s are not followed: each model declares its
    own fields."""
    if isinstance(schema, list):
        for item in schema:
            declare_no_nul(item)
        return
    if not isinstance(schema, dict) or "$ref" in schema:
        return
    names = schema.get("propertyNames")
    if isinstance(names, dict) and "type" not in names:
        names["type"] = "string"  # a map's keys are strings; pydantic leaves the type out
    if schema.get("type") == "string" and not {"pattern", "enum", "const"} & schema.keys():
        schema["pattern"] = NO_NUL_PATTERN
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        declare_no_nul(schema.get(key))
    for key in ("items", "additionalProperties", "propertyNames"):
        declare_no_nul(schema.get(key))
    for sub in (schema.get("properties") or {}).values():
        declare_no_nul(sub)


async def reject_nul_in_parameters(request: Request) -> None:
    """App-wide dependency: a path or query parameter with a NUL is a 422, whatever the route.

    It runs before the route's permission, so such a request gets its 422 even without
    credentials — as a malformed JSON body gets its 400: both judge only the request's form."""
    found = [
        {"type": NUL_ERROR_TYPE, "loc": (location, name), "msg": NUL_MESSAGE, "input": None}
        for location, items in (
            ("path", list(request.path_params.items())),
            ("query", request.query_params.multi_items()),
        )
        for name, value in items
        if isinstance(value, str) and NUL in value
    ]
    if found:
        raise RequestValidationError(found)
