"""What runs inside the DuckDB engine's own process: user SQL never runs in the server's.

A DuckDB error thrown on a thread DuckDB owns ends in `std::terminate`, and a query can allocate past
DuckDB's own memory limit (string functions outside its buffer manager): in the server's process
either takes the whole platform down. So every statement and every run attempt gets a process of
its own (`python -m sadeem.engines.duckdb_process`), started ahead as a warm spare by the server
(`engines/duckdb.py`), used once, then gone. The operating system bounds it: an address-space limit
(RLIMIT_AS) and a CPU-time limit (RLIMIT_CPU), and the server kills it when the work is cancelled or
times out. A crash, an abort or a runaway allocation ends this process only.

The protocol, one direction each, so that nothing this process sends can run code in the server:
- stdin (server → here): one pickled `ProcessTask`, then the line `cancel` whenever the work is to
  stop. End of input (the server went away) ends this process.
- the control pipe (here → server, its fd is argv[1]): JSON lines `{"ready": pid}`, `{"log": line}`,
  `{"state": "SUCCEEDED", "rows": bool}`, `{"state": "FAILED", "message": …}`, `{"late_error": …}`
  (an error met while the last statement's rows were streamed) and `{"end": true}`.
- stdout (here → server): after SUCCEEDED with rows, the last statement's rows as one Arrow IPC stream.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import json
import os
import pickle
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlparse

import duckdb
import pyarrow as pa

from sadeem.core.redaction import redact_secrets
from sadeem.engines.base import CATALOG_ALIAS, CatalogAccess, ParameterValue, WorkspaceStorage

# avro before iceberg: iceberg needs it loaded.
EXTENSIONS = ("avro", "httpfs", "iceberg")
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
_ROWS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})

# (size, mtime) of each extension file whose signature was checked; see `verify_extensions`.
ExtensionIdentities = dict[str, tuple[int, int]]


@dataclass(frozen=True)
class S3Access:
    """The storage credentials DuckDB needs for an `s3://` warehouse, scoped to the workspace."""

    key_id: str
    secret: str
    region: str
    path_style: bool
    endpoint_url: str | None


@dataclass(frozen=True)
class CreateTableAs:
    """CREATE TABLE … AS SELECT, run as CREATE TABLE + INSERT … SELECT in one transaction:
    DuckDB-Iceberg 1.5.5's own CTAS needs a local `data` directory that the fence forbids."""

    table: str
    query: str
    replace: bool
    if_not_exists: bool


@dataclass(frozen=True)
class PlannedStatement:
    number: int
    line: int | None
    sql: str  # DuckDB text, with `$name` markers, already checked by the host's guard
    kind: duckdb.StatementType
    parameters: dict[str, ParameterValue]
    create_as: CreateTableAs | None = None


@dataclass(frozen=True)
class ProcessTask:
    """All one engine process is given: checked statements and the means to reach one workspace."""

    statements: tuple[PlannedStatement, ...]
    catalog: CatalogAccess
    storage: WorkspaceStorage
    work_dir: Path
    s3: S3Access | None
    threads: int
    memory_limit: str  # DuckDB's own limit, e.g. "2GB"
    address_space_bytes: int  # RLIMIT_AS over what the process had mapped when it was handed the task
    cpu_seconds: int  # RLIMIT_CPU


# --- the fenced connection ------------------------------------------------------------------------


def open_database(verified: ExtensionIdentities) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the extensions loaded, nothing attached yet (a warm spare's state).

    Extension files whose (size, mtime) the server already checked with signatures enforced are
    loaded without checking again (1.3 s saved per process); any other file is checked here."""
    config: dict[str, str | bool | int | float | list[str]] = {
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
    }
    files = [extension_file(name) for name in EXTENSIONS]
    if all(verified.get(str(path)) == _identity(path) for path in files):
        config["allow_unsigned_extensions"] = "true"
    connection = duckdb.connect(":memory:", config=config)
    try:
        for path in files:
            # LOAD by path: the packages carry signed files; nothing is copied to ~/.duckdb.
            connection.execute(f"LOAD {_quote(str(path))}")
    except BaseException:
        connection.close()
        raise
    return connection


def verify_extensions() -> ExtensionIdentities:
    """Load each extension file once with signatures enforced (raises on a bad one); the identities
    of the files checked. LOAD and INSTALL are refused by the host guard, autoloading is off and the
    configuration locked, so what a spare loads unchecked is exactly these files."""
    config: dict[str, str | bool | int | float | list[str]] = {
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
    }
    files = [extension_file(name) for name in EXTENSIONS]
    with duckdb.connect(":memory:", config=config) as checker:
        for path in files:
            checker.execute(f"LOAD {_quote(str(path))}")
    return {str(path): _identity(path) for path in files}


def fence(
    connection: duckdb.DuckDBPyConnection,
    catalog: CatalogAccess,
    storage: WorkspaceStorage,
    work_dir: Path,
    *,
    s3: S3Access | None = None,
    threads: int = 2,
    memory_limit: str = "2GB",
    alias: str = CATALOG_ALIAS,
) -> None:
    """Make an opened database see the workspace's tables through the catalog (as the token's
    owner) and nothing else of the host.

    The catalog's warehouse is attached as `alias` and `USE alias.<root namespace>` is in
    force, so (checked with 1.5.5) `meter_readings`, `<root>.meter_readings` and
    `alias.<root>.meter_readings` all name the same table; a nested namespace is one schema
    whose name contains the dot: `"<root>.sub".t`. `sub.t` does not resolve (DuckDB asks the
    catalog for namespace `sub`, which the catalog refuses).

    Order matters: settings that lock the session come last, after what they would forbid.
    With an `s3://` location and `s3` given, an S3 secret SCOPEd to the workspace's prefix lets
    DuckDB read and write its data files.
    """
    connection.execute("SET allow_persistent_secrets = false")
    connection.execute(
        f"CREATE TEMPORARY SECRET {_SECRET_NAME} (TYPE ICEBERG, TOKEN {_quote(catalog.token)})"
    )
    if storage.location.startswith("s3://") and s3 is not None:
        _create_s3_secret(connection, storage.location, s3)
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


def connect_fenced(
    catalog: CatalogAccess,
    storage: WorkspaceStorage,
    work_dir: Path,
    *,
    verified: ExtensionIdentities,
    s3: S3Access | None = None,
    threads: int = 2,
    memory_limit: str = "2GB",
) -> duckdb.DuckDBPyConnection:
    """`open_database` + `fence` in the calling process: for measurements of the fence itself
    (bench/statements.py). The platform runs user SQL only in engine processes."""
    connection = open_database(verified)
    try:
        fence(connection, catalog, storage, work_dir, s3=s3, threads=threads, memory_limit=memory_limit)
    except BaseException:
        connection.close()
        raise
    return connection


# --- running the statements -----------------------------------------------------------------------


class StatementRunner:
    """Runs the planned statements on a fenced connection, reporting through `emit`."""

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        statements: tuple[PlannedStatement, ...],
        emit: Callable[[dict[str, object]], None],
        secrets: list[str],
    ) -> None:
        self._connection = connection
        self._statements = statements
        self._emit = emit
        self._secrets = [secret for secret in secrets if secret]

    def run(self) -> pa.RecordBatchReader | None:
        """The last statement's rows (None for a statement without rows); raises `StatementFailed`."""
        in_transaction = False
        result: pa.RecordBatchReader | None = None
        for statement in self._statements:
            try:
                result = self._execute(statement, in_transaction)
            except Exception as error:
                raise StatementFailed(self._failure(statement, error)) from None
            if statement.kind is duckdb.StatementType.TRANSACTION:
                in_transaction = statement.sql.lstrip().split(maxsplit=1)[0].upper() in {"BEGIN", "START"}
        return result

    def _execute(self, statement: PlannedStatement, in_transaction: bool) -> pa.RecordBatchReader | None:
        connection, total = self._connection, len(self._statements)
        where = f" (line {statement.line})" if statement.line is not None else ""
        self.log(f"statement {statement.number}/{total} started{where}")
        started = time.monotonic()
        last = statement.number == total
        result: pa.RecordBatchReader | None = None
        if statement.create_as is not None:
            written = self._create_table_as(statement, in_transaction)
            outcome = "table exists, nothing written" if written is None else f"{_rows(written)} written"
            if last:
                result = _count_reader(written or 0)
        else:
            connection.execute(statement.sql, statement.parameters or None)
            if statement.kind in _ROWS:
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
        self.log(f"statement {statement.number}/{total} finished in {elapsed_ms} ms: {outcome}")
        return result

    def _create_table_as(self, statement: PlannedStatement, in_transaction: bool) -> int | None:
        """Rows written, or None when IF NOT EXISTS found the table."""
        connection, create_as = self._connection, statement.create_as
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

    def _failure(self, statement: PlannedStatement, error: Exception) -> str:
        where = f" (line {statement.line} of the SQL)" if statement.line is not None else ""
        total = len(self._statements)
        return self.redacted(f"Statement {statement.number} of {total}{where} failed: {_detail(error)}")

    def log(self, line: str) -> None:
        self._emit({"log": self.redacted(line)})

    def redacted(self, text: str) -> str:
        return redact_secrets(text, self._secrets)


class StatementFailed(Exception):
    """A statement failed; the message names it and its line, secrets redacted."""


def _detail(error: Exception) -> str:
    return str(error) if isinstance(error, duckdb.Error) else f"{type(error).__name__}: {error}"


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


def _create_s3_secret(connection: duckdb.DuckDBPyConnection, location: str, s3: S3Access) -> None:
    options = [
        "TYPE S3",
        f"KEY_ID {_quote(s3.key_id)}",
        f"SECRET {_quote(s3.secret)}",
        f"REGION {_quote(s3.region)}",
        f"URL_STYLE {_quote('path' if s3.path_style else 'vhost')}",
        f"SCOPE {_quote(location.rstrip('/') + '/')}",
    ]
    if s3.endpoint_url:
        endpoint = urlparse(s3.endpoint_url)
        options.append(f"ENDPOINT {_quote(endpoint.netloc)}")
        options.append(f"USE_SSL {'true' if endpoint.scheme == 'https' else 'false'}")
    connection.execute(f"CREATE TEMPORARY SECRET {_S3_SECRET_NAME} ({', '.join(options)})")


def _directory_of(location: str) -> str:
    """The location as DuckDB names it in allowed_directories, with the trailing slash that keeps
    `…/alpha/` from also allowing `…/alpha2/`."""
    parsed = urlparse(location)
    path = unquote(parsed.path) if parsed.scheme == "file" else location
    return path.rstrip("/") + "/"


def extension_file(name: str) -> Path:
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or spec.origin is None:
        raise RuntimeError(f"The Python package duckdb-extension-{name} is not installed.")
    path = Path(spec.origin).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.is_file():
        raise RuntimeError(f"duckdb-extension-{name} has no extension file for DuckDB {duckdb.__version__}.")
    return path


def _identity(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- the process ------------------------------------------------------------------------------------


# What `ps` and /proc show for an engine process once it has work (a spare shows `python`).
WORKING_NAME = "sadeem-sql"


def _prctl(option: int, argument: int | bytes) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(option, argument)


def _die_with_parent() -> None:
    """Ask Linux to kill this process when the server that started it dies (kill -9 included)."""
    _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the server died before the request above took effect
        os._exit(1)


def _mapped_bytes() -> int:
    with open("/proc/self/statm") as statm:  # noqa: PTH123 - a proc file, read once
        return int(statm.read().split()[0]) * resource.getpagesize()


def _limit(task: ProcessTask) -> None:
    address_space = _mapped_bytes() + task.address_space_bytes
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    # Soft limit: SIGXCPU ends the process; the hard limit a second later is the kernel's SIGKILL.
    resource.setrlimit(resource.RLIMIT_CPU, (task.cpu_seconds, task.cpu_seconds + 1))


def _watch_for_cancel(stdin: IO[bytes], connection: duckdb.DuckDBPyConnection) -> None:
    """`cancel` (or the server closing our stdin) interrupts DuckDB; the server kills this process
    if it does not stop soon after."""
    for line in stdin:
        if line.strip() == b"cancel":
            break
    with contextlib.suppress(duckdb.Error):
        connection.interrupt()


def main() -> None:
    _die_with_parent()
    control = os.fdopen(int(sys.argv[1]), "w", buffering=1)
    lock = threading.Lock()

    def emit(message: Mapping[str, object]) -> None:
        with lock:
            control.write(json.dumps(message) + "\n")

    # The Arrow stream gets the real stdout; anything else printing to fd 1 lands on stderr.
    rows_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    connection = open_database(json.loads(sys.argv[2]))
    emit({"ready": os.getpid()})

    task: ProcessTask = pickle.load(sys.stdin.buffer)  # noqa: S301 - written by the server that started us
    _prctl(15, WORKING_NAME.encode())  # PR_SET_NAME: DuckDB's threads, started later, inherit it
    _limit(task)
    secrets = [task.catalog.token, *([task.s3.secret] if task.s3 else [])]
    runner = StatementRunner(connection, task.statements, emit, secrets)
    threading.Thread(target=_watch_for_cancel, args=(sys.stdin.buffer, connection), daemon=True).start()
    try:
        fence(
            connection,
            task.catalog,
            task.storage,
            task.work_dir,
            s3=task.s3,
            threads=task.threads,
            memory_limit=task.memory_limit,
        )
    except Exception as error:
        message = f"Could not open DuckDB on the workspace: {_detail(error)}"
        emit({"state": "FAILED", "message": runner.redacted(message)})
        _end(connection, emit)
        return
    try:
        result = runner.run()
    except StatementFailed as failed:
        emit({"state": "FAILED", "message": str(failed)})
        _end(connection, emit)
        return
    emit({"state": "SUCCEEDED", "rows": result is not None})
    if result is not None:
        try:
            with pa.ipc.new_stream(rows_out, result.schema) as stream:
                for batch in result:
                    stream.write_batch(batch)
        except BrokenPipeError:
            pass  # the server read what it wanted (a row limit) and closed the stream
        except Exception as error:  # a late engine error while rows are produced
            emit({"late_error": runner.redacted(_detail(error))})
    with contextlib.suppress(BrokenPipeError):
        rows_out.close()
    _end(connection, emit)


def _end(connection: duckdb.DuckDBPyConnection, emit: Callable[[dict[str, object]], None]) -> None:
    """Close DuckDB before saying `end`: some failures only surface when the database is torn down
    (a log writer that was refused its file aborts the process there), and the server should see
    them as this work's, not as a silent exit."""
    connection.close()
    emit({"end": True})


if __name__ == "__main__":
    main()
