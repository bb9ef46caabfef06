"""The one execution driver: how a run's attempt (worker/attempt.py) and a worksheet statement
(statements/executor.py) take engine work from submit to its end.

`ExecutionDriver.run()` submits the task, polls the execution, cancels it when a stop arrives
(`stop()` from any thread, the time limit, or what the watcher's `stop_reason()` says at a poll),
reads the result of a SUCCEEDED execution while it is still open, and always closes it. It returns
an `Outcome`: what the engine said and why the work was stopped, if it was. The caller records it
through its own domain: the run queue and policy for runs, the statement transitions for
statements; each also revokes the engine's catalog token in that same transaction.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import pyarrow as pa

from sadeem.engines.base import Engine, EngineRefused, EngineTask, Execution, ExecutionState, ExecutionStatus

log = logging.getLogger(__name__)


class StopReason(enum.StrEnum):
    CANCELLED = "cancelled"  # someone asked (a user, the server shutting down)
    TIMEOUT = "timeout"  # the time limit passed
    LEASE_LOST = "lease_lost"  # the worker can no longer prove it holds the run


class Watcher(Protocol):
    """The caller's side of one execution, asked by the driver at every poll."""

    def stop_reason(self) -> StopReason | None:
        """Why the work must stop now (e.g. the lease was not renewed in time), or None."""

    def stopping(self, reason: StopReason) -> None:
        """The engine work is being stopped, once, for `reason` (to say so in a log)."""

    def progress(self, elapsed: float) -> None:
        """`elapsed` seconds since submit and the work goes on: flush logs, send what is due."""


class Unwatched:
    """A watcher with nothing to add: stops come through `stop()` and the time limit only."""

    def stop_reason(self) -> StopReason | None:
        return None

    def stopping(self, reason: StopReason) -> None:
        pass

    def progress(self, elapsed: float) -> None:
        pass


@dataclass(frozen=True)
class Pace:
    """How often the execution's status is asked: from `first` seconds, growing by `growth`, up
    to `longest`."""

    first: float
    growth: float
    longest: float


# A run has its log to flush and its lease to watch; doubling keeps the polls few.
RUN_PACE = Pace(0.005, 2, 0.25)
# Most worksheet queries finish in milliseconds. Growing by a quarter, the wait overshoots the
# engine by at most a fifth of the time it took (doubling: up to half).
STATEMENT_PACE = Pace(0.001, 1.25, 0.05)

R = TypeVar("R")
# Reads a SUCCEEDED execution's rows (None: the engine has none, e.g. Spark) while the execution is
# open; its second argument says whether a stop arrived meanwhile, for a reader that can end early.
ResultReader = Callable[[pa.RecordBatchReader | None, Callable[[], bool]], R]


@dataclass(frozen=True)
class Outcome(Generic[R]):
    state: ExecutionState  # as the engine reported it at the end
    message: str | None = None  # the engine's message, EngineRefused's, or the result reader's error
    stopped: StopReason | None = None  # why the driver stopped the work, if it did
    refused: bool = False  # the engine refused the task at submit (repeating it would not help)
    result_failed: bool = False  # the engine succeeded but reading its result raised (`message`)
    result: R | None = None  # what the result reader returned
    query_ids: tuple[str, ...] = ()  # the engine's query ids (ExecutionStatus.query_ids)


class ExecutionDriver:
    """Drives one execution; `stop()` may be called from any thread, before or during `run()`."""

    def __init__(self, timeout_seconds: float | None, pace: Pace, watcher: Watcher | None = None) -> None:
        self.timeout_seconds, self.pace = timeout_seconds, pace
        self.watcher: Watcher = watcher or Unwatched()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped: StopReason | None = None
        self._execution: Execution | None = None
        self._ended = False

    @property
    def stopped(self) -> StopReason | None:
        return self._stopped

    def stop(self, reason: StopReason) -> None:
        """Stop the engine work now (the first reason is the one reported)."""
        with self._lock:
            if self._stopped is not None:
                return
            self._stopped, execution, ended = reason, self._execution, self._ended
        if ended:
            return  # nothing left to stop; the reason stays for the caller to see
        self.watcher.stopping(reason)
        self._wake.set()
        if execution is not None:
            execution.cancel()

    def run(self, engine: Engine, task: EngineTask, read_result: ResultReader[R] | None = None) -> Outcome[R]:
        started = time.monotonic()
        try:
            execution = engine.submit(task)
        except EngineRefused as refused:
            with self._lock:
                self._ended = True
            return Outcome(ExecutionState.FAILED, str(refused), refused=True)
        with self._lock:
            self._execution, stopped = execution, self._stopped
        # The time limit counts from submit and also bounds reading the result.
        timer = None
        if self.timeout_seconds is not None:
            timer = threading.Timer(self.timeout_seconds, self.stop, args=(StopReason.TIMEOUT,))
            timer.daemon = True
        try:
            if stopped is not None:
                execution.cancel()  # the stop came while the task was being submitted
            if timer is not None:
                timer.start()
            status = self._await(execution, started)
            return self._ending(execution, status, read_result)
        finally:
            if timer is not None:
                timer.cancel()
            with self._lock:
                self._execution, self._ended = None, True
            try:
                execution.close()
            except Exception:
                log.exception("closing the execution of %s %s failed", task.run_id, task.attempt)

    def _await(self, execution: Execution, started: float) -> ExecutionStatus:
        pause = self.pace.first
        while not (status := execution.status()).finished:
            if self._stopped is None and (reason := self.watcher.stop_reason()) is not None:
                self.stop(reason)
            self.watcher.progress(time.monotonic() - started)
            self._wake.wait(pause)
            self._wake.clear()
            pause = min(pause * self.pace.growth, self.pace.longest)
        return status

    def _ending(
        self, execution: Execution, status: ExecutionStatus, read_result: ResultReader[R] | None
    ) -> Outcome[R]:
        ids = status.query_ids
        if status.state is not ExecutionState.SUCCEEDED:
            return Outcome(status.state, status.message, self._stopped, query_ids=ids)
        # Work that ran out of time or lease is not worth a result; a cancel that came too late
        # to stop the engine leaves the result to the caller's rules.
        if self._stopped in (StopReason.TIMEOUT, StopReason.LEASE_LOST) or read_result is None:
            return Outcome(status.state, stopped=self._stopped, query_ids=ids)
        try:
            result = read_result(execution.result(), lambda: self._stopped is not None)
        except Exception as error:  # engines stream: a late error (or the cancel) arrives here
            if self._stopped is not None:
                return Outcome(status.state, stopped=self._stopped, query_ids=ids)
            return Outcome(ExecutionState.FAILED, str(error), result_failed=True, query_ids=ids)
        return Outcome(status.state, stopped=self._stopped, result=result, query_ids=ids)
