"""Runs the worksheet's statements inside the API server process, one thread each.

Interactive SQL does not go through the run queue: a claim, a lease and a worker hop would cost
more than many queries take. Each server process has one StatementExecutor (app.state). A
statement is QUEUED until one of `statement_slots` is free, RUNNING while its engine works and
its rows are written to the results directory (ResultWriter), then SUCCEEDED, FAILED, CANCELLED
or TIMED_OUT. The engine is the jobs' engine (same fence, same transpiling), given a catalog
token of the caller that is revoked when the statement ends.

The engine work itself is driven by the execution driver (engines/driver.py), as a run's is;
state changes go through statements/transitions.py.

A watchdog thread, running from the server's start (`open`), keeps the statements of this process
alive in the database (heartbeat), picks up cancel requests made through another process, runs the
orphan reaper it is given (worker/reaper.py: statements whose process died, runs whose worker
did), and removes results older than the retention period.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
from sqlalchemy import select, update

from sadeem.auth.models import ApiToken
from sadeem.config import Settings
from sadeem.core.clock import utcnow
from sadeem.core.redaction import redact_secrets
from sadeem.db.engine import Database
from sadeem.engines.base import (
    CatalogAccess,
    Engine,
    EngineTask,
    ExecutionState,
    ParameterValue,
    SqlTask,
    WorkspaceStorage,
)
from sadeem.engines.driver import STATEMENT_PACE, ExecutionDriver, StopReason
from sadeem.engines.registry import engine_for
from sadeem.statements import results
from sadeem.statements.models import ACTIVE_STATES, Statement, StatementState
from sadeem.statements.transitions import transition

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 1.0
_PURGE_EVERY_SECONDS = 600.0


@dataclass(frozen=True)
class StatementJob:
    """What the executor needs to run one statement, gathered by the service at submit."""

    id: int
    public_id: str
    owner: str
    sql: str
    engine: str
    connection: Mapping[str, object] | None
    parameters: Mapping[str, ParameterValue]
    workspace: WorkspaceStorage
    token: str
    token_id: int
    row_limit: int
    byte_limit: int
    timeout_seconds: float


@dataclass
class _Active:
    job: StatementJob
    driver: ExecutionDriver
    done: threading.Event = field(default_factory=threading.Event)
    # Chunks written so far; page readers wait on `progress` for the next one.
    chunks: int = 0
    progress: threading.Condition = field(default_factory=threading.Condition)

    def chunk_written(self) -> None:
        with self.progress:
            self.chunks += 1
            self.progress.notify_all()

    def write_result(
        self, reader: pa.RecordBatchReader | None, stopping: Callable[[], bool], writer: results.ResultWriter
    ) -> results.WrittenResult:
        # DDL and transaction control return no rows: an empty result with no columns.
        reader = reader or pa.RecordBatchReader.from_batches(pa.schema([]), [])
        writer.start(reader.schema)
        for batch in reader:
            if stopping() or not writer.write(batch):
                break
        return writer.finish()


class StatementExecutor:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        engines: Callable[[str], Engine] | None = None,
        reap: Callable[[], object] | None = None,
    ) -> None:
        self.db, self.settings = db, settings
        self.id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.results_dir = settings.resolved_statement_results_dir
        self.catalog_url = settings.resolved_catalog_url  # how engines reach the built-in catalog
        self._engines = engines or (lambda name: engine_for(name, settings))
        # The orphan reaper (worker/reaper.py) this server runs on the watchdog's schedule.
        self._reap = reap
        self._slots = threading.BoundedSemaphore(settings.statement_slots)
        self._lock = threading.Lock()
        self._active: dict[str, _Active] = {}
        self._closed = threading.Event()
        self._watchdog: threading.Thread | None = None

    def open(self) -> None:
        """Start the watchdog (server start). Orphans of a server that died are failed on this
        schedule whether or not anything is submitted here."""
        with self._lock:
            if self._watchdog is None:
                self._watchdog = threading.Thread(target=self._watch, name="statement-watchdog", daemon=True)
                self._watchdog.start()

    # --- used by the service ------------------------------------------------------------------

    def start(self, job: StatementJob) -> None:
        # A statement nobody heartbeats is failed as an orphan: an executor used without a server
        # start (no lifespan) starts its watchdog here.
        self.open()
        active = _Active(job, ExecutionDriver(job.timeout_seconds, STATEMENT_PACE))
        with self._lock:
            self._active[job.public_id] = active
        threading.Thread(target=self._run, args=(active,), name=f"statement-{job.id}", daemon=True).start()

    def wait(self, public_id: str, seconds: float) -> bool:
        """Wait up to `seconds` for a statement of this process to end; True if it has (or is
        not running here)."""
        with self._lock:
            active = self._active.get(public_id)
        return active is None or active.done.wait(seconds)

    def progress(self, public_id: str) -> int:
        """How many result chunks a statement running here has written (0 if it does not run here)."""
        with self._lock:
            active = self._active.get(public_id)
        return active.chunks if active is not None else 0

    def wait_progress(self, public_id: str, seen: int, seconds: float) -> None:
        """Wait up to `seconds` for a statement running here to write a chunk after the `seen`th, or
        to end; one running elsewhere (or not at all) is polled."""
        with self._lock:
            active = self._active.get(public_id)
        if active is None:
            time.sleep(min(seconds, 0.05))
            return
        with active.progress:
            active.progress.wait_for(lambda: active.chunks > seen or active.done.is_set(), seconds)

    def cancel(self, public_id: str) -> bool:
        """Stop a statement running in this process; False if it does not run here."""
        with self._lock:
            active = self._active.get(public_id)
        if active is None:
            return False
        active.driver.stop(StopReason.CANCELLED)
        return True

    def result_dir(self, public_id: str) -> Path:
        return self.results_dir / public_id

    def close(self) -> None:
        """Stop everything still running (server shutdown)."""
        self._closed.set()
        with self._lock:
            running = list(self._active.values())
        for active in running:
            active.driver.stop(StopReason.CANCELLED)
        for active in running:
            active.done.wait(5)
        # The database is disposed after this: no watchdog round may still be using it.
        if self._watchdog is not None:
            self._watchdog.join(5)

    # --- one statement ------------------------------------------------------------------------

    def _run(self, active: _Active) -> None:
        job = active.job
        started = time.monotonic()
        outcome = _Outcome(StatementState.FAILED, "The statement failed before its engine started.")
        work_dir = self.settings.home / "work" / f"statement-{job.public_id}"
        acquired = False
        try:
            while not (acquired := self._slots.acquire(timeout=0.2)):
                if active.driver.stopped is not None or self._closed.is_set():
                    break
            if acquired and active.driver.stopped is None and self._mark_running(job):
                started = time.monotonic()
                outcome = self._execute(active, work_dir)
            else:
                outcome = _Outcome(StatementState.CANCELLED, "Cancelled while queued.")
        except Exception as error:  # a bug or an unreachable component: never a stuck statement
            log.exception("statement %s failed in the executor", job.public_id)
            outcome = _Outcome(StatementState.FAILED, f"{type(error).__name__}: {error}")
        finally:
            if acquired:
                self._slots.release()
            shutil.rmtree(work_dir, ignore_errors=True)
            try:
                self._finish(job, outcome, round((time.monotonic() - started) * 1000))
            except Exception:
                log.exception("recording the end of statement %s failed", job.public_id)
            with self._lock:
                self._active.pop(job.public_id, None)
            active.done.set()
            with active.progress:
                active.progress.notify_all()

    def _execute(self, active: _Active, work_dir: Path) -> _Outcome:
        job = active.job
        work_dir.mkdir(parents=True, exist_ok=True)
        task = EngineTask(
            run_id=job.id,
            attempt=1,
            owner=job.owner,
            workspace=job.workspace,
            catalog=CatalogAccess(self.catalog_url, job.workspace.slug, job.token),
            task=SqlTask(job.sql),
            parameters=job.parameters,
            work_dir=work_dir,
            log=_discard,  # the statement's error carries what the engine reports
            connection=job.connection,
            work_class="interactive",
        )
        writer = results.ResultWriter(
            self.result_dir(job.public_id), job.row_limit, job.byte_limit, on_chunk=active.chunk_written
        )
        ended = active.driver.run(
            self._engines(job.engine),
            task,
            lambda reader, stopping: active.write_result(reader, stopping, writer),
        )
        if ended.refused:
            return _Outcome(StatementState.FAILED, ended.message)
        if ended.stopped is not None:
            # A stop wins over an engine that finished meanwhile: the caller was told it stops.
            if ended.stopped is StopReason.TIMEOUT:
                return _Outcome(
                    StatementState.TIMED_OUT,
                    f"The statement ran longer than its timeout of {job.timeout_seconds:g} seconds "
                    "and was stopped.",
                )
            return _Outcome(StatementState.CANCELLED, "Cancelled.")
        if ended.result_failed:  # a late engine error while rows are read
            return _Outcome(StatementState.FAILED, redact_secrets(ended.message or "", [job.token]))
        if ended.state is not ExecutionState.SUCCEEDED:
            return _Outcome(StatementState.FAILED, ended.message or f"The engine ended {ended.state}.")
        return _Outcome(StatementState.SUCCEEDED, None, ended.result)

    @property
    def actor(self) -> str:
        """Who the timeline names for the changes this executor makes."""
        return f"executor:{self.id}"

    def _mark_running(self, job: StatementJob) -> bool:
        with self.db.unit_of_work() as session:
            statement = session.get(Statement, job.id)
            # Only a statement still QUEUED starts: one cancelled or reaped meanwhile stays as it is.
            started = (
                statement is not None
                and statement.state is StatementState.QUEUED
                and transition(session, statement, StatementState.RUNNING, actor=self.actor)
            )
            if started:
                assert statement is not None
                statement.heartbeat_at = statement.started_at
        return started

    def _finish(self, job: StatementJob, outcome: _Outcome, duration_ms: int) -> None:
        if outcome.result is None:
            results.remove(self.result_dir(job.public_id))
        with self.db.unit_of_work() as session:
            statement = session.get(Statement, job.id)
            # A statement the reaper failed meanwhile keeps that end.
            if (
                statement is not None
                and statement.state in ACTIVE_STATES
                and transition(session, statement, outcome.state, actor=self.actor, message=outcome.message)
            ):
                statement.duration_ms = duration_ms
                if outcome.result is not None:
                    statement.columns = outcome.result.columns
                    statement.result_rows = outcome.result.rows
                    statement.result_bytes = outcome.result.bytes
                    statement.truncated = outcome.result.truncated
            session.execute(update(ApiToken).where(ApiToken.id == job.token_id).values(revoked_at=utcnow()))

    # --- the watchdog -------------------------------------------------------------------------

    def _watch(self) -> None:
        last_reap = last_purge = 0.0
        while not self._closed.wait(HEARTBEAT_SECONDS):
            try:
                self._beat()
                now = time.monotonic()
                if (
                    self._reap is not None
                    and now - last_reap >= self.settings.statement_reap_interval_seconds
                ):
                    last_reap = now
                    self._reap()
                if now - last_purge >= _PURGE_EVERY_SECONDS:
                    last_purge = now
                    self.purge_expired()
            except Exception:
                log.exception("the statement watchdog's round failed; it tries again")

    def _beat(self) -> None:
        with self._lock:
            here = list(self._active)
        if not here:
            return
        with self.db.unit_of_work() as session:
            session.execute(
                update(Statement)
                .where(Statement.public_id.in_(here), Statement.state.in_(ACTIVE_STATES))
                .values(heartbeat_at=utcnow(), executor_id=self.id)
            )
            asked = session.scalars(
                select(Statement.public_id).where(
                    Statement.public_id.in_(here), Statement.cancel_requested_at.is_not(None)
                )
            ).all()
        for public_id in asked:
            self.cancel(public_id)

    def purge_expired(self) -> int:
        """Remove results older than the retention period; how many were removed."""
        cutoff = utcnow() - timedelta(hours=self.settings.statement_result_retention_hours)
        with self.db.unit_of_work() as session:
            expired = session.scalars(
                select(Statement.public_id).where(
                    Statement.ended_at < cutoff,
                    Statement.result_rows.is_not(None),
                    Statement.result_expired.is_(False),
                )
            ).all()
            for public_id in expired:
                results.remove(self.result_dir(public_id))
            if expired:
                session.execute(
                    update(Statement).where(Statement.public_id.in_(expired)).values(result_expired=True)
                )
        return len(expired)


def _discard(_line: str) -> None:
    pass


@dataclass(frozen=True)
class _Outcome:
    state: StatementState
    message: str | None
    result: results.WrittenResult | None = None
