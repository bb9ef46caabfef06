"""Spark on Kubernetes through the Spark Operator: one `SparkApplication` (sparkoperator.k8s.io/v1beta2)
per attempt, in cluster mode, with the catalog configuration of `spark_catalog`. The connection names
the image and its Spark version (3.5.x or 4.x; default 3.5.9): the image brings the Iceberg runtime
and AWS bundle jars that match it.

Where things go, and why:

- The program. A file URI the cluster can reach (`local://` inside the image, `s3a://`, `https://`)
  is the application file as it is. Inline source (and, for SQL, `spark_sql_runner.py`) goes into a
  ConfigMap `<app>-program` that the operator mounts into the driver at /opt/sadeem/program
  (`driver.configMaps`, applied by the operator's pod webhook, on by default in its Helm chart):
  no image build and no object-store upload per run, and the source stays visible to whoever may
  read the application anyway. Executors need no copy: PySpark ships the functions they run.
- The catalog token. Iceberg reads it only from Spark configuration, and `sparkConf` is stored in
  the SparkApplication and copied by spark-submit into a ConfigMap of its own: readable by anyone
  who may read those objects. So it is kept out of both. A Secret `<app>-catalog` holds a JVM
  argument file (`-Dspark.sql.catalog.iceberg.token=…`); the driver mounts it (`driver.secrets`,
  plain Spark `spark.kubernetes.driver.secrets.*`, no webhook) and the JVM reads it through
  `JDK_JAVA_OPTIONS=@<file>` (the launcher prints the file's path, not its content). Spark turns
  `spark.*` system properties into configuration, so the catalog gets the token on the driver, the
  only process that talks to the catalog. The token is short-lived and revoked when the attempt
  ends; the Secret is deleted when the application finishes.
- Clean-up. The ConfigMap and the Secret are owned by the SparkApplication (ownerReferences), so
  deleting it (cancel, or the operator after `timeToLiveSeconds`) deletes them too.

The engine polls the application (at most once per `poll_seconds`) and the driver pod's log (only
the lines written since the previous poll) from a thread of its own; `status()` costs nothing.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from pydantic import SecretStr

from sadeem.engines import spark_sql_runner
from sadeem.engines.base import EngineRefused, EngineTask, ExecutionState, ExecutionStatus, SparkTask
from sadeem.engines.spark_catalog import catalog_conf, refuse_catalog_overrides, token_key
from sadeem.engines.spark_local import DriverOutput

DEFAULT_SPARK_VERSION = "3.5.9"
API_GROUP = "sparkoperator.k8s.io"
API_VERSION = "v1beta2"
PLURAL = "sparkapplications"
PROGRAM_DIR = "/opt/sadeem/program"
CATALOG_MOUNT_DIR = "/opt/sadeem/catalog"
JVM_OPTIONS_FILE = "jvm-options"
# The operator deletes a finished application (and what it owns) after this long.
TIME_TO_LIVE_SECONDS = 3600
CONFIG_MAP_MAX_BYTES = 1_000_000  # Kubernetes refuses ConfigMaps over 1 MiB
API_TIMEOUT = (5.0, 30.0)  # connect, read
# How long the API may be unreachable before the attempt is given up as FAILED.
UNREACHABLE_LIMIT_SECONDS = 120.0
# Log lines are fetched `since` the previous fetch, plus this much, then deduplicated by timestamp.
LOG_OVERLAP_SECONDS = 2
# The longest an API call of the monitor can take (connect and read timeouts), with a margin.
MONITOR_JOIN_SECONDS = 2 * sum(API_TIMEOUT)

# The operator's application states besides COMPLETED that end a run. All others ("", NEW,
# SUBMITTED, RUNNING, PENDING_RERUN, SUCCEEDING, FAILING, UNKNOWN) mean it is still going.
FAILED_STATES = {"FAILED", "SUBMISSION_FAILED", "INVALIDATING"}


def application_name(task: EngineTask) -> str:
    """DNS-safe and short: the operator derives the driver pod's and UI service's names from it."""
    return f"sadeem-run-{task.run_id}-{task.attempt}"


def _labels(task: EngineTask) -> dict[str, str]:
    return {
        "app.kubernetes.io/managed-by": "sadeem",
        "sadeem.io/run-id": str(task.run_id),
        "sadeem.io/attempt": str(task.attempt),
        # A label value ends with a letter or digit; a slug may end with '_'.
        "sadeem.io/workspace": task.workspace.slug.rstrip("_"),
    }


def _metadata(task: EngineTask, name: str, namespace: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "labels": _labels(task),
        "annotations": {"sadeem.io/owner": task.owner, "sadeem.io/workspace": task.workspace.slug},
    }


def _spark(task: EngineTask) -> SparkTask:
    if not isinstance(task.task, SparkTask):
        raise EngineRefused("spark_k8s runs Spark tasks only")
    return task.task


def _cluster_file(file: str) -> str:
    scheme = urlsplit(file).scheme
    if scheme in ("", "file"):
        raise EngineRefused(
            "spark_k8s needs a file URI the cluster can reach (local:// in the image, s3a://, https://), "
            f"not {file}"
        )
    return file


def _program_files(spark: SparkTask) -> dict[str, str]:
    """What the program ConfigMap holds (nothing when the task names its file)."""
    files: dict[str, str] = {}
    if spark.kind == "sql":
        files["spark_sql_runner.py"] = Path(spark_sql_runner.__file__).read_text(encoding="utf-8")
    if spark.file is None and spark.kind != "jar":
        if spark.source is None:
            raise EngineRefused(f"a {spark.kind} task needs a file or source")
        files["job.sql" if spark.kind == "sql" else "job.py"] = spark.source
    return files


def _application_file(spark: SparkTask) -> tuple[str, list[str]]:
    if spark.kind == "jar":
        if not spark.file or not spark.main_class:
            raise EngineRefused("a jar task needs a file and main_class")
        return _cluster_file(spark.file), list(spark.args)
    if spark.kind == "sql":
        if spark.args:
            raise EngineRefused("a Spark SQL task takes no args")
        sql = f"{PROGRAM_DIR}/job.sql"
        if spark.file:
            file = _cluster_file(spark.file)
            sql = urlsplit(file).path if file.startswith("local:") else file  # the runner opens local paths
        return f"local://{PROGRAM_DIR}/spark_sql_runner.py", [sql]
    if spark.file:
        return _cluster_file(spark.file), list(spark.args)
    return f"local://{PROGRAM_DIR}/job.py", list(spark.args)


def render_program_config_map(task: EngineTask, namespace: str) -> dict[str, Any] | None:
    """The ConfigMap with the inline program (and the SQL runner), or None if there is nothing
    to ship."""
    files = _program_files(_spark(task))
    if not files:
        return None
    if sum(len(text.encode()) for text in files.values()) > CONFIG_MAP_MAX_BYTES:
        raise EngineRefused("the inline program is larger than 1 MB: put it in a file the cluster can reach")
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(task, f"{application_name(task)}-program", namespace),
        "data": files,
        "immutable": True,
    }


def render_catalog_secret(task: EngineTask, namespace: str) -> dict[str, Any]:
    """The Secret with the JVM argument file that gives the driver the catalog token."""
    quoted = task.catalog.token.replace("\\", "\\\\").replace('"', '\\"')
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(task, f"{application_name(task)}-catalog", namespace),
        "type": "Opaque",
        "stringData": {JVM_OPTIONS_FILE: f'"-D{token_key()}={quoted}"\n'},
        "immutable": True,
    }


def render_spark_application(
    task: EngineTask,
    namespace: str,
    image: str | None = None,
    service_account: str | None = None,
    spark_version: str = DEFAULT_SPARK_VERSION,
) -> dict[str, Any]:
    spark = _spark(task)
    refuse_catalog_overrides(
        [("the job's Spark conf", spark.conf)], also_reserved=["spark.kubernetes.driverEnv.JDK_JAVA_OPTIONS"]
    )
    name = application_name(task)
    main_file, arguments = _application_file(spark)
    if spark.kind == "sql":
        arguments += spark_sql_runner.parameter_args(task.parameters)
    conf = {**spark.conf, **catalog_conf(task.catalog, task.workspace)}
    del conf[token_key()]  # from the Secret, see the module's docstring
    labels = _labels(task)
    driver: dict[str, Any] = {
        "cores": spark.driver.cores,
        "memory": spark.driver.memory,
        "labels": labels,
        "secrets": [{"name": f"{name}-catalog", "path": CATALOG_MOUNT_DIR, "secretType": "Generic"}],
        "envVars": {"JDK_JAVA_OPTIONS": f"@{CATALOG_MOUNT_DIR}/{JVM_OPTIONS_FILE}"},
    }
    if _program_files(spark):
        driver["configMaps"] = [{"name": f"{name}-program", "path": PROGRAM_DIR}]
    if service_account:
        driver["serviceAccount"] = service_account
    spec: dict[str, Any] = {
        "type": "Scala" if spark.kind == "jar" else "Python",
        "mode": "cluster",
        "sparkVersion": spark_version,
        "mainApplicationFile": main_file,
        "arguments": arguments,
        "sparkConf": conf,
        "restartPolicy": {"type": "Never"},  # retries are Sadeem's: a new attempt, a new token
        "timeToLiveSeconds": TIME_TO_LIVE_SECONDS,
        "driver": driver,
        "executor": {
            "cores": spark.executor.cores,
            "memory": spark.executor.memory,
            "instances": spark.executor.instances,
            "labels": labels,
        },
    }
    if spark.kind == "jar":
        spec["mainClass"] = spark.main_class
    else:
        spec["pythonVersion"] = "3"
    if image:
        spec["image"] = image
    return {
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": "SparkApplication",
        "metadata": _metadata(task, name, namespace),
        "spec": spec,
    }


def _secret_text(value: object) -> str | None:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return str(value) if value else None


def _api_client(connection: Mapping[str, object]) -> k8s.ApiClient:
    token = _secret_text(connection.get("token"))
    configuration = k8s.Configuration(
        host=str(connection["api_server"]),
        api_key={"BearerToken": token} if token else None,
        api_key_prefix={"BearerToken": "Bearer"} if token else None,
        ca_cert_data=_secret_text(connection.get("ca_cert")),
        verify_ssl=bool(connection.get("verify_tls", True)),
    )
    configuration.proxy = None  # as the connection test: no proxy from the server's environment
    return k8s.ApiClient(configuration)


class SparkKubernetesEngine:
    name = "spark_k8s"

    def __init__(self, poll_seconds: float = 1.0) -> None:
        self._poll_seconds = poll_seconds

    def submit(self, task: EngineTask) -> SparkApplicationExecution:
        if task.connection is None:
            raise EngineRefused(
                "spark_k8s needs a connection (the cluster's API server, namespace and token)"
            )
        connection = task.connection
        namespace = str(connection["namespace"])
        image, service_account = connection.get("image"), connection.get("service_account")
        application = render_spark_application(
            task,
            namespace,
            str(image) if image else None,
            str(service_account) if service_account else None,
            str(connection.get("spark_version") or DEFAULT_SPARK_VERSION),
        )
        owned = [render_catalog_secret(task, namespace)]
        if (program := render_program_config_map(task, namespace)) is not None:
            owned.append(program)
        secrets = [task.catalog.token, _secret_text(connection.get("token")) or ""]
        execution = SparkApplicationExecution(
            _api_client(connection), application, owned, DriverOutput(task.log, secrets), self._poll_seconds
        )
        execution.start()
        return execution


class SparkApplicationExecution:
    def __init__(
        self,
        api: k8s.ApiClient,
        application: dict[str, Any],
        owned: list[dict[str, Any]],
        output: DriverOutput,
        poll_seconds: float,
    ) -> None:
        self._api = api
        self._custom = k8s.CustomObjectsApi(api)
        self._core = k8s.CoreV1Api(api)
        self._application = application
        self._owned = owned
        self._name: str = application["metadata"]["name"]
        self._namespace: str = application["metadata"]["namespace"]
        self._output = output
        self._poll_seconds = poll_seconds
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._final: ExecutionStatus | None = None
        self._application_created = False
        self._deleted = False
        self._cancelled = False
        self._unreachable_since: float | None = None
        self._log_fetched_at: float | None = None
        self._log_last_stamp: tuple[str, str] | None = None
        self._log_lines_at_last_stamp = 0
        self._monitor = threading.Thread(target=self._watch, name=f"spark-k8s-{self._name}", daemon=True)

    @property
    def what(self) -> str:
        return f"SparkApplication {self._namespace}/{self._name}"

    def start(self) -> None:
        self._monitor.start()

    # --- the protocol ---

    def status(self) -> ExecutionStatus:
        with self._lock:
            return self._final or ExecutionStatus(ExecutionState.RUNNING)

    def cancel(self) -> None:
        """Delete the application (its driver and executors go with it) and what it owns, and
        return when that is done. The monitor stops first, so nothing is created afterwards."""
        with self._lock:
            if self._final is not None:
                return
            self._cancelled = True
            self._final = ExecutionStatus(ExecutionState.CANCELLED)
        self._stop.set()
        self._join_monitor()
        self._delete_everything()

    def result(self) -> None:
        return None

    def close(self) -> None:
        self.cancel()  # a no-op once finished
        self._stop.set()
        self._join_monitor()
        self._api.close()

    def _join_monitor(self) -> None:
        if self._monitor.ident is not None and self._monitor is not threading.current_thread():
            self._monitor.join(MONITOR_JOIN_SECONDS)

    # --- the monitor thread ---

    def _watch(self) -> None:
        try:
            if not self._create():
                return
            while not self._stop.wait(self._poll_seconds):
                outcome = self._poll()
                if outcome is not None:
                    self._finish(outcome)
                    return
        except Exception as error:  # the attempt must end, whatever went wrong here
            self._finish(
                ExecutionStatus(ExecutionState.FAILED, self._describe(error, f"watching {self.what}"))
            )

    def _create(self) -> bool:
        if self._stop.is_set():
            return False
        try:
            created: Any = self._custom.create_namespaced_custom_object(
                API_GROUP,
                API_VERSION,
                self._namespace,
                PLURAL,
                self._application,
                field_validation="Strict",  # a field the operator does not know is a mistake: refuse it
                _request_timeout=API_TIMEOUT,
            )
        except Exception as error:
            self._finish(
                ExecutionStatus(ExecutionState.FAILED, self._describe(error, f"creating {self.what}"))
            )
            return False
        with self._lock:
            self._application_created = True
        owner = {
            "apiVersion": f"{API_GROUP}/{API_VERSION}",
            "kind": "SparkApplication",
            "name": self._name,
            "uid": created["metadata"]["uid"],
        }
        for body in self._owned:
            if self._stop.is_set():
                break
            body = {**body, "metadata": {**body["metadata"], "ownerReferences": [owner]}}
            try:
                if body["kind"] == "Secret":
                    secret = k8s.V1Secret.model_validate(body)
                    self._core.create_namespaced_secret(self._namespace, secret, _request_timeout=API_TIMEOUT)
                else:
                    config_map = k8s.V1ConfigMap.model_validate(body)
                    self._core.create_namespaced_config_map(
                        self._namespace, config_map, _request_timeout=API_TIMEOUT
                    )
            except Exception as error:
                message = self._describe(error, f"creating the {body['kind']} {body['metadata']['name']}")
                self._delete_everything()
                self._finish(ExecutionStatus(ExecutionState.FAILED, message))
                return False
        if self._stop.is_set():  # cancelled meanwhile, and cancel() may have given up waiting
            self._delete_everything()
            return False
        self._output.emit(f"sadeem: created {self.what}")
        return True

    def _poll(self) -> ExecutionStatus | None:
        try:
            application: Any = self._custom.get_namespaced_custom_object(
                API_GROUP, API_VERSION, self._namespace, PLURAL, self._name, _request_timeout=API_TIMEOUT
            )
        except ApiException as error:
            if error.status == 404:
                return ExecutionStatus(ExecutionState.FAILED, f"{self.what} was deleted outside Sadeem")
            return self._unreachable(error)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            return self._unreachable(error)
        self._unreachable_since = None
        status = application.get("status") or {}
        state = str((status.get("applicationState") or {}).get("state") or "")
        pod = (status.get("driverInfo") or {}).get("podName")
        if pod:
            self._read_driver_log(str(pod))
        if state == "COMPLETED":
            return ExecutionStatus(ExecutionState.SUCCEEDED)
        if state in FAILED_STATES:
            error_message = (status.get("applicationState") or {}).get("errorMessage")
            found = self._output.failure_line()
            parts = [part for part in (found, error_message) if part]
            message = " | ".join(parts) if parts else f"{self.what} ended in state {state}"
            return ExecutionStatus(ExecutionState.FAILED, self._output.redact(message))
        return None

    def _unreachable(self, error: Exception) -> ExecutionStatus | None:
        now = time.monotonic()
        if self._unreachable_since is None:
            self._unreachable_since = now
            self._output.emit(f"sadeem: {self._describe(error, f'reading {self.what}')}; retrying")
        if now - self._unreachable_since < UNREACHABLE_LIMIT_SECONDS:
            return None
        message = self._describe(error, f"reading {self.what} for {UNREACHABLE_LIMIT_SECONDS:.0f} s")
        return ExecutionStatus(ExecutionState.FAILED, message)

    def _read_driver_log(self, pod: str) -> None:
        """Pass on the driver's log lines written since the previous read. The API filters by
        whole seconds, so reads overlap; lines are told apart by their timestamps."""
        options: dict[str, Any] = {"timestamps": True}
        started = time.monotonic()
        if self._log_fetched_at is not None:
            options["since_seconds"] = math.ceil(started - self._log_fetched_at) + LOG_OVERLAP_SECONDS
        try:
            response: Any = self._core.read_namespaced_pod_log(
                pod, self._namespace, _preload_content=False, _request_timeout=API_TIMEOUT, **options
            )
            # Not preloaded: the client would parse a log that happens to be JSON.
            text = response.data.decode("utf-8", errors="replace")
        except (ApiException, urllib3.exceptions.HTTPError, OSError):
            return  # not started yet, or a hiccup: the next poll reads the same lines again
        self._log_fetched_at = started
        already_seen = self._log_lines_at_last_stamp
        for line in text.splitlines():
            stamp, _, message = line.partition(" ")
            key = _stamp_key(stamp)
            if key is None:  # not a timestamp: pass the line on as it is
                self._output.emit(line)
                continue
            if self._log_last_stamp is not None and key < self._log_last_stamp:
                continue
            if key == self._log_last_stamp:
                if already_seen:
                    already_seen -= 1
                    continue
                self._log_lines_at_last_stamp += 1
            else:
                self._log_last_stamp, self._log_lines_at_last_stamp, already_seen = key, 1, 0
            self._output.emit(message)

    def _finish(self, status: ExecutionStatus) -> None:
        # The token is no longer needed (and revoked anyway): its Secret goes before the end is
        # reported. The rest stays for inspection until the operator's time-to-live runs out.
        with self._lock:
            drop_secret = self._application_created and not self._deleted
        if drop_secret:
            for body in self._owned:
                if body["kind"] == "Secret":
                    self._delete(self._core.delete_namespaced_secret, body["metadata"]["name"])
        with self._lock:
            if self._final is None:
                self._final = status

    def _delete_everything(self) -> None:
        """Once, and only if there is something to delete."""
        with self._lock:
            if self._deleted or not self._application_created:
                return
            self._deleted = True
        delete_application = self._delete(
            lambda name, namespace, **options: self._custom.delete_namespaced_custom_object(
                API_GROUP, API_VERSION, namespace, PLURAL, name, **options
            ),
            self._name,
        )
        if delete_application is not None:
            self._output.emit(f"sadeem: {delete_application}")
        for body in self._owned:
            delete = self._core.delete_namespaced_secret
            if body["kind"] == "ConfigMap":
                delete = self._core.delete_namespaced_config_map
            self._delete(delete, body["metadata"]["name"])

    def _delete(self, delete: Any, name: str) -> str | None:
        """Delete one object (already gone is fine); what went wrong, if anything."""
        try:
            delete(
                name,
                self._namespace,
                propagation_policy="Background",
                _request_timeout=API_TIMEOUT,
            )
        except ApiException as error:
            if error.status != 404:
                return self._describe(error, f"deleting {name}")
        except (urllib3.exceptions.HTTPError, OSError) as error:
            return self._describe(error, f"deleting {name}")
        return None

    def _describe(self, error: Exception, doing: str) -> str:
        if isinstance(error, ApiException):
            detail = _status_message(error.body) or error.reason or ""
            hint = {
                401: "the connection's token was not accepted",
                403: "the connection's service account may not do this (check its RBAC role)",
                404: "is the Spark Operator installed, and does the namespace exist?",
                422: "the cluster refused the object",
            }.get(int(error.status or 0))
            message = f"Kubernetes API: {doing} failed with HTTP {error.status} {error.reason}: {detail}"
            if hint:
                message += f" ({hint})"
        elif isinstance(error, urllib3.exceptions.MaxRetryError) and error.reason is not None:
            message = (
                f"Kubernetes API: {doing} failed: cannot reach {self._api.configuration.host}: {error.reason}"
            )
        else:
            message = f"Kubernetes API: {doing} failed: {type(error).__name__}: {error}"
        return self._output.redact(message)


def _status_message(body: object) -> str | None:
    """The `message` of a Kubernetes `Status` body."""
    try:
        message = json.loads(str(body)).get("message")
    except (ValueError, AttributeError):
        return None
    return str(message) if message else None


def _stamp_key(stamp: str) -> tuple[str, str] | None:
    """An RFC 3339 timestamp with nanoseconds, as Kubernetes writes them (UTC, trailing zeros of
    the fraction dropped), as something that sorts in time order."""
    if len(stamp) < 20 or stamp[4] != "-" or stamp[10] != "T" or not stamp.endswith("Z"):
        return None
    seconds, _, fraction = stamp[:-1].partition(".")
    return seconds, fraction.ljust(9, "0")
