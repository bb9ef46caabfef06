"""Benchmark: an authenticated list endpoint over 10,000 rows vs a bare FastAPI route.

Side by side in one run, each served by uvicorn (one process, as `sadeem api` serves it) and
loaded by wrk (C, so the load generator costs little of the 2 shared cores):

- `bare`: a FastAPI route with no auth and no database that returns the very same JSON bytes;
- `sqlite` / `postgresql`: `GET /api/v1/workspaces?limit=50&cursor=…` as a platform admin with a
  bearer token, over 10,000 workspaces; each request asks for a page at a random depth (keyset
  pagination: deep pages should cost what the first one does).

Reports p50/p99 latency and requests/s at 1 and 32 concurrent connections and the ratio to the
bare route. Targets (issue #2): within 2x of the bare route, p99 < 50 ms at 32 clients.

    make bench            # or: .venv/bin/python -m bench.list_endpoint --seconds 10
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

from sadeem.audit.models import AuditEvent  # noqa: F401  (tables registered)
from sadeem.auth.models import PlatformRole
from sadeem.config import Settings
from sadeem.core.actor import Actor
from sadeem.core.clock import utcnow
from sadeem.db import migrate
from sadeem.db.engine import Database
from sadeem.workspaces.models import Workspace

ROWS = 10_000
PAGE = 50
PG_URL = os.environ.get("SADEEM_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(url: str, home: Path) -> str:
    """Migrate, create an admin with a token and ROWS workspaces; return the bearer token."""
    from sadeem.auth import service as auth_service

    migrate.upgrade(url)
    settings = Settings(home=home, database_url=url, demo=False)
    db = Database.connect(url)
    with db.unit_of_work("bench") as session:
        admin = auth_service.create_user(
            session, Actor.system("cli"), "bench_admin", "bench password 123", PlatformRole.admin
        )
        token = auth_service.create_token(session, Actor.system("cli"), settings, admin, "bench", 1).secret
        now = utcnow()
        session.execute(
            insert(Workspace),
            [
                {
                    "slug": f"ws_{i:05d}",
                    "name": f"Workspace {i}",
                    "description": "benchmark row",
                    "namespace": f"ws_{i:05d}",
                    "storage_location": f"file:///bench/ws_{i:05d}",
                    "status": "active",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(ROWS)
            ],
        )
        session.commit()
    db.dispose()
    return token


@contextmanager
def serve(module_app: str, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", module_app, "--factory", "--port", str(port), "--no-access-log"],
        env={**os.environ, **env},
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{module_app} did not start")
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


@dataclass
class Result:
    name: str
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(name: str, url: str, token: str | None, cursors: list[str], connections: int, seconds: int) -> Result:
    paths = [f"/api/v1/workspaces?limit={PAGE}" + (f"&cursor={c}" if c else "") for c in cursors]
    auth = f'{{["Authorization"] = "Bearer {token}"}}' if token else "{}"
    lua = (
        "paths = {" + ",".join(json.dumps(p) for p in paths) + "}\n"
        "math.randomseed(os.time())\n"
        "request = function()\n"
        f'  return wrk.format("GET", paths[math.random(#paths)], {auth})\n'
        "end\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(lua)
        script.flush()
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name, url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return Result(name, connections, rps, _ms(latency["50"]), _ms(latency["99"]), errors)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")

    work = Path(tempfile.mkdtemp(prefix="sadeem-bench-"))
    backends = {"sqlite": f"sqlite:///{work / 'bench.db'}"}
    pg_db = None
    if not args.no_postgres:
        pg_db = f"sadeem_bench_{os.getpid()}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{pg_db}"'))
        backends["postgresql"] = make_url(PG_URL).set(database=pg_db).render_as_string(hide_password=False)

    results: list[Result] = []
    try:
        tokens = {name: seed(url, work / name) for name, url in backends.items()}
        # The same page the endpoint serves becomes the bare route's payload.
        first_url = backends["sqlite"]
        with serve(
            "bench.apps:sadeem_app", {"SADEEM_DATABASE_URL": first_url, "SADEEM_HOME": str(work / "sqlite")}
        ) as base:
            response = httpx.get(
                f"{base}/api/v1/workspaces?limit={PAGE}",
                headers={"Authorization": f"Bearer {tokens['sqlite']}"},
            )
            response.raise_for_status()
            payload = response.content
            # Cursors for pages at random depths (keyset pagination).
            cursors: list[str] = [""]
            cursor = response.json()["next_cursor"]
            while cursor and len(cursors) < ROWS // PAGE:
                cursors.append(cursor)
                cursor = httpx.get(
                    f"{base}/api/v1/workspaces?limit={PAGE}&cursor={cursor}",
                    headers={"Authorization": f"Bearer {tokens['sqlite']}"},
                ).json()["next_cursor"]
        random.Random(7).shuffle(cursors)
        payload_file = work / "payload.json"
        payload_file.write_bytes(payload)

        for connections in (1, 32):
            with serve("bench.apps:bare_app", {"SADEEM_BENCH_PAYLOAD": str(payload_file)}) as base:
                results.append(wrk("bare", base, None, cursors, connections, args.seconds))
            for name, url in backends.items():
                env = {
                    "SADEEM_DATABASE_URL": url,
                    "SADEEM_HOME": str(work / name),
                    "SADEEM_LOG_LEVEL": "WARNING",
                }
                with serve("bench.apps:sadeem_app", env) as base:
                    results.append(wrk(name, base, tokens[name], cursors, connections, args.seconds))
    finally:
        if pg_db:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)'))
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nGET /api/v1/workspaces?limit={PAGE} over {ROWS:,} rows, random depth; {args.seconds}s a cell")
    header = ("target", "conns", "req/s", "p50 ms", "p99 ms", "errors", "p50/bare", "bare rps/rps")
    print("".join(f"{h:>13}" for h in header))
    bare = {r.connections: r for r in results if r.name == "bare"}
    for r in results:
        b = bare[r.connections]
        print(
            f"{r.name:>13}{r.connections:>13}{r.rps:>13.0f}{r.p50_ms:>13.2f}{r.p99_ms:>13.2f}{r.errors:>13}"
            f"{r.p50_ms / b.p50_ms:>13.2f}{b.rps / r.rps:>13.2f}"
        )


if __name__ == "__main__":
    main()
