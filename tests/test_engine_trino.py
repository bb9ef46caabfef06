"""The Trino engine where a real Trino cannot be made to misbehave on demand, against the Trino
fault double (tests/trino_fault_double.py): password authentication through a TLS front whose 401
repeats the rejected credentials (a careless proxy), and tasks refused before anything is sent.
Everything a real server can show — results and their Arrow types, parameters, identity, errors,
cancel, progress — is tested against the real Trino in tests/test_trino_server.py."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
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
from tests.trino_fault_double import TrinoFaultDouble

OWNER = "ws_editor"
SERVICE_USER = "sadeem_svc"
SERVICE_PASSWORD = "svc-Pa55-right-7"


class Log(list[str]):
    def __call__(self, line: str) -> None:
        self.append(line)


@pytest.fixture
def double() -> Iterator[TrinoFaultDouble]:
    with TrinoFaultDouble.running() as running:
        yield running


def trino_connection(double: TrinoFaultDouble, **changes: object) -> dict[str, object]:
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


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # verify_tls: false
def test_with_a_password_the_connection_user_authenticates_and_the_owner_is_the_session_user(
    tmp_path: Path,
) -> None:
    tls = make_tls(tmp_path / "tls")
    with TrinoFaultDouble.running(tls=tls, credentials={SERVICE_USER: SERVICE_PASSWORD}) as double:
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
    # The data plane chart's resource groups select a workspace's group by this tag.
    assert received.client_tags == ("run:7", "attempt:1", "workspace:alpha", "class:batch")


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # verify_tls: false
def test_a_wrong_password_fails_without_the_password_in_message_or_log(tmp_path: Path) -> None:
    wrong = "wrong-Pa55-Zx9q"
    tls = make_tls(tmp_path / "tls")
    with TrinoFaultDouble.running(
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
    double: TrinoFaultDouble, tmp_path: Path, sql: str, connection: dict[str, Any] | None, spark: bool
) -> None:
    task, _ = make_task(tmp_path, sql, trino_connection(double))
    if connection is None:
        task = replace(task, connection=None)
    if spark:
        task = replace(task, task=SparkTask(kind="sql", source="SELECT 1"))
    with pytest.raises(EngineRefused):
        TrinoEngine().submit(task)
    assert double.received == []
