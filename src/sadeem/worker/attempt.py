"""Executing one claimed attempt: build the engine task, drive the engine (poll, cancel on stop,
timeout or lost lease), keep the log flowing to the database, store a SQL result, and report the
outcome through the queue."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

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
    Execution,
    ExecutionState,
    Resources,
    SparkTask,
    SqlTask,
    WorkspaceStorage,
)
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


def _resources(spec: object) -> Resources:
    return Resources(cores=spec.cores, memory=spec.memory, instances=spec.instances)  # type: ignore[attr-defined]


class AttemptRunner:
    """One thread per claimed attempt."""

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
        self._cancel_reason: str | None = None
        self._lease_lost = threading.Event()
        # When the lease was last granted or renewed (monotonic, taken before the database write);
        # the worker moves it on after each successful renewal.
        self.lease_granted_at = lease_granted_at
        self._wake = threading.Event()
        self._duration_pending = [
            n for n in claim.definition.notifications if NotificationEvent.duration_exceeded in n.on
        ]
        self.thread = threading.Thread(target=self._run, name=f"run-{claim.run_id}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def request_cancel(self) -> None:
        if self._cancel_reason is None:
            self._cancel_reason = "stopped"
            self._wake.set()

    def lease_lost(self) -> None:
        self._lease_lost.set()
        self._wake.set()

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
        execution: Execution | None = None
        try:
            definition = self.claim.definition
            self.log.write(
                f"attempt {self.claim.attempt} of run {self.claim.run_id} on worker {self.worker_id}: "
                f"engine {definition.task.engine}, owner {self.claim.owner}"
            )
            try:
                execution = self.engine_for(definition.task.engine).submit(self._task())
            except EngineRefused as exc:
                outcome = policy.Refused(str(exc))
            else:
                outcome, record = self._drive(execution, started)
        except Exception as exc:  # a bug or an unreachable component: the run fails, it is never stuck
            log.exception("attempt %s of run %s failed in the worker", self.claim.attempt, self.claim.run_id)
            outcome = policy.WorkerFailed(f"{type(exc).__name__}: {exc}")
        finally:
            if execution is not None:
                try:
                    execution.close()
                except Exception:
                    log.exception("closing the execution of run %s failed", self.claim.run_id)
        try:
            if self._lease_lost.is_set():
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
            shutil.rmtree(self.work_dir, ignore_errors=True)
            self.on_done(self)

    def _drive(self, execution: Execution, started: float) -> tuple[policy.Event, dict[str, object] | None]:
        timeout = self.claim.definition.timeout_seconds
        timed_out = cancelled = False
        pause, last_flush = 0.005, time.monotonic()
        while True:
            status = execution.status()
            if status.finished:
                break
            elapsed = time.monotonic() - started
            if not cancelled:
                stop_because = None
                if time.monotonic() - self.lease_granted_at > self.settings.lease_seconds * LEASE_SAFE_SHARE:
                    self._lease_lost.set()  # renewals fail or hang: the lease is as good as lost
                if self._lease_lost.is_set():
                    stop_because = "lease lost"
                elif self._cancel_reason is not None:
                    stop_because = "stop requested"
                elif timeout is not None and elapsed > timeout:
                    timed_out, stop_because = True, f"timeout: the run exceeded {timeout} s"
                if stop_because is not None:
                    self.log.write(f"{stop_because}; stopping the engine work")
                    execution.cancel()
                    cancelled = True
            self._duration_check(elapsed)
            if time.monotonic() - last_flush >= LOG_FLUSH_SECONDS:
                self.log.flush()
                last_flush = time.monotonic()
            self._wake.wait(pause)
            self._wake.clear()
            pause = min(pause * 2, 0.25)
        if timed_out:
            assert timeout is not None
            return policy.TimedOut(timeout), None
        if status.state is not ExecutionState.SUCCEEDED:
            return policy.EngineFinished(status.state, status.message, stopped=cancelled), None
        reader = execution.result()
        if reader is None:
            return policy.EngineFinished(ExecutionState.SUCCEEDED), None
        location = results.result_location(self.claim.location, self.claim.run_id, self.claim.attempt)
        try:
            stored = results.store(self.settings, reader, location, self.settings.run_result_preview_rows)
        except Exception as exc:  # engines stream: an error late in a big result arrives here
            return policy.EngineFinished(ExecutionState.FAILED, f"Reading the result failed: {exc}"), None
        self.log.write(f"result: {stored.rows} rows, {stored.bytes} bytes of Parquet")
        return policy.EngineFinished(ExecutionState.SUCCEEDED), {
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
