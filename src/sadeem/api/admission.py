"""Admission control: at most so many requests are handled at once; the rest wait in the event
loop, holding nothing.

Without it a burst of requests deadlocks: each handled request holds a pooled database connection
across several thread-pool hops (permission check, handler, session close); once more requests
hold connections than the pool has, the thread pool fills with requests blocked on checkout while
the holders wait for a thread to finish and give theirs back. With at most `limit + catalog_limit`
in flight and a pool of twice that many connections (app.py, db/engine.py), a checkout never
waits. It also keeps the number of threads contending for the GIL small, which raises throughput
under load.

Requests that wait on each other must not share slots, or the slots fill with waiters:
- The Iceberg REST catalog (/iceberg) has a pool of its own. A worksheet statement's engine
  process calls it back while the client request that submitted the statement waits for the end;
  in one pool, 16 such submits held every slot and their engines' catalog calls queued behind them
  until `wait_timeout`.
- A long poll (a statement's `wait_timeout`, `?wait=`, run logs) waits holding no database
  connection; around that wait (`waiting()`) it lends its slot out and takes one back, in turn,
  before it reads again. Meanwhile it holds a place in a waiting room instead, which bounds the
  worker threads such waits keep blocked; with the room full, a wait keeps its slot.
The thread pool has a thread for every slot and every place in the waiting room, so an admitted
request or a waiter taking its slot back never waits for a thread.

- An event stream (a run page following its run) is open for minutes but works only a moment
  per poll: between polls it sleeps on the event loop (`idle()`), holding neither a slot nor a
  thread, so open pages never crowd out requests.
Liveness and metrics are exempt, so a busy server still answers its probes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar

import anyio
import anyio.from_thread
import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

EXEMPT_PATHS = frozenset({"/health", "/metrics"})
CATALOG_PATH_PREFIX = "/iceberg/"


class _Slot:
    """One request's admission: the pool it came through, and whether it holds a slot of it now."""

    def __init__(self, pool: anyio.Semaphore, waiting_room: anyio.Semaphore) -> None:
        self.pool = pool
        self.waiting_room = waiting_room
        self.held = False

    async def take(self) -> None:
        await self.pool.acquire()
        self.held = True

    def give_back(self) -> None:
        if self.held:
            self.held = False
            self.pool.release()

    def step_out(self) -> bool:
        """Trade the slot for a place in the waiting room; False (slot kept) if the room is full."""
        try:
            self.waiting_room.acquire_nowait()
        except anyio.WouldBlock:
            return False
        self.give_back()
        return True

    async def step_back_in(self) -> None:
        # The place is kept until a slot is taken: a waiter is always counted in one or the other,
        # so the threads blocked in requests stay within the thread pool's size.
        try:
            await self.take()
        finally:
            self.waiting_room.release()


_current_slot: ContextVar[_Slot | None] = ContextVar("sadeem_admission_slot", default=None)


@contextmanager
def waiting() -> Iterator[None]:
    """Around a blocking wait of a request's worker thread that holds no database connection: the
    request's slot serves other requests meanwhile. Outside a request (workers, CLI): nothing."""
    slot = _current_slot.get()
    if slot is None or not anyio.from_thread.run_sync(slot.step_out):
        yield
        return
    try:
        yield
    finally:
        anyio.from_thread.run(slot.step_back_in)


@asynccontextmanager
async def idle() -> AsyncIterator[None]:
    """Around an async wait that blocks no thread (an event stream between two polls): the slot
    serves other requests meanwhile, and is taken back (waiting like a new request) afterwards."""
    slot = _current_slot.get()
    if slot is None:
        yield
        return
    slot.give_back()
    try:
        yield
    finally:
        await slot.take()


class AdmissionControl:
    def __init__(self, app: ASGIApp, limit: int, catalog_limit: int, waiting_limit: int) -> None:
        self.app = app
        self.limit, self.catalog_limit, self.waiting_limit = limit, catalog_limit, waiting_limit
        # Created in the server's event loop, at the first request.
        self._pools: tuple[anyio.Semaphore, anyio.Semaphore, anyio.Semaphore] | None = None

    def _open(self) -> tuple[anyio.Semaphore, anyio.Semaphore, anyio.Semaphore]:
        threads = anyio.to_thread.current_default_thread_limiter()
        threads.total_tokens = max(threads.total_tokens, self.limit + self.catalog_limit + self.waiting_limit)
        return (
            anyio.Semaphore(self.limit),
            anyio.Semaphore(self.catalog_limit),
            anyio.Semaphore(self.waiting_limit),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if self._pools is None:
            self._pools = self._open()
        api, catalog, waiting_room = self._pools
        slot = _Slot(catalog if scope["path"].startswith(CATALOG_PATH_PREFIX) else api, waiting_room)
        await slot.take()
        token = _current_slot.set(slot)
        try:
            await self.app(scope, receive, send)
        finally:
            _current_slot.reset(token)
            slot.give_back()
