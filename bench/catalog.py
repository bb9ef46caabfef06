"""Benchmark: the built-in Iceberg REST catalog vs pyiceberg's `SqlCatalog` in-process.

Side by side in one run, on the same database and the same table:

- `rest`: pyiceberg's `RestCatalog` against Sadeem (`uvicorn`, one process, as `sadeem api` serves
  it), with a bearer token: every call pays HTTP, authentication, authorization and audit;
- `sql`: pyiceberg's `SqlCatalog` in this process on the very same database (no HTTP, no auth).

Measures `load_table` p50/p99 and a single-row `append` (one commit) p50, and reports REST/SQL
ratios. Then 8 concurrent writers x 25 single-row appends to one table through the REST catalog,
each retrying `CommitFailedException` with backoff (pyiceberg does not retry by itself): all 200
rows must be there. Targets (issue #3): ratio <= 1.5x, loadTable p50 <= 5 ms, zero lost appends.

    .venv/bin/python -m bench.catalog [--backend sqlite|postgresql|both] [--loads 500] [--commits 100]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import CommitFailedException
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.list_endpoint import PG_URL, free_port
from sadeem.auth import service as auth_service
from sadeem.auth.models import PlatformRole
from sadeem.catalog.provisioning import CatalogProvisioner
from sadeem.catalog.store import CATALOG_NAME
from sadeem.config import Settings
from sadeem.core.actor import Actor
from sadeem.db import migrate
from sadeem.db.engine import Database, build_engine
from sadeem.workspaces import service as workspace_service

SCHEMA = pa.schema([("id", pa.int64()), ("writer", pa.string())])
HERE = Path(__file__).resolve().parent


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(action: Callable[[], object], times: int) -> list[float]:
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


@contextmanager
def database(backend: str, purpose: str = "catalog") -> Iterator[str]:
    """A scratch database for one benchmark run: a SQLite file, or a new PostgreSQL database."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite:///{directory}/sadeem.db"
        return
    name = f"sadeem_bench_{purpose}_{os.getpid()}"
    admin = build_engine(PG_URL, pool_size=None).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(settings: Settings) -> str:
    """Migrate, create a user, a workspace `bench` and a token; return the token."""
    migrate.upgrade(settings.resolved_database_url)
    db = Database.connect(settings.resolved_database_url)
    try:
        with db.unit_of_work("bench.setup") as session:
            actor = Actor.system("cli")
            user = auth_service.create_user(session, actor, "bench", "bench password 123", PlatformRole.user)
            workspace_service.create_workspace(
                session, actor, CatalogProvisioner(settings), user, "bench", None, ""
            )
            return auth_service.create_token(session, actor, settings, user, "bench", None).secret
    finally:
        db.dispose()


@contextmanager
def server(settings: Settings, home: Path) -> Iterator[str]:
    """Sadeem's API served by uvicorn in its own process (`sadeem api`); engines it runs reach its
    catalog on loopback (SADEEM_PORT)."""
    port = free_port()
    env = {
        **os.environ,
        "SADEEM_HOME": str(home),
        "SADEEM_DATABASE_URL": settings.resolved_database_url,
        "SADEEM_DEMO": "false",
        "SADEEM_PORT": str(port),
        "SADEEM_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "bench.apps:sadeem_app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=HERE.parent,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def append_with_retry(catalog: Catalog, identifier: tuple[str, ...], row: pa.Table) -> int:
    """Append one row, retrying lost races on fresh metadata; returns the attempts it took."""
    for attempt in range(1, 50):
        try:
            catalog.load_table(identifier).append(row)
            return attempt
        except CommitFailedException:
            time.sleep(min(0.5, 0.01 * 2**attempt) * random.random())
    raise RuntimeError("append did not land after 49 attempts")


def writer(args: tuple[str, str, int]) -> list[int]:
    """One of the concurrent writers: 25 single-row appends; the attempts each one took."""
    base, token, n = args
    client = RestCatalog("sadeem", uri=f"{base}/iceberg", token=token, warehouse="bench")
    rows = (pa.table({"id": [n * 1000 + i], "writer": [f"w{n}"]}, schema=SCHEMA) for i in range(25))
    return [append_with_retry(client, ("bench", "concurrent"), row) for row in rows]


def run(backend: str, loads: int, commits: int) -> None:
    with database(backend) as url, tempfile.TemporaryDirectory() as home_dir:
        home = Path(home_dir)
        settings = Settings(home=home, database_url=url, demo=False)
        token = prepare(settings)
        identifier = ("bench", "readings")
        with server(settings, home) as base:
            rest = RestCatalog("sadeem", uri=f"{base}/iceberg", token=token, warehouse="bench")
            sql = SqlCatalog(
                CATALOG_NAME, uri=url, warehouse=settings.resolved_warehouse, init_catalog_tables="false"
            )
            rest.create_table(identifier, SCHEMA)
            row = pa.table({"id": [1], "writer": ["bench"]}, schema=SCHEMA)
            rest.load_table(identifier).append(row)

            for catalog in (rest, sql):  # warm both
                timed(lambda c=catalog: c.load_table(identifier), 20)
            with httpx.Client() as http:  # the floor: one HTTP round trip to a route that does nothing
                floor = statistics.median(timed(lambda: http.get(f"{base}/health"), loads))
                # The server alone: the loadTable request without pyiceberg's client-side parsing.
                load_url = f"{base}/iceberg/v1/bench/namespaces/bench/tables/readings"
                raw = timed(lambda: http.get(load_url, headers={"Authorization": f"Bearer {token}"}), loads)
            results: dict[str, dict[str, float]] = {}
            for name, catalog in (("rest", rest), ("sql", sql)):
                load = timed(lambda c=catalog: c.load_table(identifier), loads)
                table = catalog.load_table(identifier)

                def commit(c: Catalog = catalog) -> None:
                    c.load_table(identifier).append(row)

                del table
                commit_samples = timed(commit, commits)
                results[name] = {
                    "load_p50": statistics.median(load),
                    "load_p99": percentile(load, 0.99),
                    "commit_p50": statistics.median(commit_samples),
                    "commit_p99": percentile(commit_samples, 0.99),
                }
            print(f"\n== {backend}: load_table x{loads}, append (load + one commit) x{commits}")
            print(f"{'':6} {'load p50':>10} {'load p99':>10} {'commit p50':>11} {'commit p99':>11}")
            for name, r in results.items():
                print(
                    f"{name:6} {r['load_p50']:9.2f}ms {r['load_p99']:9.2f}ms "
                    f"{r['commit_p50']:10.2f}ms {r['commit_p99']:10.2f}ms"
                )
            print(
                f"(raw HTTP GET of the loadTable route: p50 {statistics.median(raw):.2f} ms, "
                f"p99 {percentile(raw, 0.99):.2f} ms; a round trip to /health alone: p50 {floor:.2f} ms)"
            )
            ratio = {k: results["rest"][k] / results["sql"][k] for k in results["rest"]}
            print(
                f"ratio  {ratio['load_p50']:9.2f}x {ratio['load_p99']:9.2f}x "
                f"{ratio['commit_p50']:10.2f}x {ratio['commit_p99']:10.2f}x   (rest / sql)"
            )

            concurrent = ("bench", "concurrent")
            rest.create_table(concurrent, SCHEMA)
            start = time.perf_counter()
            with ProcessPoolExecutor(8) as pool:  # 8 independent clients, as 8 jobs would be
                batches = pool.map(writer, [(base, token, n) for n in range(8)])
                attempts = [taken for batch in batches for taken in batch]
            elapsed = time.perf_counter() - start
            landed = rest.load_table(concurrent).scan().to_arrow()
            ids = set(landed.column("id").to_pylist())
            expected = {n * 1000 + i for n in range(8) for i in range(25)}
            print(
                f"8 writers x 25 appends: {len(landed)} rows, {len(expected - ids)} lost, "
                f"{len(rest.load_table(concurrent).metadata.snapshots)} snapshots, "
                f"{sum(attempts) - len(attempts)} retries (max {max(attempts)} attempts for one append), "
                f"{elapsed:.1f} s ({len(attempts) / elapsed:.1f} appends/s)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--loads", type=int, default=500)
    parser.add_argument("--commits", type=int, default=100)
    args = parser.parse_args()
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run(backend, args.loads, args.commits)


if __name__ == "__main__":
    main()
