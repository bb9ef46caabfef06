"""Executing one claimed attempt: build the engine task, have the execution driver run it
(engines/driver.py: poll, cancel on stop, timeout or lost lease, close), keep the log flowing to
the database, store a SQL result, and report the outcome through the queue."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
from sqlalchemy import select

from sadeem.config import Settings
from sadeem.connections.keyring import Keyring
from sadeem.connections.models import Connection
from sadeem.connections.service import engine_config
from sadeem.db.engine import Database
from sadeem.engines.base import (
    CatalogAccess,
    Engine,
    EngineRefused,
    EngineTask,
    ExecutionState,
    Resources,
    SparkTask,
    SqlTask,
    WorkspaceStorage,
)
from sadeem.engines.driver import RUN_PACE, ExecutionDriver, Outcome, StopReason
from sadeem.jobs import parameters
from sadeem.jobs.schemas import NotificationEvent, SparkTaskSpec, SqlTaskSpec
from sadeem.runs import policy, results
from sadeem.runs.models import RunLogChunk, RunState
from sadeem.worker import notify, queue
from sadeem.workspaces.models import Workspace

log = logging.getLogger(__name__)

LOG_FLUSH_SECONDS = 0.5
# Without a successful renewal for this share of the lease, the attempt stops its engine work: the
# rest of the lease is the margin for the engine to stop before the reaper may hand the run on.
LEASE_SAFE_SHARE = 0.8
MAX_LOG_BYTES = 10 * 1024**2  # per attempt; beyond it lines are dropped, and the log says so


class AttemptLog:
    """Log lines of one attempt, buffered and flushed in chunks (thread-safe)."""

    def __init__(self, db: Database, run_id: int, attempt: int) -> None:
        self._db, self._run_id, self._attempt = db, run_id, attempt
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._bytes = 0
        self._seq = 0
        self._truncated = False

    def write(self, line: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        text = f"{stamp} {line.rstrip()}\n"
        with self._lock:
            if self._bytes + len(text) > MAX_LOG_BYTES:
                if not self._truncated:
                    self._truncated = True
                    self._pending.append(f"{stamp} [log truncated at {MAX_LOG_BYTES} bytes]\n")
                return
            self._bytes += len(text)
            self._pending.append(text)

    def take(self) -> RunLogChunk | None:
        """The pending lines as the next chunk, for the caller to insert (or None: nothing new)."""
        with self._lock:
            if not self._pending:
                return None
            text, self._pending = "".join(self._pending), []
            # Only the worker holding an attempt writes its log, and no attempt is resumed: the
            # chunks are numbered from 1 without asking the database.
            self._seq += 1
            return RunLogChunk(run_id=self._run_id, attempt=self._attempt, seq=self._seq, text=text)

    def flush(self) -> None:
        self.store(self.take())

    def store(self, chunk: RunLogChunk | None) -> None:
        if chunk is None:
            return
        with self._db.unit_of_work() as session:
            session.add(chunk)


def _remove(directory: Path) -> None:
    """Remove the attempt's scratch directory: most are empty (a plain rmdir, a tenth of rmtree's
    cost), some hold the engine's files."""
    try:
        directory.rmdir()
    except OSError:
        shutil.rmtree(directory, ignore_errors=True)


def _resources(spec: object) -> Resources:
    return Resources(cores=spec.cores, memory=spec.memory, instances=spec.instances)  # type: ignore[attr-defined]


class AttemptRunner:
    """One thread per claimed attempt; the watcher of its engine execution."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        worker_id: str,
        claim: queue.Claim,
        catalog_url: str,
        engine_for: Callable[[str], Engine],
        on_done: Callable[[AttemptRunner], None],
        lease_granted_at: float,
    ) -> None:
        self.db, self.settings, self.worker_id, self.claim = db, settings, worker_id, claim
        self.catalog_url, self.engine_for, self.on_done = catalog_url, engine_for, on_done
        self.log = AttemptLog(db, claim.run_id, claim.attempt)
        self.driver = ExecutionDriver(claim.definition.timeout_seconds, RUN_PACE, self)
        # When the lease was last granted or renewed (monotonic, taken before the database write);
        # the worker moves it on after each successful renewal.
        self.lease_granted_at = lease_granted_at
        self._last_flush = time.monotonic()
        self._duration_pending = [
            n for n in claim.definition.notifications if NotificationEvent.duration_exceeded in n.on
        ]
        self.thread = threading.Thread(target=self._run, name=f"run-{claim.run_id}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def request_cancel(self) -> None:
        self.driver.stop(StopReason.CANCELLED)

    def lease_lost(self) -> None:
        self.driver.stop(StopReason.LEASE_LOST)

    # --- the watcher of the engine execution ----------------------------------------------------

    def stop_reason(self) -> StopReason | None:
        if time.monotonic() - self.lease_granted_at > self.settings.lease_seconds * LEASE_SAFE_SHARE:
            return StopReason.LEASE_LOST  # renewals fail or hang: the lease is as good as lost
        return None

    def stopping(self, reason: StopReason) -> None:
        because = {
            StopReason.LEASE_LOST: "lease lost",
            StopReason.CANCELLED: "stop requested",
            StopReason.TIMEOUT: f"timeout: the run exceeded {self.driver.timeout_seconds} s",
        }[reason]
        self.log.write(f"{because}; stopping the engine work")

    def progress(self, elapsed: float) -> None:
        self._duration_check(elapsed)
        if time.monotonic() - self._last_flush >= LOG_FLUSH_SECONDS:
            self.log.flush()
            self._last_flush = time.monotonic()

    # --- the attempt ----------------------------------------------------------------------------

    @property
    def work_dir(self) -> Path:
        return self.settings.home / "work" / f"run-{self.claim.run_id}-attempt-{self.claim.attempt}"

    def _connection(self, name: str | None) -> dict[str, object] | None:
        if name is None:
            return None
        with self.db.reads() as session:
            connection = session.scalar(
                select(Connection)
                .join(Workspace, Workspace.id == Connection.workspace_id)
                .where(Workspace.slug == self.claim.workspace, Connection.name == name)
            )
            if connection is None:
                raise EngineRefused(
                    f"The connection '{name}' no longer exists in workspace '{self.claim.workspace}'."
                )
            return engine_config(Keyring.from_settings(self.settings), connection)

    def _task(self) -> EngineTask:
        claim, spec = self.claim, self.claim.definition.task
        task: SqlTask | SparkTask
        if isinstance(spec, SqlTaskSpec):
            task = SqlTask(spec.sql)
        else:
            assert isinstance(spec, SparkTaskSpec)
            task = SparkTask(
                kind=spec.kind,
                source=spec.source,
                file=spec.file,
                main_class=spec.main_class,
                args=parameters.substitute_args(spec.args, claim.parameters),
                conf=dict(spec.conf),
                driver=_resources(spec.driver),
                executor=_resources(spec.executor),
            )
        self.work_dir.mkdir(parents=True, exist_ok=True)
        return EngineTask(
            run_id=claim.run_id,
            attempt=claim.attempt,
            owner=claim.owner,
            workspace=WorkspaceStorage(claim.workspace, claim.namespace, claim.location),
            catalog=CatalogAccess(self.catalog_url, claim.workspace, claim.catalog_token),
            task=task,
            parameters=parameters.typed_values(claim.definition.parameters, claim.parameters),
            work_dir=self.work_dir,
            log=self.log.write,
            connection=self._connection(spec.connection),
        )

    def _run(self) -> None:
        started = time.monotonic()
        outcome: policy.Event = policy.WorkerFailed("The worker failed before the engine started.")
        record: dict[str, object] | None = None
        try:
            definition = self.claim.definition
            self.log.write(
                f"attempt {self.claim.attempt} of run {self.claim.run_id} on worker {self.worker_id}: "
                f"engine {definition.task.engine}, owner {self.claim.owner}"
            )
            try:
                task = self._task()
            except EngineRefused as exc:
                outcome = policy.Refused(str(exc))
            else:
                ended = self.driver.run(self.engine_for(definition.task.engine), task, self._store_result)
                outcome, record = self._outcome(ended)
        except Exception as exc:  # a bug or an unreachable component: the run fails, it is never stuck
            log.exception("attempt %s of run %s failed in the worker", self.claim.attempt, self.claim.run_id)
            outcome = policy.WorkerFailed(f"{type(exc).__name__}: {exc}")
        try:
            if self.driver.stopped is StopReason.LEASE_LOST:
                self.log.write(
                    "lease lost: the engine work was stopped; the reaper decides what happens next"
                )
                self.log.flush()
                return
            self.log.write(f"attempt ended: {policy.ending(outcome)}")
            # The last lines commit with the outcome: one transaction fewer per run.
            last_lines = self.log.take()
            final = queue.finish(self.db, self.worker_id, self.claim, outcome, record, last_lines)
            if final is None:
                self.log.store(last_lines)  # the lease was lost meanwhile: the lines are still the attempt's
            if final is not None:
                self._notify(final, time.monotonic() - started)
        except Exception:
            log.exception("recording the end of run %s failed; its lease will expire", self.claim.run_id)
        finally:
            _remove(self.work_dir)
            self.on_done(self)

    def _store_result(
        self, reader: pa.RecordBatchReader | None, _stopping: Callable[[], bool]
    ) -> results.StoredRunResult | None:
        """A SQL run's rows as Parquet with the run (Spark writes its own tables: nothing)."""
        if reader is None:
            return None
        location = results.result_location(self.claim.location, self.claim.run_id, self.claim.attempt)
        stored = results.store(self.settings, reader, location, self.settings.run_result_preview_rows)
        self.log.write(f"result: {stored.rows} rows, {stored.bytes} bytes of Parquet")
        return stored

    def _outcome(
        self, ended: Outcome[results.StoredRunResult | None]
    ) -> tuple[policy.Event, dict[str, object] | None]:
        """The driver's account of the engine work as the event the run policy decides on, and
        the result to record with the attempt."""
        if ended.refused:
            return policy.Refused(ended.message or "The engine refused the task."), None
        if ended.stopped is StopReason.TIMEOUT:
            timeout = self.claim.definition.timeout_seconds
            assert timeout is not None
            return policy.TimedOut(timeout), None
        ids = ended.query_ids
        if ended.result_failed:
            return policy.EngineFinished(
                ExecutionState.FAILED, f"Reading the result failed: {ended.message}", query_ids=ids
            ), None
        if ended.state is not ExecutionState.SUCCEEDED:
            stopped = ended.stopped is not None
            return policy.EngineFinished(ended.state, ended.message, stopped, query_ids=ids), None
        stored = ended.result
        if stored is None:
            return policy.EngineFinished(ExecutionState.SUCCEEDED, query_ids=ids), None
        return policy.EngineFinished(ExecutionState.SUCCEEDED, query_ids=ids), {
            "result_columns": stored.columns,
            "result_preview": stored.preview,
            "result_rows": stored.rows,
            "result_bytes": stored.bytes,
            "result_location": stored.location,
        }

    def _payload(self, state: RunState | None) -> dict[str, object]:
        return {
            "workspace": self.claim.workspace,
            "run_id": self.claim.run_id,
            "attempt": self.claim.attempt,
            "state": state,
        }

    def _duration_check(self, elapsed: float) -> None:
        """Each `duration_exceeded` webhook once, when the attempt passes its threshold."""
        due = [n for n in self._duration_pending if elapsed >= (n.duration_threshold_seconds or 0)]
        if not due:
            return
        self._duration_pending = [n for n in self._duration_pending if n not in due]
        payload = {**self._payload(RunState.RUNNING), "duration_seconds": round(elapsed, 3)}
        threading.Thread(
            target=notify.send,
            args=(due, NotificationEvent.duration_exceeded, payload, self.log.write),
            daemon=True,
        ).start()

    def _notify(self, final: RunState, elapsed: float) -> None:
        event = {
            RunState.SUCCEEDED: NotificationEvent.success,
            RunState.FAILED: NotificationEvent.failure,
            RunState.TIMED_OUT: NotificationEvent.failure,
        }.get(final)
        if event is None or not self.claim.definition.notifications:
            return
        notify.send(
            self.claim.definition.notifications,
            event,
            {**self._payload(final), "duration_seconds": round(elapsed, 3)},
            self.log.write,
        )
        self.log.flush()
