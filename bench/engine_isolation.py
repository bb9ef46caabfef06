"""Benchmark: what running user SQL in an engine process of its own costs (issue #10).

Before, the DuckDB engine ran each statement on a thread of the server's process; now each runs in
a one-shot engine process (`engines/duckdb_process.py`) taken from warm spares. Side by side,
interleaved, against one live Sadeem (its built-in catalog, a real workspace and token):

- (a) in-process: `connect_fenced` (extensions, secret, catalog ATTACH, fence) + the query + its
  rows as a `pa.Table`: what the engine did in the server before.
- (b) engine process, warm spare: `DuckDBEngine.submit` → SUCCEEDED → `result()` read whole. A
  pause between samples lets the spare be ready, as between a person's statements.
- (c) engine process, no spare (`duckdb_warm_processes=0`): an interpreter start per statement.

Queries: `SELECT 42` (latency) and 2M rows x 3 columns from `range` (the Arrow stream over the pipe).
Figures are medians in ms and ratios to (a).

    .venv/bin/python -m bench.engine_isolation [--backend sqlite|postgresql] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from bench.catalog import database, server
from bench.statements import WORKSPACE, prepare
from sadeem.config import Settings
from sadeem.engines.base import CatalogAccess, EngineTask, ExecutionState, SqlTask
from sadeem.engines.duckdb import _SPARES, DuckDBEngine
from sadeem.engines.duckdb_process import connect_fenced, verify_extensions

QUERIES = {
    "SELECT 42": "SELECT 42 AS answer",
    "2M rows": "SELECT range AS id, range % 97 AS bucket, 'row-' || CAST(range AS VARCHAR) AS label "
    "FROM range(2000000)",
}


def in_process(
    access: CatalogAccess, task: EngineTask, sql: str, verified: dict[str, tuple[int, int]]
) -> int:
    connection = connect_fenced(access, task.workspace, task.work_dir, verified=verified)
    try:
        connection.execute(sql)
        return pa.Table.from_batches(list(connection.to_arrow_reader(2048))).num_rows
    finally:
        connection.close()


def in_engine_process(engine: DuckDBEngine, task: EngineTask, sql: str) -> int:
    execution = engine.submit(EngineTask(**{**task.__dict__, "task": SqlTask(sql)}))
    try:
        while not (status := execution.status()).finished:
            time.sleep(0.001)
        assert status.state is ExecutionState.SUCCEEDED, status
        reader = execution.result()
        assert reader is not None
        return reader.read_all().num_rows
    finally:
        execution.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with database(args.backend, "isolation") as url, tempfile.TemporaryDirectory() as home_dir:
        home = Path(home_dir)
        settings = Settings(home=home, database_url=url, demo=False)
        setup = prepare(settings)
        with server(settings, home) as base:
            access = CatalogAccess(f"{base}/iceberg", WORKSPACE, setup.token)
            work_dir = home / "bench-work"
            work_dir.mkdir()
            task = EngineTask(
                run_id=1,
                attempt=1,
                owner="bench",
                workspace=setup.storage,
                catalog=access,
                task=SqlTask("SELECT 1"),
                parameters={},
                work_dir=work_dir,
                log=lambda _line: None,
            )
            verified = verify_extensions()
            warm = DuckDBEngine(settings.model_copy(update={"duckdb_warm_processes": 1}))
            cold = DuckDBEngine(settings.model_copy(update={"duckdb_warm_processes": 0}))
            paths = {
                "a in-process": lambda sql: in_process(access, task, sql, verified),
                "b process, warm spare": lambda sql: in_engine_process(warm, task, sql),
                "c process, no spare": lambda sql: in_engine_process(cold, task, sql),
            }
            for name, sql in QUERIES.items():
                samples: dict[str, list[float]] = {path: [] for path in paths}
                for round_number in range(args.repeats + 1):  # the first round warms up, uncounted
                    for path, run in paths.items():
                        # Spares are per server process: (c) gets none, (b) finds one ready. The
                        # pause first lets a replacement the last statement started finish starting.
                        time.sleep(1.0)
                        _SPARES.close()
                        if path.startswith("b"):
                            warm.warm_up()
                            time.sleep(1.0)
                        started = time.perf_counter()
                        rows = run(sql)
                        if round_number:
                            samples[path].append((time.perf_counter() - started) * 1000)
                        assert rows > 0
                base_ms = statistics.median(samples["a in-process"])
                print(f"\n== {args.backend}: {name} ({args.repeats} samples each, medians)")
                for path, values in samples.items():
                    median = statistics.median(values)
                    print(f"  {path:<24} {median:8.1f} ms  {median / base_ms:5.2f}x  (min {min(values):.1f})")


if __name__ == "__main__":
    main()
