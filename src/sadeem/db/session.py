"""The request's database session and the one place a request commits.

A state-changing request gets a write session (serialized on SQLite), a read gets a plain one.
Its routes are `UnitOfWorkRoute`s: once the endpoint has returned, the write session's
transaction is committed before the response is sent; an endpoint that raises leaves it to be
rolled back when the session closes. Services only flush. A COMMIT that fails leaves it unknown
whether it took effect: the answer says so (StateUnknown, the Iceberg spec's CommitStateUnknown).

The session dependency is `async` although the database work is not: FastAPI runs every sync
dependency in its thread pool, and creating a Session does no I/O, so a thread hop there would
only add latency. Committing and closing talk to the database, so they go to the thread pool.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from sadeem.core.errors import StateUnknown
from sadeem.db import unit_of_work
from sadeem.db.engine import Database

log = logging.getLogger("sadeem.db")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def database_of(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_database(request: Request) -> Database:
    return database_of(request)


def write_session_of(request: Request) -> Session | None:
    """The request's write session, once a dependency has opened it."""
    session: Session | None = getattr(request.state, "write_session", None)
    return session


async def db_session(request: Request) -> AsyncIterator[Session]:
    db = database_of(request)
    if request.method in SAFE_METHODS:
        session = db.reads()
    else:
        session = db.writes()
        unit_of_work.begin(session, getattr(request.scope.get("route"), "name", None))
        request.state.write_session = session
    try:
        yield session
    finally:
        await run_in_threadpool(session.close)


async def _end(request: Request, failed: bool) -> None:
    session = write_session_of(request)
    if session is None:
        return
    try:
        await run_in_threadpool(unit_of_work.end, session, failed)
    except OperationalError as e:
        if failed:
            raise
        log.error("commit in unknown state: %s", type(e).__name__)
        raise StateUnknown(
            "The change may or may not have been applied; read it again before retrying."
        ) from e


class UnitOfWorkRoute(APIRoute):
    """A route whose request is one unit of work: its write session commits after the endpoint
    returns successfully, before the response is sent (an error rolls it back)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_and_commit(request: Request) -> Response:
            try:
                response = await handle(request)
            except Exception:
                await _end(request, failed=True)
                raise
            await _end(request, failed=False)
            return response

        return handle_and_commit


DbSession = Annotated[Session, Depends(db_session)]
AppDatabase = Annotated[Database, Depends(get_database)]
