"""The request's database session: a write session (serialized on SQLite) for state-changing
methods, a plain one for reads. Services commit explicitly; whatever is left is rolled back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from sadeem.db.engine import Database

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def db_session(request: Request) -> Iterator[Session]:
    db = get_database(request)
    factory = db.reads if request.method in SAFE_METHODS else db.writes
    with factory() as session:
        yield session


DbSession = Annotated[Session, Depends(db_session)]
AppDatabase = Annotated[Database, Depends(get_database)]
