"""Keyset pagination for every list: a page request in, `{items, next_cursor}` out (the HTTP
query parameters that make the request are `api.pagination.PageParams`).

The cursor is opaque to callers (base64 of the last row's key), so a page never shifts when rows
are added before it, and deep pages cost the same as the first one.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from sadeem.core.errors import InvalidInput

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        """`Page[RunOut]` is `RunPage`: the name of its schema in the OpenAPI document and of the
        type a generated client makes of it (pydantic's own would be `Page_RunOut_`)."""
        (item,) = params
        return f"{item.__name__.removesuffix('Out')}Page"


@dataclass(frozen=True)
class PageRequest:
    limit: int
    cursor: str | None


def encode_cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps([key]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        (key,) = json.loads(raw)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidInput("The cursor is not valid; pass `next_cursor` from a previous page.") from exc
    if not isinstance(key, int | str) or isinstance(key, bool):
        raise InvalidInput("The cursor is not valid; pass `next_cursor` from a previous page.")
    return key


def keyset_page(
    session: Session,
    stmt: Select[Any],
    key: InstrumentedAttribute[Any],
    page: PageRequest,
    *,
    descending: bool = False,
) -> tuple[Sequence[Any], str | None]:
    """Rows of `stmt` after the cursor, ordered by the unique column `key`."""
    if page.cursor is not None:
        last = decode_cursor(page.cursor)
        stmt = stmt.where(key < last if descending else key > last)
    stmt = stmt.order_by(key.desc() if descending else key.asc()).limit(page.limit + 1)
    rows = session.scalars(stmt).all()
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    return rows, encode_cursor(getattr(rows[-1], key.key))
