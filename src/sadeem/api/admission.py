"""Admission control: at most `limit` requests are handled at once; the rest wait in the event
loop, holding nothing.

Without it a burst of requests deadlocks: each handled request holds a pooled database connection
across several thread-pool hops (permission check, handler, session close); once more requests
hold connections than the pool has, the thread pool fills with requests blocked on checkout while
the holders wait for a thread to finish and give theirs back. With at most `limit` in flight and a
pool of 2 x `limit` connections (see db/engine.py), a checkout never waits. It also keeps the
number of threads contending for the GIL small, which raises throughput under load.

Liveness and metrics are exempt, so a busy server still answers its probes.
"""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

EXEMPT_PATHS = frozenset({"/health", "/metrics"})


class AdmissionControl:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._slots: anyio.Semaphore | None = None  # created in the server's event loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = anyio.Semaphore(self.limit)
        async with self._slots:
            await self.app(scope, receive, send)
