"""The one text-search rule of list endpoints (`q`, `text`, `name_contains`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, or_


def contains_text(text: str, *columns: Any) -> ColumnElement[bool]:
    """`text` is part of any of `columns`, ignoring case; `%` and `_` match themselves."""
    needle = text.lower()
    return or_(*(func.lower(column).contains(needle, autoescape=True) for column in columns))
