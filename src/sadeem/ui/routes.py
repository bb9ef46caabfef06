from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from sadeem.auth.permissions import Public
from sadeem.db.session import UnitOfWorkRoute

router = APIRouter(include_in_schema=False, route_class=UnitOfWorkRoute)
_INDEX = Path(__file__).with_name("index.html")


@router.get("/", response_class=HTMLResponse)
def console(_: Public) -> HTMLResponse:
    return HTMLResponse(_INDEX.read_text(encoding="utf-8"))
