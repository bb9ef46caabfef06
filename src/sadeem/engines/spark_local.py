"""Spark in local mode on the Sadeem host: one `spark-submit` process group per attempt.

The program (inline PySpark or SQL, or a local file, or a jar) runs with the official Iceberg jars
(`spark_jars`: the Spark runtime and the AWS bundle, so `s3://` tables work) and the catalog
configuration of `spark_catalog` (plus Sadeem's S3 endpoint and keys for an `s3://` workspace). The
configuration, token and S3 secret included, goes into a 0600 `--properties-file` in the attempt's work_dir,
never onto the command line (which `ps` shows to every local user). The driver's output, stdout
and stderr interleaved, goes line by line to the task log with the token redacted.

The child gets a minimal environment (not the server's, which may hold Sadeem's own secrets), its
own process group (so cancelling reaches the JVM, the Python driver and the Python workers alike)
and the work_dir as its working and home directory. Code in a Spark job still runs as the server's
OS user: local mode is for trusted single-host setups; Kubernetes isolates runs.
"""

from __future__ import annotations

import collections
import contextlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sadeem.config import Settings
from sadeem.core.redaction import redact_secrets
from sadeem.engines import spark_jars, spark_sql_runner
from sadeem.engines.base import (
    EngineRefused,
    EngineTask,
    ExecutionState,
    ExecutionStatus,
    SparkTask,
)
from sadeem.engines.spark_catalog import catalog_conf, refuse_catalog_overrides, s3_conf
from sadeem.engines.spec import Installation

# Warnings and errors only: Spark and Iceberg log every step at INFO, which would bury the job's
# own output in the run log.
LOG4J2_PROPERTIES = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = stderr
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1}: %m%n
logger.nativecode.name = org.apache.hadoop.util.NativeCodeLoader
logger.nativecode.level = error
# Warns that `oauth2-server-uri` is unset; a static token (token-refresh-enabled=false) never uses it.
logger.oauth2.name = org.apache.iceberg.rest.auth.OAuth2Manager
logger.oauth2.level = error
"""

# What the child inherits from the server's environment; everything else (SADEEM_* settings,
# cloud credentials, ...) stays out of reach of job code.
INHERITED_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "TZ", "TMPDIR", "JAVA_HOME")

STOP_GRACE_SECONDS = 5.0
OUTPUT_DRAIN_SECONDS = 5.0
TAIL_LINES = 200
MESSAGE_MAX_CHARS = 2000

# The line that names what failed: a Python traceback's last line, a JVM's
# `Exception in thread "main" …`, py4j's `: org.apache…Exception: …`, spark-submit's `Error: …`.
_EXCEPTION_LINE = re.compile(
    r'^(?::\s*)?(?:Exception in thread "[^"]*"\s+)?'
    r"(?P<line>(?:[A-Za-z_][\w.$]*)?(?:Exception|Error)(?::\s.*)?)$"
)


class DriverOutput:
    """A Spark driver's output lines: redacted, passed on to the task log, the last ones kept to
    explain a failure. Thread-safe for one writer."""

    def __init__(self, log: Callable[[str], None], secrets: Iterable[str]) -> None:
        self._log = log
        self._secrets = [secret for secret in secrets if secret]
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)

    def redact(self, text: str) -> str:
        return redact_secrets(text, self._secrets)

    def emit(self, line: str) -> None:
        line = self.redact(line)
        self._tail.append(line)
        self._log(line)

    def failure_line(self) -> str | None:
        """The last line that names an exception, if any."""
        for line in reversed(self._tail):
            match = _EXCEPTION_LINE.match(line.strip())
            if match:
                return match["line"][:MESSAGE_MAX_CHARS]
        return None

    def last_line(self) -> str | None:
        return next((line.strip() for line in reversed(self._tail) if line.strip()), None)


class SparkLocalEngine:
    name = "spark_local"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def submit(self, task: EngineTask) -> FailedExecution | SparkSubmitExecution:
        if not isinstance(task.task, SparkTask):
            raise EngineRefused("spark_local runs Spark tasks only")
        s3_secret = self._settings.s3_secret_access_key
        output = DriverOutput(
            task.log, [task.catalog.token, s3_secret.get_secret_value() if s3_secret else ""]
        )
        try:
            launch = prepare_launch(task, self._settings)
        except LaunchImpossible as impossible:
            return FailedExecution(output.redact(str(impossible)))
        try:
            process = subprocess.Popen(  # noqa: S603  (argv built above, no shell)
                launch.argv,
                cwd=launch.cwd,
                env=launch.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as error:
            return FailedExecution(f"cannot start {launch.argv[0]}: {error.strerror}")
        return SparkSubmitExecution(process, output)


class LaunchImpossible(Exception):
    """The attempt cannot start here (a missing file, no spark-submit, no Iceberg jars): FAILED."""


@dataclass(frozen=True)
class SparkSubmitLaunch:
    argv: list[str]
    env: dict[str, str]
    cwd: Path


def prepare_launch(task: EngineTask, settings: Settings) -> SparkSubmitLaunch:
    """Write the attempt's files into `task.work_dir` and compose the `spark-submit` call.
    Raises EngineRefused for a conf that touches the catalog, LaunchImpossible for what is
    missing on this host."""
    spark = task.task
    assert isinstance(spark, SparkTask)
    connection = task.connection or {}
    connection_conf = _string_map(connection.get("conf"))
    refuse_catalog_overrides(
        [("the connection's Spark conf", connection_conf), ("the job's Spark conf", spark.conf)]
    )

    work_dir = task.work_dir
    application, application_args = _application(spark, work_dir)
    if spark.kind == "sql":
        application_args += spark_sql_runner.parameter_args(task.parameters)
    spark_home = _spark_home(connection.get("spark_home"))
    jars_dir = spark_jars.jars_dir(settings)
    jars = sorted(jars_dir.glob("*.jar"))
    if not jars:
        raise LaunchImpossible(spark_jars.missing_jars_message(jars_dir))

    conf = {
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # No Hive metastore and no spark-warehouse/ of its own: tables live in the catalog.
        "spark.sql.catalogImplementation": "in-memory",
        "spark.sql.warehouse.dir": (work_dir / "spark-warehouse").as_uri(),
        **connection_conf,
        **spark.conf,
        **catalog_conf(task.catalog, task.workspace),
        **s3_conf(settings, task.workspace),
    }
    properties = work_dir / "spark.properties"
    fd = os.open(properties, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.writelines(f"{_escape(key, is_key=True)}={_escape(value)}\n" for key, value in conf.items())
    conf_dir = work_dir / "spark-conf"
    conf_dir.mkdir(exist_ok=True)
    (conf_dir / "log4j2.properties").write_text(LOG4J2_PROPERTIES)

    argv = [
        str(spark_home / "bin" / "spark-submit"),
        "--master",
        str(connection.get("master") or "local[*]"),
        "--name",
        f"sadeem-run-{task.run_id}-{task.attempt}",
        "--properties-file",
        str(properties),
        "--jars",
        ",".join(str(jar) for jar in jars),
        "--driver-memory",
        spark.driver.memory,
    ]
    if spark.kind == "jar":
        argv += ["--class", str(spark.main_class)]
    argv += [application, *application_args]
    return SparkSubmitLaunch(argv, _environment(connection.get("java_home"), work_dir, conf_dir), work_dir)


def _application(spark: SparkTask, work_dir: Path) -> tuple[str, list[str]]:
    """The application file spark-submit runs and the arguments it gets."""
    if spark.kind == "jar" and not spark.main_class:
        raise EngineRefused("a jar task needs main_class")
    if spark.kind == "sql" and spark.args:
        raise EngineRefused("a Spark SQL task takes no args")
    if spark.file:
        program = _local_file(spark.file)
    elif spark.source is not None and spark.kind != "jar":
        program = work_dir / ("job.sql" if spark.kind == "sql" else "job.py")
        program.write_text(spark.source, encoding="utf-8")
    else:
        raise EngineRefused(
            f"a {spark.kind} task needs a file" + ("" if spark.kind == "jar" else " or source")
        )
    if spark.kind == "sql":
        return str(Path(spark_sql_runner.__file__)), [str(program)]
    return str(program), list(spark.args)


def _local_file(file: str) -> Path:
    parts = urlsplit(file)
    if parts.scheme not in ("", "file"):
        raise LaunchImpossible(f"spark_local runs local files only, not {parts.scheme}:// ({file})")
    path = Path(parts.path if parts.scheme else file)
    if not path.is_file():
        raise LaunchImpossible(f"file not found: {file}")
    return path


def _spark_home(configured: object) -> Path:
    """The connection's spark_home, else the pyspark package (a Spark distribution itself),
    else the distribution of the spark-submit on PATH."""
    if configured:
        home = Path(str(configured))
    elif (pyspark := importlib.util.find_spec("pyspark")) is not None and pyspark.origin:
        home = Path(pyspark.origin).parent
    elif found := shutil.which("spark-submit"):
        home = Path(found).resolve().parent.parent
    else:
        raise LaunchImpossible("spark-submit not found: set spark_home, or install pyspark (`make spark`)")
    if not os.access(home / "bin" / "spark-submit", os.X_OK):
        raise LaunchImpossible(f"spark-submit not found: {home / 'bin' / 'spark-submit'}")
    return home


def installation(settings: Settings) -> Installation:
    """The Spark distribution, Java and Iceberg jars a run without a connection would use, found
    without starting anything (a connection's spark_home or java_home may point elsewhere)."""
    try:
        home = _spark_home(None)
    except LaunchImpossible as exc:
        return Installation(False, str(exc))
    found = importlib.util.find_spec("pyspark") is not None
    version = importlib.metadata.version("pyspark") if found else None
    if shutil.which("java") is None:
        return Installation(
            False, "java not found on PATH (set java_home on a spark_local connection)", version
        )
    jars_dir = spark_jars.jars_dir(settings)
    if not any(jars_dir.glob("*.jar")):
        return Installation(False, spark_jars.missing_jars_message(jars_dir), version)
    if settings.spark_jars_dir is None and version and not version.startswith(f"{spark_jars.SPARK_MINOR}."):
        return Installation(
            False,
            f"pyspark {version} is installed but the Iceberg runtime in {jars_dir} is for Spark "
            f"{spark_jars.SPARK_MINOR}: `make spark` installs the matching pyspark",
            version,
        )
    return Installation(True, f"spark-submit in {home}, java on PATH", version)


def _environment(java_home: object, work_dir: Path, conf_dir: Path) -> dict[str, str]:
    env = {name: os.environ[name] for name in INHERITED_ENVIRONMENT if name in os.environ}
    env.setdefault("PATH", os.defpath)
    if java_home:
        env["JAVA_HOME"] = str(java_home)
        env["PATH"] = f"{Path(str(java_home)) / 'bin'}{os.pathsep}{env['PATH']}"
    env.update(
        HOME=str(work_dir),
        SPARK_CONF_DIR=str(conf_dir),  # on the driver's classpath first: our log4j2.properties
        SPARK_LOCAL_IP="127.0.0.1",
        # The driver's and the workers' Python: this one, which has pyspark and pyarrow.
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
    )
    return env


def _escape(text: str, *, is_key: bool = False) -> str:
    """`text` as java.util.Properties reads it back (Spark loads the file with Properties.load)."""
    out = []
    for index, char in enumerate(text):
        if char == "\\":
            out.append("\\\\")
        elif char in "\n\r\t\f":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f"}[char])
        elif char in "=:#!" or (char == " " and (is_key or index == 0)):
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def _string_map(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(key): str(item) for key, item in value.items()}


class FailedExecution:
    """An attempt that could not start: FAILED from the first look."""

    def __init__(self, message: str) -> None:
        self._status = ExecutionStatus(ExecutionState.FAILED, message)

    def status(self) -> ExecutionStatus:
        return self._status

    def cancel(self) -> None:
        pass

    def result(self) -> None:
        return None

    def close(self) -> None:
        pass


class SparkSubmitExecution:
    def __init__(self, process: subprocess.Popen[bytes], output: DriverOutput) -> None:
        self._process = process
        self._output = output
        self._lock = threading.Lock()
        self._cancelled = False
        self._reader = threading.Thread(
            target=self._read_output, name=f"spark-submit-{process.pid}", daemon=True
        )
        self._reader.start()

    @property
    def process_group(self) -> int:
        return self._process.pid  # started with start_new_session: it leads its own group

    def _read_output(self) -> None:
        stream = self._process.stdout
        assert stream is not None
        with stream:
            for raw in stream:
                self._output.emit(raw.decode("utf-8", errors="replace").rstrip("\r\n"))

    def status(self) -> ExecutionStatus:
        code = self._process.poll()
        if code is None:
            return ExecutionStatus(ExecutionState.RUNNING)
        # The process is gone; its last lines (the exception) may still be in the pipe.
        self._reader.join(OUTPUT_DRAIN_SECONDS)
        if self._cancelled:
            return ExecutionStatus(ExecutionState.CANCELLED)
        if code == 0:
            return ExecutionStatus(ExecutionState.SUCCEEDED)
        return ExecutionStatus(ExecutionState.FAILED, self._failure_message(code))

    def _failure_message(self, code: int) -> str:
        found = self._output.failure_line()
        if found:
            return found
        message = f"spark-submit exited with code {code}"
        if code < 0:
            message = f"spark-submit was killed by signal {-code}"
        last = self._output.last_line()
        return f"{message}; last output: {last}" if last else message

    def cancel(self) -> None:
        """SIGTERM to the whole process group (the JVM stops Spark cleanly), SIGKILL to what is
        left after STOP_GRACE_SECONDS. Returns when no process of the group is alive."""
        with self._lock:
            if self._process.poll() is None:
                self._cancelled = True
            self._stop_group()

    def _stop_group(self) -> None:
        if self._process.poll() is not None and not group_alive(self.process_group):
            return
        _signal_group(self.process_group, signal.SIGTERM)
        if not self._wait_for_group(STOP_GRACE_SECONDS):
            _signal_group(self.process_group, signal.SIGKILL)
            self._wait_for_group(STOP_GRACE_SECONDS)
        # /proc may stop showing the exiting leader a moment before it can be reaped: wait for it,
        # so status() reports the end as soon as cancel() returns.
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(STOP_GRACE_SECONDS)

    def _wait_for_group(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            self._process.poll()  # reaps the leader, which would otherwise stay a zombie
            if not group_alive(self.process_group):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    def result(self) -> None:
        return None

    def close(self) -> None:
        with self._lock:
            self._stop_group()  # still running, or a straggler the driver left behind
        self._reader.join(OUTPUT_DRAIN_SECONDS)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def group_alive(pgid: int) -> bool:
    """Whether a process of group `pgid` still runs (zombies, already dead, do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # exited while we looked
            continue
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False
