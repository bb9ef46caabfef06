"""The one execution driver (engines/driver.py, #11 item 3) against an engine double: every way
engine work ends (succeeded with rows, failed, refused at submit, a late error while the rows are
read) and every stop reason (cancelled from another thread, before the engine started, the time
limit, a lost lease the watcher reports) stops the engine work once, says why, and always closes
the execution."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from sadeem.engines.base import (
    CatalogAccess,
    EngineRefused,
    EngineTask,
    ExecutionState,
    ExecutionStatus,
    SqlTask,
    WorkspaceStorage,
)
from sadeem.engines.driver import STATEMENT_PACE, ExecutionDriver, Outcome, StopReason

ROWS = pa.table({"n": [1, 2, 3]})


class ExecutionDouble:
    """Runs until `finish()` or a cancel; counts what the driver asked."""

    def __init__(self, ends: ExecutionStatus | None, rows: pa.Table | None, late_error: str | None) -> None:
        self._ends, self._rows, self._late_error = ends, rows, late_error
        self.cancels = self.closes = self.polls = 0
        self.cancelled = threading.Event()

    def status(self) -> ExecutionStatus:
        self.polls += 1
        if self.cancelled.is_set():
            return ExecutionStatus(ExecutionState.CANCELLED)
        return self._ends or ExecutionStatus(ExecutionState.RUNNING)

    def cancel(self) -> None:
        self.cancels += 1
        self.cancelled.set()

    def result(self) -> pa.RecordBatchReader | None:
        if self._late_error is not None:

            def batches():  # type: ignore[no-untyped-def]
                yield from ROWS.to_batches()
                raise RuntimeError(self._late_error)

            return pa.RecordBatchReader.from_batches(ROWS.schema, batches())
        return self._rows.to_reader() if self._rows is not None else None

    def close(self) -> None:
        self.closes += 1


class EngineDouble:
    """A test double of `Engine`: each submit hands out one `ExecutionDouble` (or refuses)."""

    name = "double"

    def __init__(
        self,
        ends: ExecutionStatus | None = None,
        rows: pa.Table | None = ROWS,
        late_error: str | None = None,
        refuses: str | None = None,
        submit_seconds: float = 0,
    ) -> None:
        self.ends, self.rows, self.late_error, self.refuses = ends, rows, late_error, refuses
        self.submit_seconds = submit_seconds
        self.executions: list[ExecutionDouble] = []

    def submit(self, task: EngineTask) -> ExecutionDouble:
        time.sleep(self.submit_seconds)
        if self.refuses is not None:
            raise EngineRefused(self.refuses)
        execution = ExecutionDouble(self.ends, self.rows, self.late_error)
        self.executions.append(execution)
        return execution


class RecordingWatcher:
    def __init__(self, lease_lost_after: float | None = None) -> None:
        self.lease_lost_after = lease_lost_after
        self.began = time.monotonic()
        self.stops: list[StopReason] = []
        self.progress_calls = 0

    def stop_reason(self) -> StopReason | None:
        if self.lease_lost_after is not None and time.monotonic() - self.began > self.lease_lost_after:
            return StopReason.LEASE_LOST
        return None

    def stopping(self, reason: StopReason) -> None:
        self.stops.append(reason)

    def progress(self, elapsed: float) -> None:
        self.progress_calls += 1


def _task(tmp_path: Path) -> EngineTask:
    return EngineTask(
        run_id=1,
        attempt=1,
        owner="someone",
        workspace=WorkspaceStorage("alpha", "alpha", tmp_path.as_uri()),
        catalog=CatalogAccess("http://catalog.invalid/iceberg", "alpha", "token"),
        task=SqlTask("SELECT 1"),
        parameters={},
        work_dir=tmp_path,
        log=lambda _line: None,
    )


def _read_all(reader: pa.RecordBatchReader | None, stopping: object) -> pa.Table | None:
    return reader.read_all() if reader is not None else None


def _run(
    tmp_path: Path,
    engine: EngineDouble,
    driver: ExecutionDriver,
    stop_after: tuple[float, StopReason] | None = None,
) -> Outcome[pa.Table | None]:
    if stop_after is not None:
        threading.Timer(stop_after[0], driver.stop, args=(stop_after[1],)).start()
    return driver.run(engine, _task(tmp_path), _read_all)


def test_a_succeeded_execution_hands_its_rows_to_the_reader_and_is_closed(tmp_path: Path) -> None:
    engine = EngineDouble(ExecutionStatus(ExecutionState.SUCCEEDED))
    ended = _run(tmp_path, engine, ExecutionDriver(60, STATEMENT_PACE))
    assert (ended.state, ended.stopped, ended.refused, ended.result_failed) == (
        ExecutionState.SUCCEEDED,
        None,
        False,
        False,
    )
    assert ended.result == ROWS
    (execution,) = engine.executions
    assert (execution.cancels, execution.closes) == (0, 1)


def test_a_failed_execution_reports_the_engine_message(tmp_path: Path) -> None:
    engine = EngineDouble(
        ExecutionStatus(ExecutionState.FAILED, "Table x does not exist (line 2 of the SQL)")
    )
    ended = _run(tmp_path, engine, ExecutionDriver(60, STATEMENT_PACE))
    assert ended == Outcome(ExecutionState.FAILED, "Table x does not exist (line 2 of the SQL)")
    assert engine.executions[0].closes == 1


def test_a_refused_task_is_reported_as_refused_and_nothing_is_left_to_close(tmp_path: Path) -> None:
    engine = EngineDouble(refuses="ATTACH is not allowed")
    ended = _run(tmp_path, engine, ExecutionDriver(60, STATEMENT_PACE))
    assert ended == Outcome(ExecutionState.FAILED, "ATTACH is not allowed", refused=True)
    assert engine.executions == []


def test_a_late_error_while_the_rows_are_read_fails_the_work(tmp_path: Path) -> None:
    engine = EngineDouble(ExecutionStatus(ExecutionState.SUCCEEDED), late_error="out of memory at row 4")
    ended = _run(tmp_path, engine, ExecutionDriver(60, STATEMENT_PACE))
    assert ended == Outcome(ExecutionState.FAILED, "out of memory at row 4", result_failed=True)
    assert engine.executions[0].closes == 1


@pytest.mark.parametrize("reason", [StopReason.CANCELLED, StopReason.LEASE_LOST, StopReason.TIMEOUT])
def test_a_stop_from_another_thread_cancels_the_engine_work_once(tmp_path: Path, reason: StopReason) -> None:
    engine, watcher = EngineDouble(), RecordingWatcher()
    driver = ExecutionDriver(None, STATEMENT_PACE, watcher)
    began = time.monotonic()
    ended = _run(tmp_path, engine, driver, stop_after=(0.2, reason))
    assert time.monotonic() - began < 2
    assert (ended.state, ended.stopped, ended.result) == (ExecutionState.CANCELLED, reason, None)
    (execution,) = engine.executions
    assert (execution.cancels, execution.closes) == (1, 1)
    assert watcher.stops == [reason] and watcher.progress_calls > 0
    driver.stop(StopReason.CANCELLED)  # after the end: changes nothing, stops nothing
    assert (execution.cancels, watcher.stops, driver.stopped) == (1, [reason], reason)


def test_the_time_limit_stops_the_work(tmp_path: Path) -> None:
    engine, watcher = EngineDouble(), RecordingWatcher()
    began = time.monotonic()
    ended = _run(tmp_path, engine, ExecutionDriver(0.3, STATEMENT_PACE, watcher))
    took = time.monotonic() - began
    assert 0.3 <= took < 2, took
    assert (ended.state, ended.stopped) == (ExecutionState.CANCELLED, StopReason.TIMEOUT)
    assert watcher.stops == [StopReason.TIMEOUT]
    assert (engine.executions[0].cancels, engine.executions[0].closes) == (1, 1)


def test_a_lease_the_watcher_reports_lost_stops_the_work(tmp_path: Path) -> None:
    engine, watcher = EngineDouble(), RecordingWatcher(lease_lost_after=0.2)
    ended = _run(tmp_path, engine, ExecutionDriver(60, STATEMENT_PACE, watcher))
    assert (ended.state, ended.stopped) == (ExecutionState.CANCELLED, StopReason.LEASE_LOST)
    assert watcher.stops == [StopReason.LEASE_LOST]
    assert (engine.executions[0].cancels, engine.executions[0].closes) == (1, 1)


def test_a_stop_before_the_engine_started_cancels_it_as_soon_as_it_is_submitted(tmp_path: Path) -> None:
    engine = EngineDouble(submit_seconds=0.3)
    driver = ExecutionDriver(60, STATEMENT_PACE)
    ended = _run(tmp_path, engine, driver, stop_after=(0.05, StopReason.CANCELLED))
    assert (ended.state, ended.stopped) == (ExecutionState.CANCELLED, StopReason.CANCELLED)
    assert (engine.executions[0].cancels, engine.executions[0].closes) == (1, 1)


def test_a_stop_while_the_rows_are_read_is_reported_and_the_work_is_cancelled(tmp_path: Path) -> None:
    engine = EngineDouble(ExecutionStatus(ExecutionState.SUCCEEDED))
    driver = ExecutionDriver(60, STATEMENT_PACE)
    seen: list[bool] = []

    def read_then_stop(reader: pa.RecordBatchReader | None, stopping: object) -> int:
        assert callable(stopping) and reader is not None
        seen.append(stopping())
        driver.stop(StopReason.CANCELLED)  # a user's cancel arrives while the rows stream
        seen.append(stopping())
        return reader.read_all().num_rows

    ended = driver.run(engine, _task(tmp_path), read_then_stop)
    assert seen == [False, True]
    assert (ended.state, ended.stopped, ended.result) == (ExecutionState.SUCCEEDED, StopReason.CANCELLED, 3)
    assert (engine.executions[0].cancels, engine.executions[0].closes) == (1, 1)


def test_an_execution_that_fails_to_close_still_reports_its_end(tmp_path: Path) -> None:
    class UnclosableEngine(EngineDouble):
        def submit(self, task: EngineTask) -> ExecutionDouble:
            execution = Unclosable(self.ends, self.rows, None)
            self.executions.append(execution)
            return execution

    class Unclosable(ExecutionDouble):
        def close(self) -> None:
            super().close()
            raise OSError("process already gone")

    engine = UnclosableEngine(ExecutionStatus(ExecutionState.SUCCEEDED))
    ended = _run(tmp_path, engine, ExecutionDriver(60, STATEMENT_PACE))
    assert ended.state is ExecutionState.SUCCEEDED and ended.result == ROWS
    assert engine.executions[0].closes == 1
