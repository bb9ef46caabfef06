"""The Spark local engine: real `spark-submit` (Spark 4.0, Iceberg 1.10) against Sadeem's
built-in catalog served by a live server, as the run owner.

Each real submission starts a JVM (10-20 s on a 2-core machine), so there are four: a PySpark
job writing a table, a SQL job, a job the catalog refuses, a cancelled job. They run on SQLite
only: the engine never touches Sadeem's database, and the catalog's backends have their own
tests. The launch itself (command line, properties file, refused settings), the statement
splitter and the failure-line finder are checked without Spark.
"""

from __future__ import annotations

import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sadeem.config import Settings
from sadeem.connections.schemas import SparkLocalConfig
from sadeem.engines import spark_local
from sadeem.engines.base import (
    CatalogAccess,
    EngineRefused,
    EngineTask,
    ExecutionState,
    ExecutionStatus,
    ParameterValue,
    Resources,
    SparkTask,
    WorkspaceStorage,
)
from sadeem.engines.spark_local import (
    DriverOutput,
    SparkLocalEngine,
    SparkSubmitExecution,
    prepare_launch,
)
from sadeem.engines.spark_sql_runner import split_statements
from tests.catalog_support import CatalogServer, catalog_server  # noqa: F401
from tests.spark_support import spark_jars

TOKEN = "sdm_0123456789abcdef_not-a-real-token"
# C1 only and the serial GC: a short-lived JVM on 2 cores starts and warms up faster with them.
FAST_JVM = {"spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}
SPARK_RUN_TIMEOUT = 240.0


@dataclass
class Log:
    lines: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, line: str) -> None:
        with self.lock:
            self.lines.append(line)

    def text(self) -> str:
        with self.lock:
            return "\n".join(self.lines)


def _task(
    spark: SparkTask,
    work_dir: Path,
    *,
    uri: str = "http://127.0.0.1:9/iceberg",
    token: str = TOKEN,
    connection: dict[str, object] | None = None,
    log: Log | None = None,
    parameters: dict[str, ParameterValue] | None = None,
) -> EngineTask:
    work_dir.mkdir(parents=True, exist_ok=True)
    return EngineTask(
        run_id=7,
        attempt=1,
        owner="ws_editor",
        workspace=WorkspaceStorage("alpha", "alpha", "file:///unused/alpha"),
        catalog=CatalogAccess(uri, "alpha", token),
        task=spark,
        parameters=parameters or {},
        work_dir=work_dir,
        log=log or Log(),
        connection=connection,
    )


def _settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", demo=False)


# --- without Spark -----------------------------------------------------------------------------


def test_the_token_goes_into_a_private_properties_file_not_onto_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spark_jars()
    monkeypatch.setenv("SADEEM_SECRET_KEY", "the server's own secret")
    connection = SparkLocalConfig(
        type="spark_local", master="local[2]", conf={"spark.sql.shuffle.partitions": "3"}
    )
    task = _task(
        SparkTask(
            kind="pyspark",
            source="print('hi')",
            args=("--day", "2024-01-01"),
            driver=Resources(memory="768m"),
        ),
        tmp_path / "work",
        connection=connection.model_dump(by_alias=False),
    )
    launch = prepare_launch(task, _settings(tmp_path))

    assert TOKEN not in " ".join(launch.argv)
    assert TOKEN not in str(launch.env)
    assert launch.argv[1:5] == ["--master", "local[2]", "--name", "sadeem-run-7-1"]
    assert launch.argv[launch.argv.index("--driver-memory") + 1] == "768m"
    assert launch.argv[-3:] == [str(tmp_path / "work" / "job.py"), "--day", "2024-01-01"]
    assert (tmp_path / "work" / "job.py").read_text() == "print('hi')"
    properties = Path(launch.argv[launch.argv.index("--properties-file") + 1])
    assert stat.S_IMODE(properties.stat().st_mode) == 0o600
    text = properties.read_text()
    assert f"spark.sql.catalog.iceberg.token={TOKEN}" in text
    assert "spark.sql.catalog.iceberg.uri=http\\://127.0.0.1\\:9/iceberg" in text
    assert "spark.sql.catalog.iceberg.default-namespace=alpha" in text
    assert "spark.sql.defaultCatalog=iceberg" in text
    assert "spark.sql.shuffle.partitions=3" in text
    # The server's own settings (its secret key, its database URL) are not the job's business.
    assert "SADEEM_SECRET_KEY" not in launch.env


def test_a_jar_runs_its_main_class(tmp_path: Path) -> None:
    spark_jars()
    jar = tmp_path / "app.jar"
    jar.write_bytes(b"PK")
    task = _task(
        SparkTask(kind="jar", file=jar.as_uri(), main_class="com.example.Main", args=("a b",)), tmp_path / "w"
    )
    argv = prepare_launch(task, _settings(tmp_path)).argv
    assert argv[-4:] == ["--class", "com.example.Main", str(jar), "a b"]


@pytest.mark.parametrize(
    ("source", "conf"),
    [
        ("connection", {"spark.sql.catalog.iceberg.uri": "http://elsewhere/iceberg"}),
        ("job", {"spark.sql.catalog.iceberg.token": "someone-elses"}),
        ("job", {"spark.sql.catalog.iceberg": "org.example.OtherCatalog"}),
        ("job", {"spark.sql.defaultCatalog": "spark_catalog"}),
    ],
)
def test_conf_may_not_touch_the_catalog(tmp_path: Path, source: str, conf: dict[str, str]) -> None:
    if source == "connection":
        connection = SparkLocalConfig(type="spark_local", conf=conf).model_dump(by_alias=False)
        task = _task(SparkTask(kind="pyspark", source="pass"), tmp_path, connection=connection)
    else:
        task = _task(SparkTask(kind="pyspark", source="pass", conf=conf), tmp_path)
    with pytest.raises(EngineRefused, match=f"the {source}'s Spark conf may not set {next(iter(conf))}"):
        SparkLocalEngine(_settings(tmp_path)).submit(task)


def test_a_missing_file_fails_at_once(tmp_path: Path) -> None:
    started = time.monotonic()
    execution = SparkLocalEngine(_settings(tmp_path)).submit(
        _task(SparkTask(kind="pyspark", file=str(tmp_path / "nowhere.py")), tmp_path / "work")
    )
    status = execution.status()
    assert status == ExecutionStatus(ExecutionState.FAILED, f"file not found: {tmp_path / 'nowhere.py'}")
    assert time.monotonic() - started < 1
    execution.close()


def test_statements_split_on_semicolons_outside_literals_and_comments() -> None:
    sql = (
        "-- setup; not a statement\n"
        "CREATE TABLE t (s STRING);\n"
        "INSERT INTO t VALUES ('a;b'), ('it\\'s;'), (\"x;\") /* c; /* nested; */ still; */ ;\n"
        "\n"
        "SELECT `odd;name` FROM t -- trailing; comment\n"
        ";  -- only a comment; after the last\n"
    )
    assert split_statements(sql) == [
        (2, "CREATE TABLE t (s STRING)"),
        (3, "INSERT INTO t VALUES ('a;b'), ('it\\'s;'), (\"x;\") /* c; /* nested; */ still; */"),
        (5, "SELECT `odd;name` FROM t -- trailing; comment"),
    ]
    assert split_statements("SELECT 1") == [(1, "SELECT 1")]
    assert split_statements(" ; -- nothing\n") == []


STUBBORN = """\
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
code = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('child', flush=True); time.sleep(600)"
)
subprocess.Popen([sys.executable, "-c", code])
print("ready", flush=True)
time.sleep(600)
"""


def test_cancel_kills_what_ignores_sigterm_after_the_grace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process group whose members ignore SIGTERM (as a wedged driver might) is SIGKILLed."""
    monkeypatch.setattr(spark_local, "STOP_GRACE_SECONDS", 0.5)
    log = Log()
    process = subprocess.Popen(
        [sys.executable, "-c", STUBBORN],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    execution = SparkSubmitExecution(process, DriverOutput(log, [TOKEN]))
    deadline = time.monotonic() + 10
    while not {"ready", "child"} <= set(log.lines):
        assert time.monotonic() < deadline, log.lines
        time.sleep(0.05)

    started = time.monotonic()
    execution.cancel()
    assert time.monotonic() - started >= 0.5  # SIGTERM was not enough
    assert execution.status() == ExecutionStatus(ExecutionState.CANCELLED)
    assert not spark_local.group_alive(execution.process_group)
    execution.close()


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            [
                "Traceback (most recent call last):",
                '  File "/w/job.py", line 3, in <module>',
                "pyspark.errors.exceptions.captured.AnalysisException: [TABLE_OR_VIEW_NOT_FOUND] The table "
                "or view `nope` cannot be found.",
                "10:00:00.000 WARN ShutdownHookManager: cleanup",
            ],
            "pyspark.errors.exceptions.captured.AnalysisException: [TABLE_OR_VIEW_NOT_FOUND] The table or "
            "view `nope` cannot be found.",
        ),
        (
            [
                "py4j.protocol.Py4JJavaError: An error occurred while calling o42.sql.",
                f": org.apache.iceberg.exceptions.ForbiddenException: Forbidden: token {TOKEN} may not",
                "\tat org.apache.iceberg.rest.ErrorHandlers.handle(ErrorHandlers.java:1)",
                "Caused by: java.io.IOException: x",
            ],
            "org.apache.iceberg.exceptions.ForbiddenException: Forbidden: token [REDACTED] may not",
        ),
        (
            [
                'Exception in thread "main" java.lang.IllegalStateException: boom',
                "\tat Main.main(Main.java:3)",
            ],
            "java.lang.IllegalStateException: boom",
        ),
        (["Error: Failed to load class com.example.Main."], "Error: Failed to load class com.example.Main."),
        (["just some output"], None),
    ],
)
def test_the_failure_line_is_the_last_exception_named(output: list[str], expected: str | None) -> None:
    log = Log()
    driver = DriverOutput(log, [TOKEN])
    for line in output:
        driver.emit(line)
    assert driver.failure_line() == expected
    assert TOKEN not in log.text()


# --- real Spark --------------------------------------------------------------------------------


def real_spark(test: Callable[..., None]) -> Callable[..., None]:
    marks = [
        pytest.mark.integration,
        pytest.mark.slow,
        # The engine never touches Sadeem's database: one backend is enough.
        pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    ]
    for mark in marks:
        test = mark(test)
    return test


@pytest.fixture
def run(
    catalog_server: CatalogServer,  # noqa: F811
    tmp_path: Path,
) -> Iterator[_Runner]:
    spark_jars()  # skips without pyspark; builds the jars when missing
    runner = _Runner(catalog_server, tmp_path)
    yield runner
    for execution in runner.executions:
        execution.close()


@dataclass
class _Runner:
    server: CatalogServer
    tmp_path: Path
    executions: list[SparkSubmitExecution] = field(default_factory=list)

    def start(
        self, spark: SparkTask, who: str = "ws_editor", parameters: dict[str, ParameterValue] | None = None
    ) -> tuple[SparkSubmitExecution, Log]:
        log = Log()
        task = _task(
            SparkTask(
                kind=spark.kind,
                source=spark.source,
                file=spark.file,
                args=spark.args,
                conf={**FAST_JVM, **spark.conf},
            ),
            self.tmp_path / f"work-{len(self.executions)}",
            uri=self.server.uri,
            token=self.server.world.tokens[who],
            connection=SparkLocalConfig(type="spark_local", master="local[2]").model_dump(by_alias=False),
            log=log,
            parameters=parameters,
        )
        execution = SparkLocalEngine(_settings(self.tmp_path)).submit(task)
        assert isinstance(execution, SparkSubmitExecution), execution.status()
        self.executions.append(execution)
        return execution, log

    def finish(
        self, spark: SparkTask, who: str = "ws_editor", parameters: dict[str, ParameterValue] | None = None
    ) -> tuple[ExecutionStatus, Log]:
        execution, log = self.start(spark, who, parameters)
        deadline = time.monotonic() + SPARK_RUN_TIMEOUT
        while not (status := execution.status()).finished:
            assert time.monotonic() < deadline, f"still running after {SPARK_RUN_TIMEOUT} s:\n{log.text()}"
            time.sleep(0.3)
        assert self.server.world.tokens[who] not in log.text()
        return status, log


PYSPARK_WRITER = """\
import sys
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
rows = int(sys.argv[1])
# Unqualified: the default catalog's default namespace, the workspace's root namespace.
spark.range(rows).selectExpr("id", "id * 2 AS doubled").writeTo("doubles").create()
where = f"{spark.catalog.currentCatalog()}.{spark.catalog.currentDatabase()}"
print(f"wrote {spark.table('doubles').count()} rows to {where}")
"""


@real_spark
def test_a_pyspark_job_writes_a_table_as_its_owner(run: _Runner) -> None:
    status, log = run.finish(SparkTask(kind="pyspark", source=PYSPARK_WRITER, args=("5",)))
    assert status == ExecutionStatus(ExecutionState.SUCCEEDED), log.text()
    assert "wrote 5 rows to iceberg.alpha" in log.lines

    table = run.server.pyiceberg("ws_viewer").load_table(("alpha", "doubles"))
    rows = sorted(tuple(row.values()) for row in table.scan().to_arrow().to_pylist())
    assert rows == [(i, 2 * i) for i in range(5)]
    # Created by its staged commit, as the run's owner.
    events = run.server.audit_events(target_id="alpha.doubles")
    assert [(e["action"], e["actor"], e["outcome"]) for e in events] == [
        ("commit_table", "ws_editor", "success")
    ]


SQL_JOB = """\
-- Unqualified names: the workspace's root namespace.
CREATE TABLE by_parity USING iceberg AS
SELECT id % 2 AS parity, count(*) AS n FROM range(10) GROUP BY id % 2;
INSERT INTO by_parity VALUES (:parity, :n);
SELECT parity, n FROM by_parity ORDER BY parity
"""


@real_spark
def test_a_sql_job_runs_its_statements_in_order(run: _Runner) -> None:
    # Parameters are bound by Spark (`spark.sql(…, args=…)`), not pasted into the text.
    status, log = run.finish(SparkTask(kind="sql", source=SQL_JOB), parameters={"parity": 2, "n": 0})
    assert status == ExecutionStatus(ExecutionState.SUCCEEDED), log.text()
    assert [line for line in log.lines if line.startswith("statement ")] == [
        # Long statements are cut short (at 100 characters).
        "statement 1 of 3 (line 2): CREATE TABLE by_parity USING iceberg AS SELECT id % 2 AS parity, "
        "count(*) AS n FROM range(10) GROUP…",
        "statement 1 of 3 (line 2): 0 rows",
        "statement 2 of 3 (line 4): INSERT INTO by_parity VALUES (:parity, :n)",
        "statement 2 of 3 (line 4): 0 rows",
        "statement 3 of 3 (line 5): SELECT parity, n FROM by_parity ORDER BY parity",
    ]
    shown = log.lines[log.lines.index("|parity|n  |") :][:6]  # `show` of the last statement
    assert shown == [
        "|parity|n  |",
        "+------+---+",
        "|0     |5  |",
        "|1     |5  |",
        "|2     |0  |",
        "+------+---+",
    ]

    table = run.server.pyiceberg("ws_viewer").load_table(("alpha", "by_parity"))
    assert sorted(tuple(r.values()) for r in table.scan().to_arrow().to_pylist()) == [(0, 5), (1, 5), (2, 0)]


@real_spark
def test_a_failing_job_reports_the_exception_line(run: _Runner) -> None:
    """A viewer's job may read but not write: the catalog refuses, Spark raises, the run fails
    with that exception, not with an exit code."""
    source = (
        "from pyspark.sql import SparkSession\n"
        "SparkSession.builder.getOrCreate().sql('CREATE TABLE mine (id BIGINT)')\n"
    )
    status, log = run.finish(SparkTask(kind="pyspark", source=source), who="ws_viewer")
    assert status.state is ExecutionState.FAILED, log.text()
    assert status.message is not None
    assert status.message.startswith("org.apache.iceberg.exceptions.ForbiddenException: Forbidden: "), (
        status.message
    )
    assert run.server.world.tokens["ws_viewer"] not in status.message
    assert run.server.audit_events(actor="ws_viewer", action="create_table")[0]["outcome"] == "denied"


CANCELLABLE = """\
import time
from pyspark.sql import SparkSession

spark = SparkSession.builder.getOrCreate()
print("ready", flush=True)
# Python workers (processes of their own) sleep in a Spark task until the run is cancelled.
spark.range(2).repartition(2).foreach(lambda _: time.sleep(600))
"""


def _group_members(pgid: int) -> list[str]:
    """Live (non-zombie) processes of a process group, from `ps`, as "pid command"."""
    listing = subprocess.run(
        ["ps", "-ww", "-e", "-o", "pgid=,stat=,pid=,args="], capture_output=True, text=True, check=True
    )
    members = []
    for line in listing.stdout.splitlines():
        group, state, pid, command = [*line.split(None, 3), ""][:4]
        if int(group) == pgid and not state.startswith("Z"):
            members.append(f"{pid} {command}")
    return members


@real_spark
def test_cancel_stops_the_whole_process_group(run: _Runner) -> None:
    execution, log = run.start(SparkTask(kind="pyspark", source=CANCELLABLE))
    group = execution.process_group
    deadline = time.monotonic() + SPARK_RUN_TIMEOUT
    # The JVM, the Python driver and the Spark task's Python workers.
    while not ("ready" in log.lines and len(_group_members(group)) >= 3):
        assert execution.status().state is ExecutionState.RUNNING, log.text()
        assert time.monotonic() < deadline, log.text()
        time.sleep(0.5)
    members = _group_members(group)
    assert any("java" in m and "SparkSubmit" in m for m in members), members
    assert run.server.world.tokens["ws_editor"] not in "\n".join(members)  # no token on any command line

    started = time.monotonic()
    execution.cancel()
    stopped_in = time.monotonic() - started
    assert execution.status() == ExecutionStatus(ExecutionState.CANCELLED)
    assert _group_members(group) == []
    print(f"cancel stopped {len(members)} processes in {stopped_in:.1f} s")
