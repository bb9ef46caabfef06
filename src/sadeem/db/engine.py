"""Engines and sessions.

SQLite (embedded default) runs in WAL mode so readers never wait for the writer, and write
transactions start with `BEGIN IMMEDIATE`: a read-then-write transaction can otherwise fail with
SQLITE_BUSY_SNAPSHOT under concurrency instead of waiting its turn. PostgreSQL needs neither.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from sadeem.db import unit_of_work as uow

_BEGIN_OPTION = "sadeem_sqlite_begin"
_HOLDS_WRITER = "sadeem_sqlite_writer"
# Past this, a writer goes on without the in-process turn and waits in SQLite's busy handler, as
# it would without the lock (busy_timeout).
_WRITER_WAIT_SECONDS = 30


class _Turns:
    """A lock handed over in arrival order: a thread that writes again and again cannot keep
    taking it back before a waiting one wakes up (a plain Lock lets it)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held = False
        self._waiting: deque[threading.Lock] = deque()

    def acquire(self, timeout: float) -> bool:
        with self._guard:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append(turn)
        if turn.acquire(timeout=timeout):
            return True  # handed over by release()
        with self._guard:
            if turn in self._waiting:
                self._waiting.remove(turn)
                return False
        return True  # handed over just as the wait ran out

    def release(self) -> None:
        with self._guard:
            if self._waiting:
                self._waiting.popleft().release()  # still held: now by the next in line
            else:
                self._held = False


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so that BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # SQLite has one writer at a time. Threads of this process take turns (in arrival order)
    # before BEGIN IMMEDIATE, so the next writer starts the moment the last one ends, instead of
    # waking from SQLite's busy handler, which sleeps 1 to 100 ms between its tries. Other
    # processes still meet the busy handler.
    writer = _Turns()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        if mode == "IMMEDIATE" and writer.acquire(timeout=_WRITER_WAIT_SECONDS):
            connection.info[_HOLDS_WRITER] = True
        try:
            connection.exec_driver_sql(f"BEGIN {mode}")
        except BaseException:
            _release(connection.info)
            raise

    def _release(info: dict[Any, Any]) -> None:
        if info.pop(_HOLDS_WRITER, False):
            writer.release()

    def _end(connection: Any, end: str) -> None:
        # These events come before SQLAlchemy ends the transaction: end it here, so the turn
        # passes only once the write lock is free (pysqlite's own commit or rollback then finds
        # no transaction and does nothing).
        if connection.info.get(_HOLDS_WRITER):
            try:
                getattr(connection.connection.dbapi_connection, end)()
            finally:
                _release(connection.info)

    event.listen(engine, "commit", lambda connection: _end(connection, "commit"))
    event.listen(engine, "rollback", lambda connection: _end(connection, "rollback"))
    # A connection given back to the pool without either (its transaction ended by the pool).
    event.listen(engine.pool, "reset", lambda _dbapi, record, _state: _release(record.info))
    event.listen(engine.pool, "invalidate", lambda _dbapi, record, _exc: _release(record.info))


DEFAULT_POOL_SIZE = 16


def build_engine(url: str, pool_size: int | None = DEFAULT_POOL_SIZE) -> Engine:
    """An engine with a pool of `pool_size` connections plus as many overflow connections (a
    request may hold two: its own and a bookkeeping writer); None: no pool, for one-off tools."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = (
        {"poolclass": NullPool} if pool_size is None else {"pool_size": pool_size, "max_overflow": pool_size}
    )
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        elif pool_size is not None:  # in memory: one connection per thread, SQLAlchemy's own pool
            kwargs = {}
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


@dataclass(frozen=True)
class Database:
    """The engine plus two session factories: `reads()` (plain) and `writes()` (serialized on
    SQLite); each call opens a session to use as a context manager."""

    engine: Engine
    reads: sessionmaker[Session]
    writes: sessionmaker[Session]

    @classmethod
    def connect(cls, url: str, pool_size: int = DEFAULT_POOL_SIZE) -> Database:
        engine = build_engine(url, pool_size)
        write_engine = engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        return cls(
            engine=engine,
            reads=sessionmaker(engine, expire_on_commit=False),
            writes=sessionmaker(write_engine, expire_on_commit=False),
        )

    @contextmanager
    def unit_of_work(self, action: str | None = None) -> Iterator[Session]:
        """A write session whose transaction commits when the block ends normally (running its
        after-commit actions) and rolls back when it raises: the unit of work of a CLI command, a
        worker, scheduler or reaper iteration, the bootstrap. `action` names it in the audit trail."""
        with self.writes() as session:
            uow.begin(session, action)
            try:
                yield session
            except BaseException:
                uow.end(session, failed=True)
                raise
            uow.end(session, failed=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()
