"""The embedded default SQL engine: DuckDB 1.5.5 with its iceberg extension, fenced to one
workspace and attached to the built-in Iceberg REST catalog as the run's owner.

Job SQL (Trino dialect, `:name` markers) is parsed and transpiled with sqlglot at submit, in the
server; every statement is checked against the host-side guard (`engines/duckdb_fence.py`) before
anything runs, so a refused statement, a syntax error or a parameter without a value fails the
attempt with EngineRefused and nothing of the job is executed.

The checked statements then run in an engine process of their own (`engines/duckdb_process.py`),
never in the server's: a crash, an abort, a runaway allocation or a query that ignores interrupts
ends that process only, and the statement or run ends FAILED (or CANCELLED / TIMED_OUT when the
server killed it). Errors while running arrive as FAILED. The last statement's rows stream back as
Arrow IPC: result() hands out a reader, and an error DuckDB meets late in a large result is raised
while that reader is read.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import IO

import pyarrow as pa
from sqlglot import exp

from sadeem.config import Settings
from sadeem.core.redaction import redact_secrets
from sadeem.engines.base import (
    EngineRefused,
    EngineTask,
    ExecutionState,
    ExecutionStatus,
    ParameterValue,
    SqlTask,
)
from sadeem.engines.duckdb_fence import check_statement
from sadeem.engines.duckdb_process import (
    CreateTableAs,
    ExtensionIdentities,
    PlannedStatement,
    ProcessTask,
    S3Access,
    verify_extensions,
)
from sadeem.engines.sql_text import (
    SqlProblem,
    parameter_names,
    parse_statements,
    statement_line,
    to_duckdb,
)

# How long a cancelled engine process may take to stop on DuckDB's interrupt before it is killed:
# an interrupt is not always seen (a long string function, an HTTP call to the catalog).
_STOP_GRACE_SECONDS = 1.0


class DuckDBEngine:
    """Runs each SQL task in an engine process of its own, bounded by the operating system."""

    name = "duckdb"

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings if settings is not None else Settings()

    def warm_up(self) -> None:
        """Start the warm spares now (server start), not at the first statement."""
        _SPARES.refill(self._settings.duckdb_warm_processes)

    def submit(self, task: EngineTask) -> DuckDBExecution:
        if not isinstance(task.task, SqlTask):
            raise EngineRefused("The DuckDB engine runs SQL tasks only.")
        try:
            statements = _plan(task.task.sql, task.parameters)
        except SqlProblem as problem:
            raise EngineRefused(problem.detail) from None
        return self.start_checked(task, statements)

    def start_checked(self, task: EngineTask, statements: Sequence[PlannedStatement]) -> DuckDBExecution:
        """Run statements the host guard has passed (`submit` plans and checks them first)."""
        settings = self._settings
        work = ProcessTask(
            statements=tuple(statements),
            catalog=task.catalog,
            storage=task.workspace,
            work_dir=task.work_dir,
            s3=_s3_access(settings) if task.workspace.location.startswith("s3://") else None,
            threads=settings.duckdb_threads,
            memory_limit=settings.duckdb_memory_limit,
            address_space_bytes=settings.duckdb_process_memory_mb * 1024**2,
            cpu_seconds=settings.duckdb_process_cpu_seconds,
        )
        secrets = [task.catalog.token, *([work.s3.secret] if work.s3 else [])]
        execution = DuckDBExecution(task, _SPARES.take(), secrets, settings.duckdb_warm_processes)
        execution.start(work)
        return execution


def _s3_access(settings: Settings) -> S3Access | None:
    if settings.s3_access_key_id is None or settings.s3_secret_access_key is None:
        return None
    return S3Access(
        key_id=settings.s3_access_key_id,
        secret=settings.s3_secret_access_key.get_secret_value(),
        region=settings.s3_region or "us-east-1",
        path_style=settings.s3_path_style,
        endpoint_url=settings.s3_endpoint_url,
    )


def _plan(sql: str, parameters: Mapping[str, ParameterValue]) -> list[PlannedStatement]:
    parsed = parse_statements(sql)
    planned: list[PlannedStatement] = []
    for number, statement in enumerate(parsed, start=1):
        text = to_duckdb(statement)
        kind = check_statement(statement)
        values: dict[str, ParameterValue] = {}
        for name in sorted(parameter_names([statement])):
            if name not in parameters:
                raise SqlProblem(f"No value was given for parameter :{name}.")
            values[name] = parameters[name]
        planned.append(
            PlannedStatement(
                number, statement_line(statement), text, kind, values, _create_table_as(statement)
            )
        )
    return planned


def _create_table_as(statement: exp.Expr) -> CreateTableAs | None:
    if not (
        isinstance(statement, exp.Create)
        and str(statement.args.get("kind", "")).upper() == "TABLE"
        and isinstance(statement.this, exp.Table)
        and isinstance(statement.expression, exp.Query)
        and not statement.args.get("properties")  # TEMP tables, WITH (…) stay as written
    ):
        return None
    return CreateTableAs(
        table=statement.this.sql("duckdb"),
        query=to_duckdb(statement.expression),
        replace=bool(statement.args.get("replace")),
        if_not_exists=bool(statement.args.get("exists")),
    )


# --- engine processes -------------------------------------------------------------------------------


class _EngineProcess:
    """One started `python -m sadeem.engines.duckdb_process`, with its three pipes."""

    def __init__(self, verified: ExtensionIdentities) -> None:
        read_fd, write_fd = os.pipe()
        environment = dict(os.environ)
        # Bounded arenas and the system allocator for Arrow: RLIMIT_AS counts reserved address
        # space, and per-thread arenas or jemalloc's reservations would use it up unused.
        environment |= {"MALLOC_ARENA_MAX": "2", "ARROW_DEFAULT_MEMORY_POOL": "system"}
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "sadeem.engines.duckdb_process", str(write_fd), json.dumps(verified)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(write_fd,),
                env=environment,
                # In the server's process group: signals and priorities given to the group (Ctrl-C,
                # `kill -- -PGID`, renice) reach its engine work too.
            )
        finally:
            os.close(write_fd)
        self.control: IO[bytes] = os.fdopen(read_fd, "rb")
        self._ready: bool | None = None

    def wait_ready(self) -> bool:
        """Block until the process has loaded DuckDB (or died trying); whether it is usable."""
        if self._ready is None:
            line = self.control.readline()
            self._ready = line.startswith(b'{"ready"') and self.process.poll() is None
        return self._ready

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()

    def reap(self) -> None:
        """Kill (if still running), wait, close every pipe."""
        self.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr, self.control):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


class _Spares:
    """Engine processes started ahead, so a statement's wait is a pipe write, not an interpreter
    start (about 0.4 s). Each is used once: nothing of one user's work stays for the next. The
    replacement starts when a statement ends, not while it runs, so as not to compete with it; a
    statement that finds no spare ready takes the oldest one still starting rather than a new one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._verified: ExtensionIdentities | None = None
        self._spares: list[_EngineProcess] = []  # oldest first; started, ready or nearly
        self._starting = 0  # asked for, not yet started
        atexit.register(self.close)

    def take(self) -> _EngineProcess:
        while True:
            with self._lock:
                spare = self._spares.pop(0) if self._spares else None
            fresh = spare is None
            if spare is None:
                spare = _EngineProcess(self._identities())
            if spare.wait_ready():
                return spare
            stderr = _tail(spare)
            spare.reap()
            if fresh:  # a spare may have died waiting (the OOM killer); a new one may not start
                raise EngineRefused(f"The DuckDB engine process could not start: {stderr or 'no message'}")

    def refill(self, keep: int) -> None:
        """Start spares in the background until `keep` are started or being started."""
        with self._lock:
            missing = keep - len(self._spares) - self._starting
            self._starting += max(missing, 0)
        if missing > 0:
            threading.Thread(target=self._start, args=(missing,), name="duckdb-spares", daemon=True).start()

    def _start(self, count: int) -> None:
        for _ in range(count):
            try:
                spare = _EngineProcess(self._identities())
                with self._lock:
                    self._spares.append(spare)
            finally:
                with self._lock:
                    self._starting -= 1

    def _identities(self) -> ExtensionIdentities:
        with self._lock:
            if self._verified is None:
                # Checked here once per server process, signatures enforced (no user SQL involved).
                self._verified = verify_extensions()
            return self._verified

    def close(self) -> None:
        with self._lock:
            spares, self._spares = self._spares, []
        for spare in spares:
            spare.reap()


_SPARES = _Spares()


class DuckDBExecution:
    """The server's side of one engine process: status() and cancel() may be called from any thread."""

    def __init__(self, task: EngineTask, engine: _EngineProcess, secrets: Sequence[str], spares: int) -> None:
        self._task = task
        self._spares = spares  # how many warm spares to keep once this one's work is over
        self._engine = engine
        self._secrets = [secret for secret in secrets if secret]
        self._lock = threading.Lock()
        self._state = ExecutionState.RUNNING
        self._message: str | None = None
        self._has_rows = False
        self._late_error: str | None = None
        self._killed = False
        self._ended = threading.Event()  # the process sent `end` or is gone
        self._reader = threading.Thread(
            target=self._follow, name=f"duckdb-run-{task.run_id}-{task.attempt}", daemon=True
        )

    def start(self, work: ProcessTask) -> None:
        stdin = self._engine.process.stdin
        assert stdin is not None
        try:
            pickle.dump(work, stdin)
            stdin.flush()
        except OSError:
            pass  # it died meanwhile: `_follow` reports how
        self._reader.start()

    def status(self) -> ExecutionStatus:
        with self._lock:
            return ExecutionStatus(self._state, self._message)

    def cancel(self) -> None:
        with self._lock:
            if self._state is not ExecutionState.RUNNING:
                return
            self._state = ExecutionState.CANCELLED
            self._message = "Cancelled."
        self._log("cancelled")
        self._stop()

    def result(self) -> pa.RecordBatchReader | None:
        with self._lock:
            if self._state is not ExecutionState.SUCCEEDED or not self._has_rows:
                return None
        stdout = self._engine.process.stdout
        assert stdout is not None
        try:
            stream = pa.ipc.open_stream(stdout)
        except pa.ArrowInvalid as error:
            raise RuntimeError(self._late_failure() or f"The result could not be read: {error}") from None
        return pa.RecordBatchReader.from_batches(stream.schema, self._batches(stream))

    def close(self) -> None:
        with self._lock:
            if self._state is ExecutionState.RUNNING:
                self._state = ExecutionState.CANCELLED
                self._message = "Closed before it finished."
            self._killed = True
        self._engine.reap()
        self._reader.join(timeout=10)
        _SPARES.refill(self._spares)

    # --- inside ---------------------------------------------------------------------------------

    def _batches(self, stream: pa.RecordBatchStreamReader) -> Iterator[pa.RecordBatch]:
        while True:
            try:
                batch = stream.read_next_batch()
            except StopIteration:
                break
            except (pa.ArrowInvalid, OSError) as error:
                raise RuntimeError(self._late_failure() or f"The result stream broke: {error}") from None
            yield batch
        failure = self._late_failure()
        if failure is not None:
            raise RuntimeError(failure)

    def _late_failure(self) -> str | None:
        """After the rows stream ended: the engine's late error, or why its process died."""
        self._ended.wait(30)
        with self._lock:
            if self._late_error is not None:
                return self._late_error
            if self._state is not ExecutionState.SUCCEEDED:
                return self._message
        return None

    def _stop(self) -> None:
        """Ask DuckDB to stop (interrupt), then kill the process if it has not ended soon after:
        a cancel, a timeout or a lost lease always ends the work and frees its memory."""
        stdin = self._engine.process.stdin
        with contextlib.suppress(OSError, ValueError):
            assert stdin is not None
            stdin.write(b"cancel\n")
            stdin.flush()

        def kill_if_still_running() -> None:
            if not self._ended.wait(_STOP_GRACE_SECONDS):
                with self._lock:
                    self._killed = True
                self._engine.kill()

        threading.Thread(target=kill_if_still_running, name=f"{self._reader.name}-stop", daemon=True).start()

    def _follow(self) -> None:
        """Read the engine's control messages until it ends; a silent end is a crash."""
        ended_cleanly = False
        try:
            for line in self._engine.control:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if "log" in message:
                    self._log(str(message["log"]))
                elif message.get("state") == "SUCCEEDED":
                    with self._lock:
                        if self._state is ExecutionState.RUNNING:
                            self._state = ExecutionState.SUCCEEDED
                            self._has_rows = bool(message.get("rows"))
                elif message.get("state") == "FAILED":
                    self._fail(str(message.get("message") or "The statement failed."))
                elif "late_error" in message:
                    with self._lock:
                        self._late_error = self._redacted(str(message["late_error"]))
                elif message.get("end"):
                    ended_cleanly = True
                    break
        except (OSError, ValueError):
            pass  # the pipe was closed by close()
        finally:
            if not ended_cleanly:
                self._crashed()
            self._ended.set()

    def _crashed(self) -> None:
        message = self._crash_message()
        with self._lock:
            after_the_work = self._state is not ExecutionState.RUNNING and not self._killed
        if after_the_work:  # its outcome stands; the operator still learns what happened
            self._log(f"After the work ended: {message}")
        else:
            self._fail(message)

    def _crash_message(self) -> str:
        code = self._engine.process.wait()
        with self._lock:
            killed = self._killed
        if killed:
            return "The engine process was stopped."
        if code < 0:
            name = signal.Signals(-code).name
            reason = {
                "SIGXCPU": "it used up its CPU time limit",
                "SIGKILL": "it was killed (its CPU time limit, or the system ran out of memory)",
            }.get(name, f"it crashed ({name})")
        else:
            reason = f"it exited with code {code}"
        detail = _tail(self._engine)
        return (
            f"The SQL engine process ended unexpectedly: {reason}. The statement was stopped; "
            "the platform is unaffected." + (f" Last message: {self._redacted(detail)}" if detail else "")
        )

    def _fail(self, message: str) -> None:
        message = self._redacted(message)
        with self._lock:
            if self._state is not ExecutionState.RUNNING:
                return  # cancelled or closed: the interrupt is the expected way out
            self._state = ExecutionState.FAILED
            self._message = message
        for line in message.splitlines():
            if line.strip():
                self._log(line)

    def _log(self, line: str) -> None:
        self._task.log(self._redacted(line))

    def _redacted(self, text: str) -> str:
        return redact_secrets(text, self._secrets)


def _tail(engine: _EngineProcess, limit: int = 300) -> str:
    """The last line the engine process wrote to stderr (e.g. C++'s `terminate called after …`)."""
    stderr = engine.process.stderr
    if stderr is None or engine.process.poll() is None:
        return ""
    with contextlib.suppress(OSError, ValueError):
        lines = [line.strip() for line in stderr.read().decode(errors="replace").splitlines() if line.strip()]
        return lines[-1][:limit] if lines else ""
    return ""
