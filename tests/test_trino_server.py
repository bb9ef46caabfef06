"""Sadeem's Trino path against a real Trino server (tests/trino_server.py: the pinned release of
scripts/trino.py, one per test session) reading Iceberg tables on a real S3 (SeaweedFS) through
Sadeem's built-in catalog: the engine, the worksheet (statements API), a SQL job's run, the
connection test, and identity end to end — the run owner is the Trino user, the catalog sees the
owner's token (another workspace's table is refused inside Trino), cancel kills the query in
Trino, and the run log carries the query id and its progress."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from pyiceberg.catalog.rest import RestCatalog

from sadeem.config import Settings
from sadeem.engines.base import (
    CatalogAccess,
    EngineTask,
    ExecutionState,
    ParameterValue,
    SqlTask,
    WorkspaceStorage,
)
from sadeem.engines.trino import TrinoEngine, TrinoExecution
from tests.conftest import bearer, make_token, make_user
from tests.connection_doubles import S3Server
from tests.jobs_support import Platform, platform  # noqa: F401
from tests.lake_support import s3_warehouse_settings
from tests.statements_support import run_sql, statements_url
from tests.trino_server import TrinoServer, trino_connection_settings

pytestmark = pytest.mark.integration

CATALOG_SERVICE_USER = "trino_catalog"  # reads /v1/config for Trino; a member of no workspace
READINGS = pa.schema(
    [pa.field("id", pa.int64()), pa.field("site", pa.string()), pa.field("kwh", pa.float64())]
)
# Runs until cancelled: ~10^11 rows through a filter no optimizer removes.
ENDLESS_SQL = (
    "SELECT count(*) AS n FROM UNNEST(sequence(1, 10000)) a(x)"
    " CROSS JOIN UNNEST(sequence(1, 10000)) b(y) CROSS JOIN UNNEST(sequence(1, 1000)) c(z)"
    " WHERE (x * y + z) % 7919 = 13"
)


@pytest.fixture
def settings(tmp_path: Path, database_url: str, trino_s3: S3Server) -> Settings:
    """Overrides conftest's: an s3:// warehouse on the session's SeaweedFS, a bucket per test."""
    return s3_warehouse_settings(tmp_path, database_url, trino_s3, f"lake-{uuid.uuid4().hex[:12]}")


def pyiceberg(p: Platform, s3: S3Server, who: str, warehouse: str = "alpha") -> RestCatalog:
    return RestCatalog(
        "sadeem",
        uri=p.catalog_url,
        token=p.world.tokens[who],
        warehouse=warehouse,
        **{
            "s3.endpoint": s3.endpoint_url,
            "s3.access-key-id": s3.access_key_id,
            "s3.secret-access-key": s3.secret_access_key,
            "s3.region": "us-east-1",
        },
    )


def write_readings(p: Platform, s3: S3Server, workspace: str = "alpha", who: str = "ws_editor") -> None:
    """`<workspace>.readings`, written by pyiceberg through Sadeem's catalog into S3."""
    table = pyiceberg(p, s3, who, workspace).create_table((workspace, "readings"), schema=READINGS)
    table.append(
        pa.table(
            {
                "id": [1, 2, 3, 4, 5],
                "site": ["north", "south", "north", "east", "north"],
                "kwh": [1.5, 2.0, 2.5, 3.0, 3.5],
            },
            schema=READINGS,
        )
    )


@pytest.fixture
def lake(
    platform: Platform,  # noqa: F811
    trino_server: TrinoServer,
    trino_s3: S3Server,
) -> Iterator[tuple[Platform, str]]:
    """The live platform with `alpha.readings` in S3, a Trino catalog of its own on this Sadeem,
    and the workspace connection `trino_main` to it; yields the platform and the catalog name."""
    make_user(platform.db, CATALOG_SERVICE_USER)
    service_token = make_token(platform.db, platform.settings, CATALOG_SERVICE_USER)
    write_readings(platform, trino_s3)
    catalog = trino_server.add_iceberg_catalog(platform.base_url, service_token, trino_s3)
    created = platform.api(
        "POST",
        "/connections",
        "ws_admin",
        json={
            "name": "trino_main",
            "config": {"type": "trino", **trino_connection_settings(trino_server, catalog)},
        },
    )
    assert created.status_code == 201, created.text
    trino_server.forget_past_queries()
    try:
        yield platform, catalog
    finally:
        trino_server.drop_catalog(catalog)


def run_end_audit(p: Platform, run_id: int) -> dict[str, Any]:
    """The audit event of the run's last transition (as the platform admin reads it)."""
    response = httpx.get(
        f"{p.base_url}/api/v1/audit/events",
        params={"action": "run.transition", "target_type": "run", "target_id": str(run_id)},
        headers=bearer(p.world.tokens["root"]),
    )
    assert response.status_code == 200, response.text
    newest: dict[str, Any] = response.json()["items"][0]
    return newest


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


# --- the engine ---------------------------------------------------------------------------------


class Log(list[str]):
    def __call__(self, line: str) -> None:
        self.append(line)


def engine_task(p: Platform, catalog: str, who: str, sql: str, tmp_path: Path) -> tuple[EngineTask, Log]:
    log = Log()
    token = make_token(p.db, p.settings, who)  # the worker hands the engine a token of the owner's
    task = EngineTask(
        run_id=int(time.time() * 1000) % 10**9,
        attempt=1,
        owner=who,
        workspace=WorkspaceStorage(slug="alpha", namespace="alpha", location=str(p.settings.warehouse)),
        catalog=CatalogAccess(uri=p.catalog_url, warehouse="alpha", token=token),
        task=SqlTask(sql),
        parameters={},
        work_dir=tmp_path,
        log=log,
        connection={"type": "trino", **trino_connection_settings_for(p, catalog)},
    )
    return task, log


def trino_connection_settings_for(p: Platform, catalog: str) -> dict[str, object]:
    response = p.api("GET", "/connections/trino_main", "ws_admin")
    assert response.status_code == 200, response.text
    config: dict[str, object] = response.json()["config"]
    assert config["catalog"] == catalog
    return config


def finished(execution: TrinoExecution, timeout: float = 120) -> ExecutionState:
    deadline = time.monotonic() + timeout
    while not (status := execution.status()).finished:
        assert time.monotonic() < deadline, "the Trino execution did not finish"
        time.sleep(0.05)
    return status.state


def test_engine_reads_the_iceberg_table_as_the_owner_with_the_owners_token(
    lake: tuple[Platform, str], trino_server: TrinoServer, tmp_path: Path
) -> None:
    p, catalog = lake
    task, log = engine_task(
        p,
        catalog,
        "ws_viewer",
        "SELECT site, count(*) AS n, sum(kwh) AS kwh FROM readings GROUP BY site ORDER BY site",
        tmp_path,
    )
    execution = TrinoEngine().submit(task)
    try:
        assert finished(execution) is ExecutionState.SUCCEEDED, log
        reader = execution.result()
        assert reader is not None
        table = reader.read_all()
    finally:
        execution.close()
    assert table.to_pylist() == [
        {"site": "east", "n": 1, "kwh": 3.0},
        {"site": "north", "n": 3, "kwh": 7.5},
        {"site": "south", "n": 1, "kwh": 2.0},
    ]
    assert table.schema.field("n").type == pa.int64()
    # Trino itself ran it as the owner, from a source of the attempt's own.
    (query,) = [q for q in trino_server.queries(user="ws_viewer") if "FROM readings" in q["query"]]
    assert query["state"] == "FINISHED" and query["source"].startswith("sadeem-")
    # Tagged for resource group selectors: the workspace and the class of work.
    assert set(trino_server.client_tags(query["query_id"])) == {
        "workspace:alpha",
        "class:batch",
        f"run:{task.run_id}",
        "attempt:1",
    }
    # The run log names Trino's query id, and the final line has rows and bytes processed.
    finished_line = next(line for line in log if "finished in" in line)
    assert query["query_id"] in finished_line
    assert "5 rows /" in finished_line and "bytes processed" in finished_line
    assert task.catalog.token not in "\n".join(log)


TYPED_SQL = """
SELECT x AS id,
       CAST(x / 4e0 AS DECIMAL(12, 2)) AS amount,
       9007199254740993 + x AS big,
       x / 8e0 AS ratio,
       CAST(x / 2e0 AS REAL) AS half,
       CAST(x AS SMALLINT) AS small,
       x % 2 = 0 AS even,
       'meter-' || CAST(x AS VARCHAR) AS label,
       DATE '2024-01-01' + x * INTERVAL '1' DAY AS day,
       TIMESTAMP '2024-01-01 00:00:00.123456' + x * INTERVAL '1' SECOND AS local_time,
       TIMESTAMP '2024-01-01 03:00:00.000000 +03:00' + x * INTERVAL '1' SECOND AS utc_time,
       to_utf8('x' || CAST(x AS VARCHAR)) AS payload,
       ARRAY[CAST(x AS INTEGER), 1] AS pair
FROM UNNEST(sequence(0, 2499)) AS t(x)
ORDER BY id
"""


def run_task(task: EngineTask) -> tuple[ExecutionState, str | None, pa.Table | None]:
    execution = TrinoEngine(batch_rows=700).submit(task)
    try:
        state = finished(execution)
        reader = execution.result()
        return state, execution.status().message, reader.read_all() if reader is not None else None
    finally:
        execution.close()


def test_a_multi_page_result_arrives_with_arrow_types_from_trinos_column_types(
    lake: tuple[Platform, str], tmp_path: Path
) -> None:
    p, catalog = lake
    task, log = engine_task(p, catalog, "ws_editor", TYPED_SQL, tmp_path)
    state, message, table = run_task(task)
    assert state is ExecutionState.SUCCEEDED, message
    assert table is not None
    assert table.schema == pa.schema(
        [
            ("id", pa.int64()),
            ("amount", pa.decimal128(12, 2)),
            ("big", pa.int64()),
            ("ratio", pa.float64()),
            ("half", pa.float32()),
            ("small", pa.int16()),
            ("even", pa.bool_()),
            ("label", pa.string()),
            ("day", pa.date32()),
            ("local_time", pa.timestamp("us")),
            ("utc_time", pa.timestamp("us", tz="UTC")),
            ("payload", pa.binary()),
            ("pair", pa.string()),  # array(integer) has no mapping of its own: text
        ]
    )
    assert table.num_rows == 2500
    assert table.slice(2499).to_pylist()[0] == {
        "id": 2499,
        "amount": Decimal("624.75"),
        "big": 9007199254743492,  # above 2^53: exact, not through a double
        "ratio": 312.375,
        "half": 1249.5,
        "small": 2499,
        "even": False,
        "label": "meter-2499",
        "day": date(2030, 11, 4),
        "local_time": datetime(2024, 1, 1, 0, 41, 39, 123456),
        "utc_time": datetime(2024, 1, 1, 0, 41, 39, tzinfo=UTC),
        "payload": b"x2499",
        "pair": "[2499, 1]",
    }
    assert any("2500 result rows" in line for line in log)


def test_parameters_travel_bound_and_a_quote_stays_data(lake: tuple[Platform, str], tmp_path: Path) -> None:
    p, catalog = lake
    note = "O'Brien'); DROP TABLE readings; --"
    parameters: dict[str, ParameterValue] = {
        "note": note,
        "amount": Decimal("12.34"),
        "day": date(2024, 1, 2),
        "count": 2**62,
    }
    sql = (
        "SELECT :note AS note, :amount AS amount, :day AS day, :count AS count;\n"
        "SELECT count(*) AS n FROM readings"
    )
    task, _ = engine_task(p, catalog, "ws_editor", sql.split(";")[0], tmp_path)
    state, message, table = run_task(replace(task, parameters=parameters))
    assert state is ExecutionState.SUCCEEDED, message
    assert table is not None
    assert table.to_pylist() == [
        {"note": note, "amount": Decimal("12.34"), "day": date(2024, 1, 2), "count": 2**62}
    ]
    task, _ = engine_task(p, catalog, "ws_editor", sql, tmp_path)
    state, message, table = run_task(replace(task, parameters=parameters))
    assert state is ExecutionState.SUCCEEDED, message
    assert table is not None and table.to_pylist() == [{"n": 5}]  # the table is still there


def test_a_sql_error_fails_with_trinos_error_name_and_location(
    lake: tuple[Platform, str], tmp_path: Path
) -> None:
    p, catalog = lake
    task, log = engine_task(p, catalog, "ws_editor", "SELECT 1;\n\nSELECT *\nFROM missing_table", tmp_path)
    state, message, table = run_task(task)
    assert state is ExecutionState.FAILED and table is None
    assert message is not None
    # The engine sends each statement as sqlglot writes it: one line, so line 1 of that text.
    assert message.startswith("Statement 2 of 2 (line 3 of the SQL) failed: "), message
    assert "(TABLE_NOT_FOUND, line 1, column 15; Trino query " in message, message
    assert "missing_table" in message
    assert log[-1] == message


def test_another_workspaces_table_is_refused_inside_trino(
    lake: tuple[Platform, str], trino_server: TrinoServer, tmp_path: Path
) -> None:
    """`outsider` (beta only) names alpha's table: Trino asks the catalog with the outsider's token
    and the catalog refuses, so the query fails in Trino, not only in Sadeem."""
    p, catalog = lake
    foreign = f'SELECT count(*) FROM "{catalog}".alpha.readings'  # noqa: S608
    task, _ = engine_task(p, catalog, "outsider", foreign, tmp_path)
    execution = TrinoEngine().submit(task)
    try:
        assert finished(execution) is ExecutionState.FAILED
        message = execution.status().message or ""
    finally:
        execution.close()
    assert "ICEBERG_CATALOG_ERROR" in message and "readings" in message, message
    (query,) = [q for q in trino_server.queries(user="outsider") if "alpha.readings" in q["query"]]
    assert query["state"] == "FAILED"
    # Without any user token (a client that is not Sadeem's engine) the catalog refuses as well:
    # the catalog's own token belongs to a user of no workspace.
    with pytest.raises(Exception, match="ICEBERG_CATALOG_ERROR"):
        trino_server.query(foreign, user="ws_admin")


def test_cancel_kills_the_query_in_trino(
    lake: tuple[Platform, str], trino_server: TrinoServer, tmp_path: Path
) -> None:
    p, catalog = lake
    task, log = engine_task(p, catalog, "ws_editor", ENDLESS_SQL, tmp_path)
    execution = TrinoEngine().submit(task)
    try:
        wait_until(
            lambda: trino_server.queries(user="ws_editor", state="RUNNING"), 60, "the query running in Trino"
        )
        (running,) = trino_server.queries(user="ws_editor", state="RUNNING")
        started = time.monotonic()
        wait_until(lambda: sum("RUNNING" in line for line in log) >= 3, 30, "three progress lines")
        running_for = time.monotonic() - started
        execution.cancel()
        assert execution.status().state is ExecutionState.CANCELLED
    finally:
        execution.close()
    wait_until(
        lambda: trino_server.queries(query_id=running["query_id"])[0]["state"] == "FAILED",
        30,
        "Trino's query to end",
    )
    (ended,) = trino_server.queries(query_id=running["query_id"])
    assert ended["error_code"] == "USER_CANCELED"
    # Progress (rows and bytes processed) comes into the log about once a second, not per response.
    progress = [
        line for line in log if line.startswith(f"statement 1/1: query {running['query_id']} RUNNING")
    ]
    assert all(" rows / " in line and "bytes processed" in line for line in progress), progress
    assert len(progress) <= running_for + 2, (running_for, progress)


# --- the worksheet, a job's run, the connection test --------------------------------------------


def test_worksheet_statement_on_trino_reads_the_table_as_the_caller(
    lake: tuple[Platform, str], trino_server: TrinoServer
) -> None:
    p, _ = lake
    done = run_sql(
        p,
        "SELECT site, count(*) AS n FROM readings WHERE kwh > :least GROUP BY site ORDER BY site",
        engine="trino",
        connection="trino_main",
        parameters={"least": 1.5},
    )
    assert done["state"] == "SUCCEEDED", done
    assert done["user"] == "ws_editor" and done["engine"] == "trino"
    assert done["first_page"]["rows"] == [["east", 1], ["north", 2], ["south", 1]], done
    (query,) = [q for q in trino_server.queries(user="ws_editor") if "kwh >" in q["query"].lower()]
    assert query["state"] == "FINISHED"
    tags = set(trino_server.client_tags(query["query_id"]))
    (statement_tag,) = tags - {"workspace:alpha", "class:interactive"}  # both present, and one more
    assert len(tags) == 3 and statement_tag.startswith("statement:"), tags


def test_worksheet_cancel_kills_the_trino_query(
    lake: tuple[Platform, str], trino_server: TrinoServer
) -> None:
    p, _ = lake
    response = httpx.post(
        statements_url(p),
        json={"sql": ENDLESS_SQL, "engine": "trino", "connection": "trino_main", "wait_timeout": 0},
        headers=bearer(p.world.tokens["ws_editor"]),
        timeout=60,
    )
    assert response.status_code == 200, response.text
    statement_id = response.json()["id"]
    wait_until(
        lambda: trino_server.queries(user="ws_editor", state="RUNNING"), 60, "the query running in Trino"
    )
    (running,) = trino_server.queries(user="ws_editor", state="RUNNING")
    cancelled = httpx.post(
        f"{statements_url(p)}/{statement_id}/cancel", headers=bearer(p.world.tokens["ws_editor"]), timeout=60
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "CANCELLED"
    wait_until(
        lambda: trino_server.queries(query_id=running["query_id"])[0]["state"] == "FAILED",
        30,
        "Trino's query to end",
    )
    assert trino_server.queries(query_id=running["query_id"])[0]["error_code"] == "USER_CANCELED"


def test_trino_sql_job_run_reads_the_table_and_logs_the_query(
    lake: tuple[Platform, str], trino_server: TrinoServer
) -> None:
    p, _ = lake
    p.start_worker()
    p.create_job(
        "site_totals",
        {
            "type": "sql",
            "engine": "trino",
            "connection": "trino_main",
            "sql": "SELECT site, sum(kwh) * :factor AS total FROM readings GROUP BY site ORDER BY site",
        },
        parameters=[{"name": "factor", "type": "integer"}],
    )
    run = p.submit("site_totals", parameters={"factor": 2})
    done = p.wait(run["id"], timeout=120)
    logs = p.logs(run["id"])
    assert done["state"] == "SUCCEEDED", (done, logs)
    assert p.api("GET", f"/runs/{run['id']}/result", "ws_viewer").json()["rows"] == [
        ["east", 6.0],
        ["north", 15.0],
        ["south", 4.0],
    ]
    (query,) = [q for q in trino_server.queries(user="ws_editor") if "sum(kwh)" in q["query"].lower()]
    assert query["state"] == "FINISHED"
    assert query["query_id"] in logs and "rows /" in logs and "bytes processed" in logs
    ended = run_end_audit(p, run["id"])
    assert ended["details"]["to"] == "SUCCEEDED" and ended["details"]["query_ids"] == [query["query_id"]]
    assert ended["details"]["run_as"] == "ws_editor"


def test_run_stop_kills_the_trino_query(lake: tuple[Platform, str], trino_server: TrinoServer) -> None:
    p, _ = lake
    p.start_worker()
    p.create_job(
        "endless", {"type": "sql", "engine": "trino", "connection": "trino_main", "sql": ENDLESS_SQL}
    )
    run = p.submit("endless")
    wait_until(
        lambda: trino_server.queries(user="ws_editor", state="RUNNING"), 60, "the query running in Trino"
    )
    (running,) = trino_server.queries(user="ws_editor", state="RUNNING")
    stopped = p.api("POST", f"/runs/{run['id']}/stop")
    assert stopped.status_code == 200, stopped.text
    assert p.wait(run["id"], timeout=60)["state"] == "CANCELLED"
    wait_until(
        lambda: trino_server.queries(query_id=running["query_id"])[0]["state"] == "FAILED",
        30,
        "Trino's query to end",
    )
    assert trino_server.queries(query_id=running["query_id"])[0]["error_code"] == "USER_CANCELED"
    assert running["query_id"] in p.logs(run["id"])
    ended = run_end_audit(p, run["id"])
    assert ended["details"]["to"] == "CANCELLED" and ended["details"]["query_ids"] == [running["query_id"]]


def test_connection_test_of_a_trino_connection(lake: tuple[Platform, str]) -> None:
    p, _ = lake
    result = p.api("POST", "/connections/trino_main/test")
    assert result.status_code == 200, result.text
    assert result.json()["ok"] is True, result.json()
    assert result.json()["detail"] == "Trino 476 answered SELECT 1"
