"""Benchmark: Sadeem's run queue vs a bare SKIP LOCKED queue on the same database.

Side by side in one run, per backend, on a scratch database migrated like Sadeem's own:

- `bare`: a table with a state column and N QUEUED rows; K processes each loop: claim one
  (`SELECT … WHERE state = 'QUEUED' … FOR UPDATE SKIP LOCKED LIMIT 1` → RUNNING, commit; on SQLite
  under BEGIN IMMEDIATE instead), then mark it DONE (commit). Completions/s.
- `sadeem`: N runs queued through the service layer (`runs.service.new_run`) and executed by K
  worker processes (`Worker`, 4 slots each) whose engine is `NoopEngine`, which finishes at once:
  each run pays everything a real one pays around its engine work (claim with a lease, checked
  transitions with their audit events, the owner's catalog token minted and revoked, the attempt
  log, the scratch directory). Runs/s.
- latency: one run at a time submitted (`runs.service.submit`) to an idle worker that polls only
  every 10 s; submit → RUNNING p50/p99. SQLite: the worker in the submitting process, as `sadeem up`
  runs it (woken by the in-process event); PostgreSQL: a worker process (woken by NOTIFY).

Targets (issue #11 item 8): sadeem/bare >= 0.5x with 1 and 4 workers on both databases; p50 <= 25 ms.

    .venv/bin/python -m bench.dispatch [--backend sqlite|postgresql|both] [--runs 400] [--samples 100]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier, Event
from pathlib import Path

import psycopg
import pyarrow as pa
from cryptography.fernet import Fernet
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from bench.catalog import database, percentile
from sadeem.auth import service as auth_service
from sadeem.auth.models import PlatformRole
from sadeem.auth.principal import Principal
from sadeem.catalog.provisioning import CatalogProvisioner
from sadeem.config import Settings
from sadeem.core.actor import Actor
from sadeem.db import migrate
from sadeem.db.engine import Database, build_engine
from sadeem.engines.base import EngineTask, ExecutionState, ExecutionStatus
from sadeem.jobs import service as jobs
from sadeem.jobs.schemas import JobDefinition
from sadeem.runs import service as runs
from sadeem.runs.models import TERMINAL_STATES, Run, RunState, RunTransition, RunTrigger
from sadeem.worker.worker import Worker
from sadeem.workspaces import service as workspace_service
from sadeem.workspaces.models import Workspace

JOB = "noop"
# Spawned, not forked: a child must not inherit the parent's pooled database connections.
SPAWN = multiprocessing.get_context("spawn")


class NoopExecution:
    """Engine work that is over before anyone asks: SUCCEEDED, no result."""

    def status(self) -> ExecutionStatus:
        return ExecutionStatus(ExecutionState.SUCCEEDED)

    def cancel(self) -> None:
        pass

    def result(self) -> pa.RecordBatchReader | None:
        return None

    def close(self) -> None:
        pass


class NoopEngine:
    """A benchmark engine that does nothing, so that only Sadeem's own dispatch is measured."""

    name = "noop"

    def submit(self, task: EngineTask) -> NoopExecution:
        return NoopExecution()


# Setup ----------------------------------------------------------------------------------------


def bench_settings(url: str, home: Path, **overrides: object) -> Settings:
    return Settings(
        home=home,
        database_url=url,
        secret_key=Fernet.generate_key().decode(),
        demo=False,
        catalog_url="http://127.0.0.1:9/iceberg",  # NoopEngine never calls it
        **overrides,  # type: ignore[arg-type]
    )


def prepare(settings: Settings) -> Principal:
    """Migrate; create a user, a workspace `bench` and the job `noop` (no limit on concurrent runs)."""
    migrate.upgrade(settings.resolved_database_url)
    db = Database.connect(settings.resolved_database_url)
    try:
        with db.unit_of_work("bench.setup") as session:
            actor = Actor.system("cli")
            user = auth_service.create_user(session, actor, "bench", "bench password 123", PlatformRole.user)
            created = workspace_service.create_workspace(
                session, actor, CatalogProvisioner(settings), user, "bench", None, ""
            ).workspace
            principal = Principal(user.id, user.username, user.role, "token")
            definition = JobDefinition.model_validate(
                {"task": {"type": "sql", "sql": "SELECT 1"}, "max_concurrent_runs": 1000}
            )
            jobs.create_job(session, actor, settings, principal, created, JOB, definition)
            session.commit()
        return principal
    finally:
        db.dispose()


def queue_runs(db: Database, count: int) -> None:
    actor = Actor.system("cli")
    with db.writes() as session:
        workspace = session.scalars(select(Workspace).where(Workspace.slug == "bench")).one()
        job = jobs.get_job(session, workspace, JOB)
        for n in range(count):
            runs.new_run(
                session,
                actor,
                workspace,
                job,
                version=job.current_version,
                triggered_by=None,
                given_parameters={},
                trigger=RunTrigger.manual,
            )
            if n % 100 == 99:
                session.commit()
        session.commit()


# (a) the bare queue ---------------------------------------------------------------------------


def bare_setup(url: str, rows: int) -> None:
    engine = build_engine(url, pool_size=None)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bare_queue"))
        conn.execute(text("CREATE TABLE bare_queue (id INTEGER PRIMARY KEY, state VARCHAR(20) NOT NULL)"))
        conn.execute(text("CREATE INDEX ix_bare_queue_state ON bare_queue (state, id)"))
        conn.execute(
            text("INSERT INTO bare_queue (id, state) VALUES (:id, 'QUEUED')"),
            [{"id": n} for n in range(1, rows + 1)],
        )
    engine.dispose()


def bare_consumer(url: str, start: Barrier) -> None:
    """Claim and finish rows until none is left, as plainly as the database allows."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        conn = sqlite3.connect(str(parsed.database), isolation_level=None, timeout=30)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
            conn.execute(f"PRAGMA {pragma}")
        start.wait()
        while True:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute(
                "SELECT id FROM bare_queue WHERE state = 'QUEUED' ORDER BY id LIMIT 1"
            ).fetchone()
            if row is None:
                conn.execute("COMMIT")
                break
            conn.execute("UPDATE bare_queue SET state = 'RUNNING' WHERE id = ?", row)
            conn.execute("COMMIT")
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE bare_queue SET state = 'DONE' WHERE id = ?", row)
            conn.execute("COMMIT")
        conn.close()
        return
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as pg:
        start.wait()
        while True:
            found = pg.execute(
                "SELECT id FROM bare_queue WHERE state = 'QUEUED' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
            ).fetchone()
            if found is None:
                pg.commit()
                break
            pg.execute("UPDATE bare_queue SET state = 'RUNNING' WHERE id = %s", found)
            pg.commit()
            pg.execute("UPDATE bare_queue SET state = 'DONE' WHERE id = %s", found)
            pg.commit()


def bare_rate(url: str, rows: int, processes: int) -> float:
    bare_setup(url, rows)
    start = SPAWN.Barrier(processes + 1)
    consumers = [SPAWN.Process(target=bare_consumer, args=(url, start)) for _ in range(processes)]
    for consumer in consumers:
        consumer.start()
    start.wait()
    began = time.perf_counter()
    for consumer in consumers:
        consumer.join()
    return rows / (time.perf_counter() - began)


# (b) Sadeem's workers -------------------------------------------------------------------------


def worker_process(url: str, home: str, ready: Event, go: Event, stop: Event, poll: float) -> None:
    settings = bench_settings(url, Path(home), worker_poll_seconds=poll, reaper_interval_seconds=poll)
    db = Database.connect(url)
    worker = Worker(db, settings, engines=lambda _name: NoopEngine())
    ready.set()
    go.wait()
    worker.start()
    stop.wait()
    worker.stop(wait_seconds=5)
    db.dispose()


@contextmanager
def worker_processes(url: str, home: Path, count: int, poll: float = 2.0) -> Iterator[Callable[[], None]]:
    """`count` worker processes, ready; the yielded function starts their loops."""
    go, stop = SPAWN.Event(), SPAWN.Event()
    readies = [SPAWN.Event() for _ in range(count)]
    children = [
        SPAWN.Process(target=worker_process, args=(url, str(home), ready, go, stop, poll))
        for ready in readies
    ]
    for child in children:
        child.start()
    for ready in readies:
        ready.wait(120)
    try:
        yield go.set
    finally:
        stop.set()
        for child in children:
            child.join(30)


def terminal_runs(db: Database) -> int:
    with db.reads() as session:
        return session.scalar(select(func.count()).where(Run.state.in_(TERMINAL_STATES))) or 0


def sadeem_rate(url: str, home: Path, count: int, processes: int) -> float:
    db = Database.connect(url)
    try:
        with db.writes() as session:
            session.execute(text("DELETE FROM runs"))
            session.commit()
        queue_runs(db, count)
        with worker_processes(url, home, processes) as go:
            began = datetime.now(UTC)
            go()
            while terminal_runs(db) < count:
                time.sleep(0.05)
        with db.reads() as session:
            states = dict(session.execute(select(Run.state, func.count()).group_by(Run.state)).all())
            last = session.scalar(select(func.max(Run.ended_at)))
        assert states == {RunState.SUCCEEDED: count}, states
        assert last is not None
        return count / (last - began).total_seconds()
    finally:
        db.dispose()


# (c) submit → RUNNING -------------------------------------------------------------------------


def submit_latencies(db: Database, principal: Principal, samples: int) -> list[float]:
    """Milliseconds from the start of each submission to its RUNNING transition."""
    latencies = []
    for _ in range(samples):
        time.sleep(0.02)  # the worker is idle, waiting on its slow poll
        began = datetime.now(UTC)
        with db.unit_of_work("bench.submit") as session:
            workspace = session.scalars(select(Workspace).where(Workspace.slug == "bench")).one()
            submitted, _ = runs.submit(
                session, Actor.system("cli"), principal, workspace, JOB, None, {}, None
            )
        run_id = submitted.run.id
        running_at = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with db.reads() as session:
                state, running_at = session.execute(
                    select(
                        Run.state,
                        select(RunTransition.at)
                        .where(RunTransition.run_id == run_id, RunTransition.to_state == RunState.RUNNING)
                        .scalar_subquery(),
                    ).where(Run.id == run_id)
                ).one()
            if state in TERMINAL_STATES:
                break
            time.sleep(0.002)
        assert running_at is not None, f"run {run_id} did not start within 30 s"
        latencies.append((running_at - began).total_seconds() * 1000)
    return latencies


def latency(backend: str, url: str, home: Path, principal: Principal, samples: int) -> list[float]:
    slow_poll = 10.0
    db = Database.connect(url)
    try:
        if backend == "sqlite":
            settings = bench_settings(
                url, home, worker_poll_seconds=slow_poll, reaper_interval_seconds=slow_poll
            )
            worker = Worker(db, settings, engines=lambda _name: NoopEngine())
            worker.start()
            try:
                return submit_latencies(db, principal, samples)
            finally:
                worker.stop(wait_seconds=5)
        with worker_processes(url, home, 1, poll=slow_poll) as go:
            go()
            time.sleep(1)  # its LISTEN connection is up
            return submit_latencies(db, principal, samples)
    finally:
        db.dispose()


# Report ---------------------------------------------------------------------------------------


def run(backend: str, count: int, process_counts: list[int], samples: int) -> None:
    with database(backend, "dispatch") as url, tempfile.TemporaryDirectory() as home_dir:
        home = Path(home_dir)
        principal = prepare(bench_settings(url, home))
        print(f"\n== {backend}: {count} runs (bare: rows), K processes; Sadeem workers have 4 slots each")
        print(f"{'K':>3} {'bare done/s':>12} {'sadeem runs/s':>14} {'ratio':>7}")
        for processes in process_counts:
            bare = bare_rate(url, count, processes)
            sadeem = sadeem_rate(url, home, count, processes)
            print(f"{processes:>3} {bare:12.0f} {sadeem:14.0f} {sadeem / bare:6.2f}x")
        woken_by = "in-process event" if backend == "sqlite" else "NOTIFY, worker process"
        samples_ms = latency(backend, url, home, principal, samples)
        print(
            f"submit → RUNNING, idle worker ({woken_by}), {samples} runs: "
            f"p50 {statistics.median(samples_ms):.1f} ms, p99 {percentile(samples_ms, 0.99):.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--processes", default="1,4", help="comma-separated process counts")
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args()
    counts = [int(n) for n in args.processes.split(",")]
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run(backend, args.runs, counts, args.samples)


if __name__ == "__main__":
    main()
