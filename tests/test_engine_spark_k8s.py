"""The Spark-on-Kubernetes engine.

No Kubernetes API server can run here: the rendered objects are checked against the real schemas
(the Spark Operator's CRD, the Kubernetes client's v1 models, which refuse unknown fields), and
the engine runs against `KubernetesApiDouble` (tests/kubernetes_api_double.py), which speaks the
API's HTTP protocol over TLS and plays the operator's part as each test directs. What the driver
does with the rendered configuration is checked with real Spark: the driver pod is emulated
locally (its mounted ConfigMap and Secret as directories, its environment, its Spark conf).
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from sadeem.connections.schemas import SparkK8sConfig
from sadeem.engines.base import (
    CatalogAccess,
    EngineRefused,
    EngineTask,
    ExecutionState,
    ExecutionStatus,
    Resources,
    SparkTask,
    WorkspaceStorage,
)
from sadeem.engines.spark_k8s import (
    CATALOG_MOUNT_DIR,
    DEFAULT_SPARK_VERSION,
    PROGRAM_DIR,
    SparkApplicationExecution,
    SparkKubernetesEngine,
    render_catalog_secret,
    render_program_config_map,
    render_spark_application,
)
from tests.catalog_support import CatalogServer, catalog_server  # noqa: F401
from tests.connection_doubles import Tls, make_tls
from tests.kubernetes_api_double import (
    KubernetesApiDouble,
    kubernetes_api_double,
    spark_application_validator,
)
from tests.spark_support import spark_jars

NAMESPACE = "spark-jobs"
K8S_TOKEN = "k8s-service-account-token-0123456789"
CATALOG_TOKEN = "sdm_0123456789abcdef_catalog-token-secret"
APP = "sadeem-run-42-2"
POLL = 0.2
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, line: str) -> None:
        with self._lock:
            self.lines.append(line)

    def copy(self) -> list[str]:
        with self._lock:
            return list(self.lines)


def _task(
    spark: SparkTask,
    *,
    connection: dict[str, object] | None = None,
    log: Log | None = None,
    catalog: CatalogAccess | None = None,
    work_dir: Path = Path("/nonexistent"),
) -> EngineTask:
    return EngineTask(
        run_id=42,
        attempt=2,
        owner="ws_editor",
        workspace=WorkspaceStorage("alpha", "alpha", "s3://lake/alpha"),
        catalog=catalog or CatalogAccess("https://sadeem.example/iceberg", "alpha", CATALOG_TOKEN),
        task=spark,
        parameters={},
        work_dir=work_dir,
        log=log or Log(),
        connection=connection,
    )


TASKS = {
    "pyspark inline": SparkTask(
        kind="pyspark",
        source="from pyspark.sql import SparkSession\nSparkSession.builder.getOrCreate().range(3).show()\n",
        args=("--day", "2024-01-01"),
        conf={"spark.sql.shuffle.partitions": "8"},
        driver=Resources(cores=2, memory="2g"),
        executor=Resources(cores=3, memory="4g", instances=5),
    ),
    "pyspark file": SparkTask(kind="pyspark", file="s3a://code/jobs/daily.py"),
    "sql inline": SparkTask(kind="sql", source="CREATE TABLE t AS SELECT 1 AS one;\nSELECT * FROM t"),
    "sql file": SparkTask(kind="sql", file="local:///opt/jobs/daily.sql"),
    "jar": SparkTask(
        kind="jar", file="local:///opt/jobs/app.jar", main_class="com.example.Daily", args=("x",)
    ),
}


def _render(spark: SparkTask) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any]]:
    task = _task(spark)
    return (
        render_spark_application(task, NAMESPACE, "registry.local/spark:3.5.9", "spark-driver"),
        render_program_config_map(task, NAMESPACE),
        render_catalog_secret(task, NAMESPACE),
    )


def _assert_valid_metadata(metadata: dict[str, Any]) -> None:
    assert DNS_LABEL.match(metadata["name"]) and len(metadata["name"]) <= 63
    assert metadata["namespace"] == NAMESPACE
    for key, value in metadata["labels"].items():
        assert LABEL_VALUE.match(value) and len(value) <= 63, (key, value)


# --- rendering ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", TASKS)
def test_rendered_objects_validate_against_their_schemas(kind: str) -> None:
    application, program, secret = _render(TASKS[kind])

    errors = [error.message for error in spark_application_validator().iter_errors(application)]
    assert errors == []
    _assert_valid_metadata(application["metadata"])
    for body, model in ((program, k8s.V1ConfigMap), (secret, k8s.V1Secret)):
        if body is not None:
            # The client's v1 models refuse unknown fields and wrong types; round-tripped, nothing is lost.
            assert model.model_validate(body).model_dump(by_alias=True, exclude_none=True) == body
            _assert_valid_metadata(body["metadata"])
            assert all(
                re.match(r"^[-._a-zA-Z0-9]+$", key) for key in body.get("data", body.get("stringData"))
            )

    # The token is in the Secret only.
    assert CATALOG_TOKEN not in json.dumps(application) + json.dumps(program)
    assert CATALOG_TOKEN in json.dumps(secret)


def test_an_inline_pyspark_job_is_shipped_in_a_config_map() -> None:
    application, program, secret = _render(TASKS["pyspark inline"])
    spec = application["spec"]
    assert application["metadata"]["name"] == APP
    assert application["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "sadeem",
        "sadeem.io/run-id": "42",
        "sadeem.io/attempt": "2",
        "sadeem.io/workspace": "alpha",
    }
    assert (spec["type"], spec["pythonVersion"], spec["mode"], spec["sparkVersion"]) == (
        "Python",
        "3",
        "cluster",
        "3.5.9",
    )
    assert spec["image"] == "registry.local/spark:3.5.9"
    assert spec["mainApplicationFile"] == f"local://{PROGRAM_DIR}/job.py"
    assert spec["arguments"] == ["--day", "2024-01-01"]
    assert spec["restartPolicy"] == {"type": "Never"}
    assert spec["timeToLiveSeconds"] > 0
    assert {k: spec["driver"][k] for k in ("cores", "memory", "serviceAccount")} == {
        "cores": 2,
        "memory": "2g",
        "serviceAccount": "spark-driver",
    }
    assert {k: spec["executor"][k] for k in ("cores", "memory", "instances")} == {
        "cores": 3,
        "memory": "4g",
        "instances": 5,
    }
    assert spec["driver"]["configMaps"] == [{"name": f"{APP}-program", "path": PROGRAM_DIR}]
    assert spec["driver"]["secrets"] == [
        {"name": f"{APP}-catalog", "path": CATALOG_MOUNT_DIR, "secretType": "Generic"}
    ]
    assert spec["driver"]["envVars"] == {"JDK_JAVA_OPTIONS": f"@{CATALOG_MOUNT_DIR}/jvm-options"}
    assert spec["sparkConf"] == {
        "spark.sql.shuffle.partitions": "8",
        "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        "spark.sql.defaultCatalog": "iceberg",
        "spark.sql.catalog.iceberg": "org.apache.iceberg.spark.SparkCatalog",
        "spark.sql.catalog.iceberg.type": "rest",
        "spark.sql.catalog.iceberg.uri": "https://sadeem.example/iceberg",
        "spark.sql.catalog.iceberg.warehouse": "alpha",
        "spark.sql.catalog.iceberg.default-namespace": "alpha",
        "spark.sql.catalog.iceberg.rest.auth.type": "oauth2",
        "spark.sql.catalog.iceberg.token-refresh-enabled": "false",
    }
    assert program is not None and program["data"] == {"job.py": TASKS["pyspark inline"].source}
    assert secret["stringData"] == {"jvm-options": f'"-Dspark.sql.catalog.iceberg.token={CATALOG_TOKEN}"\n'}


def test_sql_runs_through_the_runner_and_jars_through_their_main_class() -> None:
    application, program, _ = _render(TASKS["sql inline"])
    assert application["spec"]["mainApplicationFile"] == f"local://{PROGRAM_DIR}/spark_sql_runner.py"
    assert application["spec"]["arguments"] == [f"{PROGRAM_DIR}/job.sql"]
    assert program is not None and sorted(program["data"]) == ["job.sql", "spark_sql_runner.py"]

    application, program, _ = _render(TASKS["sql file"])
    assert application["spec"]["arguments"] == ["/opt/jobs/daily.sql"]
    assert program is not None and sorted(program["data"]) == ["spark_sql_runner.py"]

    application, program, _ = _render(TASKS["pyspark file"])
    assert application["spec"]["mainApplicationFile"] == "s3a://code/jobs/daily.py"
    assert program is None and "configMaps" not in application["spec"]["driver"]

    application, program, _ = _render(TASKS["jar"])
    spec = application["spec"]
    assert (spec["type"], spec["mainClass"], spec["mainApplicationFile"], spec["arguments"]) == (
        "Scala",
        "com.example.Daily",
        "local:///opt/jobs/app.jar",
        ["x"],
    )
    assert program is None and "pythonVersion" not in spec


@pytest.mark.parametrize(
    ("spark", "message"),
    [
        (SparkTask(kind="pyspark", source="", conf={"spark.sql.catalog.iceberg.uri": "x"}), "may not set"),
        (
            SparkTask(
                kind="pyspark", source="", conf={"spark.kubernetes.driverEnv.JDK_JAVA_OPTIONS": "-Dx=y"}
            ),
            "may not set spark.kubernetes.driverEnv.JDK_JAVA_OPTIONS",
        ),
        (SparkTask(kind="pyspark", file="/home/me/job.py"), "needs a file URI the cluster can reach"),
        (SparkTask(kind="jar", source="x", main_class="A"), "a jar task needs a file and main_class"),
        (SparkTask(kind="sql", source="SELECT 1", args=("x",)), "a Spark SQL task takes no args"),
        (SparkTask(kind="pyspark", source="#" * 1_000_001), "larger than 1 MB"),
    ],
)
def test_what_cannot_run_is_refused(spark: SparkTask, message: str) -> None:
    with pytest.raises(EngineRefused, match=message):
        SparkKubernetesEngine().submit(
            _task(spark, connection={"api_server": "https://k8s", "namespace": NAMESPACE})
        )


# --- against the API double --------------------------------------------------------------------


@pytest.fixture
def tls(tmp_path: Path) -> Tls:
    return make_tls(tmp_path / "tls")


@pytest.fixture
def api(tls: Tls) -> Iterator[KubernetesApiDouble]:
    with kubernetes_api_double(tls, token=K8S_TOKEN, namespace=NAMESPACE) as double:
        yield double


def _connection(api: KubernetesApiDouble, tls: Tls, **changes: Any) -> dict[str, object]:
    """As the worker hands it over: the config's dump, with the secrets in plain text."""
    config = SparkK8sConfig.model_validate(
        {
            "type": "spark_k8s",
            "api_server": api.url,
            "namespace": NAMESPACE,
            "service_account": "spark-driver",
            "token": K8S_TOKEN,
            "ca_cert": tls.ca_pem,
            "image": "registry.local/spark:3.5.9",
        }
        | changes
    )
    return config.model_dump(by_alias=False) | config.secret_values()


def _wait(condition: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _finished(execution: SparkApplicationExecution) -> ExecutionStatus:
    _wait(lambda: execution.status().finished, "the execution to finish")
    return execution.status()


@pytest.fixture
def submit(
    api: KubernetesApiDouble, tls: Tls
) -> Iterator[Callable[..., tuple[SparkApplicationExecution, Log]]]:
    executions: list[SparkApplicationExecution] = []

    def start(
        spark: SparkTask = TASKS["pyspark inline"], **changes: Any
    ) -> tuple[SparkApplicationExecution, Log]:
        log = Log()
        execution = SparkKubernetesEngine(poll_seconds=POLL).submit(
            _task(spark, connection=_connection(api, tls, **changes), log=log)
        )
        executions.append(execution)
        return execution, log

    yield start
    for execution in executions:
        execution.close()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, DEFAULT_SPARK_VERSION),
        ({"image": "registry.local/spark:4.0.1-iceberg", "spark_version": "4.0.1"}, "4.0.1"),
    ],
)
def test_the_connection_names_the_image_and_its_spark_version(
    api: KubernetesApiDouble,
    submit: Callable[..., tuple[SparkApplicationExecution, Log]],
    changes: dict[str, str],
    expected: str,
) -> None:
    submit(**changes)
    _wait(lambda: api.application(APP) is not None, "the application")
    application = api.application(APP)
    assert application is not None
    assert application["spec"]["sparkVersion"] == expected
    assert application["spec"]["image"] == changes.get("image", "registry.local/spark:3.5.9")
    assert SparkK8sConfig.model_fields["spark_version"].default == DEFAULT_SPARK_VERSION


@pytest.mark.parametrize("version", ["2.4.8", "3.4.1", "4.0", "latest"])
def test_a_spark_version_other_than_3_5_or_4_is_refused(version: str) -> None:
    with pytest.raises(ValueError, match="spark_version"):
        SparkK8sConfig.model_validate(
            {
                "type": "spark_k8s",
                "api_server": "https://k8s.example:6443",
                "namespace": NAMESPACE,
                "token": K8S_TOKEN,
                "spark_version": version,
            }
        )


def test_a_run_goes_from_created_to_completed_with_the_driver_log(
    api: KubernetesApiDouble, submit: Callable[..., tuple[SparkApplicationExecution, Log]]
) -> None:
    execution, log = submit()
    _wait(
        lambda: api.application(APP) is not None and len(api.objects) == 3, "the application and its objects"
    )
    application = api.application(APP)
    assert application is not None
    assert execution.status() == ExecutionStatus(ExecutionState.RUNNING)
    (create,) = api.calls("POST", "/sparkapplications$")
    assert create.query == {"fieldValidation": "Strict"}
    assert create.headers["authorization"] == f"Bearer {K8S_TOKEN}"
    owner = [
        {
            "apiVersion": "sparkoperator.k8s.io/v1beta2",
            "kind": "SparkApplication",
            "name": APP,
            "uid": application["metadata"]["uid"],
        }
    ]
    for plural, name in (("configmaps", f"{APP}-program"), ("secrets", f"{APP}-catalog")):
        assert api.objects[(plural, name)]["metadata"]["ownerReferences"] == owner

    api.set_state(APP, "SUBMITTED")
    api.set_state(APP, "RUNNING", driver_pod=f"{APP}-driver")
    api.write_log(f"{APP}-driver", "starting", f"catalog token is {CATALOG_TOKEN}")
    _wait(lambda: "starting" in log.copy(), "the first log lines")
    time.sleep(3 * POLL)  # more polls that read overlapping windows of the log
    api.write_log(
        f"{APP}-driver", "+---+", "| id|", "+---+"
    )  # same lines again: kept, as the driver wrote them
    api.set_state(APP, "SUCCEEDING")
    assert execution.status().state is ExecutionState.RUNNING
    api.write_log(f"{APP}-driver", "done")
    api.set_state(APP, "COMPLETED")

    assert _finished(execution) == ExecutionStatus(ExecutionState.SUCCEEDED)
    assert log.copy() == [
        f"sadeem: created SparkApplication {NAMESPACE}/{APP}",
        "starting",
        "catalog token is [REDACTED]",
        "+---+",
        "| id|",
        "+---+",
        "done",
    ]
    log_reads = api.calls("GET", "/log$")
    assert log_reads[0].query == {"timestamps": "true"}
    assert all(int(read.query["sinceSeconds"]) >= 1 for read in log_reads[1:])
    # The token's Secret goes when the application ends; the program stays with the application.
    assert ("Secret", f"{APP}-catalog") in api.deleted
    assert ("configmaps", f"{APP}-program") in api.objects and api.application(APP) is not None


def test_status_is_cheap_and_polls_are_spaced(
    api: KubernetesApiDouble, submit: Callable[..., tuple[SparkApplicationExecution, Log]]
) -> None:
    execution, log = submit()
    _wait(lambda: log.copy(), "the application and its objects")  # the engine says it created them
    started, requests = time.monotonic(), len(api.requests)
    for _ in range(500):
        assert execution.status().state is ExecutionState.RUNNING
    time.sleep(1.0)
    polls = len(api.calls("GET", f"/sparkapplications/{APP}$"))
    assert 1 <= polls <= (time.monotonic() - started) / POLL + 1
    assert len(api.requests) - requests == polls  # status() itself asked nothing
    assert SparkKubernetesEngine()._poll_seconds == 1.0


def test_a_failed_application_reports_the_driver_exception_and_the_operator_message(
    api: KubernetesApiDouble, submit: Callable[..., tuple[SparkApplicationExecution, Log]]
) -> None:
    execution, log = submit()
    _wait(lambda: api.application(APP) is not None, "the application")
    api.set_state(APP, "RUNNING", driver_pod=f"{APP}-driver")
    api.write_log(
        f"{APP}-driver",
        "Traceback (most recent call last):",
        '  File "/opt/sadeem/program/job.py", line 2, in <module>',
        "pyspark.errors.exceptions.captured.AnalysisException: [TABLE_OR_VIEW_NOT_FOUND] The table or view "
        f"`nope` cannot be found (token {CATALOG_TOKEN})",
    )
    api.set_state(
        APP, "FAILED", error_message=f"driver container failed with ExitCode: 1, Reason: Error {K8S_TOKEN}"
    )

    status = _finished(execution)
    assert status == ExecutionStatus(
        ExecutionState.FAILED,
        "pyspark.errors.exceptions.captured.AnalysisException: [TABLE_OR_VIEW_NOT_FOUND] The table or view "
        "`nope` cannot be found (token [REDACTED]) | driver container failed with ExitCode: 1, Reason: Error "
        "[REDACTED]",
    )
    assert not [line for line in log.copy() if CATALOG_TOKEN in line or K8S_TOKEN in line]


def test_a_submission_failure_is_reported_from_the_operator(
    api: KubernetesApiDouble, submit: Callable[..., tuple[SparkApplicationExecution, Log]]
) -> None:
    execution, _ = submit(TASKS["jar"])
    _wait(lambda: api.application(APP) is not None, "the application")
    api.set_state(APP, "SUBMISSION_FAILED", error_message="failed to run spark-submit: image pull backoff")
    assert _finished(execution) == ExecutionStatus(
        ExecutionState.FAILED, "failed to run spark-submit: image pull backoff"
    )


def test_cancel_deletes_the_application_and_what_it_owns(
    api: KubernetesApiDouble, submit: Callable[..., tuple[SparkApplicationExecution, Log]]
) -> None:
    execution, _ = submit()
    _wait(lambda: len(api.objects) == 3, "the application and its objects")
    api.set_state(APP, "RUNNING", driver_pod=f"{APP}-driver")

    execution.cancel()
    assert execution.status() == ExecutionStatus(ExecutionState.CANCELLED)
    assert sorted(api.deleted) == [
        ("ConfigMap", f"{APP}-program"),
        ("Secret", f"{APP}-catalog"),
        ("SparkApplication", APP),
    ]
    assert api.objects == {}
    (delete,) = api.calls("DELETE", f"/sparkapplications/{APP}$")
    assert delete.query == {"propagationPolicy": "Background"}
    polls = len(api.calls("GET", "/sparkapplications/"))
    time.sleep(3 * POLL)
    assert len(api.calls("GET", "/sparkapplications/")) == polls  # it stopped watching
    execution.cancel()  # idempotent
    assert len(api.calls("DELETE", "")) == 3


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"token": "not-the-right-token"},
            r"^Kubernetes API: creating SparkApplication spark-jobs/sadeem-run-42-2 failed with HTTP 401 "
            r"Unauthorized: Unauthorized \(the connection's token was not accepted\)$",
        ),
        (
            {"namespace": "elsewhere"},
            r"failed with HTTP 403 Forbidden: .* cannot access resource \"sparkapplications\" in namespace "
            r"\"elsewhere\" \(the connection's service account may not do this \(check its RBAC role\)\)$",
        ),
        ({"ca_cert": None}, r"failed: cannot reach https://127\.0\.0\.1:\d+: .*CERTIFICATE_VERIFY_FAILED"),
    ],
)
def test_a_cluster_that_refuses_fails_the_attempt_clearly(
    api: KubernetesApiDouble,
    submit: Callable[..., tuple[SparkApplicationExecution, Log]],
    changes: dict[str, Any],
    expected: str,
) -> None:
    execution, log = submit(**changes)
    status = _finished(execution)
    assert status.state is ExecutionState.FAILED
    assert status.message is not None and re.search(expected, status.message), status.message
    for secret in (K8S_TOKEN, CATALOG_TOKEN, "not-the-right-token"):
        assert secret not in status.message + "".join(log.copy())
    assert api.objects == {}


def test_an_application_deleted_behind_its_back_fails(
    api: KubernetesApiDouble, submit: Callable[..., tuple[SparkApplicationExecution, Log]]
) -> None:
    execution, _ = submit()
    _wait(lambda: api.application(APP) is not None, "the application")
    with api.lock:
        del api.objects[("sparkapplications", APP)]
    assert _finished(execution) == ExecutionStatus(
        ExecutionState.FAILED, f"SparkApplication {NAMESPACE}/{APP} was deleted outside Sadeem"
    )


# --- the driver side, with real Spark ----------------------------------------------------------


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_rendered_driver_reaches_the_catalog_with_the_token_from_the_secret(
    catalog_server: CatalogServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The driver pod emulated on this host: the ConfigMap and the Secret as the directories they
    are mounted at, `driver.envVars` as its environment, `sparkConf` as its Spark configuration
    (local master instead of the cluster), the application file and arguments as rendered."""
    jars = spark_jars()
    sql = "CREATE TABLE from_k8s USING iceberg AS SELECT 1 AS one;\nSELECT count(*) AS tables FROM from_k8s"
    task = _task(
        SparkTask(kind="sql", source=sql),
        catalog=CatalogAccess(catalog_server.uri, "alpha", catalog_server.world.tokens["ws_editor"]),
    )
    application = render_spark_application(task, NAMESPACE)
    program, secret = render_program_config_map(task, NAMESPACE), render_catalog_secret(task, NAMESPACE)
    assert program is not None

    def mounted(path: str) -> str:
        return path.replace(PROGRAM_DIR, str(tmp_path / "program")).replace(
            CATALOG_MOUNT_DIR, str(tmp_path / "catalog")
        )

    for directory, files in (("program", program["data"]), ("catalog", secret["stringData"])):
        (tmp_path / directory).mkdir()
        for name, text in files.items():
            (tmp_path / directory / name).write_text(text)
    spec = application["spec"]
    conf = {
        **spec["sparkConf"],
        "spark.master": "local[2]",
        "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
        "spark.ui.enabled": "false",
        "spark.sql.catalogImplementation": "in-memory",
        "spark.jars": ",".join(str(jar) for jar in jars),
    }
    (tmp_path / "spark.properties").write_text("".join(f"{k}={v}\n" for k, v in conf.items()))
    environment = {name: mounted(value) for name, value in spec["driver"]["envVars"].items()}
    pyspark = importlib.util.find_spec("pyspark")
    assert pyspark is not None and pyspark.origin is not None
    command = [
        str(Path(pyspark.origin).parent / "bin" / "spark-submit"),
        "--properties-file",
        str(tmp_path / "spark.properties"),
        mounted(spec["mainApplicationFile"].removeprefix("local://")),
        *(mounted(argument) for argument in spec["arguments"]),
    ]
    done = subprocess.run(
        command,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "PYSPARK_PYTHON": sys.executable,  # the image's Python, with pyspark
            **environment,
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )

    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "statement 2 of 2 (line 2): SELECT count(*) AS tables FROM from_k8s" in output
    assert catalog_server.world.tokens["ws_editor"] not in output
    assert catalog_server.world.tokens["ws_editor"] not in (tmp_path / "spark.properties").read_text()
    table = catalog_server.pyiceberg("ws_viewer").load_table(("alpha", "from_k8s"))
    assert table.scan().to_arrow().to_pylist() == [{"one": 1}]
    events = catalog_server.audit_events(target_id="alpha.from_k8s")
    assert [(e["action"], e["actor"]) for e in events] == [("commit_table", "ws_editor")]
