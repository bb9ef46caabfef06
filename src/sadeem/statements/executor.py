"""Runs the worksheet's statements inside the API server process, one thread each.

Interactive SQL does not go through the run queue: a claim, a lease and a worker hop would cost
more than many queries take. Each server process has one StatementExecutor (app.state). A
statement is QUEUED until one of `statement_slots` is free, RUNNING while its engine works and
its rows are written to the results directory (ResultWriter), then SUCCEEDED, FAILED, CANCELLED
or TIMED_OUT. The engine is the jobs' engine (same fence, same transpiling), given a catalog
token of the caller that is revoked when the statement ends.

A watchdog thread, running from the server's start (`open`), keeps the statements of this process
alive in the database (heartbeat), picks up cancel requests made through another process, fails
statements whose process died (no heartbeat), and removes results older than the retention period.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
from sqlalchemy import CursorResult, Result, select, update

from sadeem.auth.models import ApiToken
from sadeem.config import Settings
from sadeem.core.clock import utcnow
from sadeem.db.engine import Database
from sadeem.engines.base import (
    CatalogAccess,
    Engine,
    EngineRefused,
    EngineTask,
    Execution,
    ExecutionState,
    ExecutionStatus,
    ParameterValue,
    SqlTask,
    WorkspaceStorage,
)
from sadeem.engines.registry import engine_for
from sadeem.statements import results
from sadeem.statements.models import ACTIVE_STATES, Statement, StatementState

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
    done: threading.Event = field(default_factory=threading.Event)
    execution: Execution | None = None
    stop_reason: StatementState | None = None  # CANCELLED or TIMED_OUT, once asked
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Chunks written so far; page readers wait on `progress` for the next one.
    chunks: int = 0
    progress: threading.Condition = field(default_factory=threading.Condition)

    def chunk_written(self) -> None:
        with self.progress:
            self.chunks += 1
            self.progress.notify_all()

    def stop(self, reason: StatementState) -> None:
        with self.lock:
            if self.stop_reason is None:
                self.stop_reason = reason
            execution = self.execution
        if execution is not None:
            execution.cancel()


class StatementExecutor:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        engines: Callable[[str], Engine] | None = None,
    ) -> None:
        self.db, self.settings = db, settings
        self.id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.results_dir = settings.resolved_statement_results_dir
        self.catalog_url = settings.resolved_catalog_url  # how engines reach the built-in catalog
        self._engines = engines or (lambda name: engine_for(name, settings))
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
        active = _Active(job)
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
        active.stop(StatementState.CANCELLED)
        return True

    def result_dir(self, public_id: str) -> Path:
        return self.results_dir / public_id

    def close(self) -> None:
        """Stop everything still running (server shutdown)."""
        self._closed.set()
        with self._lock:
            running = list(self._active.values())
        for active in running:
            active.stop(StatementState.CANCELLED)
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
        timer = threading.Timer(job.timeout_seconds, active.stop, args=(StatementState.TIMED_OUT,))
        timer.daemon = True
        acquired = False
        try:
            while not (acquired := self._slots.acquire(timeout=0.2)):
                if active.stop_reason is not None or self._closed.is_set():
                    break
            if acquired and active.stop_reason is None and self._mark_running(job):
                timer.start()
                started = time.monotonic()
                outcome = self._execute(active, work_dir)
            else:
                outcome = _Outcome(active.stop_reason or StatementState.CANCELLED, "Cancelled while queued.")
        except Exception as error:  # a bug or an unreachable component: never a stuck statement
            log.exception("statement %s failed in the executor", job.public_id)
            outcome = _Outcome(StatementState.FAILED, f"{type(error).__name__}: {error}")
        finally:
            timer.cancel()
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
        )
        try:
            execution = self._engines(job.engine).submit(task)
        except EngineRefused as refused:
            return _Outcome(StatementState.FAILED, str(refused))
        with active.lock:
            active.execution = execution
            stopped = active.stop_reason is not None
        try:
            if stopped:
                execution.cancel()
            status = _await(execution)
            if active.stop_reason is not None:
                return _Outcome(active.stop_reason, _stopped_message(active.stop_reason, job))
            if status.state is not ExecutionState.SUCCEEDED:
                return _Outcome(StatementState.FAILED, status.message or f"The engine ended {status.state}.")
            # DDL and transaction control return no rows: an empty result with no columns.
            reader = execution.result() or pa.RecordBatchReader.from_batches(pa.schema([]), [])
            writer = results.ResultWriter(
                self.result_dir(job.public_id), job.row_limit, job.byte_limit, on_chunk=active.chunk_written
            )
            try:
                writer.start(reader.schema)
                for batch in reader:
                    if active.stop_reason is not None or not writer.write(batch):
                        break
            except Exception as error:  # a late engine error while rows are read, or a cancel
                if active.stop_reason is not None:
                    return _Outcome(active.stop_reason, _stopped_message(active.stop_reason, job))
                return _Outcome(StatementState.FAILED, str(error).replace(job.token, "[redacted]"))
            if active.stop_reason is not None:
                return _Outcome(active.stop_reason, _stopped_message(active.stop_reason, job))
            return _Outcome(StatementState.SUCCEEDED, None, writer.finish())
        finally:
            execution.close()

    def _mark_running(self, job: StatementJob) -> bool:
        with self.db.unit_of_work() as session:
            changed = _changed_rows(
                session.execute(
                    update(Statement)
                    .where(Statement.id == job.id, Statement.state == StatementState.QUEUED)
                    .values(state=StatementState.RUNNING, started_at=utcnow(), heartbeat_at=utcnow())
                )
            )
        return bool(changed)

    def _finish(self, job: StatementJob, outcome: _Outcome, duration_ms: int) -> None:
        values: dict[str, object] = {
            "state": outcome.state,
            "ended_at": utcnow(),
            "duration_ms": duration_ms,
            "error_message": outcome.message,
            "error_line": _error_line(outcome.message),
        }
        if outcome.result is not None:
            values |= {
                "columns": outcome.result.columns,
                "result_rows": outcome.result.rows,
                "result_bytes": outcome.result.bytes,
                "truncated": outcome.result.truncated,
            }
        else:
            results.remove(self.result_dir(job.public_id))
        with self.db.unit_of_work() as session:
            session.execute(
                update(Statement)
                .where(Statement.id == job.id, Statement.state.in_(ACTIVE_STATES))
                .values(**values)
            )
            session.execute(update(ApiToken).where(ApiToken.id == job.token_id).values(revoked_at=utcnow()))

    # --- the watchdog -------------------------------------------------------------------------

    def _watch(self) -> None:
        last_reap = last_purge = 0.0
        while not self._closed.wait(HEARTBEAT_SECONDS):
            try:
                self._beat()
                now = time.monotonic()
                if now - last_reap >= self.settings.statement_reap_interval_seconds:
                    last_reap = now
                    reap_orphans(self.db, self.settings.statement_orphan_after_seconds)
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


def reap_orphans(db: Database, after_seconds: float) -> int:
    """Fail the statements whose server process has not said it runs them for `after_seconds`,
    and revoke their catalog tokens; how many were failed."""
    cutoff = utcnow() - timedelta(seconds=after_seconds)
    with db.unit_of_work() as session:
        # One UPDATE that re-checks the heartbeat as it writes: a statement whose process beat
        # meanwhile (or that another server reaped first) is not touched, nor its token revoked.
        reaped = session.execute(
            update(Statement)
            .where(Statement.state.in_(ACTIVE_STATES), Statement.heartbeat_at < cutoff)
            .values(
                state=StatementState.FAILED,
                ended_at=utcnow(),
                error_message="The server process running this statement stopped; run it again.",
            )
            .returning(Statement.token_id)
            .execution_options(synchronize_session=False)
        ).all()
        tokens = [row.token_id for row in reaped if row.token_id is not None]
        if tokens:
            session.execute(update(ApiToken).where(ApiToken.id.in_(tokens)).values(revoked_at=utcnow()))
    return len(reaped)


# The DuckDB engine names the failed statement's first line: "Statement 2 of 3 (line 7 of the SQL)".
_FAILED_AT_LINE = re.compile(r"\(line (\d+) of the SQL\)")


def _error_line(message: str | None) -> int | None:
    found = _FAILED_AT_LINE.search(message or "")
    return int(found.group(1)) if found else None


def _changed_rows(result: Result[Any]) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


@dataclass(frozen=True)
class _Outcome:
    state: StatementState
    message: str | None
    result: results.WrittenResult | None = None


def _await(execution: Execution) -> ExecutionStatus:
    # Short sleeps first: most worksheet queries finish in milliseconds. Growing by a quarter,
    # the wait overshoots the engine by at most a fifth of the time it took (doubling: up to half).
    delay = 0.001
    while not (status := execution.status()).finished:
        time.sleep(delay)
        delay = min(delay * 1.25, 0.05)
    return status


def _stopped_message(reason: StatementState, job: StatementJob) -> str:
    if reason is StatementState.TIMED_OUT:
        return (
            f"The statement ran longer than its timeout of {job.timeout_seconds:g} seconds and was stopped."
        )
    return "Cancelled."
