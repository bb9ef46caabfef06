"""One engine registry (issue #11, item 5): an engine is its module plus one `EngineSpec` in the
registry. The engine here exists only in this test; registered, the API documents it, jobs and
the worksheet accept it, check SQL with its rules and run on it — no other module knows it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pyarrow as pa
import pytest
from sqlglot import exp

from sadeem.config import Settings
from sadeem.core.errors import InvalidInput
from sadeem.engines import registry, sql_text
from sadeem.engines.base import EngineTask, ExecutionState, ExecutionStatus, SqlTask
from sadeem.engines.spec import EngineSpec, TaskKind
from tests.jobs_support import Platform, platform  # noqa: F401
from tests.statements_support import post, run_sql, submit


class EchoExecution:
    """Done at once: one row, who ran it and the SQL it was given (last, as a plan is)."""

    def __init__(self, task: EngineTask) -> None:
        assert isinstance(task.task, SqlTask)
        self._rows = pa.table({"owner": [task.owner], "sql": [task.task.sql]})

    def status(self) -> ExecutionStatus:
        return ExecutionStatus(ExecutionState.SUCCEEDED)

    def cancel(self) -> None:
        pass

    def result(self) -> pa.RecordBatchReader:
        return self._rows.to_reader()

    def close(self) -> None:
        pass


class EchoEngine:
    name = "echo"

    def submit(self, task: EngineTask) -> EchoExecution:
        return EchoExecution(task)


def _reads_only(statement: exp.Expr) -> None:
    if not sql_text.is_read_only(statement):
        raise InvalidInput("The echo engine only reads.")


def _echo(settings: Settings) -> EchoEngine:
    return EchoEngine()


ECHO = EngineSpec(
    "echo",
    frozenset({TaskKind.sql}),
    _echo,
    validate=_reads_only,
    explain=lambda statement: statement.sql("postgres"),
)
SQL = "SELECT 6 * 7 AS answer"


@pytest.fixture
def echo() -> Iterator[EngineSpec]:
    with registry.registered(ECHO) as spec:
        yield spec


def _engine_enum(p: Platform, schema: str) -> list[str]:
    document = httpx.get(f"{p.base_url}/openapi.json", timeout=60).json()
    found: list[str] = document["components"]["schemas"][schema]["properties"]["engine"]["enum"]
    return found


def test_an_engine_registered_in_one_place_is_documented_accepted_and_run(
    platform: Platform,  # noqa: F811
    echo: EngineSpec,
) -> None:
    p = platform
    for schema in ("SqlTaskSpec", "StatementSubmit", "ExplainRequest", "SavedQueryCreate"):
        assert _engine_enum(p, schema) == ["duckdb", "trino", "echo"], schema
    assert _engine_enum(p, "SparkTaskSpec") == ["spark_local", "spark_k8s"]

    # The worksheet: run, explain, and the engine's own check at submit (a 400, nothing stored).
    statement = run_sql(p, SQL, engine="echo")
    assert statement["state"] == "SUCCEEDED", statement
    assert statement["engine"] == "echo"
    assert statement["first_page"]["rows"] == [["ws_editor", SQL]]
    explained = post(p, "/explain", json={"sql": SQL, "engine": "echo"})
    assert explained.status_code == 200, explained.text
    assert explained.json()["engine_sql"] == SQL
    assert explained.json()["plan"] == f"EXPLAIN {SQL}"
    refused = submit(p, "CREATE TABLE alpha.t (x INT)", engine="echo")
    assert refused.status_code == 400 and "only reads" in refused.json()["detail"], refused.text
    embedded = submit(p, SQL, engine="echo", connection="somewhere")
    assert embedded.status_code == 400, embedded.text
    assert "Engine 'echo' is embedded and takes no connection." in embedded.json()["detail"]

    # Jobs: saved, checked with the same rule, and run by a worker; a saved query takes it too.
    p.start_worker()
    p.create_job("echoed", {"type": "sql", "engine": "echo", "sql": SQL})
    run = p.wait(p.submit("echoed")["id"])
    assert run["state"] == "SUCCEEDED", run
    result = p.api("GET", f"/runs/{run['id']}/result", "ws_viewer").json()
    assert result["rows"] == [["ws_editor", SQL]]
    bad = p.api(
        "POST",
        "/jobs",
        json={"name": "writes", "task": {"type": "sql", "engine": "echo", "sql": "DROP TABLE t"}},
    )
    assert bad.status_code == 400 and "only reads" in bad.json()["detail"], bad.text
    spark = p.api(
        "POST",
        "/jobs",
        json={"name": "spark", "task": {"type": "spark", "engine": "echo", "kind": "sql", "source": SQL}},
    )
    assert spark.status_code == 422, spark.text  # it runs SQL tasks only
    query = p.api("POST", "/queries", json={"name": "echo_query", "sql": SQL, "engine": "echo"})
    assert query.status_code == 201, query.text


def test_an_engine_is_known_only_while_registered(platform: Platform) -> None:  # noqa: F811
    twice = pytest.raises(ValueError, match="registered already")
    with registry.registered(ECHO), twice, registry.registered(ECHO):
        pass
    response: Any = submit(platform, SQL, engine="echo")
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert (error["loc"], error["msg"]) == (["body", "engine"], "Input should be 'duckdb' or 'trino'")
    assert "echo" not in _engine_enum(platform, "StatementSubmit")
