"""User SQL never runs in the server's process (issue #10, critical 1 and high 4).

An outside attack aborted the whole platform with one statement (a DuckDB exception thrown on a
thread DuckDB owns ends in `std::terminate`) and escaped its time and memory limits with another
(`repeat` allocates outside DuckDB's buffer manager). Each statement and run attempt now runs in an
engine process of its own, bounded by the operating system. These tests reproduce the attacks with
a real DuckDB, a real catalog and a live server, and show that only the engine process suffers.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import duckdb
import httpx
import pytest

from sadeem.config import Settings
from sadeem.engines.base import CatalogAccess, EngineTask, ExecutionState, SqlTask, WorkspaceStorage
from sadeem.engines.duckdb import DuckDBEngine
from sadeem.engines.duckdb_process import PlannedStatement
from tests.catalog_support import CatalogServer, catalog_server  # noqa: F401
from tests.conftest import bearer
from tests.engine_processes import engine_processes
from tests.jobs_support import Platform, platform  # noqa: F401
from tests.statements_support import submit

pytestmark = pytest.mark.integration

# The statement that aborted the server: enable_logging pointed outside the fence throws inside a
# DuckDB-owned thread at the next statement. (The SQL guard refuses it now too; the engine-level
# test below bypasses the guard on purpose, standing for whatever the guard may miss next.)
ABORTS = (
    "SELECT * FROM enable_logging(storage='file', storage_path='/tmp/sadeem-abort-probe')",
    "SELECT 1",
)
# Allocates ~100 MB/s outside DuckDB's memory limit and ignores interrupts for a long time.
RUNAWAY = "SELECT max(length(repeat(CAST(range AS VARCHAR), 5000000))) AS n FROM range(200)"
MiB = 1024**2


def _task(server: CatalogServer, work_dir: Path, log: list[str]) -> EngineTask:
    work_dir.mkdir(parents=True, exist_ok=True)
    return EngineTask(
        run_id=1,
        attempt=1,
        owner="ws_editor",
        workspace=WorkspaceStorage("alpha", "alpha", f"{server.settings.resolved_warehouse}/alpha"),
        catalog=CatalogAccess(server.uri, "alpha", server.world.tokens["ws_editor"]),
        task=SqlTask("SELECT 1"),
        parameters={},
        work_dir=work_dir,
        log=log.append,
    )


def _finish(execution: object, timeout: float = 60) -> ExecutionState:
    deadline = time.monotonic() + timeout
    while not (status := execution.status()).finished:  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the engine did not finish"
        time.sleep(0.02)
    return status.state


def test_an_engine_abort_ends_only_its_process(catalog_server: CatalogServer, tmp_path: Path) -> None:  # noqa: F811
    """The statements pass straight to the engine here, as if the guard had missed them: DuckDB
    aborts its process when it tears the database down (where, in the server, it aborted the
    platform), the statement FAILS with DuckDB's own error, and the abort is logged."""
    planned = [
        PlannedStatement(number, 1, sql, duckdb.StatementType.SELECT, {})
        for number, sql in enumerate(ABORTS, start=1)
    ]
    log: list[str] = []
    engine = DuckDBEngine(catalog_server.settings)
    execution = engine.start_checked(_task(catalog_server, tmp_path / "w1", log), planned)
    try:
        assert _finish(execution) is ExecutionState.FAILED
        deadline = time.monotonic() + 30
        while not any("ended unexpectedly" in line for line in log):
            assert time.monotonic() < deadline, log
            time.sleep(0.05)
    finally:
        execution.close()
    message = execution.status().message or ""
    assert "Statement 2 of 2" in message and "disabled by configuration" in message, message
    crash = next(line for line in log if "ended unexpectedly" in line)
    assert "After the work ended: The SQL engine process ended unexpectedly: it crashed (SIGABRT)" in crash
    assert "the platform is unaffected" in crash
    assert catalog_server.world.tokens["ws_editor"] not in message + "".join(log)

    # This process (the server's stand-in) lives on, and the next statement runs normally.
    next_task = replace(_task(catalog_server, tmp_path / "w2", []), task=SqlTask("SELECT 42 AS answer"))
    execution = DuckDBEngine(catalog_server.settings).submit(next_task)
    try:
        assert _finish(execution) is ExecutionState.SUCCEEDED, execution.status()
        reader = execution.result()
        assert reader is not None and reader.read_all().to_pylist() == [{"answer": 42}]
    finally:
        execution.close()


# --- through the API, as the viewer who made the attack ---------------------------------------


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """Conftest's, with what a test's indirect `settings` parameter changes."""
    return settings.model_copy(update=getattr(request, "param", {}))


class PeakMemory:
    """The largest resident size any engine process reaches, sampled every 20 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max([self.peak, *(p.rss_bytes for p in engine_processes())])

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _still_serving(p: Platform) -> None:
    viewer = bearer(p.world.tokens["ws_viewer"])
    response = httpx.get(f"{p.base_url}/api/v1/workspaces", headers=viewer, timeout=30)
    assert response.status_code == 200, response.text


def test_a_viewer_cannot_abort_the_server(platform: Platform) -> None:  # noqa: F811
    """The attack as the viewer made it: refused by the SQL guard (400 naming the function) before
    any engine sees it; nothing is recorded; the server serves on."""
    response = submit(platform, "; ".join(ABORTS), who="ws_viewer", wait_timeout=30)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "enable_logging" in response.json()["detail"]
    history = platform.api("GET", "/statements", "ws_viewer")
    assert history.status_code == 200 and history.json()["items"] == [], history.text
    _still_serving(platform)
    answer = submit(platform, "SELECT 1 AS one", who="ws_viewer", wait_timeout=30).json()
    assert answer["state"] == "SUCCEEDED", answer


def test_a_job_cannot_carry_the_abort(platform: Platform) -> None:  # noqa: F811
    """As a job with retries, the attack crashed the server after every restart: an editor can no
    longer save it (400), so there is nothing to schedule or retry."""
    body = {
        "name": "crash",
        "task": {"type": "sql", "engine": "duckdb", "sql": ";\n".join(ABORTS)},
        "retry": {"max_attempts": 5, "backoff_seconds": 0},
    }
    response = platform.api("POST", "/jobs", "ws_editor", json=body)
    assert response.status_code == 400, response.text
    assert "enable_logging" in response.json()["detail"]
    assert platform.api("GET", "/jobs", "ws_editor").json()["items"] == []
    _still_serving(platform)


# Engine processes may map 1 GiB beyond their start (the default is 3 GiB).
@pytest.mark.parametrize("settings", [{"duckdb_process_memory_mb": 1024}], indirect=True)
def test_a_runaway_allocation_is_stopped_by_the_memory_limit(platform: Platform) -> None:  # noqa: F811
    with PeakMemory() as memory:
        response = submit(platform, RUNAWAY, who="ws_viewer", timeout_seconds=120, wait_timeout=50)
        assert response.status_code == 200, response.text
        answer = response.json()
    assert answer["state"] == "FAILED", answer
    message = answer["error"]["message"]
    assert "memory" in message.lower() or "SIGABRT" in message, message
    # The 1 GiB allowance above the process's ~0.4 GiB start, never the 2.7 GB the attack reached.
    assert memory.peak < 1700 * MiB, f"an engine process reached {memory.peak / MiB:.0f} MiB"
    _still_serving(platform)


def test_a_timeout_kills_a_query_that_ignores_interrupts(platform: Platform) -> None:  # noqa: F811
    """The attack's statement under a 2 s timeout: TIMED_OUT on time, and its process gone with
    its memory (before, it kept allocating for 10 s more after TIMED_OUT)."""
    began = time.monotonic()
    with PeakMemory():
        answer = submit(platform, RUNAWAY, who="ws_viewer", timeout_seconds=2, wait_timeout=30).json()
    took = time.monotonic() - began
    # At the default 3 GiB allowance the timeout comes first: it, not the memory limit, stops it.
    assert answer["state"] == "TIMED_OUT", answer
    assert took < 6, f"answered after {took:.1f} s with a 2 s timeout"
    deadline = time.monotonic() + 3
    while any(p.rss_bytes > 300 * MiB for p in engine_processes()):
        assert time.monotonic() < deadline, engine_processes()
        time.sleep(0.05)
    _still_serving(platform)
