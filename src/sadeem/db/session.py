"""The request's database session: a write session (serialized on SQLite) for state-changing
methods, a plain one for reads. Services commit explicitly; whatever is left is rolled back.

These dependencies are `async` although the database work is not: FastAPI runs every sync
dependency in its thread pool, and creating a Session does no I/O, so a thread hop there would
only add latency. Closing it may talk to the database, so that part goes to the thread pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from sadeem.db.engine import Database

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def database_of(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_database(request: Request) -> Database:
    return database_of(request)


async def db_session(request: Request) -> AsyncIterator[Session]:
    db = database_of(request)
    session = (db.reads if request.method in SAFE_METHODS else db.writes)()
    try:
        yield session
    finally:
        await run_in_threadpool(session.close)


DbSession = Annotated[Session, Depends(db_session)]
AppDatabase = Annotated[Database, Depends(get_database)]
