"""A worker: claims runs (up to `worker_slots` at once), executes each attempt in its own thread,
renews its leases, and runs the orphan reaper (worker/reaper.py: other workers' expired leases,
statements of dead servers). `sadeem worker` runs one as a
process; `sadeem up` runs one in-process."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial

from sadeem.config import Settings
from sadeem.db.engine import Database
from sadeem.engines.base import Engine
from sadeem.engines.registry import engine_for
from sadeem.heartbeats.models import ServiceKind
from sadeem.heartbeats.service import Heartbeat, new_service_id
from sadeem.runs import wakeup
from sadeem.worker import queue, reaper
from sadeem.worker.attempt import AttemptRunner

log = logging.getLogger(__name__)


class Worker:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        catalog_url: str | None = None,
        worker_id: str | None = None,
        engines: Callable[[str], Engine] | None = None,
    ) -> None:
        self.db, self.settings = db, settings
        self.worker_id = worker_id or new_service_id()
        self.catalog_url = catalog_url or settings.resolved_catalog_url
        self.engine_for = engines or partial(engine_for, settings=settings)
        self._runners: dict[int, AttemptRunner] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._wake = wakeup.subscribe()
        self._listener = (
            wakeup.PostgresListener(settings.resolved_database_url, self._wake)
            if db.dialect == "postgresql"
            else None
        )
        self._threads: list[threading.Thread] = []
        self._heartbeat = Heartbeat(
            db, ServiceKind.worker, self.worker_id, self._lease_interval, slots=settings.worker_slots
        )

    # Life cycle -----------------------------------------------------------------------------

    @property
    def _lease_interval(self) -> float:
        return self.settings.lease_seconds / 3

    def start(self) -> None:
        self._heartbeat.start()
        if self._listener is not None:
            self._listener.start()
        for target, name in ((self._dispatch_loop, "dispatch"), (self._lease_loop, "leases")):
            thread = threading.Thread(target=target, name=f"sadeem-worker-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("worker %s started with %d slots", self.worker_id, self.settings.worker_slots)

    def stop(self, wait_seconds: float = 10.0) -> None:
        """Stop claiming; give running attempts `wait_seconds`, then stop their engine work (their
        leases expire and the reaper retries them)."""
        self._stopping.set()
        self._wake.set()
        deadline = time.monotonic() + wait_seconds
        while self.active() and time.monotonic() < deadline:
            time.sleep(0.05)
        for runner in list(self._runners.values()):
            runner.lease_lost()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._listener is not None:
            self._listener.stop()
        self._heartbeat.stop()

    def active(self) -> int:
        with self._lock:
            return len(self._runners)

    # Loops ----------------------------------------------------------------------------------

    def _dispatch_loop(self) -> None:
        last_reap = 0.0
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                if time.monotonic() - last_reap >= self.settings.reaper_interval_seconds:
                    last_reap = time.monotonic()
                    reaped = reaper.reap(
                        self.db, self.worker_id, self.settings.statement_orphan_after_seconds
                    )
                    for run_id, state in reaped.runs:
                        log.warning("run %s: lease expired, now %s", run_id, state)
                self._forward_cancels()
                claimed = self._claim()
            except Exception:
                log.exception("worker %s: dispatch failed; retrying", self.worker_id)
                claimed = 0
            if claimed and self.active() < self.settings.worker_slots:
                continue  # there may be more due runs right now
            self._wake.wait(min(self.settings.worker_poll_seconds, self.settings.reaper_interval_seconds))

    def _claim(self) -> int:
        free = self.settings.worker_slots - self.active()
        if free <= 0 or self._stopping.is_set():
            return 0
        granted_at = time.monotonic()
        claims = queue.claim(self.db, self.worker_id, self.settings.lease_seconds, free)
        for claim in claims:
            runner = AttemptRunner(
                self.db,
                self.settings,
                self.worker_id,
                claim,
                self.catalog_url,
                self.engine_for,
                self._done,
                granted_at,
            )
            with self._lock:
                self._runners[claim.run_id] = runner
            runner.start()
        return len(claims)

    def _done(self, runner: AttemptRunner) -> None:
        with self._lock:
            if self._runners.get(runner.claim.run_id) is runner:
                del self._runners[runner.claim.run_id]
        self._wake.set()  # a slot is free

    def _forward_cancels(self) -> None:
        if not self.active():
            return
        for run_id in queue.cancelling(self.db, self.worker_id):
            runner = self._runners.get(run_id)
            if runner is not None:
                runner.request_cancel()

    def _lease_loop(self) -> None:
        """Renew every third of the lease. When renewals keep failing (database unreachable) or
        hang, each attempt stops its engine work by itself before its lease can expire (see
        AttemptRunner): the reaper may then hand the run to another worker, and two workers must
        never run the same attempt."""
        while not self._stopping.wait(self._lease_interval):
            with self._lock:
                runners = dict(self._runners)
            renewed_at = time.monotonic()
            try:
                states = queue.renew(
                    self.db,
                    self.worker_id,
                    {run_id: runner.claim.attempt for run_id, runner in runners.items()},
                    self.settings.lease_seconds,
                )
            except Exception:
                log.exception("worker %s: lease renewal failed", self.worker_id)
                continue
            for run_id, state in states.items():
                runner = runners[run_id]
                if not state.held:
                    runner.lease_lost()
                    continue
                runner.lease_granted_at = renewed_at
                if state.cancelling:
                    runner.request_cancel()
            # After the renewals, which must not wait behind it.
            self._heartbeat.beat(slots_in_use=len(runners))
