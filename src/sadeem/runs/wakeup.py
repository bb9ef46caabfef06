"""Waking workers the moment there is work: `signal(session)` inside the transaction that queued
a run (or asked one to stop). On PostgreSQL it is a NOTIFY, delivered to every listening worker
when that transaction commits; in-process workers (`sadeem up`, tests) get a threading.Event set
after the commit. Workers still poll, slowly, in case a signal is missed."""

from __future__ import annotations

import logging
import threading
import weakref

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from sadeem.db import unit_of_work

CHANNEL = "sadeem_runs"
log = logging.getLogger(__name__)

_listeners: weakref.WeakSet[threading.Event] = weakref.WeakSet()
_listeners_lock = threading.Lock()


def subscribe() -> threading.Event:
    """An event set whenever this process commits a signal."""
    wake = threading.Event()
    with _listeners_lock:
        _listeners.add(wake)
    return wake


def _set_local() -> None:
    with _listeners_lock:
        for wake in list(_listeners):
            wake.set()


def signal(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
    unit_of_work.after_commit(session, _set_local)


class PostgresListener:
    """A thread that LISTENs on the channel and sets `wake` for each notification; it reconnects
    after a lost connection (the worker falls back to polling meanwhile)."""

    def __init__(self, database_url: str, wake: threading.Event) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._wake = wake
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sadeem-listen", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        for _notice in connection.notifies(timeout=1.0, stop_after=1):
                            self._wake.set()
            except psycopg.Error as exc:
                log.warning(
                    "run wake-up listener lost its connection (%s); polling meanwhile", type(exc).__name__
                )
                self._stop.wait(2.0)
