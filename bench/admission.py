"""Benchmark: a burst of worksheet statements under admission control, before and after the
catalog got a pool of its own and long polls lent their slots out (issue #11 item 7).

One Sadeem (`uvicorn`, one process, as `sadeem api` serves it) at the default 16 request slots, on
a scratch database; `SELECT count(*) FROM meter_readings` (4 rows, an Iceberg table of workspace
`bench`) submitted `--submits` times at once with `wait_timeout` 10 s. Every statement's DuckDB
engine process calls the server's Iceberg REST catalog back while its submit waits. The statement
limits (slots, per user, per workspace) are raised to the burst, so only admission is measured.
Side by side, interleaved (before, after, before, after, ...), each on a fresh server:

- before: the admission control of 2026-11 (one pool of 16 for every request, catalog calls and
  long polls included; DB pool 16), reproduced here as `SharedPoolAdmission`;
- after: the app as built now (16 client slots, 8 catalog slots, long polls wait outside them).

Reported: wall time of the burst, p50/max latency of the submits, how many answered SUCCEEDED
inline, and p50/max latency of a plain client request (`GET …/members`) sent every 0.25 s while
the burst runs.

    .venv/bin/python -m bench.admission [--backend sqlite|postgresql|both] [--submits 48] [--repeats 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx
import pyarrow as pa
from fastapi import FastAPI
from pyiceberg.catalog.rest import RestCatalog
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from bench.catalog import database, prepare
from bench.list_endpoint import free_port
from sadeem.api.admission import EXEMPT_PATHS, AdmissionControl
from sadeem.app import create_app
from sadeem.config import Settings
from sadeem.db.engine import Database

HERE = Path(__file__).resolve().parent
SQL = "SELECT count(*) FROM meter_readings"
WAIT_TIMEOUT = 10
VARIANTS = ("before", "after")


class SharedPoolAdmission:
    """The admission control before this change: one pool for every request, held to the end."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._slots: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = anyio.Semaphore(self.limit)
        async with self._slots:
            await self.app(scope, receive, send)


def app_before() -> FastAPI:
    settings = Settings()
    db = Database.connect(settings.resolved_database_url, pool_size=settings.max_concurrent_requests)
    app = create_app(settings, db)
    app.user_middleware = [
        Middleware(SharedPoolAdmission, limit=settings.max_concurrent_requests)
        if entry.cls is AdmissionControl
        else entry
        for entry in app.user_middleware
    ]
    return app


def app_after() -> FastAPI:
    return create_app(Settings())


@contextmanager
def server(variant: str, database_url: str, home: Path, submits: int) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "SADEEM_HOME": str(home),
        "SADEEM_DATABASE_URL": database_url,
        "SADEEM_DEMO": "false",
        "SADEEM_PORT": str(port),
        "SADEEM_LOG_LEVEL": "WARNING",
        "SADEEM_STATEMENT_SLOTS": str(submits),
        "SADEEM_STATEMENT_MAX_CONCURRENT_PER_USER": str(submits),
        "SADEEM_STATEMENT_MAX_CONCURRENT_PER_WORKSPACE": str(submits),
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", f"bench.admission:app_{variant}"]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--log-level", "warning", "--no-access-log"], cwd=HERE.parent, env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=60)


def create_readings(base: str, token: str) -> None:
    schema = pa.schema([("id", pa.int64()), ("kwh", pa.float64())])
    catalog = RestCatalog("sadeem", uri=f"{base}/iceberg", token=token, warehouse="bench")
    table = catalog.create_table(("bench", "meter_readings"), schema=schema)
    table.append(pa.table({"id": [1, 2, 3, 4], "kwh": [0.5, 1.0, 1.5, 2.0]}, schema=schema))


async def burst(base: str, token: str, submits: int) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=submits + 8)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120, limits=limits) as client:

        async def submit() -> tuple[float, str]:
            started = time.perf_counter()
            response = await client.post(
                "/api/v1/workspaces/bench/statements",
                # No first page: statements/results.py's DuckDB converter freezes the process
                # when dozens of threads call it at once.
                json={"sql": SQL, "wait_timeout": WAIT_TIMEOUT, "first_page_rows": 0},
            )
            state = response.json()["state"] if response.status_code == 200 else str(response.status_code)
            return time.perf_counter() - started, state

        async def probe(done: asyncio.Event) -> list[float]:
            latencies = []
            while not done.is_set():
                started = time.perf_counter()
                response = await client.get("/api/v1/workspaces/bench/members")
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(0.25)
            return latencies

        done = asyncio.Event()
        probing = asyncio.create_task(probe(done))
        started = time.perf_counter()
        answers = await asyncio.gather(*(submit() for _ in range(submits)))
        wall = time.perf_counter() - started
        done.set()
        probes = await probing
    latencies = [seconds for seconds, _ in answers]
    return {
        "wall": wall,
        "p50": statistics.median(latencies),
        "max": max(latencies),
        "succeeded": sum(state == "SUCCEEDED" for _, state in answers),
        "probe_p50": statistics.median(probes),
        "probe_max": max(probes),
    }


def run(backend: str, submits: int, repeats: int) -> None:
    with database(backend, "admission") as url, tempfile.TemporaryDirectory() as directory:
        home = Path(directory)
        token = prepare(Settings(home=home, database_url=url, demo=False))
        with server("after", url, home, submits) as base:
            create_readings(base, token)
            httpx.post(  # the first statement also loads DuckDB's extensions: not part of a sample
                f"{base}/api/v1/workspaces/bench/statements",
                json={"sql": SQL, "wait_timeout": 50},
                headers={"Authorization": f"Bearer {token}"},
                timeout=120,
            ).raise_for_status()
        samples: dict[str, list[dict[str, float]]] = {variant: [] for variant in VARIANTS}
        for _ in range(repeats):
            for variant in VARIANTS:
                with server(variant, url, home, submits) as base:
                    samples[variant].append(asyncio.run(burst(base, token, submits)))
    print(f"\n{backend}: {submits} concurrent submits of `{SQL}`, wait_timeout {WAIT_TIMEOUT} s")
    print(
        f"{'':8} {'wall s':>7} {'p50 s':>7} {'max s':>7} {'SUCCEEDED':>10} {'probe p50 ms':>13} {'max ms':>7}"
    )
    for variant in VARIANTS:
        for sample in samples[variant]:
            print(
                f"{variant:8} {sample['wall']:7.2f} {sample['p50']:7.2f} {sample['max']:7.2f} "
                f"{int(sample['succeeded']):>6}/{submits:<3} {sample['probe_p50'] * 1000:13.0f} "
                f"{sample['probe_max'] * 1000:7.0f}"
            )
    walls = {variant: statistics.median(s["wall"] for s in samples[variant]) for variant in VARIANTS}
    print(f"median wall time before/after: {walls['before'] / walls['after']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--submits", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run(backend, args.submits, args.repeats)


if __name__ == "__main__":
    main()
