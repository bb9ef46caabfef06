"""Trino as a Sadeem SQL engine, through the trino-python client (DB-API).

Identity: the run's owner is the Trino user (`X-Trino-User`), and the owner's short-lived catalog
token goes with every query as the extra credential `token`: a Trino whose Iceberg catalog on
Sadeem runs with `iceberg.rest-catalog.session=USER` (see scripts/trino.py) makes that query's
catalog calls with it, so Sadeem's catalog authorizes the owner and refuses another workspace's
tables inside Trino. Each attempt has a source of its own (`sadeem-<random>`), because Iceberg's
REST client caches a user's catalog session by user and source. When the connection has a password,
the client authenticates as the connection's user with HTTP Basic authentication and names the
owner as the session user; Trino treats that as impersonation, so the coordinator's access control
must allow the connection's user to impersonate workspace users (file-based access control:
`impersonation` rules). Without a password the coordinator runs without authentication and the
owner is the user outright.

Each statement is sent alone, in order, in the workspace's schema (catalog: the connection's, else
`iceberg`; schema: the workspace's root namespace). `:name` markers become `?` markers whose values
the client sends bound (`EXECUTE IMMEDIATE '…' USING …`, Trino 418 and later), never formatted
into the statement text. The last statement's rows are fetched page by page as Trino produces them
and spooled as Arrow IPC into the attempt's work_dir: SUCCEEDED means Trino finished the query,
memory holds one batch at a time, and result() streams the file.

Trino's error locations refer to the statement as sent (sqlglot writes it on one line), so a
failure message also names the statement and the line of the job's SQL where it starts.
"""

from __future__ import annotations

import base64
import math
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import requests
import trino
from pydantic import SecretStr
from trino.auth import BasicAuthentication
from trino.dbapi import ColumnDescription, Cursor
from trino.exceptions import HttpError, TrinoQueryError

from sadeem.core.redaction import redact_secrets
from sadeem.engines.base import (
    EngineRefused,
    EngineTask,
    ExecutionState,
    ExecutionStatus,
    ParameterValue,
    SqlTask,
)
from sadeem.engines.sql_text import SqlProblem, parse_statements, statement_line, to_trino_qmark

DEFAULT_CATALOG = "iceberg"
SOURCE = "sadeem"
# Client tag naming the workspace: the data plane chart selects its resource group by it.
WORKSPACE_TAG_PREFIX = "workspace:"
CLASS_TAG_PREFIX = "class:"  # batch (a job's run) or interactive (a worksheet statement)
CATALOG_TOKEN_CREDENTIAL = "token"  # noqa: S105 — the name Iceberg's REST client reads a bearer token under
PROGRESS_INTERVAL_SECONDS = 1.0
_RAW_TYPE = re.compile(r"^[a-z ]+")


@dataclass(frozen=True)
class Coordinator:
    """The settings of a Trino connection that the engine uses (a TrinoConfig dump)."""

    host: str
    port: int
    http_scheme: str
    user: str
    catalog: str | None
    password: str | None
    verify_tls: bool

    @classmethod
    def from_connection(cls, connection: Mapping[str, object]) -> Coordinator:
        password = connection.get("password")
        if isinstance(password, SecretStr):
            password = password.get_secret_value()
        catalog = connection.get("catalog")
        return cls(
            host=str(connection["host"]),
            port=int(str(connection.get("port") or 8080)),
            http_scheme=str(connection.get("http_scheme") or "http"),
            user=str(connection["user"]),
            catalog=str(catalog) if catalog else None,
            password=str(password) if password else None,
            verify_tls=connection.get("verify_tls", True) is not False,
        )

    @property
    def secrets(self) -> list[str]:
        """The password, and the Basic-auth header value made from it."""
        if self.password is None:
            return []
        basic = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return [self.password, basic]


@dataclass(frozen=True)
class _Statement:
    number: int
    line: int | None  # where it starts in the job's SQL
    sql: str  # Trino text with `?` markers
    values: list[ParameterValue]


class TrinoEngine:
    """Runs SQL tasks on the Trino coordinator of the task's connection, one thread per attempt."""

    name = "trino"

    def __init__(self, *, batch_rows: int = 10_000, request_timeout: float = 30.0) -> None:
        self._batch_rows = batch_rows
        self._request_timeout = request_timeout

    def submit(self, task: EngineTask) -> TrinoExecution:
        if not isinstance(task.task, SqlTask):
            raise EngineRefused("The Trino engine runs SQL tasks only.")
        if task.connection is None:
            raise EngineRefused("The Trino engine needs a Trino connection.")
        try:
            statements = _plan(task.task.sql, task.parameters)
        except SqlProblem as problem:
            raise EngineRefused(problem.detail) from None
        try:
            coordinator = Coordinator.from_connection(task.connection)
        except (KeyError, ValueError) as error:
            raise EngineRefused(f"The Trino connection settings are incomplete ({error}).") from None
        execution = TrinoExecution(task, coordinator, statements, self._batch_rows, self._request_timeout)
        execution.start()
        return execution


def _client_tags(task: EngineTask) -> list[str]:
    """Trino client tags naming what the query is, its workspace and its class of work, so a
    coordinator's resource-group selectors can place each workspace's batch (runs) and interactive
    (worksheet) queries."""
    own = (
        [f"statement:{task.run_id}"]
        if task.work_class == "interactive"
        else [
            f"run:{task.run_id}",
            f"attempt:{task.attempt}",
        ]
    )
    return [*own, f"{WORKSPACE_TAG_PREFIX}{task.workspace.slug}", f"{CLASS_TAG_PREFIX}{task.work_class}"]


def _plan(sql: str, parameters: Mapping[str, ParameterValue]) -> list[_Statement]:
    planned = []
    for number, statement in enumerate(parse_statements(sql), start=1):
        text, values = to_trino_qmark(statement, parameters)
        planned.append(_Statement(number, statement_line(statement), text, values))
    return planned


class TrinoExecution:
    """One attempt on its own daemon thread; status(), cancel() and close() may be called from any
    thread. Cancelling DELETEs the running query's nextUri (what the client's cursor.cancel() does)."""

    def __init__(
        self,
        task: EngineTask,
        coordinator: Coordinator,
        statements: Sequence[_Statement],
        batch_rows: int,
        request_timeout: float,
    ) -> None:
        self._task = task
        self._coordinator = coordinator
        self._statements = statements
        self._batch_rows = batch_rows
        self._request_timeout = request_timeout
        # The owner's catalog token travels as the Trino extra credential `token`: a Trino whose
        # Iceberg catalog runs with `iceberg.rest-catalog.session=USER` sends it to the catalog as
        # the bearer token of this query's catalog calls (scripts/trino.py).
        self._secrets = [*coordinator.secrets, task.catalog.token]
        # Trino's Iceberg REST client caches a user's catalog session (and so its token) by user
        # and source, for an hour: a source of the attempt's own makes each attempt use its token.
        self._source = f"{SOURCE}-{secrets.token_hex(6)}"
        self._lock = threading.Lock()
        self._state = ExecutionState.RUNNING
        self._message: str | None = None
        self._stop_requested = threading.Event()
        self._cursor: Cursor | None = None
        self._query_ids: list[str] = []
        self._closing = False
        self._result_path = task.work_dir / f"trino-result-{task.run_id}-{task.attempt}.arrows"
        self._result_sources: list[pa.MemoryMappedFile] = []
        self._thread = threading.Thread(
            target=self._run, name=f"trino-run-{task.run_id}-{task.attempt}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def status(self) -> ExecutionStatus:
        with self._lock:
            return ExecutionStatus(self._state, self._message, tuple(self._query_ids))

    def cancel(self) -> None:
        with self._lock:
            if self._state is not ExecutionState.RUNNING:
                return
            self._state = ExecutionState.CANCELLED
            self._message = "Cancelled."
        self._stop_requested.set()
        self._cancel_query()
        self._log("cancelled")

    def result(self) -> pa.RecordBatchReader | None:
        with self._lock:
            if self._state is not ExecutionState.SUCCEEDED or self._closing:
                return None
            source = pa.memory_map(str(self._result_path))
            self._result_sources.append(source)
        return pa.ipc.open_stream(source)

    def close(self) -> None:
        with self._lock:
            if self._closing:
                return
            self._closing = True
            running = self._state is ExecutionState.RUNNING
            if running:
                self._state = ExecutionState.CANCELLED
                self._message = "Closed before it finished."
            sources, self._result_sources = self._result_sources, []
        self._stop_requested.set()
        if running:
            self._cancel_query()
        self._thread.join(timeout=10)
        for source in sources:
            source.close()
        self._result_path.unlink(missing_ok=True)

    # --- the attempt's thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            connection = self._connect()
        except Exception as error:
            self._fail(None, error)
            return
        current: _Statement | None = None
        try:
            for statement in self._statements:
                if self._stop_requested.is_set():
                    return
                current = statement
                self._execute(connection, statement)
            with self._lock:
                if self._state is ExecutionState.RUNNING:
                    self._state = ExecutionState.SUCCEEDED
        except Exception as error:
            self._fail(current, error)
        finally:
            with self._lock:
                self._cursor = None
            connection.close()

    def _connect(self) -> trino.dbapi.Connection:
        coordinator = self._coordinator
        session = requests.Session()
        session.trust_env = False  # only the connection's own settings apply, never the host's proxies
        session.verify = coordinator.verify_tls
        auth = BasicAuthentication(coordinator.user, coordinator.password) if coordinator.password else None
        try:
            return trino.dbapi.connect(
                host=coordinator.host,
                port=coordinator.port,
                http_scheme=coordinator.http_scheme,
                user=self._task.owner,
                auth=auth,
                catalog=coordinator.catalog or DEFAULT_CATALOG,
                schema=self._task.workspace.namespace,
                source=self._source,
                extra_credential=[(CATALOG_TOKEN_CREDENTIAL, self._task.catalog.token)],
                client_tags=_client_tags(self._task),
                http_session=session,
                request_timeout=self._request_timeout,
                # EXECUTE IMMEDIATE, not probed per coordinator: a failed probe (say, a 401) would
                # silently switch the client to PREPARE/EXECUTE for an hour.
                legacy_prepared_statements=False,
            )
        except BaseException:
            session.close()
            raise

    def _execute(self, connection: trino.dbapi.Connection, statement: _Statement) -> None:
        total = len(self._statements)
        label = f"statement {statement.number}/{total}"
        where = f" (line {statement.line})" if statement.line is not None else ""
        self._log(f"{label} started{where}")
        started = time.monotonic()
        progress = _ProgressLog(label, self._log, self._stop_requested, self._cancel_query, self._note_query)
        cursor = connection.cursor(stats_callback=progress)
        with self._lock:
            self._cursor = cursor
        cursor.execute(statement.sql, statement.values or None)
        if statement.number == total:
            rows = self._spool(cursor)
        else:
            rows = 0
            while batch := cursor.fetchmany(self._batch_rows):
                rows += len(batch)
        elapsed_ms = round((time.monotonic() - started) * 1000)
        self._log(f"{label} finished in {elapsed_ms} ms: {_final_stats(cursor, rows)}")

    def _spool(self, cursor: Cursor) -> int:
        """The rows of the last statement into the result file, one batch in memory at a time."""
        fields, converters = _arrow_fields(cursor.description or [])
        schema = pa.schema(fields)
        rows = 0
        with pa.OSFile(str(self._result_path), "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
            while batch := cursor.fetchmany(self._batch_rows):
                writer.write_batch(_record_batch(schema, converters, batch))
                rows += len(batch)
        return rows

    def _note_query(self, query_id: str) -> None:
        with self._lock:
            if query_id not in self._query_ids:
                self._query_ids.append(query_id)

    def _cancel_query(self) -> None:
        """DELETE the running query's nextUri. Before Trino's first answer there is none yet; the
        progress callback then cancels on that answer."""
        with self._lock:
            cursor = self._cursor
        if cursor is None:
            return
        try:
            cursor.cancel()
        except Exception as error:
            self._log(f"cancelling the Trino query failed: {_describe_error(error)}")

    def _fail(self, statement: _Statement | None, error: Exception) -> None:
        detail = self._detail(error)
        if statement is None:
            message = (
                f"Could not connect to Trino at {self._coordinator.host}:{self._coordinator.port}: {detail}"
            )
        else:
            where = f" (line {statement.line} of the SQL)" if statement.line is not None else ""
            message = f"Statement {statement.number} of {len(self._statements)}{where} failed: {detail}"
        message = self._redacted(message)
        with self._lock:
            if self._state is not ExecutionState.RUNNING:
                return  # cancelled or closed: the query's end is the expected way out
            self._state = ExecutionState.FAILED
            self._message = message
        self._log(message)

    def _detail(self, error: Exception) -> str:
        if isinstance(error, HttpError) and str(error).startswith("error 401"):
            # The 401 body is not shown: a proxy in front of Trino may repeat the credentials.
            who = (
                f"connection user '{self._coordinator.user}'" if self._coordinator.password else "the request"
            )
            return f"Trino refused to authenticate {who} (HTTP 401)."
        return _describe_error(error)

    def _log(self, line: str) -> None:
        self._task.log(self._redacted(line))

    def _redacted(self, text: str) -> str:
        return redact_secrets(text, self._secrets)


class _ProgressLog:
    """The client calls this with the query's stats after each protocol response (Trino answers
    at least about once a second while a query runs). It writes a line at most once a second, notes
    the query's id (the client's execute() may only return when the query ends), and cancels the
    query when the attempt was stopped before the query had a nextUri to DELETE."""

    def __init__(
        self,
        label: str,
        log: Callable[[str], None],
        stopped: threading.Event,
        cancel: Callable[[], None],
        note_query: Callable[[str], None],
    ) -> None:
        self._label = label
        self._log = log
        self._stopped = stopped
        self._cancel = cancel
        self._note_query = note_query
        self._logged_at = -math.inf
        self._cancel_sent = False

    def __call__(self, stats: dict[str, Any]) -> None:
        query_id = stats.get("queryId")
        if isinstance(query_id, str):
            self._note_query(query_id)
        if self._stopped.is_set():
            if not self._cancel_sent:
                self._cancel_sent = True
                self._cancel()
            return
        now = time.monotonic()
        if now - self._logged_at >= PROGRESS_INTERVAL_SECONDS:
            self._logged_at = now
            self._log(f"{self._label}: {_progress(stats)}")


def _progress(stats: Mapping[str, Any]) -> str:
    line = f"query {stats.get('queryId')} {stats.get('state')}"
    percentage = stats.get("progressPercentage")
    if isinstance(percentage, int | float):
        line += f" {percentage:.1f}%"
    return (
        f"{line}, {stats.get('processedRows', 0)} rows / {stats.get('processedBytes', 0)} bytes processed, "
        f"{stats.get('elapsedTimeMillis', 0)} ms elapsed"
    )


def _final_stats(cursor: Cursor, rows: int) -> str:
    outcome = f"{rows} result rows"
    if cursor.update_type is not None:
        changed = f" ({cursor.rowcount} rows)" if cursor.rowcount >= 0 else ""
        outcome = f"{cursor.update_type}{changed}"
    return f"{_progress(cursor.stats or {})}; {outcome}"


def _describe_error(error: Exception) -> str:
    if isinstance(error, TrinoQueryError):
        where = (
            f", line {error.error_location[0]}, column {error.error_location[1]}"
            if error.error_location
            else ""
        )
        return f"{error.message} ({error.error_name}{where}; Trino query {error.query_id})"
    message = str(error).strip()
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


# --- Trino columns as Arrow ------------------------------------------------------------------

Converter = Callable[[Any], Any]


def _arrow_fields(columns: Sequence[ColumnDescription]) -> tuple[list[pa.Field], list[Converter | None]]:
    fields, converters = [], []
    for column in columns:
        kind, converter = _arrow_type(column)
        fields.append(pa.field(column.name, kind))
        converters.append(converter)
    return fields, converters


_SIMPLE_TYPES: dict[str, pa.DataType] = {
    "bigint": pa.int64(),
    "integer": pa.int32(),
    "smallint": pa.int16(),
    "tinyint": pa.int8(),
    "double": pa.float64(),
    "real": pa.float32(),
    "boolean": pa.bool_(),
    "varchar": pa.string(),
    "char": pa.string(),
    "date": pa.date32(),
    "varbinary": pa.binary(),
    "timestamp": pa.timestamp("us"),
    "timestamp with time zone": pa.timestamp("us", tz="UTC"),
}


def _arrow_type(column: ColumnDescription) -> tuple[pa.DataType, Converter | None]:
    """The Arrow type for a Trino column, and how to convert the client's values where they do not
    fit it as they are (anything without its own Arrow type becomes text)."""
    type_name = str(column.type_code)
    raw = _RAW_TYPE.match(type_name)
    raw_type = raw.group(0).strip() if raw else type_name
    if raw_type == "timestamp" and type_name.endswith("with time zone"):
        raw_type = "timestamp with time zone"
    if raw_type == "decimal" and column.precision is not None and column.scale is not None:
        return pa.decimal128(column.precision, column.scale), None
    if raw_type in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[raw_type], None
    return pa.string(), _as_text


def _as_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _record_batch(
    schema: pa.Schema, converters: Sequence[Converter | None], rows: list[list[Any]]
) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True))
    arrays = [
        pa.array([convert(v) for v in values] if convert else values, type=field.type)
        for field, convert, values in zip(schema, converters, columns, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
