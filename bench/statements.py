"""Benchmark: a 1M-row result through the SQL worksheet API vs DuckDB in-process (issue #5).

One Sadeem (`uvicorn`, one process, as `sadeem api` serves it) on a scratch database; 1,000,000 rows
of TPC-H `lineitem` (DuckDB's tpch extension, loaded from its Python package like iceberg; a
lineitem-shaped table generated in SQL when the package is missing) in an Iceberg table of the
workspace `bench`. The query is `SELECT * FROM lineitem` on DuckDB. Side by side, interleaved
(a, b, c, d, a, b, c, d, ...), each repetition fetching all the rows:

- (a) in-process: `connect_fenced` (the very fence statements run in, same token, same Iceberg
  table, same 2 threads) → `to_arrow_reader(65536)` → a `pa.Table`. Connecting (extensions, the
  catalog ATTACH) is included: every statement pays it too.
- (a') in-process into result files: (a) but the batches go through `ResultWriter`, as the
  statement executor writes them (what (b)-(d) pay before their first byte, minus threads and DB).
- (b) `POST /statements` (wait_timeout 50, first_page_rows 0) → `GET …/result.arrow` → `pa.Table`;
  and streamed: `POST` (wait_timeout 0) → `GET …/result.arrow` at once, which follows the chunks
  as the statement writes them.
- (c) `POST` (first_page_rows = page size, ≤ 10,000) → `GET …/result?limit=N` following
  `next_cursor`; the client parses with orjson and keeps the rows (Python lists). N = 10,000 and 1,000.
- (d) `POST` → `GET …/result.csv`, streamed and counted (lines), not parsed.

Each API sample is split into "statement" (POST until SUCCEEDED: engine + result files) and
"fetch" (the downloads or pages). Every figure is reported as a ratio of medians to (a).

First page (target: within 50 ms of the engine's own time):
- engine: in-process, `connect_fenced` + execute + the first 1,000-row batch of
  `to_arrow_reader(1000)` in hand (also with 65,536-row batches, what the executor read before
  2026-11-22; it reads 2,048-row batches now);
- API: `POST` (wait_timeout 0) then `GET …/result?limit=1000&wait=10` until it has rows; the
  statement is cancelled afterwards. Sampled right after the previous statement and again 1 s
  later ("paced", the target's figure): each statement runs in an engine process, and starting
  the replacement of the one the last statement used costs ~0.4 s of CPU on the shared cores.

    .venv/bin/python -m bench.statements [--backend sqlite|postgresql|both] [--rows 1000000]
        [--repeats 5] [--first-page-samples 3] [--first-page-only]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx
import orjson
import pyarrow as pa
from pyiceberg.catalog.rest import RestCatalog
from sqlalchemy import select

from bench.catalog import database, percentile, server
from sadeem.auth import service as auth_service
from sadeem.auth.models import PlatformRole
from sadeem.catalog.provisioning import CatalogProvisioner
from sadeem.config import Settings
from sadeem.core.actor import Actor
from sadeem.db import migrate
from sadeem.db.engine import Database
from sadeem.engines.base import CatalogAccess, WorkspaceStorage
from sadeem.engines.duckdb_process import connect_fenced, extension_file, verify_extensions
from sadeem.statements import results
from sadeem.workspaces import service as workspace_service
from sadeem.workspaces.models import Workspace

HERE = Path(__file__).resolve().parent
SQL = "SELECT * FROM lineitem"
WORKSPACE = "bench"
BATCH_ROWS = 2_048  # the DuckDB engine's to_arrow_reader batch size
LARGE_BATCH_ROWS = 65_536  # what it was before 2026-11-22
LINES_PER_SF = 6_001_215  # lineitem rows at scale factor 1


# Setup ----------------------------------------------------------------------------------------


def lineitem(rows: int) -> tuple[pa.Table, str]:
    """`rows` rows of TPC-H lineitem and where they came from."""
    connection = duckdb.connect(
        ":memory:", config={"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
    )
    try:
        try:
            path = extension_file("tpch")
        except RuntimeError:
            source = "generated in SQL (duckdb-extension-tpch is not installed): lineitem's 16 columns"
            connection.execute(_LINEITEM_LIKE.format(rows=rows))
        else:
            source = "TPC-H lineitem from DuckDB's tpch extension (dbgen)"
            connection.execute(f"LOAD '{path}'")
            connection.execute(f"CALL dbgen(sf={rows / LINES_PER_SF * 1.01 + 0.001:.4f})")
        table = connection.execute(
            f"SELECT * FROM lineitem ORDER BY l_orderkey, l_linenumber LIMIT {int(rows)}"  # noqa: S608
        ).to_arrow_table()
    finally:
        connection.close()
    assert table.num_rows == rows, table.num_rows
    return table, source


# Same names and types as dbgen's lineitem, similar value shapes (when the tpch package is missing).
_LINEITEM_LIKE = """
CREATE TABLE lineitem AS
SELECT
  (i // 4 + 1)::BIGINT AS l_orderkey,
  (hash(i) % 200000 + 1)::BIGINT AS l_partkey,
  (hash(i * 7) % 10000 + 1)::BIGINT AS l_suppkey,
  (i % 4 + 1)::BIGINT AS l_linenumber,
  ((hash(i * 3) % 50) + 1)::DECIMAL(15, 2) AS l_quantity,
  ((hash(i * 5) % 10000000) / 100 + 900)::DECIMAL(15, 2) AS l_extendedprice,
  ((hash(i * 11) % 11) / 100)::DECIMAL(15, 2) AS l_discount,
  ((hash(i * 13) % 9) / 100)::DECIMAL(15, 2) AS l_tax,
  ['A', 'N', 'R'][hash(i * 17) % 3 + 1] AS l_returnflag,
  ['F', 'O'][hash(i * 19) % 2 + 1] AS l_linestatus,
  (DATE '1992-01-02' + (hash(i * 23) % 2500)::INTEGER) AS l_shipdate,
  (DATE '1992-01-31' + (hash(i * 29) % 2500)::INTEGER) AS l_commitdate,
  (DATE '1992-01-03' + (hash(i * 31) % 2500)::INTEGER) AS l_receiptdate,
  ['DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'][hash(i * 37) % 4 + 1] AS l_shipinstruct,
  ['AIR', 'FOB', 'MAIL', 'RAIL', 'REG AIR', 'SHIP', 'TRUCK'][hash(i * 41) % 7 + 1] AS l_shipmode,
  substr(md5(i::VARCHAR) || md5((i + 1)::VARCHAR), 1, 10 + (hash(i * 43) % 34)::INTEGER) AS l_comment
FROM range({rows}) t(i)
"""


@dataclass(frozen=True)
class Setup:
    token: str
    storage: WorkspaceStorage


def prepare(settings: Settings) -> Setup:
    """Migrate; create the user `bench` (workspace admin of `bench`: no row cap below 100M)."""
    migrate.upgrade(settings.resolved_database_url)
    db = Database.connect(settings.resolved_database_url)
    try:
        with db.unit_of_work("bench.setup") as session:
            actor = Actor.system("cli")
            user = auth_service.create_user(session, actor, "bench", "bench password 123", PlatformRole.user)
            workspace_service.create_workspace(
                session, actor, CatalogProvisioner(settings), user, WORKSPACE, None, ""
            )
            token = auth_service.create_token(session, actor, settings, user, "bench", None).secret
            session.commit()
        with db.reads() as session:
            ws = session.scalars(select(Workspace).where(Workspace.slug == WORKSPACE)).one()
            storage = WorkspaceStorage(ws.slug, ws.namespace, ws.storage_location)
        return Setup(token, storage)
    finally:
        db.dispose()


def load_table(base: str, token: str, table: pa.Table) -> None:
    catalog = RestCatalog("sadeem", uri=f"{base}/iceberg", token=token, warehouse=WORKSPACE)
    # Row groups of 128k rows (pyiceberg's default is one of 1M): DuckDB reads row groups in parallel.
    created = catalog.create_table(
        (WORKSPACE, "lineitem"), schema=table.schema, properties={"write.parquet.row-group-limit": "131072"}
    )
    created.append(table)


# (a) in-process ---------------------------------------------------------------------------------


class InProcess:
    def __init__(self, base: str, setup: Setup, work_dir: Path) -> None:
        self.access = CatalogAccess(f"{base}/iceberg", WORKSPACE, setup.token)
        self.storage = setup.storage
        self.work_dir = work_dir
        self.verified = verify_extensions()

    def connect(self) -> duckdb.DuckDBPyConnection:
        # The DuckDB engine's defaults (DuckDBEngine: threads=2, memory_limit=2GB).
        return connect_fenced(
            self.access, self.storage, self.work_dir, verified=self.verified, threads=2, memory_limit="2GB"
        )

    def to_arrow(self) -> tuple[float, float, pa.Table]:
        """(connect ms, total ms, table)."""
        start = time.perf_counter()
        connection = self.connect()
        connected = time.perf_counter()
        try:
            connection.execute(SQL)
            table = pa.Table.from_batches(list(connection.to_arrow_reader(BATCH_ROWS)))
            end = time.perf_counter()
        finally:
            connection.close()
        return (connected - start) * 1000, (end - start) * 1000, table

    def to_result_files(self, directory: Path) -> float:
        """The executor's loop (ResultWriter) without its threads and database: total ms."""
        start = time.perf_counter()
        connection = self.connect()
        try:
            connection.execute(SQL)
            reader = connection.to_arrow_reader(BATCH_ROWS)
            writer = results.ResultWriter(directory, max_rows=10**9, max_bytes=1 << 40)
            writer.start(reader.schema)
            for batch in reader:
                writer.write(batch)
            written = writer.finish()
            end = time.perf_counter()
        finally:
            connection.close()
        assert written.rows > 0
        results.remove(directory)
        return (end - start) * 1000

    def first_rows(self, batch_rows: int) -> float:
        """ms until the first batch (of `batch_rows`) is in hand, connecting included."""
        start = time.perf_counter()
        connection = self.connect()
        try:
            connection.execute(SQL)
            batch = connection.to_arrow_reader(batch_rows).read_next_batch()
            end = time.perf_counter()
        finally:
            connection.close()
        assert batch.num_rows >= min(batch_rows, 1000)
        return (end - start) * 1000


# (b)-(d) the API --------------------------------------------------------------------------------


class Api:
    def __init__(self, base: str, token: str) -> None:
        self.url = f"{base}/api/v1/workspaces/{WORKSPACE}/statements"
        self.http = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=300)

    def close(self) -> None:
        self.http.close()

    def submit(self, **body: Any) -> dict[str, Any]:
        response = self.http.post(self.url, json={"sql": SQL, "engine": "duckdb", **body})
        assert response.status_code == 200, response.text
        statement: dict[str, Any] = response.json()
        return statement

    def finished(self, statement: dict[str, Any]) -> dict[str, Any]:
        while statement["state"] in ("QUEUED", "RUNNING"):
            response = self.http.get(f"{self.url}/{statement['id']}", params={"wait": 50})
            assert response.status_code == 200, response.text
            statement = response.json()
        assert statement["state"] == "SUCCEEDED", statement
        return statement

    def run(self, first_page_rows: int) -> tuple[float, dict[str, Any]]:
        """POST and wait until it succeeded: (ms, statement)."""
        start = time.perf_counter()
        statement = self.finished(self.submit(wait_timeout=50, first_page_rows=first_page_rows))
        return (time.perf_counter() - start) * 1000, statement

    def arrow(self, rows: int) -> tuple[float, float]:
        """(statement ms, fetch ms)."""
        ran, statement = self.run(0)
        start = time.perf_counter()
        response = self.http.get(f"{self.url}/{statement['id']}/result.arrow")
        assert response.status_code == 200, response.text
        table = pa.ipc.open_stream(pa.py_buffer(response.content)).read_all()
        fetched = (time.perf_counter() - start) * 1000
        assert table.num_rows == rows, table.num_rows
        return ran, fetched

    def arrow_streamed(self, rows: int) -> tuple[float, float]:
        """(0, ms from POST to the whole table): the Arrow stream followed while the statement runs."""
        start = time.perf_counter()
        statement = self.submit(wait_timeout=0, first_page_rows=0)
        response = self.http.get(f"{self.url}/{statement['id']}/result.arrow")
        assert response.status_code == 200, response.text
        table = pa.ipc.open_stream(pa.py_buffer(response.content)).read_all()
        assert table.num_rows == rows, table.num_rows
        return 0.0, (time.perf_counter() - start) * 1000

    def json_pages(self, rows: int, limit: int) -> tuple[float, float]:
        ran, statement = self.run(min(limit, 10_000))
        start = time.perf_counter()
        page = statement["first_page"]
        got: list[list[Any]] = list(page["rows"])
        cursor = page["next_cursor"]
        while cursor is not None:
            response = self.http.get(
                f"{self.url}/{statement['id']}/result", params={"limit": limit, "cursor": cursor}
            )
            assert response.status_code == 200, response.text
            page = orjson.loads(response.content)  # a client with a fast JSON parser
            got.extend(page["rows"])
            cursor = page["next_cursor"]
        fetched = (time.perf_counter() - start) * 1000
        assert len(got) == rows and page["complete"], (len(got), page["complete"])
        return ran, fetched

    def csv(self, rows: int) -> tuple[float, float]:
        ran, statement = self.run(0)
        start = time.perf_counter()
        lines = 0
        with self.http.stream("GET", f"{self.url}/{statement['id']}/result.csv") as response:
            assert response.status_code == 200
            for data in response.iter_bytes():
                lines += data.count(b"\n")
        fetched = (time.perf_counter() - start) * 1000
        assert lines == rows + 1, lines  # the header, then one line per row
        return ran, fetched

    def first_page(self) -> float:
        """ms from POST (wait_timeout 0) until a page of 1,000 rows is in hand."""
        start = time.perf_counter()
        statement = self.submit(wait_timeout=0, first_page_rows=1000)
        page = statement["first_page"]
        while page is None:
            response = self.http.get(
                f"{self.url}/{statement['id']}/result", params={"limit": 1000, "wait": 10}
            )
            if response.status_code == 200:
                page = response.json()
            else:
                assert response.status_code == 409, response.text
        elapsed = (time.perf_counter() - start) * 1000
        assert len(page["rows"]) == 1000
        self.http.post(f"{self.url}/{statement['id']}/cancel")
        self.wait_ended(statement["id"])
        return elapsed

    def wait_ended(self, statement_id: str) -> None:
        while True:
            found = self.http.get(f"{self.url}/{statement_id}", params={"wait": 50}).json()
            if found["state"] not in ("QUEUED", "RUNNING"):
                return


# Report -----------------------------------------------------------------------------------------


def line(name: str, samples: list[float], base: float | None = None, note: str = "") -> str:
    median = statistics.median(samples)
    ratio = f"{median / base:6.2f}x" if base else " " * 7
    return f"  {name:<40} {median:9.0f} {percentile(samples, 0.9):9.0f} {ratio}  {note}"


def run(
    backend: str, table: pa.Table, source: str, repeats: int, first_samples: int, first_page_only: bool
) -> None:
    rows = table.num_rows
    with database(backend, "statements") as url, tempfile.TemporaryDirectory() as home_dir:
        home = Path(home_dir)
        settings = Settings(home=home, database_url=url, demo=False)
        setup = prepare(settings)
        with server(settings, home) as base:
            started = time.perf_counter()
            load_table(base, setup.token, table)
            print(
                f"\n== {backend}: {rows:,} rows ({source}); loaded in {time.perf_counter() - started:.1f} s"
            )
            local = InProcess(base, setup, home / "bench-work")
            api = Api(base, setup.token)
            scratch = home / "bench-result"
            samples: dict[str, list[float]] = {}

            def add(name: str, value: float) -> None:
                samples.setdefault(name, []).append(value)

            steps: list[tuple[str, Callable[[], None]]] = []

            def in_process() -> None:
                connect, total, result = local.to_arrow()
                assert result.num_rows == rows
                add("a", total)
                add("a connect", connect)

            def api_step(name: str, call: Callable[[], tuple[float, float]]) -> Callable[[], None]:
                def step() -> None:
                    ran, fetched = call()
                    add(name, ran + fetched)
                    add(f"{name} statement", ran)
                    add(f"{name} fetch", fetched)

                return step

            steps = [
                ("a", in_process),
                ("a'", lambda: add("a'", local.to_result_files(scratch))),
                ("b", api_step("b", lambda: api.arrow(rows))),
                ("b-stream", api_step("b-stream", lambda: api.arrow_streamed(rows))),
                ("c10k", api_step("c10k", lambda: api.json_pages(rows, 10_000))),
                ("c1k", api_step("c1k", lambda: api.json_pages(rows, 1_000))),
                ("d", api_step("d", lambda: api.csv(rows))),
            ]
            if first_page_only:
                steps = []
            for step_name, step in steps:  # warm-up: every path once, not counted
                step()
                print(f"  (warm-up {step_name} done)", flush=True)
            samples.clear()
            for round_number in range(repeats):
                for _, step in steps:
                    step()
                for _ in range(first_samples):
                    add("first engine 1k", local.first_rows(1000))
                    add("first engine 64k", local.first_rows(LARGE_BATCH_ROWS))
                    add("first api", api.first_page())
                    # As a person works: the engine process the last statement used is replaced
                    # by then (starting one costs ~0.4 s of CPU, which back-to-back samples share).
                    time.sleep(1.0)
                    add("first api paced", api.first_page())
                print(f"  (round {round_number + 1}/{repeats} done)", flush=True)

            if not first_page_only:
                report_bulk(samples)
            engine = statistics.median(samples["first engine 1k"])
            api_first = statistics.median(samples["first api paced"])
            print(f"\n  first 1,000 rows ({repeats * first_samples} samples each)")
            print(line("engine: connect+execute+first batch(1,000)", samples["first engine 1k"]))
            print(line("engine: same, batches of 65,536", samples["first engine 64k"]))
            print(line("API: POST wait 0 + GET result?limit=1000", samples["first api"]))
            print(line("API: same, 1 s after the previous statement", samples["first api paced"]))
            print(f"  API (paced) - engine (medians): {api_first - engine:.0f} ms (target <= 50 ms)")
            api.close()
            print(json.dumps({"backend": backend, "rows": rows, "samples": samples}), file=sys.stderr)


def report_bulk(samples: dict[str, list[float]]) -> None:
    a = statistics.median(samples["a"])
    print(f"\n{'':2}{'ms':<40} {'median':>9} {'p90':>9} {'/ (a)':>7}")
    print(line("(a) in-process DuckDB -> Arrow", samples["a"], a))
    print(line("    of which connect_fenced", samples["a connect"], a))
    print(line("(a') in-process -> ResultWriter files", samples["a'"], a))
    labels = {
        "b": "(b) API Arrow IPC (result.arrow)",
        "b-stream": "(b) same, streamed while it runs",
        "c10k": "(c) API JSON pages of 10,000",
        "c1k": "(c) API JSON pages of 1,000",
        "d": "(d) API CSV download",
    }
    for key, label in labels.items():
        print(line(label, samples[key], a))
        print(line("    POST until SUCCEEDED", samples[f"{key} statement"], a))
        print(line("    fetch", samples[f"{key} fetch"], a))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--first-page-samples", type=int, default=3, help="per round")
    parser.add_argument("--first-page-only", action="store_true", help="skip (a)-(d): first page only")
    args = parser.parse_args()
    started = time.perf_counter()
    table, source = lineitem(args.rows)
    print(
        f"data: {source}, {table.num_rows:,} rows, {table.nbytes / 1e6:.0f} MB as Arrow "
        f"({time.perf_counter() - started:.1f} s)"
    )
    for backend in ("sqlite", "postgresql") if args.backend == "both" else (args.backend,):
        run(backend, table, source, args.repeats, args.first_page_samples, args.first_page_only)


if __name__ == "__main__":
    main()
