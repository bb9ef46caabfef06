"""The `?limit=&cursor=` query parameters of every list endpoint, as a page request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from sadeem.core.pagination import PageRequest


async def page_request(
    limit: Annotated[int, Query(ge=1, le=500, description="Page size.")] = 50,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page.")
    ] = None,
) -> PageRequest:
    return PageRequest(limit=limit, cursor=cursor)


PageParams = Annotated[PageRequest, Depends(page_request)]
