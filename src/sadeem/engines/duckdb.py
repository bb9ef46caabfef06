"""The embedded default SQL engine: DuckDB 1.5.5 with its iceberg extension, fenced to one
workspace and attached to the built-in Iceberg REST catalog as the run's owner.

Job SQL (Trino dialect, `:name` markers) is parsed and transpiled with sqlglot at submit; every
statement is checked against the host-side guard (`refuse_unfenced`) before anything runs, so a
refused statement, a syntax error or a parameter without a value fails the attempt with
EngineRefused and nothing of the job is executed. Errors while running arrive as FAILED.

The last statement's rows are streamed: result() hands out DuckDB's reader, and an error DuckDB
meets late in a large result is raised while that reader is read.
"""

from __future__ import annotations

import contextlib
import importlib.util
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import duckdb
import pyarrow as pa
from sqlglot import exp

from sadeem.config import Settings
from sadeem.engines.base import (
    CATALOG_ALIAS,
    CatalogAccess,
    EngineRefused,
    EngineTask,
    ExecutionState,
    ExecutionStatus,
    ParameterValue,
    SqlTask,
    WorkspaceStorage,
)
from sadeem.engines.duckdb_fence import fenced_statement_type, first_words
from sadeem.engines.sql_text import (
    SqlProblem,
    parameter_names,
    parse_statements,
    statement_line,
    to_duckdb,
)

# avro before iceberg: iceberg needs it loaded.
_EXTENSIONS = ("avro", "httpfs", "iceberg")
# Small result batches: the first rows are in hand after 2,048 rows instead of 65,536 (16 ms less on
# TPC-H lineitem), for ~10% more on a whole 1M-row read in-process (less than writing result files
# saves); writers group them (result chunks, row groups).
_RESULT_BATCH_ROWS = 2_048
_SECRET_NAME = "sadeem_catalog"  # noqa: S105 - a name, not a secret
_S3_SECRET_NAME = "sadeem_storage"  # noqa: S105 - a name, not a secret

# Statements whose result is the number of rows they changed.
_CHANGES_ROWS = frozenset(
    {
        duckdb.StatementType.INSERT,
        duckdb.StatementType.UPDATE,
        duckdb.StatementType.DELETE,
        duckdb.StatementType.MERGE_INTO,
    }
)


def connect_fenced(
    catalog: CatalogAccess,
    storage: WorkspaceStorage,
    work_dir: Path,
    alias: str = CATALOG_ALIAS,
    *,
    settings: Settings | None = None,
    threads: int = 2,
    memory_limit: str = "2GB",
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that sees the workspace's tables through the catalog (as the
    token's owner) and nothing else of the host.

    The catalog's warehouse is attached as `alias` and `USE alias.<root namespace>` is in
    force, so (checked with 1.5.5) `meter_readings`, `<root>.meter_readings` and
    `alias.<root>.meter_readings` all name the same table; a nested namespace is one schema
    whose name contains the dot: `"<root>.sub".t`. `sub.t` does not resolve (DuckDB asks the
    catalog for namespace `sub`, which the catalog refuses).

    Order matters: settings that lock the session come last, after what they would forbid.
    With an `s3://` location and `settings` carrying s3_* values, an S3 secret SCOPEd to the
    workspace's prefix lets DuckDB read and write its data files.
    """
    connection = duckdb.connect(":memory:", config=_config_with_verified_extensions())
    try:
        for name in _EXTENSIONS:
            # LOAD by path: the packages carry signed files; nothing is copied to ~/.duckdb.
            connection.execute(f"LOAD {_quote(str(_extension_file(name)))}")
        connection.execute("SET allow_persistent_secrets = false")
        connection.execute(
            f"CREATE TEMPORARY SECRET {_SECRET_NAME} (TYPE ICEBERG, TOKEN {_quote(catalog.token)})"
        )
        if storage.location.startswith("s3://") and settings is not None:
            _create_s3_secret(connection, storage.location, settings)
        connection.execute(
            f"ATTACH {_quote(catalog.warehouse)} AS {_identifier(alias)} "
            f"(TYPE ICEBERG, ENDPOINT {_quote(catalog.uri)}, SECRET {_SECRET_NAME})"
        )
        connection.execute(f"USE {_identifier(alias)}.{_identifier(storage.namespace)}")
        temp_dir = work_dir / "duckdb-temp"
        temp_dir.mkdir(parents=True, exist_ok=True)
        connection.execute(f"SET temp_directory = {_quote(str(temp_dir))}")
        connection.execute(f"SET threads = {int(threads)}")
        connection.execute(f"SET memory_limit = {_quote(memory_limit)}")
        allowed = [_directory_of(storage.location), f"{work_dir.resolve()}/"]
        connection.execute(f"SET allowed_directories = [{', '.join(_quote(path) for path in allowed)}]")
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")
    except BaseException:
        connection.close()
        raise
    return connection


_verified_extensions: dict[Path, tuple[int, int]] = {}
_verify_lock = threading.Lock()


def _config_with_verified_extensions() -> dict[str, str | bool | int | float | list[str]]:
    """A new database's config. DuckDB checks an extension's signature at every LOAD, which costs
    about 1.3 s for these three (the iceberg file is 50 MB): every statement would pay it. So each
    process checks them once, with signatures enforced, and later databases load the same files
    (same size and mtime) without checking again. What SQL could load is still nothing: LOAD and
    INSTALL are refused by the host guard, autoloading is off and the configuration locked."""
    config: dict[str, str | bool | int | float | list[str]] = {
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
    }
    files = [_extension_file(name) for name in _EXTENSIONS]
    with _verify_lock:
        if any(_verified_extensions.get(path) != _identity(path) for path in files):
            with duckdb.connect(":memory:", config=config) as checker:
                for path in files:
                    checker.execute(f"LOAD {_quote(str(path))}")  # raises on a bad signature
            _verified_extensions.update({path: _identity(path) for path in files})
    return config | {"allow_unsigned_extensions": "true"}


def _identity(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


class DuckDBEngine:
    """Runs SQL tasks in the server's process, one DuckDB connection per attempt, on a thread."""

    name = "duckdb"

    def __init__(
        self, settings: Settings | None = None, *, threads: int = 2, memory_limit: str = "2GB"
    ) -> None:
        self._settings = settings
        self._threads = threads
        self._memory_limit = memory_limit

    def submit(self, task: EngineTask) -> DuckDBExecution:
        if not isinstance(task.task, SqlTask):
            raise EngineRefused("The DuckDB engine runs SQL tasks only.")
        try:
            statements = _plan(task.task.sql, task.parameters)
        except SqlProblem as problem:
            raise EngineRefused(problem.detail) from None

        def connect() -> duckdb.DuckDBPyConnection:
            return connect_fenced(
                task.catalog,
                task.workspace,
                task.work_dir,
                settings=self._settings,
                threads=self._threads,
                memory_limit=self._memory_limit,
            )

        secrets = [task.catalog.token]
        if self._settings is not None and self._settings.s3_secret_access_key is not None:
            secrets.append(self._settings.s3_secret_access_key.get_secret_value())
        execution = DuckDBExecution(task, statements, connect, secrets)
        execution.start()
        return execution


@dataclass(frozen=True)
class _Statement:
    number: int
    line: int | None
    sql: str  # DuckDB text, with `$name` markers
    kind: duckdb.StatementType
    parameters: dict[str, ParameterValue]
    create_as: _CreateTableAs | None = None


@dataclass(frozen=True)
class _CreateTableAs:
    """CREATE TABLE … AS SELECT, run as CREATE TABLE + INSERT … SELECT in one transaction:
    DuckDB-Iceberg 1.5.5's own CTAS needs a local `data` directory that the fence forbids."""

    table: str
    query: str
    replace: bool
    if_not_exists: bool


def _plan(sql: str, parameters: Mapping[str, ParameterValue]) -> list[_Statement]:
    parsed = parse_statements(sql)
    planned: list[_Statement] = []
    for number, statement in enumerate(parsed, start=1):
        text = to_duckdb(statement)
        kind = fenced_statement_type(text)
        values: dict[str, ParameterValue] = {}
        for name in sorted(parameter_names([statement])):
            if name not in parameters:
                raise SqlProblem(f"No value was given for parameter :{name}.")
            values[name] = parameters[name]
        planned.append(
            _Statement(number, statement_line(statement), text, kind, values, _create_table_as(statement))
        )
    return planned


def _create_table_as(statement: exp.Expr) -> _CreateTableAs | None:
    if not (
        isinstance(statement, exp.Create)
        and str(statement.args.get("kind", "")).upper() == "TABLE"
        and isinstance(statement.this, exp.Table)
        and isinstance(statement.expression, exp.Query)
        and not statement.args.get("properties")  # TEMP tables, WITH (…) stay as written
    ):
        return None
    return _CreateTableAs(
        table=statement.this.sql("duckdb"),
        query=to_duckdb(statement.expression),
        replace=bool(statement.args.get("replace")),
        if_not_exists=bool(statement.args.get("exists")),
    )


class DuckDBExecution:
    """One attempt on its own daemon thread; status() and cancel() may be called from any thread."""

    def __init__(
        self,
        task: EngineTask,
        statements: Sequence[_Statement],
        connect: Callable[[], duckdb.DuckDBPyConnection],
        secrets: Sequence[str],
    ) -> None:
        self._task = task
        self._statements = statements
        self._connect = connect
        self._secrets = [secret for secret in secrets if secret]
        self._lock = threading.Lock()
        self._state = ExecutionState.RUNNING
        self._message: str | None = None
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._result: pa.RecordBatchReader | None = None
        self._closing = False
        self._thread = threading.Thread(
            target=self._run, name=f"duckdb-run-{task.run_id}-{task.attempt}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def status(self) -> ExecutionStatus:
        with self._lock:
            return ExecutionStatus(self._state, self._message)

    def cancel(self) -> None:
        with self._lock:
            if self._state is not ExecutionState.RUNNING:
                return
            self._state = ExecutionState.CANCELLED
            self._message = "Cancelled."
            connection = self._connection
        if connection is not None:
            self._stop(connection)
        self._log("cancelled")

    def result(self) -> pa.RecordBatchReader | None:
        with self._lock:
            return self._result if self._state is ExecutionState.SUCCEEDED else None

    def close(self) -> None:
        with self._lock:
            if self._closing:
                return
            self._closing = True
            if self._state is ExecutionState.RUNNING:
                self._state = ExecutionState.CANCELLED
                self._message = "Closed before it finished."
            connection = self._connection
        if connection is not None:
            self._stop(connection)
        self._thread.join(timeout=10)
        # A thread still stuck (e.g. in an HTTP call while attaching) closes the connection itself.
        if not self._thread.is_alive():
            self._release()

    def _stop(self, connection: duckdb.DuckDBPyConnection) -> None:
        """Interrupt the running statement; again until the thread ends, since an interrupt that
        lands between two statements would be lost."""

        def keep_interrupting() -> None:
            deadline = time.monotonic() + 30
            while self._thread.is_alive() and time.monotonic() < deadline:
                try:
                    connection.interrupt()
                except duckdb.Error:
                    return  # closed meanwhile
                self._thread.join(0.1)

        threading.Thread(target=keep_interrupting, name=f"{self._thread.name}-stop", daemon=True).start()

    def _run(self) -> None:
        try:
            connection = self._connect()
        except Exception as error:
            self._fail(None, error)
            return
        with self._lock:
            self._connection = connection
            stopped = self._state is not ExecutionState.RUNNING
        if stopped:
            self._release_if_closing()
            return
        in_transaction = False
        current: _Statement | None = None
        try:
            for statement in self._statements:
                if self.status().finished:
                    break
                current = statement
                result = self._execute(connection, statement, in_transaction)
                if statement.kind is duckdb.StatementType.TRANSACTION:
                    in_transaction = first_words(statement.sql)[0] in {"BEGIN", "START"}
                with self._lock:
                    if statement.number == len(self._statements) and self._state is ExecutionState.RUNNING:
                        self._result = result
                        self._state = ExecutionState.SUCCEEDED
        except Exception as error:
            self._fail(current, error)
        finally:
            self._release_if_closing()

    def _execute(
        self, connection: duckdb.DuckDBPyConnection, statement: _Statement, in_transaction: bool
    ) -> pa.RecordBatchReader | None:
        total = len(self._statements)
        where = f" (line {statement.line})" if statement.line is not None else ""
        self._log(f"statement {statement.number}/{total} started{where}")
        started = time.monotonic()
        last = statement.number == total
        result: pa.RecordBatchReader | None = None
        if statement.create_as is not None:
            written = self._create_table_as(connection, statement, in_transaction)
            outcome = "table exists, nothing written" if written is None else f"{_rows(written)} written"
            if last:
                result = _count_reader(written or 0)
        else:
            connection.execute(statement.sql, statement.parameters or None)
            if statement.kind in {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}:
                reader = connection.to_arrow_reader(_RESULT_BATCH_ROWS)
                if last:
                    result = reader  # streamed: rows are produced as the reader is read
                    outcome = "result ready"
                else:
                    outcome = _rows(sum(batch.num_rows for batch in reader))
            elif statement.kind in _CHANGES_ROWS:
                changed = _row_count(connection)
                outcome = f"{_rows(changed)} changed"
                if last:
                    result = _count_reader(changed)
            else:
                outcome = "done"
        elapsed_ms = round((time.monotonic() - started) * 1000)
        self._log(f"statement {statement.number}/{total} finished in {elapsed_ms} ms: {outcome}")
        return result

    def _create_table_as(
        self, connection: duckdb.DuckDBPyConnection, statement: _Statement, in_transaction: bool
    ) -> int | None:
        """Rows written, or None when IF NOT EXISTS found the table."""
        create_as = statement.create_as
        assert create_as is not None
        if create_as.if_not_exists and _table_exists(connection, create_as.table):
            return None
        parameters = statement.parameters or None
        columns = connection.execute(f"DESCRIBE {create_as.query}", parameters).fetchall()
        definition = ", ".join(f"{_identifier(str(name))} {type_}" for name, type_, *_ in columns)
        create = "CREATE OR REPLACE TABLE" if create_as.replace else "CREATE TABLE"
        own_transaction = not in_transaction
        if own_transaction:
            connection.execute("BEGIN TRANSACTION")
        try:
            connection.execute(f"{create} {create_as.table} ({definition})")
            connection.execute(f"INSERT INTO {create_as.table} {create_as.query}", parameters)
            inserted = _row_count(connection)
            if own_transaction:
                connection.execute("COMMIT")
        except BaseException:
            if own_transaction:
                _rollback(connection)
            raise
        return inserted

    def _fail(self, statement: _Statement | None, error: Exception) -> None:
        detail = str(error) if isinstance(error, duckdb.Error) else f"{type(error).__name__}: {error}"
        if statement is None:
            message = f"Could not open DuckDB on the workspace: {detail}"
        else:
            where = f" (line {statement.line} of the SQL)" if statement.line is not None else ""
            message = f"Statement {statement.number} of {len(self._statements)}{where} failed: {detail}"
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
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def _release_if_closing(self) -> None:
        with self._lock:
            closing = self._closing
        if closing:
            self._release()

    def _release(self) -> None:
        with self._lock:
            connection, self._connection = self._connection, None
            self._result = None
        if connection is not None:
            connection.close()


def _table_exists(connection: duckdb.DuckDBPyConnection, table: str) -> bool:
    try:
        connection.execute(f"DESCRIBE {table}")
    except duckdb.CatalogException:
        return False
    return True


def _row_count(connection: duckdb.DuckDBPyConnection) -> int:
    row = connection.fetchone()
    return int(row[0]) if row else 0


def _rows(count: int) -> str:
    return "1 row" if count == 1 else f"{count} rows"


def _count_reader(count: int) -> pa.RecordBatchReader:
    table = pa.table({"Count": pa.array([count], pa.int64())})
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())


def _rollback(connection: duckdb.DuckDBPyConnection) -> None:
    # An interrupted connection may have no transaction left to roll back.
    with contextlib.suppress(duckdb.Error):
        connection.execute("ROLLBACK")


def _create_s3_secret(connection: duckdb.DuckDBPyConnection, location: str, settings: Settings) -> None:
    if settings.s3_access_key_id is None or settings.s3_secret_access_key is None:
        return
    options = [
        "TYPE S3",
        f"KEY_ID {_quote(settings.s3_access_key_id)}",
        f"SECRET {_quote(settings.s3_secret_access_key.get_secret_value())}",
        f"REGION {_quote(settings.s3_region or 'us-east-1')}",
        f"URL_STYLE {_quote('path' if settings.s3_path_style else 'vhost')}",
        f"SCOPE {_quote(location.rstrip('/') + '/')}",
    ]
    if settings.s3_endpoint_url:
        endpoint = urlparse(settings.s3_endpoint_url)
        options.append(f"ENDPOINT {_quote(endpoint.netloc)}")
        options.append(f"USE_SSL {'true' if endpoint.scheme == 'https' else 'false'}")
    connection.execute(f"CREATE TEMPORARY SECRET {_S3_SECRET_NAME} ({', '.join(options)})")


def _directory_of(location: str) -> str:
    """The location as DuckDB names it in allowed_directories, with the trailing slash that keeps
    `…/alpha/` from also allowing `…/alpha2/`."""
    parsed = urlparse(location)
    path = unquote(parsed.path) if parsed.scheme == "file" else location
    return path.rstrip("/") + "/"


def _extension_file(name: str) -> Path:
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or spec.origin is None:
        raise RuntimeError(f"The Python package duckdb-extension-{name} is not installed.")
    path = Path(spec.origin).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.is_file():
        raise RuntimeError(f"duckdb-extension-{name} has no extension file for DuckDB {duckdb.__version__}.")
    return path


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
