"""A query parameter that takes one value, given several times (`?q=a&q=b`), is a 422.

FastAPI would silently use the last value; a caller who repeats a filter most likely meant
something else (an OR), and should learn that it is not so."""

from __future__ import annotations

from collections import Counter

from fastapi import Request, params
from fastapi._compat import field_annotation_is_sequence
from fastapi.dependencies.utils import get_flat_params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

REPEATED_ERROR_TYPE = "repeated_parameter"


async def reject_repeated_scalar_parameters(request: Request) -> None:
    """App-wide dependency, beside the NUL check: it judges only the request's form."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    counts = Counter(name for name, _ in request.query_params.multi_items())
    repeated = [name for name, count in counts.items() if count > 1]
    if not repeated:
        return
    scalars = {
        field.alias
        for field in get_flat_params(route.dependant)
        if isinstance(field.field_info, params.Query)
        and not field_annotation_is_sequence(field.field_info.annotation)
    }
    found = [
        {
            "type": REPEATED_ERROR_TYPE,
            "loc": ("query", name),
            "msg": "This parameter takes one value; it was given more than once.",
            "input": None,
        }
        for name in repeated
        if name in scalars
    ]
    if found:
        raise RequestValidationError(found)
