"""The Trino engine against the Trino protocol double (no Trino server runs here): the real
trino-python client speaks HTTP to it, and the double runs the statements on DuckDB."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from sadeem.engines.base import (
    CatalogAccess,
    EngineRefused,
    EngineTask,
    ExecutionState,
    ExecutionStatus,
    ParameterValue,
    SparkTask,
    SqlTask,
    WorkspaceStorage,
)
from sadeem.engines.trino import TrinoEngine, TrinoExecution
from tests.connection_doubles import make_tls
from tests.trino_protocol_double import TrinoProtocolDouble

OWNER = "ws_editor"
SERVICE_USER = "sadeem_svc"
SERVICE_PASSWORD = "svc-Pa55-right-7"


class Log(list[str]):
    def __call__(self, line: str) -> None:
        self.append(line)


@pytest.fixture
def double() -> Iterator[TrinoProtocolDouble]:
    with TrinoProtocolDouble.running() as running:
        yield running


def trino_connection(double: TrinoProtocolDouble, **changes: object) -> dict[str, object]:
    """A TrinoConfig dump, as the worker hands it to the engine."""
    return {
        "type": "trino",
        "host": double.host,
        "port": double.port,
        "http_scheme": "http",
        "user": SERVICE_USER,
        "catalog": "iceberg",
        "schema_": None,
        "password": None,
        "verify_tls": True,
        **changes,
    }


def make_task(
    tmp_path: Path,
    sql: str,
    connection: Mapping[str, object],
    parameters: Mapping[str, ParameterValue] | None = None,
) -> tuple[EngineTask, Log]:
    log = Log()
    task = EngineTask(
        run_id=7,
        attempt=1,
        owner=OWNER,
        workspace=WorkspaceStorage(slug="alpha", namespace="alpha", location=f"file://{tmp_path}/warehouse"),
        catalog=CatalogAccess(uri="http://127.0.0.1:1/iceberg", warehouse="alpha", token="unused-by-trino"),
        task=SqlTask(sql),
        parameters=parameters or {},
        work_dir=tmp_path,
        log=log,
        connection=connection,
    )
    return task, log


def wait_finished(execution: TrinoExecution, timeout: float = 20) -> ExecutionStatus:
    deadline = time.monotonic() + timeout
    while not (status := execution.status()).finished:
        assert time.monotonic() < deadline, "the execution did not finish in time"
        time.sleep(0.05)
    return status


def run(task: EngineTask) -> tuple[ExecutionStatus, pa.Table | None]:
    execution = TrinoEngine(batch_rows=700).submit(task)
    try:
        status = wait_finished(execution)
        reader = execution.result()
        return status, reader.read_all() if reader is not None else None
    finally:
        execution.close()


def test_a_multi_page_result_arrives_with_arrow_types_from_trino_column_types(
    double: TrinoProtocolDouble, tmp_path: Path
) -> None:
    double.duckdb.execute(
        """
        CREATE TABLE iceberg.alpha.readings AS
        SELECT i::BIGINT AS id,
               (i / 4)::DECIMAL(12, 2) AS amount,
               9007199254740993 + i AS big,
               i / 8 AS ratio,
               (i / 2)::REAL AS half,
               i::SMALLINT AS small,
               i % 2 = 0 AS even,
               'meter-' || i AS label,
               DATE '2024-01-01' + i::INTEGER AS day,
               TIMESTAMP '2024-01-01 00:00:00.123456' + to_seconds(i) AS local_time,
               TIMESTAMPTZ '2024-01-01 03:00:00+03' + to_seconds(i) AS utc_time,
               encode('x' || i) AS payload,
               [i::INTEGER, 1] AS pair
        FROM range(2500) AS t(i)
        """
    )
    sql = (
        "SELECT id, amount, big, ratio, half, small, even, label, day, local_time, utc_time, payload, pair\n"
    )
    sql += "FROM readings ORDER BY id"
    task, log = make_task(tmp_path, sql, trino_connection(double))

    status, table = run(task)

    assert status.state is ExecutionState.SUCCEEDED, status.message
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
    last = table.slice(2499).to_pylist()[0]
    assert last == {
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
    assert table.column("big").to_pylist()[:2] == [9007199254740993, 9007199254740994]
    (received,) = double.received
    assert double.data_pages[received.query_id] == 3  # 1,000 rows a page
    assert (received.catalog, received.schema, received.source) == ("iceberg", "alpha", "sadeem")
    assert received.client_tags == ("run:7", "attempt:1")
    assert any("2500 result rows" in line for line in log)


def test_the_owner_is_the_trino_user_and_parameters_travel_bound(
    double: TrinoProtocolDouble, tmp_path: Path
) -> None:
    double.duckdb.execute("CREATE TABLE iceberg.alpha.notes AS SELECT 'kept' AS text")
    note = "O'Brien'); DROP TABLE notes; --"
    sql = "SELECT :note AS note, :amount AS amount, :day AS day, :count AS count;\nSELECT text FROM notes"
    parameters: dict[str, ParameterValue] = {
        "note": note,
        "amount": Decimal("12.34"),
        "day": date(2024, 1, 2),
        "count": 2**62,
    }
    task, _ = make_task(tmp_path, sql.split(";")[0], trino_connection(double), parameters)

    status, table = run(task)

    assert status.state is ExecutionState.SUCCEEDED, status.message
    assert table is not None
    assert table.to_pylist() == [
        {"note": note, "amount": Decimal("12.34"), "day": date(2024, 1, 2), "count": 2**62}
    ]
    (received,) = double.received
    assert received.user == OWNER
    assert received.principal is None  # no password: the coordinator trusts X-Trino-User
    assert received.statement == "SELECT ? AS note, ? AS amount, ? AS day, ? AS count"
    assert received.parameters == (note, Decimal("12.34"), date(2024, 1, 2), 2**62)
    assert note not in received.statement

    task, _ = make_task(tmp_path, sql, trino_connection(double), parameters)
    status, table = run(task)
    assert status.state is ExecutionState.SUCCEEDED, status.message
    assert table is not None and table.to_pylist() == [{"text": "kept"}]  # the quote stayed data


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # verify_tls: false
def test_with_a_password_the_connection_user_authenticates_and_the_owner_is_the_session_user(
    tmp_path: Path,
) -> None:
    tls = make_tls(tmp_path / "tls")
    with TrinoProtocolDouble.running(tls=tls, credentials={SERVICE_USER: SERVICE_PASSWORD}) as double:
        connection = trino_connection(
            double, http_scheme="https", password=SERVICE_PASSWORD, verify_tls=False
        )
        task, log = make_task(tmp_path, "SELECT 1 AS one", connection)
        status, table = run(task)

    assert status.state is ExecutionState.SUCCEEDED, status.message
    assert table is not None and table.to_pylist() == [{"one": 1}]
    (received,) = double.received
    assert (received.principal, received.user) == (SERVICE_USER, OWNER)
    assert not any(SERVICE_PASSWORD in line for line in log)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # verify_tls: false
def test_a_wrong_password_fails_without_the_password_in_message_or_log(tmp_path: Path) -> None:
    wrong = "wrong-Pa55-Zx9q"
    tls = make_tls(tmp_path / "tls")
    with TrinoProtocolDouble.running(
        tls=tls, credentials={SERVICE_USER: SERVICE_PASSWORD}, echo_rejected_credentials=True
    ) as double:
        connection = trino_connection(double, http_scheme="https", password=wrong, verify_tls=False)
        task, log = make_task(tmp_path, "SELECT 1", connection)
        status, _ = run(task)

    assert status.state is ExecutionState.FAILED
    assert status.message is not None
    assert "HTTP 401" in status.message
    assert f"connection user '{SERVICE_USER}'" in status.message
    assert double.rejected  # the double was asked, and its 401 body repeated the password
    basic = base64.b64encode(f"{SERVICE_USER}:{wrong}".encode()).decode()
    for text in [status.message, *log]:
        assert wrong not in text
        assert basic not in text


def test_a_sql_error_fails_with_trinos_error_name_and_location(
    double: TrinoProtocolDouble, tmp_path: Path
) -> None:
    task, log = make_task(tmp_path, "SELECT 1;\n\nSELECT *\nFROM missing_table", trino_connection(double))

    status, table = run(task)

    assert status.state is ExecutionState.FAILED
    assert table is None
    assert status.message is not None
    # The engine sends each statement as sqlglot writes it: one line, so line 1 of that text.
    assert status.message.startswith("Statement 2 of 2 (line 3 of the SQL) failed: ")
    assert "(TABLE_NOT_FOUND, line 1, column 15; Trino query " in status.message
    assert "missing_table" in status.message
    assert log[-1] == status.message


def test_cancel_deletes_the_running_query(double: TrinoProtocolDouble, tmp_path: Path) -> None:
    task, log = make_task(tmp_path, "/* double:sleep=30 */ SELECT 1 AS never", trino_connection(double))
    execution = TrinoEngine().submit(task)
    try:
        deadline = time.monotonic() + 10
        while not any("RUNNING" in line for line in log):
            assert time.monotonic() < deadline, log
            time.sleep(0.05)
        (received,) = double.received

        cancelled_at = time.monotonic()
        execution.cancel()

        assert execution.status() == ExecutionStatus(ExecutionState.CANCELLED, "Cancelled.")
        while received.query_id not in double.cancelled:
            assert time.monotonic() - cancelled_at < 2, "no DELETE reached the coordinator"
            time.sleep(0.02)
        assert execution.result() is None
    finally:
        execution.close()
    assert execution.status().state is ExecutionState.CANCELLED
    assert time.monotonic() - cancelled_at < 3
    assert "cancelled" in log


def test_progress_lines_come_at_most_about_once_a_second(double: TrinoProtocolDouble, tmp_path: Path) -> None:
    task, log = make_task(tmp_path, "/* double:sleep=3 */ SELECT 42 AS answer", trino_connection(double))

    started = time.monotonic()
    status, table = run(task)
    elapsed = time.monotonic() - started

    assert status.state is ExecutionState.SUCCEEDED, status.message
    assert table is not None and table.to_pylist() == [{"answer": 42}]
    query_id = double.received[0].query_id
    progress = [line for line in log if line.startswith(f"statement 1/1: query {query_id} ")]
    assert any(" RUNNING " in line and "%" in line for line in progress), progress
    assert 2 <= len(progress) <= elapsed + 1, progress
    finished = next(line for line in log if line.startswith("statement 1/1 finished in "))
    assert f"query {query_id} FINISHED 100.0%" in finished
    assert finished.endswith("; 1 result rows")


@pytest.mark.parametrize(
    ("sql", "connection", "spark"),
    [
        ("SELECT 1", None, False),
        ("SELECT 1", {}, True),
        ("SELECT (1", {}, False),
        ("SELECT :missing", {}, False),
    ],
    ids=["no connection", "spark task", "syntax", "unbound parameter"],
)
def test_tasks_that_cannot_start_are_refused(
    double: TrinoProtocolDouble, tmp_path: Path, sql: str, connection: dict[str, Any] | None, spark: bool
) -> None:
    task, _ = make_task(tmp_path, sql, trino_connection(double))
    if connection is None:
        task = replace(task, connection=None)
    if spark:
        task = replace(task, task=SparkTask(kind="sql", source="SELECT 1"))
    with pytest.raises(EngineRefused):
        TrinoEngine().submit(task)
    assert double.received == []
