"""The Trino fault double: a Trino coordinator as far as the client protocol goes, running its
queries on DuckDB — for what a real Trino cannot be made to do on demand.

The real Trino (tests/trino_server.py, one per test session) carries the Trino tests: results,
types, parameters, identity, errors, cancel, progress. This double stays for the rest: a coordinator
behind TLS with password authentication whose 401 bodies repeat the rejected credentials (a careless
proxy in front of Trino), and proof that nothing at all was sent when Sadeem refuses a task. What is
real here: HTTP on 127.0.0.1 (TLS when asked), the documented statement protocol (`POST
/v1/statement`, then `GET nextUri` pages until there is no `nextUri`, long-polled like Trino's;
`DELETE nextUri` cancels; `X-Trino-*` session headers; HTTP Basic authentication and 401s), the
QueryResults payload, and `EXECUTE IMMEDIATE '…' USING …`. What is not: the SQL semantics are
DuckDB's, result types are mapped back from DuckDB's Arrow types, and error names are mapped from
DuckDB's exception classes.

Two test hooks: a `/* double:sleep=S */` comment makes a statement run S seconds (progress rising,
cancellable) before it executes; and `echo_rejected_credentials=True` makes 401 bodies repeat the
rejected user:password, like a careless proxy, so tests can prove a client keeps them out of logs.
"""

from __future__ import annotations

import base64
import json
import math
import queue
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from tests.connection_doubles import Tls

PAGE_ROWS = 1000
MAX_WAIT_SECONDS = 0.5  # how long a GET waits for the next page, like Trino's long poll
SLEEP_MARKER = re.compile(r"/\*\s*double:sleep=(\d+(?:\.\d+)?)\s*\*/")
EXECUTE_IMMEDIATE = re.compile(
    r"^\s*EXECUTE\s+IMMEDIATE\s+'((?:[^']|'')*)'\s*(?:USING\s+(.*))?$", re.I | re.S
)
# The literals trino-python writes for bound parameters (Cursor._format_prepared_param).
USING_LITERAL = re.compile(
    r"""\s*(?:
        (?P<null>NULL)
      | (?P<boolean>true|false)
      | (?P<integer>-?\d+)
      | (?P<special>-?infinity\(\)|nan\(\))
      | X'(?P<hex>[0-9a-fA-F]*)'
      | (?P<typed>DOUBLE|DECIMAL|DATE|TIMESTAMP|TIME|UUID)\s*'(?P<typed_text>(?:[^']|'')*)'
      | '(?P<text>(?:[^']|'')*)'
    )\s*(?:,|$)""",
    re.I | re.X,
)
ERROR_CODES = {  # Trino's StandardErrorCode values for the names this double reports
    "GENERIC_USER_ERROR": 0,
    "SYNTAX_ERROR": 1,
    "USER_CANCELED": 3,
    "FUNCTION_NOT_FOUND": 6,
    "INVALID_CAST_ARGUMENT": 9,
    "NOT_SUPPORTED": 13,
    "CATALOG_NOT_FOUND": 44,
    "SCHEMA_NOT_FOUND": 45,
    "TABLE_NOT_FOUND": 46,
    "COLUMN_NOT_FOUND": 47,
    "TABLE_ALREADY_EXISTS": 50,
    "GENERIC_INTERNAL_ERROR": 65536,
}


@dataclass(frozen=True)
class ReceivedStatement:
    query_id: str
    user: str | None  # X-Trino-User: the session user the query runs as
    principal: str | None  # the Basic-auth user that authenticated, when passwords are required
    text: str  # the POST body as sent
    statement: str  # what ran: the body, or the statement inside EXECUTE IMMEDIATE
    parameters: tuple[object, ...]  # the USING values, parsed from their literals
    catalog: str | None
    schema: str | None
    source: str | None
    client_tags: tuple[str, ...]


class DoubleQueryError(Exception):
    def __init__(self, name: str, message: str, location: tuple[int, int] | None = None) -> None:
        super().__init__(message)
        self.name, self.message, self.location = name, message, location

    def payload(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "errorCode": ERROR_CODES[self.name],
            "errorName": self.name,
            "errorType": "INTERNAL_ERROR" if ERROR_CODES[self.name] >= 65536 else "USER_ERROR",
            "failureInfo": {"type": "io.trino.spi.TrinoException", "message": self.message},
        }
        if self.location is not None:
            error["errorLocation"] = {"lineNumber": self.location[0], "columnNumber": self.location[1]}
        return error


@dataclass
class _Page:
    rows: list[list[Any]]


@dataclass
class _Query:
    id: str
    slug: str
    statement: str
    parameters: tuple[object, ...]
    catalog: str | None
    schema: str | None
    sleep_seconds: float
    started: float = field(default_factory=time.monotonic)
    pages: queue.Queue[_Page | DoubleQueryError | None] = field(
        default_factory=lambda: queue.Queue(maxsize=2)
    )
    cancelled: threading.Event = field(default_factory=threading.Event)
    columns_ready: threading.Event = field(default_factory=threading.Event)
    columns: list[dict[str, Any]] | None = None
    update_type: str | None = None
    update_count: int | None = None
    state: str = "QUEUED"
    token: int = 0
    processed_rows: int = 0
    processed_bytes: int = 0
    duckdb_cursor: duckdb.DuckDBPyConnection | None = None


class TrinoFaultDouble:
    """Start with `with TrinoFaultDouble.running(...) as double:`; `double.host`/`double.port`.

    `credentials` (principal → password) turns on HTTP Basic authentication for every request;
    without it, X-Trino-User alone identifies the caller, as on a coordinator without
    authentication. `schemas` are created in the DuckDB catalog named `catalog`.
    """

    def __init__(
        self,
        *,
        credentials: Mapping[str, str] | None = None,
        catalog: str = "iceberg",
        schemas: tuple[str, ...] = ("alpha",),
        echo_rejected_credentials: bool = False,
        page_rows: int = PAGE_ROWS,
    ) -> None:
        self.credentials = dict(credentials) if credentials is not None else None
        self.echo_rejected_credentials = echo_rejected_credentials
        self.page_rows = page_rows
        self.received: list[ReceivedStatement] = []
        self.cancelled: list[str] = []  # query ids a DELETE arrived for
        self.rejected: list[str] = []  # request paths answered 401
        self.data_pages: Counter[str] = Counter()  # per query id: responses that carried rows
        self.host = "127.0.0.1"
        self.port = 0
        self._queries: dict[str, _Query] = {}
        self._lock = threading.Lock()
        self._counter = 0
        self._base_url = ""
        self.duckdb = duckdb.connect(":memory:")
        self.duckdb.execute(f"ATTACH ':memory:' AS \"{catalog}\"")
        for schema in schemas:
            self.duckdb.execute(f'CREATE SCHEMA "{catalog}"."{schema}"')

    @classmethod
    @contextmanager
    def running(cls, *, tls: Tls | None = None, **options: Any) -> Iterator[TrinoFaultDouble]:
        double = cls(**options)
        server = ThreadingHTTPServer(("127.0.0.1", 0), double._handler_class())
        server.daemon_threads = True
        if tls is not None:
            server.socket = tls.server_context().wrap_socket(server.socket, server_side=True)
        double.port = int(server.server_address[1])
        double._base_url = f"{'https' if tls else 'http'}://127.0.0.1:{double.port}"
        thread = threading.Thread(target=server.serve_forever, daemon=True, name="trino-protocol-double")
        thread.start()
        try:
            yield double
        finally:
            server.shutdown()
            server.server_close()
            for query in list(double._queries.values()):
                double._cancel(query)
            double.duckdb.close()

    # --- HTTP ----------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload, extra = double._route(self.command, urlsplit(self.path).path, headers, body)
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                data = b""
                if isinstance(payload, dict):
                    data = json.dumps(payload).encode()
                    self.send_header("Content-Type", "application/json")
                elif payload is not None:
                    data = payload
                    self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_HEAD = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def _route(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        principal, problem = self._authenticate(headers)
        if problem is not None:
            self.rejected.append(path)
            return 401, problem.encode(), {"WWW-Authenticate": 'Basic realm="Trino"'}
        if method == "POST" and path == "/v1/statement":
            return self._submit(headers, body.decode(), principal)
        parts = path.split("/")  # /v1/statement/{queued|executing}/{id}/{slug}/{token}
        if len(parts) == 7 and parts[:3] == ["", "v1", "statement"] and parts[3] in ("queued", "executing"):
            with self._lock:
                query = self._queries.get(parts[4])
            if query is None or query.slug != parts[5]:
                return 404, b"Query not found", {}
            if method == "DELETE":
                self.cancelled.append(query.id)
                self._cancel(query)
                return 204, None, {}
            if method == "HEAD":
                return 200, None, {}
            if method == "GET":
                return 200, self._next_results(query, int(parts[6])), {}
        return 404, b"no such resource", {}

    def _authenticate(self, headers: dict[str, str]) -> tuple[str | None, str | None]:
        if self.credentials is None:
            return None, None
        scheme, _, encoded = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None, "Unauthorized"
        try:
            principal, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return None, "Unauthorized"
        if self.credentials.get(principal) != password:
            if self.echo_rejected_credentials:
                return None, f"Access Denied: invalid credentials {principal}:{password}"
            return None, "Access Denied: Invalid credentials"
        return principal, None

    # --- the statement protocol ----------------------------------------------------------------

    def _submit(
        self, headers: dict[str, str], text: str, principal: str | None
    ) -> tuple[int, Any, dict[str, str]]:
        user = headers.get("x-trino-user")
        if not user:
            return 400, b"Error 400 Bad Request: User must be set", {}
        with self._lock:
            self._counter += 1
            query_id = f"{datetime.now(UTC):%Y%m%d_%H%M%S}_{self._counter:05d}_double"
        statement, parameters, problem = text, (), None
        immediate = EXECUTE_IMMEDIATE.match(text)
        if immediate is not None:
            statement = immediate.group(1).replace("''", "'")
            try:
                parameters = _parse_using(immediate.group(2) or "")
            except DoubleQueryError as error:
                problem = error
        tags = headers.get("x-trino-client-tags", "")
        self.received.append(
            ReceivedStatement(
                query_id=query_id,
                user=user,
                principal=principal,
                text=text,
                statement=statement,
                parameters=parameters,
                catalog=headers.get("x-trino-catalog"),
                schema=headers.get("x-trino-schema"),
                source=headers.get("x-trino-source"),
                client_tags=tuple(tag for tag in tags.split(",") if tag),
            )
        )
        sleep = SLEEP_MARKER.search(statement)
        query = _Query(
            id=query_id,
            slug="y" + secrets.token_hex(8),
            statement=statement,
            parameters=parameters,
            catalog=headers.get("x-trino-catalog"),
            schema=headers.get("x-trino-schema"),
            sleep_seconds=float(sleep.group(1)) if sleep else 0.0,
        )
        with self._lock:
            self._queries[query_id] = query
        if problem is not None:
            query.pages.put(problem)
        else:
            threading.Thread(
                target=self._execute, args=(query,), daemon=True, name=f"double-{query_id}"
            ).start()
        return 200, self._results(query, next_path=f"queued/{query.id}/{query.slug}/1"), {}

    def _next_results(self, query: _Query, token: int) -> dict[str, Any]:
        if query.cancelled.is_set():
            query.state = "FAILED"
            return self._results(query, error=DoubleQueryError("USER_CANCELED", "Query was canceled"))
        try:
            item = query.pages.get(timeout=MAX_WAIT_SECONDS)
        except queue.Empty:
            return self._results(query, next_path=f"executing/{query.id}/{query.slug}/{token + 1}")
        if isinstance(item, DoubleQueryError):
            query.state = "FAILED"
            return self._results(query, error=item)
        if item is None:
            query.state = "FINISHED"
            return self._results(query)
        self.data_pages[query.id] += 1
        return self._results(
            query, rows=item.rows, next_path=f"executing/{query.id}/{query.slug}/{token + 1}"
        )

    def _results(
        self,
        query: _Query,
        *,
        rows: list[list[Any]] | None = None,
        next_path: str | None = None,
        error: DoubleQueryError | None = None,
    ) -> dict[str, Any]:
        elapsed = time.monotonic() - query.started
        stats: dict[str, Any] = {
            "state": query.state,
            "queued": query.state == "QUEUED",
            "scheduled": query.state != "QUEUED",
            "nodes": 1,
            "totalSplits": 1,
            "queuedSplits": 0,
            "runningSplits": int(query.state == "RUNNING"),
            "completedSplits": int(query.state == "FINISHED"),
            "cpuTimeMillis": int(elapsed * 1000),
            "wallTimeMillis": int(elapsed * 1000),
            "queuedTimeMillis": 0,
            "elapsedTimeMillis": int(elapsed * 1000),
            "processedRows": query.processed_rows,
            "processedBytes": query.processed_bytes,
            "physicalInputBytes": query.processed_bytes,
            "peakMemoryBytes": 0,
            "spilledBytes": 0,
        }
        if query.state == "FINISHED":
            stats["progressPercentage"] = 100.0
        elif query.state == "RUNNING" and query.sleep_seconds:
            stats["progressPercentage"] = min(99.0, 100.0 * elapsed / query.sleep_seconds)
        results: dict[str, Any] = {
            "id": query.id,
            "infoUri": f"{self._base_url}/ui/query.html?{query.id}",
            "stats": stats,
            "warnings": [],
        }
        if next_path is not None:
            results["nextUri"] = f"{self._base_url}/v1/statement/{next_path}"
        if query.columns_ready.is_set() and query.columns is not None:
            results["columns"] = query.columns
        if rows:
            results["data"] = rows
        if query.update_type is not None:
            results["updateType"] = query.update_type
            if query.update_count is not None:
                results["updateCount"] = query.update_count
        if error is not None:
            results["error"] = error.payload()
        return results

    def _cancel(self, query: _Query) -> None:
        query.cancelled.set()
        with self._lock:
            if query.duckdb_cursor is not None:
                query.duckdb_cursor.interrupt()

    # --- running a statement on DuckDB -----------------------------------------------------------

    def _execute(self, query: _Query) -> None:
        query.state = "RUNNING"
        try:
            if query.cancelled.wait(query.sleep_seconds):
                return
            with self._lock:
                cursor = query.duckdb_cursor = self.duckdb.cursor()
            cursor.execute("SET TimeZone = 'UTC'")
            if query.catalog and query.schema:
                cursor.execute(f'USE "{query.catalog}"."{query.schema}"')
            kind = duckdb.extract_statements(query.statement)[0].type
            result = cursor.execute(query.statement, list(query.parameters))
            if kind == duckdb.StatementType.SELECT:
                self._stream(query, result.to_arrow_reader(self.page_rows))
            else:
                self._report_update(query, kind, result.fetchall())
        except duckdb.Error as error:
            if not query.cancelled.is_set():
                self._put(query, _trino_error(error, query.statement))
        except Exception as error:  # a gap in this double: answer with it rather than hang the client
            self._put(query, DoubleQueryError("GENERIC_INTERNAL_ERROR", f"{type(error).__name__}: {error}"))
        else:
            self._put(query, None)
        finally:
            with self._lock:
                if query.duckdb_cursor is not None:
                    query.duckdb_cursor.close()
                    query.duckdb_cursor = None

    def _stream(self, query: _Query, reader: pa.RecordBatchReader) -> None:
        encoders = [_encoder(f.type) for f in reader.schema]
        query.columns = [_column(f.name, f.type) for f in reader.schema]
        query.columns_ready.set()
        for batch in reader:
            rows = [
                [encode(value) for encode, value in zip(encoders, row, strict=True)] for row in _rows(batch)
            ]
            query.processed_rows += batch.num_rows
            query.processed_bytes += batch.nbytes
            if not self._put(query, _Page(rows)):
                return

    def _report_update(self, query: _Query, kind: duckdb.StatementType, rows: list[tuple[Any, ...]]) -> None:
        name = kind.name.replace("_", " ")
        query.update_type = "CREATE TABLE" if name == "CREATE" else name
        if rows:  # DuckDB answers DML and CTAS with the row count
            query.update_count = int(rows[0][0])
            query.columns = [_column("rows", pa.int64())]
            page = _Page([[query.update_count]])
        else:
            query.columns = [_column("result", pa.bool_())]
            page = _Page([[True]])
        query.columns_ready.set()
        self._put(query, page)

    def _put(self, query: _Query, item: _Page | DoubleQueryError | None) -> bool:
        """Hand a page to the GETs, waiting while the client has not read the earlier ones."""
        while not query.cancelled.is_set():
            try:
                query.pages.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False


# --- bound parameters ------------------------------------------------------------------------


def _parse_using(text: str) -> tuple[object, ...]:
    values: list[object] = []
    position = 0
    while position < len(text.strip()):
        match = USING_LITERAL.match(text, position)
        if match is None:
            raise DoubleQueryError("NOT_SUPPORTED", f"this double cannot bind: {text[position:][:60]}")
        values.append(_literal_value(match))
        position = match.end()
    return tuple(values)


def _literal_value(match: re.Match[str]) -> object:
    if match["null"]:
        return None
    if match["boolean"]:
        return match["boolean"].lower() == "true"
    if match["integer"]:
        return int(match["integer"])
    if match["special"]:
        return {"infinity()": math.inf, "-infinity()": -math.inf, "nan()": math.nan}[match["special"].lower()]
    if match["hex"] is not None:
        return bytes.fromhex(match["hex"])
    if match["text"] is not None:
        return match["text"].replace("''", "'")
    kind, text = match["typed"].upper(), match["typed_text"].replace("''", "'")
    if kind == "DOUBLE":
        return float(text)
    if kind == "DECIMAL":
        return Decimal(text)
    if kind == "DATE":
        return date.fromisoformat(text)
    if kind == "TIMESTAMP":
        return _timestamp(text)
    return text  # TIME and UUID: DuckDB casts the text where it is used


def _timestamp(text: str) -> datetime:
    day, clock, *zone = text.split(" ")
    if not zone:
        return datetime.fromisoformat(f"{day} {clock}")
    if zone[0].startswith("UTC") and len(zone[0]) > 3:  # a fixed offset, written as UTC+05:00
        return datetime.fromisoformat(f"{day} {clock}{zone[0][3:]}")
    return datetime.fromisoformat(f"{day} {clock}").replace(tzinfo=ZoneInfo(zone[0]))


# --- DuckDB results as Trino results ---------------------------------------------------------


def _rows(batch: pa.RecordBatch) -> Iterator[tuple[Any, ...]]:
    columns = [column.to_pylist() for column in batch.columns]
    return zip(*columns, strict=True) if columns else iter(())


def _signature(kind: pa.DataType) -> tuple[str, dict[str, Any]]:
    """Trino's type name and type signature for an Arrow type of a DuckDB result."""

    def simple(raw: str, *longs: int) -> tuple[str, dict[str, Any]]:
        name = f"{raw}({','.join(map(str, longs))})" if longs else raw
        return name, {"rawType": raw, "arguments": [{"kind": "LONG", "value": v} for v in longs]}

    if pa.types.is_boolean(kind):
        return simple("boolean")
    integers = {8: "tinyint", 16: "smallint", 32: "integer", 64: "bigint"}
    if pa.types.is_signed_integer(kind):
        return simple(integers[kind.bit_width])
    if pa.types.is_unsigned_integer(kind):
        return (
            simple(integers[min(64, kind.bit_width * 2)]) if kind.bit_width < 64 else simple("decimal", 20, 0)
        )
    if pa.types.is_float32(kind):
        return simple("real")
    if pa.types.is_floating(kind):
        return simple("double")
    if pa.types.is_decimal(kind):
        return simple("decimal", kind.precision, kind.scale)
    if pa.types.is_date(kind):
        return simple("date")
    if pa.types.is_timestamp(kind):
        name, signature = simple("timestamp", 6)
        if kind.tz is not None:
            signature["rawType"] = "timestamp with time zone"
            name = "timestamp(6) with time zone"
        return name, signature
    if pa.types.is_time(kind):
        return simple("time", 6)
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return simple("varbinary")
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        element_name, element = _signature(kind.value_type)
        return f"array({element_name})", {
            "rawType": "array",
            "arguments": [{"kind": "TYPE", "value": element}],
        }
    return "varchar", {"rawType": "varchar", "arguments": [{"kind": "LONG", "value": 2147483647}]}


def _column(name: str, kind: pa.DataType) -> dict[str, Any]:
    type_name, signature = _signature(kind)
    return {"name": name, "type": type_name, "typeSignature": signature}


def _encoder(kind: pa.DataType) -> Callable[[Any], Any]:
    """How Trino writes a value of this type in JSON (numbers exact, the rest as text)."""
    if pa.types.is_floating(kind):
        return _float_value
    if pa.types.is_decimal(kind) or (pa.types.is_unsigned_integer(kind) and kind.bit_width == 64):
        return lambda v: None if v is None else str(v)
    if pa.types.is_date(kind):
        return lambda v: None if v is None else v.isoformat()
    if pa.types.is_timestamp(kind):
        if kind.tz is not None:
            return lambda v: None if v is None else v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
        return lambda v: None if v is None else v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if pa.types.is_time(kind):
        return lambda v: None if v is None else v.strftime("%H:%M:%S.%f")
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return lambda v: None if v is None else base64.b64encode(v).decode()
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        element = _encoder(kind.value_type)
        return lambda v: None if v is None else [element(e) for e in v]
    if pa.types.is_boolean(kind) or pa.types.is_integer(kind) or pa.types.is_string(kind):
        return lambda v: v
    return lambda v: None if v is None else str(v)


def _float_value(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("-Infinity" if value < 0 else "Infinity")


# --- DuckDB errors as Trino errors -----------------------------------------------------------

_ERROR_NAMES: list[tuple[type[duckdb.Error], str, str]] = [  # DuckDB exception, its headline, Trino's name
    (duckdb.ParserException, "", "SYNTAX_ERROR"),
    (duckdb.CatalogException, "^Table with name .* does not exist", "TABLE_NOT_FOUND"),
    (duckdb.CatalogException, "^Table with name .* already exists", "TABLE_ALREADY_EXISTS"),
    (duckdb.CatalogException, "^Schema with name .* does not exist", "SCHEMA_NOT_FOUND"),
    (duckdb.CatalogException, "^Catalog with name .* does not exist", "CATALOG_NOT_FOUND"),
    (duckdb.CatalogException, "Function with name .* does not exist", "FUNCTION_NOT_FOUND"),
    (duckdb.BinderException, "^Referenced column .* not found", "COLUMN_NOT_FOUND"),
    (duckdb.ConversionException, "", "INVALID_CAST_ARGUMENT"),
    (duckdb.InterruptException, "", "USER_CANCELED"),
]
_CONTEXT_LINE = re.compile(r"^LINE (\d+): (.*)$")


def _trino_error(error: duckdb.Error, statement: str) -> DoubleQueryError:
    text = str(error)
    headline = re.sub(r"^[A-Za-z ]+ Error: ", "", text.split("\n", 1)[0])
    name = next(
        (
            name
            for kind, pattern, name in _ERROR_NAMES
            if isinstance(error, kind) and re.search(pattern, headline)
        ),
        "GENERIC_USER_ERROR",
    )
    location = _location(text, statement)
    message = f"line {location[0]}:{location[1]}: {headline}" if location else headline
    return DoubleQueryError(name, message, location)


def _location(text: str, statement: str) -> tuple[int, int] | None:
    """Line and column from DuckDB's `LINE n: <context>` and the caret line under it."""
    lines = text.split("\n")
    for index, line in enumerate(lines[:-1]):
        context = _CONTEXT_LINE.match(line)
        if context is None or "^" not in lines[index + 1]:
            continue
        number = int(context.group(1))
        caret = lines[index + 1].index("^") - (len(line) - len(context.group(2)))
        shown = context.group(2)
        if shown.startswith("..."):  # DuckDB clips long lines; find the shown part in the real one
            shown, caret = shown[3:], caret - 3
        source = statement.split("\n")[number - 1] if number <= statement.count("\n") + 1 else ""
        offset = max(source.find(shown.rstrip(".")), 0)
        return number, offset + caret + 1
    return None
