"""The SQL worksheet's fence, end to end through the statement API: a real uvicorn, the built-in
catalog with real Iceberg tables, the fenced DuckDB engine, on SQLite and PostgreSQL.

1. Escapes (host files, URLs, other catalogs, secrets, settings, extensions, copies) are refused
   with a 4xx naming what was refused, create no statement and change nothing on disk.
2. One workspace never sees another's tables or statements; a statement's rows are its owner's.
3. Viewers cannot write; archived workspaces refuse writes and still answer reads.
4. Every statement and every download is audited; the statement's catalog token is revoked when it
   ends; no secret appears in any response or audit event.
5. Bad input: syntax errors with line/column, unknown tables named, parameters bound as data,
   results cut at the row limit and flagged, out-of-range knobs refused by the schema.

One platform per backend serves the whole module (module-scoped `security_platform`), so the
file runs in seconds; tests that change shared state (archiving) put it back.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from sadeem.app import create_app
from sadeem.auth import service as auth_service
from sadeem.auth.models import ApiToken
from sadeem.config import Settings
from sadeem.db.engine import Database
from sadeem.statements.models import Statement
from tests.conftest import BACKENDS, _pg_database, bearer, live_uvicorn, make_world
from tests.jobs_support import Platform
from tests.statements_support import all_rows, create_readings, get, post, run_sql, statements_url, submit

PROBLEM = "application/problem+json"
# Host files the escapes aim at (besides $SADEEM_HOME, which is snapshotted whole).
TMP_TARGETS = [Path("/tmp/x.csv"), Path("/tmp/x.duckdb"), Path("/tmp/sadeem-export"), Path("/tmp/x")]
INJECTION = "'; DROP TABLE meter_readings; --"
# Any Sadeem token (a caller's bearer token or a statement's catalog token) with its secret part.
TOKEN_WITH_SECRET = re.compile(r"sdm_[0-9a-f]{16}_[A-Za-z0-9_-]{16,}")


# --- one platform per backend for the module ------------------------------------------------------


@pytest.fixture(scope="module", params=BACKENDS)
def security_platform(
    request: pytest.FixtureRequest,
    migrated_templates: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    """A live Sadeem whose state lives where `sadeem up` puts it: on SQLite, the database is
    $SADEEM_HOME/sadeem.db, and the secret key file $SADEEM_HOME/secret.key is generated — the
    escapes aim at both. Workspaces alpha (ws_admin, ws_editor, ws_viewer) and beta (outsider),
    each with a `meter_readings` table (4 rows in alpha, 3 in beta)."""
    home = tmp_path_factory.mktemp("security") / "home"
    home.mkdir()
    if request.param == "sqlite":
        shutil.copyfile(migrated_templates["sqlite"], home / "sadeem.db")
        yield from _serve(home, None)
    else:
        with _pg_database("sadeem_sec", template=migrated_templates["postgresql"]) as url:
            yield from _serve(home, url)


def _serve(home: Path, database_url: str | None) -> Iterator[Platform]:
    settings = Settings(home=home, database_url=database_url, demo=False)
    db = Database.connect(settings.resolved_database_url)
    try:
        app = create_app(settings, db)
        world = make_world(db, settings)
        with live_uvicorn(app) as base_url:
            app.state.statements.catalog_url = f"{base_url}/iceberg"
            platform = Platform(base_url, world, settings, db)
            create_readings(platform, rows=4)
            create_readings(platform, rows=3, workspace="beta", who="outsider")
            yield platform
    finally:
        db.dispose()


# --- helpers --------------------------------------------------------------------------------------


def warehouse(platform: Platform, workspace: str = "alpha") -> Path:
    return platform.settings.home / "warehouse" / workspace


def expand(platform: Platform, sql: str) -> str:
    """Fill {home}, {alpha}, {beta} (warehouse directories) and {port} into an escape's SQL."""
    return sql.format(
        home=platform.settings.home,
        alpha=warehouse(platform, "alpha"),
        beta=warehouse(platform, "beta"),
        port=platform.base_url.rsplit(":", 1)[1],
    )


def disk_snapshot(platform: Platform) -> dict[str, tuple[bool, int, int]]:
    """Every path under $SADEEM_HOME (so both warehouses too) and the /tmp targets: (is_dir, size,
    mtime_ns). Only the statement results directory and the SQLite database files are left out."""
    home = platform.settings.home
    skipped = {platform.settings.resolved_statement_results_dir}
    entries: dict[str, tuple[bool, int, int]] = {}

    def add(path: Path) -> None:
        info = path.lstat()
        entries[str(path)] = (path.is_dir(), info.st_size, info.st_mtime_ns)

    for root, dirs, files in os.walk(home):
        here = Path(root)
        dirs[:] = [d for d in dirs if here / d not in skipped]
        for name in [*dirs, *files]:
            if here == home and name.startswith("sadeem.db"):
                continue  # the SQLite database and its -wal/-shm change with every request
            add(here / name)
    for target in TMP_TARGETS:
        if not target.exists():
            entries[str(target)] = (False, -1, -1)
            continue
        add(target)
        for root, dirs, files in os.walk(target):
            for name in [*dirs, *files]:
                add(Path(root) / name)
    return entries


def statement_count(platform: Platform) -> int:
    with platform.db.reads() as session:
        return int(session.scalar(select(func.count()).select_from(Statement)) or 0)


def history_ids(platform: Platform, who: str = "ws_editor", workspace: str = "alpha") -> list[str]:
    response = httpx.get(
        statements_url(platform, workspace),
        headers=bearer(platform.world.tokens[who]),
        params={"limit": 200},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["detail"], body
    return body


def api(platform: Platform, method: str, path: str, who: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(
        method, f"{platform.base_url}{path}", headers=bearer(platform.world.tokens[who]), timeout=60, **kwargs
    )


# --- 1. the escape suite --------------------------------------------------------------------------

NOT_ALLOWED = "is not allowed in Sadeem SQL"
FILE_FUNCTION = "() is not allowed in Sadeem SQL: read tables through the catalog"
FILE_PATH = "looks like a file path"
SYNTAX = None  # refused by the Trino grammar first: a 400 syntax error with line and column


def escape(ident: str, sql: str, words: str | tuple[str, ...] | None) -> Any:
    return pytest.param(sql, words, id=ident)


# (id, sql with {home}/{alpha}/{beta}/{port}, what the refusal must say — or SYNTAX)
ESCAPES = [
    # host files and URLs through file-reading table functions
    escape("read_csv-etc-passwd", "SELECT * FROM read_csv('/etc/passwd')", "read_csv" + FILE_FUNCTION),
    escape("read_text-etc-passwd", "SELECT * FROM read_text('/etc/passwd')", "read_text" + FILE_FUNCTION),
    escape("read_parquet-sadeem-db", "SELECT * FROM read_parquet('{home}/sadeem.db')", "read_parquet()"),
    escape("read_json-secret-key", "SELECT * FROM read_json('{home}/secret.key')", "read_json()"),
    escape("read_blob-secret-key", "SELECT * FROM read_blob('{home}/secret.key')", "read_blob()"),
    escape("read_blob-beta-warehouse", "SELECT content FROM read_blob('{beta}/**')", "read_blob()"),
    escape("read_blob-own-warehouse", "SELECT count(*) FROM read_blob('{alpha}/**')", "read_blob()"),
    escape(
        "read_text-dotdot-beta",
        "SELECT * FROM read_text('{alpha}/../beta/meter_readings/metadata/x.json')",
        "read_text()",
    ),
    escape("read_csv-url", "SELECT * FROM read_csv('http://127.0.0.1:{port}/api/v1/health')", "read_csv()"),
    escape("read_parquet-s3", "SELECT * FROM read_parquet('s3://sadeem/beta/x.parquet')", "read_parquet()"),
    escape("read_csv_auto", "SELECT * FROM read_csv_auto('/etc/passwd')", "read_csv_auto()"),
    escape("parquet_metadata", "SELECT * FROM parquet_metadata('{home}/sadeem.db')", "parquet_metadata()"),
    escape("sniff_csv", "SELECT * FROM sniff_csv('/etc/passwd')", "sniff_csv()"),
    escape("iceberg_scan-beta", "SELECT * FROM iceberg_scan('{beta}/meter_readings')", "iceberg_scan()"),
    escape("glob", "SELECT * FROM glob('/etc/*')", SYNTAX),
    escape("glob-quoted", "SELECT * FROM \"glob\"('/etc/*')", SYNTAX),
    escape("read_text-qualified", "SELECT * FROM system.main.read_text('/etc/passwd')", "read_text()"),
    escape("duckdb_secrets", "SELECT * FROM duckdb_secrets()", "duckdb_secrets()"),
    escape("duckdb_settings", "SELECT * FROM duckdb_settings()", "duckdb_settings()"),
    escape("in-cte", "WITH x AS (SELECT * FROM read_text('/etc/passwd')) SELECT * FROM x", "read_text()"),
    escape("in-subquery", "SELECT (SELECT count(*) FROM read_blob('{beta}/**'))", "read_blob()"),
    escape("in-ctas", "CREATE TABLE stolen AS SELECT * FROM read_text('/etc/passwd')", "read_text()"),
    escape("in-insert", "INSERT INTO meter_readings SELECT * FROM read_csv('/etc/passwd')", "read_csv()"),
    escape("in-describe", "DESCRIBE SELECT * FROM read_blob('{beta}/**')", "read_blob()"),
    escape("in-explain", "EXPLAIN SELECT * FROM read_csv('/etc/passwd')", "read_csv()"),
    escape("in-explain-analyze", "EXPLAIN ANALYZE SELECT * FROM read_text('/etc/passwd')", "read_text()"),
    # paths as table names (DuckDB's replacement scans would read the file)
    escape("from-quoted-path", 'SELECT * FROM "/etc/passwd"', "'/etc/passwd' " + FILE_PATH),
    escape("from-string-csv", "SELECT * FROM 'x.csv'", "'x.csv' " + FILE_PATH),
    escape("from-quoted-parquet", 'SELECT * FROM "x.parquet"', "'x.parquet' " + FILE_PATH),
    escape("from-dotdot-beta", 'SELECT * FROM "{alpha}/../beta/meter_readings/data/x.parquet"', FILE_PATH),
    escape("from-sadeem-db", 'SELECT * FROM "{home}/sadeem.db"', FILE_PATH),
    escape("from-s3-url", 'SELECT * FROM "s3://sadeem/beta/x.parquet"', FILE_PATH),
    # statements outside the fence
    escape("copy-to-tmp", "COPY (SELECT 1) TO '/tmp/x.csv'", "COPY " + NOT_ALLOWED),
    escape("copy-into-warehouse", "COPY meter_readings TO '{alpha}/dump.csv'", "COPY " + NOT_ALLOWED),
    escape("copy-from", "COPY meter_readings FROM '/etc/passwd'", ("COPY " + NOT_ALLOWED, FILE_PATH)),
    escape("export-database", "EXPORT DATABASE '/tmp/sadeem-export'", SYNTAX),
    escape("import-database", "IMPORT DATABASE '/tmp/sadeem-export'", SYNTAX),
    escape("attach-memory", "ATTACH ':memory:' AS m", SYNTAX),
    escape("attach-file", "ATTACH '/tmp/x.duckdb' AS x", SYNTAX),
    escape("attach-database-file", "ATTACH DATABASE '/tmp/x.duckdb' AS x", SYNTAX),
    escape(
        "attach-iceberg-endpoint",
        "ATTACH 'beta' AS b (TYPE ICEBERG, ENDPOINT 'http://127.0.0.1:{port}/iceberg')",
        SYNTAX,
    ),
    escape("detach", "DETACH iceberg", "DETACH " + NOT_ALLOWED),
    escape("detach-database", "DETACH DATABASE iceberg", SYNTAX),
    escape(
        "create-secret", "CREATE SECRET s (TYPE S3, KEY_ID 'a', SECRET 'b')", "CREATE SECRET " + NOT_ALLOWED
    ),
    escape(
        "create-temporary-secret",
        "CREATE TEMPORARY SECRET s (TYPE S3, KEY_ID 'a', SECRET 'b')",
        "CREATE SECRET " + NOT_ALLOWED,
    ),
    escape(
        "create-persistent-secret",
        "CREATE PERSISTENT SECRET s (TYPE S3, KEY_ID 'a', SECRET 'b')",
        "CREATE SECRET " + NOT_ALLOWED,
    ),
    escape(
        "create-or-replace-secret",
        "CREATE OR REPLACE PERSISTENT SECRET s (TYPE ICEBERG, TOKEN 'x')",
        "CREATE SECRET",
    ),
    escape("set-external-access", "SET enable_external_access = true", "SET " + NOT_ALLOWED),
    escape("set-allowed-directories", "SET allowed_directories = ['/']", "SET " + NOT_ALLOWED),
    escape("set-global", "SET GLOBAL lock_configuration = false", "SET " + NOT_ALLOWED),
    escape("set-variable", "SET VARIABLE x = 1", "SET " + NOT_ALLOWED),
    escape("reset", "RESET allowed_directories", "RESET " + NOT_ALLOWED),
    escape("pragma-profiling", "PRAGMA enable_profiling", "PRAGMA " + NOT_ALLOWED),
    escape("pragma-database-list", "PRAGMA database_list", "PRAGMA " + NOT_ALLOWED),
    escape("install", "INSTALL httpfs", "INSTALL " + NOT_ALLOWED),
    escape("load", "LOAD httpfs", "LOAD " + NOT_ALLOWED),
    escape("load-file", "LOAD '/tmp/x'", "LOAD " + NOT_ALLOWED),
    escape("force-install", "FORCE INSTALL httpfs", SYNTAX),
    escape("update-extensions", "UPDATE EXTENSIONS", "UPDATE EXTENSIONS " + NOT_ALLOWED),
    escape("call", "CALL duckdb_secrets()", ("CALL " + NOT_ALLOWED, "duckdb_secrets()")),
    escape("use-memory", "USE memory", "USE " + NOT_ALLOWED),
    escape("use-beta", "USE iceberg.beta", "USE " + NOT_ALLOWED),
    escape("checkpoint", "CHECKPOINT", "CHECKPOINT " + NOT_ALLOWED),
    escape("vacuum", "VACUUM", "VACUUM " + NOT_ALLOWED),
    escape("prepare", "PREPARE p AS SELECT 1", "PREPARE " + NOT_ALLOWED),
    # EXPLAIN ANALYZE runs its statement: the inner one is checked
    escape("explain-analyze-copy", "EXPLAIN ANALYZE COPY (SELECT 1) TO '/tmp/x.csv'", "COPY " + NOT_ALLOWED),
    escape("explain-attach", "EXPLAIN ATTACH ':memory:' AS m", SYNTAX),
    # comment and case tricks
    escape("comment-mixed-case-attach", "/* x */ aTtAcH ':memory:' AS m", SYNTAX),
    escape("line-comment-copy", "-- x\n COPY (SELECT 1) TO '/tmp/x.csv'", "COPY " + NOT_ALLOWED),
    escape("comment-semicolon-set", "/* ; */ SeT enable_external_access = true", "SET " + NOT_ALLOWED),
    escape(
        "second-statement-secret",
        "SELECT 1; /* a */ cReAtE /* b */ pErSiStEnT sEcReT s (TYPE S3)",
        "CREATE SECRET " + NOT_ALLOWED,
    ),
    # SQL inside a string (query/query_table), settings and catalog introspection
    escape(
        "query-read_blob-own-warehouse",
        "SELECT * FROM query('SELECT count(*) FROM read_blob(''{alpha}/**'')')",
        "query()",
    ),
    escape("query-read_text", "SELECT * FROM query('SELECT * FROM read_text(''/etc/passwd'')')", "query()"),
    escape("query-duckdb_secrets", "SELECT * FROM query('SELECT name FROM duckdb_secrets()')", "query()"),
    escape("query_table-file", "SELECT * FROM query_table(['{alpha}/x.csv'])", "query_table()"),
    escape("json_execute_serialized_sql", "SELECT * FROM json_execute_serialized_sql('{{}}')", "()"),
    escape("current_setting", "SELECT current_setting('allowed_directories')", "current_setting()"),
    escape("duckdb_databases", "SELECT path FROM duckdb_databases()", "duckdb_databases()"),
    # SHOW keeps its query as raw text: the guard reads its tokens
    escape("show-read_blob", "SHOW SELECT * FROM read_blob('{alpha}/**')", "read_blob()"),
    escape(
        "show-read_csv-url",
        "SHOW SELECT * FROM read_csv('http://127.0.0.1:{port}/api/v1/health')",
        "read_csv()",
    ),
    escape("show-from-path", "SHOW SELECT * FROM '{alpha}/meter_readings/data/*.parquet'", FILE_PATH),
    # a path as SHOW's table, or after a comma in SHOW's query (raw text, no syntax tree)
    escape("show-path", "SHOW '{alpha}/meter_readings/data/*.parquet'", FILE_PATH),
    escape("show-quoted-path", 'SHOW "{alpha}/meter_readings/data/*.parquet"', FILE_PATH),
    escape("show-beta-path", "SHOW '{beta}/meter_readings/data/*.parquet'", FILE_PATH),
    escape(
        "show-comma-path",
        "SHOW SELECT * FROM meter_readings, '{alpha}/meter_readings/data/*.parquet'",
        FILE_PATH,
    ),
    escape("explain-show-path", "EXPLAIN SHOW '{alpha}/meter_readings/data/*.parquet'", FILE_PATH),
]


@pytest.mark.parametrize(("sql", "words"), ESCAPES)
def test_an_escape_is_refused_and_changes_nothing(
    security_platform: Platform, sql: str, words: str | tuple[str, ...] | None
) -> None:
    platform = security_platform
    sql = expand(platform, sql)
    disk, count, history = disk_snapshot(platform), statement_count(platform), history_ids(platform)

    response = submit(platform, sql, wait_timeout=20)

    outcome = response.text if response.status_code != 200 else response.json()["state"]
    assert 400 <= response.status_code < 500, f"not refused: {sql!r} → {response.status_code} {outcome}"
    body = problem(response, 400)
    if words is None:
        assert body["detail"].startswith("Syntax error at line"), body
        assert isinstance(body["line"], int) and isinstance(body["column"], int), body
    else:
        alternatives = (words,) if isinstance(words, str) else words
        assert any(word.lower() in body["detail"].lower() for word in alternatives), body
    assert statement_count(platform) == count
    assert history_ids(platform) == history
    assert disk_snapshot(platform) == disk


def test_an_escape_after_an_insert_runs_nothing(security_platform: Platform) -> None:
    """Every statement is checked before the first one runs: the INSERT before the refused one
    never happens."""
    platform = security_platform
    disk, count = disk_snapshot(platform), statement_count(platform)
    for refused in (
        "COPY (SELECT 1) TO '/tmp/x.csv'",
        "CREATE SECRET s (TYPE S3, KEY_ID 'a', SECRET 'b')",
        "SET enable_external_access = true",
        "SELECT * FROM read_text('/etc/passwd')",
        "ATTACH ':memory:' AS m",
    ):
        insert = "INSERT INTO meter_readings VALUES (99, 'x', 1.0, DATE '2026-01-01');\n"
        response = submit(platform, insert + refused)
        problem(response, 400)
    assert statement_count(platform) == count
    assert disk_snapshot(platform) == disk
    after = run_sql(platform, "SELECT count(*) FROM meter_readings WHERE id = 99", "ws_admin")
    assert after["first_page"]["rows"] == [[0]], after


def test_the_explain_endpoint_refuses_escapes_too(security_platform: Platform) -> None:
    platform = security_platform
    disk, count = disk_snapshot(platform), statement_count(platform)
    for sql, word in (
        ("SELECT * FROM read_text('/etc/passwd')", "read_text()"),
        ("COPY (SELECT 1) TO '/tmp/x.csv'", "COPY"),
        ('SELECT * FROM "/etc/passwd"', FILE_PATH),
    ):
        response = post(platform, "/explain", json={"sql": sql})
        assert word.lower() in problem(response, 400)["detail"].lower()
    assert statement_count(platform) == count
    assert disk_snapshot(platform) == disk


# --- 2. cross-workspace and cross-user refusal ----------------------------------------------------


def test_alpha_cannot_read_beta_tables(security_platform: Platform) -> None:
    platform = security_platform
    theirs = httpx.post(
        statements_url(platform, "beta"),
        json={"sql": "SELECT count(*) FROM meter_readings"},
        headers=bearer(platform.world.tokens["outsider"]),
        timeout=60,
    )
    assert theirs.status_code == 200 and theirs.json()["first_page"]["rows"] == [[3]], theirs.text
    for sql, who in (
        ("SELECT * FROM iceberg.beta.meter_readings", "ws_editor"),
        ('SELECT * FROM "beta".meter_readings', "ws_editor"),
        ('SELECT count(*) FROM "iceberg"."beta"."meter_readings"', "ws_admin"),
    ):
        statement = run_sql(platform, sql, who)
        assert statement["state"] == "FAILED", (sql, statement)
        message = statement["error"]["message"]
        assert "beta" in message and ("403" in message or "Forbidden" in message), message
        assert statement["result"] is None
    attach = submit(platform, "ATTACH 'beta' AS b (TYPE ICEBERG, ENDPOINT '" + platform.catalog_url + "')")
    problem(attach, 400)


def test_an_outsider_gets_404_on_alpha_statements(security_platform: Platform) -> None:
    platform = security_platform
    mine = run_sql(platform, "SELECT upper('alpha') || '-PRIVATE' AS answer")
    assert mine["state"] == "SUCCEEDED"
    sid = mine["id"]
    alpha = "/api/v1/workspaces/alpha/statements"
    beta = "/api/v1/workspaces/beta/statements"
    for method, path, kwargs in (
        ("POST", alpha, {"json": {"sql": "SELECT 1"}}),
        ("GET", alpha, {}),
        ("GET", f"{alpha}/{sid}", {}),
        ("POST", f"{alpha}/{sid}/cancel", {}),
        ("GET", f"{alpha}/{sid}/result", {}),
        ("GET", f"{alpha}/{sid}/result.csv", {}),
        ("GET", f"{alpha}/{sid}/result.arrow", {}),
        ("GET", f"{alpha}/{sid}/result.parquet", {}),
        ("POST", f"{alpha}/explain", {"json": {"sql": "SELECT 1"}}),
        # alpha's statement id through beta, where the outsider is admin
        ("GET", f"{beta}/{sid}", {}),
        ("POST", f"{beta}/{sid}/cancel", {}),
        ("GET", f"{beta}/{sid}/result", {}),
        ("GET", f"{beta}/{sid}/result.csv", {}),
    ):
        response = api(platform, method, path, "outsider", **kwargs)
        body = problem(response, 404)
        assert "ALPHA-PRIVATE" not in response.text and "answer" not in response.text, (path, body)
    everything = api(platform, "GET", beta, "outsider", params={"all_users": "true"})
    assert everything.status_code == 200 and sid not in everything.text


def test_a_statement_and_its_rows_are_its_owners(security_platform: Platform) -> None:
    platform = security_platform
    secret_rows = run_sql(platform, "SELECT upper('editor') || '-ONLY' AS mine")
    sid = secret_rows["id"]
    for who in ("ws_viewer", "ws_admin"):
        for path in ("/result", "/result.csv", "/result.arrow", "/result.parquet"):
            response = get(platform, f"/{sid}{path}", who)
            problem(response, 404)
            assert "EDITOR-ONLY" not in response.text
    viewer = get(platform, f"/{sid}", "ws_viewer")
    problem(viewer, 404)
    problem(post(platform, f"/{sid}/cancel", "ws_viewer"), 404)
    assert sid not in history_ids(platform, "ws_viewer")
    problem(get(platform, "", "ws_viewer", params={"all_users": "true"}), 403)
    problem(get(platform, "", "ws_editor", params={"all_users": "true"}), 403)

    seen = get(platform, f"/{sid}", "ws_admin")
    assert seen.status_code == 200 and seen.json()["user"] == "ws_editor", seen.text
    assert seen.json().get("first_page") is None and "EDITOR-ONLY" not in seen.text
    listed = get(platform, "", "ws_admin", params={"all_users": "true", "limit": 200})
    assert sid in [item["id"] for item in listed.json()["items"]]
    assert "EDITOR-ONLY" not in str(
        next(i for i in listed.json()["items"] if i["id"] == sid).get("first_page")
    )


def test_a_workspace_admin_cancels_another_users_statement(security_platform: Platform) -> None:
    platform = security_platform
    long = submit(
        platform, "SELECT count(*) FROM range(100000000000) AS a(x) WHERE x % 7 = 3", wait_timeout=0
    )
    assert long.status_code == 200, long.text
    sid = long.json()["id"]
    problem(post(platform, f"/{sid}/cancel", "ws_viewer"), 404)
    started = time.monotonic()
    cancelled = post(platform, f"/{sid}/cancel", "ws_admin")
    assert cancelled.status_code == 200, cancelled.text
    deadline = time.monotonic() + 30
    while (state := get(platform, f"/{sid}", "ws_editor", params={"wait": 2}).json())["state"] not in (
        "CANCELLED",
        "FAILED",
        "SUCCEEDED",
    ):
        assert time.monotonic() < deadline, state
    assert state["state"] == "CANCELLED", state
    assert state["cancel_requested"] is True
    assert time.monotonic() - started < 15
    problem(get(platform, f"/{sid}/result", "ws_admin"), 404)


# --- 3. viewer writes, archived workspaces --------------------------------------------------------

VIEWER_WRITES = [
    ("INSERT INTO meter_readings VALUES (9, 'x', 1.0, DATE '2026-01-01')", "INSERT"),
    ("UPDATE meter_readings SET kwh = 0", "UPDATE"),
    ("DELETE FROM meter_readings", "DELETE"),
    (
        "MERGE INTO meter_readings t USING (SELECT 1 AS id) s ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET kwh = 0",
        "MERGE",
    ),
    ("CREATE TABLE viewer_made (x INTEGER)", "CREATE TABLE"),
    ("DROP TABLE meter_readings", "DROP TABLE"),
    ("ALTER TABLE meter_readings ADD COLUMN extra INTEGER", "ALTER"),
    ("CREATE TABLE viewer_copy AS SELECT * FROM meter_readings", "CREATE TABLE"),
    ("SELECT * INTO viewer_into FROM meter_readings", "SELECT"),
    ("EXPLAIN ANALYZE INSERT INTO meter_readings VALUES (9, 'x', 1.0, DATE '2026-01-01')", "EXPLAIN"),
    ("SELECT 1;\nDELETE FROM meter_readings", "DELETE (line 2)"),
]


@pytest.mark.parametrize(("sql", "kind"), VIEWER_WRITES, ids=[kind for _, kind in VIEWER_WRITES])
def test_a_viewer_cannot_write(security_platform: Platform, sql: str, kind: str) -> None:
    platform = security_platform
    disk, count = disk_snapshot(platform), statement_count(platform)
    body = problem(submit(platform, sql, "ws_viewer"), 403)
    assert body["detail"].startswith(kind), body
    assert "viewer" in body["detail"] and "alpha" in body["detail"], body
    assert statement_count(platform) == count
    assert disk_snapshot(platform) == disk


def test_explain_analyze_of_a_write_is_named_as_such_for_a_viewer(security_platform: Platform) -> None:
    body = problem(submit(security_platform, "EXPLAIN ANALYZE DELETE FROM meter_readings", "ws_viewer"), 403)
    assert body["detail"].startswith("EXPLAIN ANALYZE"), body


def test_a_viewer_may_read(security_platform: Platform) -> None:
    """Queries, EXPLAIN (ANALYZE of a query), DESCRIBE and SHOW pass the viewer check; they run
    as one submission (each statement is checked at submit, the last one's rows are the result)."""
    reads = [
        "SELECT site, sum(kwh) FROM meter_readings GROUP BY site",
        "WITH t AS (SELECT * FROM meter_readings) SELECT count(*) FROM t",
        "VALUES (1, 2)",
        "EXPLAIN SELECT * FROM meter_readings",
        "EXPLAIN ANALYZE SELECT * FROM meter_readings",
        "DESCRIBE meter_readings",
        "SHOW TABLES",
        "SELECT count(*) FROM meter_readings",
    ]
    statement = run_sql(security_platform, ";\n".join(reads), "ws_viewer")
    assert statement["state"] == "SUCCEEDED", statement
    assert statement["first_page"]["rows"][0][0] >= 4


def test_an_editor_writes_through_the_api(security_platform: Platform) -> None:
    platform = security_platform
    created = run_sql(
        platform,
        "CREATE TABLE editor_notes (id BIGINT, note VARCHAR);\n"
        "INSERT INTO editor_notes VALUES (1, 'first'), (2, 'second')",
    )
    assert created["state"] == "SUCCEEDED", created
    assert created["first_page"]["rows"] == [[2]]
    changed = run_sql(
        platform,
        "INSERT INTO editor_notes VALUES (3, 'third');\n"
        "UPDATE editor_notes SET note = 'changed' WHERE id = 2;\n"
        "CREATE TABLE editor_copy AS SELECT * FROM editor_notes",
    )
    assert changed["state"] == "SUCCEEDED" and changed["first_page"]["rows"] == [[3]], changed
    read = run_sql(platform, "SELECT c.id, c.note FROM editor_copy AS c ORDER BY c.id", "ws_viewer")
    assert read["state"] == "SUCCEEDED", read
    assert read["first_page"]["rows"] == [[1, "first"], [2, "changed"], [3, "third"]]


def test_ddl_alone_succeeds(security_platform: Platform) -> None:
    statement = run_sql(security_platform, "CREATE TABLE ddl_alone (x INTEGER)")
    assert statement["state"] == "SUCCEEDED", statement


def test_an_archived_workspace_refuses_writes_and_answers_reads(security_platform: Platform) -> None:
    platform = security_platform
    archived = api(platform, "POST", "/api/v1/workspaces/alpha/archive", "ws_admin")
    assert archived.status_code == 200, archived.text
    try:
        count = statement_count(platform)
        for sql in (
            "INSERT INTO meter_readings VALUES (9, 'x', 1.0, DATE '2026-01-01')",
            "CREATE TABLE archived_table (x INTEGER)",
            "DELETE FROM meter_readings",
        ):
            body = problem(submit(platform, sql, "ws_editor"), 409)
            assert "archived" in body["detail"], body
        problem(submit(platform, "DELETE FROM meter_readings", "ws_admin"), 409)
        assert statement_count(platform) == count
        read = run_sql(platform, "SELECT count(*) FROM meter_readings", "ws_viewer")
        assert read["state"] == "SUCCEEDED", read
    finally:
        restored = api(platform, "POST", "/api/v1/workspaces/alpha/unarchive", "ws_admin")
        assert restored.status_code == 200, restored.text


# --- 4. audit, catalog token, secrets -------------------------------------------------------------


def audit_events(platform: Platform, **params: str) -> list[dict[str, Any]]:
    response = api(
        platform, "GET", "/api/v1/workspaces/alpha/audit/events", "ws_admin", params={"limit": 200, **params}
    )
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["items"]
    return events


def test_statements_and_downloads_are_audited_and_the_catalog_token_revoked(
    security_platform: Platform,
) -> None:
    platform = security_platform
    catalog_secrets: list[str] = []
    issue = auth_service.issue_run_token

    def spy(*args: Any, **kwargs: Any) -> auth_service.NewToken:
        token = issue(*args, **kwargs)
        catalog_secrets.append(token.secret)
        return token

    seen: list[str] = []  # every response body of this test, scanned for secrets at the end
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth_service, "issue_run_token", spy)
        sql = "SELECT id, site FROM meter_readings WHERE id <= :n ORDER BY id"
        response = submit(platform, sql, parameters={"n": 3})
        seen.append(response.text)
        statement = response.json()
        assert statement["state"] == "SUCCEEDED", statement
        failed = run_sql(platform, "SELECT * FROM iceberg.beta.meter_readings")
        seen.append(str(failed))
        unknown = run_sql(platform, "SELECT * FROM no_such_table_here")
        seen.append(str(unknown))
        seen.append(submit(platform, "SELECT * FROM read_text('/etc/passwd')").text)
        seen.append(submit(platform, "COPY (SELECT 1) TO '/tmp/x.csv'").text)
    assert len(catalog_secrets) == 3  # one per statement that ran, none for refusals

    sid = statement["id"]
    events = audit_events(platform, target_type="statement", target_id=sid)
    submitted = [e for e in events if e["details"].get("sql") == sql]
    assert len(submitted) == 1, events
    event = submitted[0]
    assert event["actor"] == "ws_editor" and event["workspace"] == "alpha" and event["target_id"] == sid
    assert event["outcome"] == "success"
    assert "catalog_access_id" in event["details"]  # its value: see test_the_audit_names_the_catalog_token

    with platform.db.reads() as session:
        used = session.scalar(
            select(ApiToken)
            .join(Statement, Statement.token_id == ApiToken.id)
            .where(Statement.public_id == sid)
        )
        assert used is not None and catalog_secrets[0].split("_")[1] == used.public_id
        for secret in catalog_secrets:
            token = session.scalar(select(ApiToken).where(ApiToken.public_id == secret.split("_")[1]))
            assert token is not None and token.revoked_at is not None, secret.split("_")[1]
    # The revoked catalog token opens nothing.
    refused = httpx.get(f"{platform.catalog_url}/v1/config", headers=bearer(catalog_secrets[0]), timeout=30)
    assert refused.status_code == 401, refused.text

    sizes: dict[str, int] = {}
    for kind in ("csv", "parquet", "arrow"):
        download = get(platform, f"/{sid}/result.{kind}")
        assert download.status_code == 200, download.text
        assert download.headers["Sadeem-Result-Rows"] == "3"
        sizes[kind] = len(download.content)
        if kind == "csv":
            seen.append(download.text)
    for page in (get(platform, f"/{sid}/result"), get(platform, f"/{sid}")):
        seen.append(page.text)
    downloads = audit_events(platform, action="statement.download", target_id=sid)
    assert sorted(e["details"]["format"] for e in downloads) == ["arrow", "csv", "parquet"], downloads
    for e in downloads:
        assert e["actor"] == "ws_editor" and e["workspace"] == "alpha" and e["outcome"] == "success"
        details = e["details"]
        assert details["rows"] == 3 and details["bytes"] == sizes[details["format"]], e
        assert details["complete"] is True and details["truncated"] is False

    trail = api(platform, "GET", "/api/v1/audit/events", "root", params={"limit": 500})
    assert trail.status_code == 200
    seen.append(trail.text)
    history = get(platform, "", "ws_admin", params={"all_users": "true", "limit": 200})
    seen.append(history.text)
    everything = "\n".join(seen)
    for secret in [*catalog_secrets, *platform.world.tokens.values()]:
        assert secret not in everything
        assert secret.split("_", 2)[-1] not in everything
    assert not TOKEN_WITH_SECRET.search(everything), TOKEN_WITH_SECRET.search(everything)


def test_the_audit_names_the_catalog_token(security_platform: Platform) -> None:
    platform = security_platform
    sid = run_sql(platform, "SELECT 1 AS one")["id"]
    events = audit_events(platform, target_type="statement", target_id=sid)
    [event] = [e for e in events if e["details"].get("sql") == "SELECT 1 AS one"]
    with platform.db.reads() as session:
        token = session.scalar(
            select(ApiToken)
            .join(Statement, Statement.token_id == ApiToken.id)
            .where(Statement.public_id == sid)
        )
    assert token is not None
    assert event["details"]["catalog_access_id"] == token.public_id, event


# --- 5. bad input ---------------------------------------------------------------------------------


def test_a_syntax_error_names_line_and_column(security_platform: Platform) -> None:
    platform = security_platform
    count = statement_count(platform)
    body = problem(submit(platform, "SELECT id\nFROM meter_readings\nWHERE WHERE id = 1"), 400)
    assert body["line"] == 3 and body["column"] == 7, body
    assert body["detail"].startswith("Syntax error at line 3, column 7"), body
    assert statement_count(platform) == count


def test_an_unknown_table_fails_naming_it(security_platform: Platform) -> None:
    statement = run_sql(security_platform, "SELECT * FROM meter_readingz")
    assert statement["state"] == "FAILED", statement
    assert "meter_readingz" in statement["error"]["message"]
    assert statement["result"] is None


def test_parameters_missing_unused_and_injection(security_platform: Platform) -> None:
    platform = security_platform
    count = statement_count(platform)
    missing = problem(submit(platform, "SELECT * FROM meter_readings WHERE site = :site"), 400)
    assert ":site" in missing["detail"], missing
    unused = problem(submit(platform, "SELECT 1", parameters={"extra": 1}), 400)
    assert ":extra" in unused["detail"], unused
    both = problem(submit(platform, "SELECT :a", parameters={"b": 1}), 400)
    assert ":a" in both["detail"], both
    assert statement_count(platform) == count

    found = run_sql(
        platform,
        "SELECT (SELECT count(*) FROM meter_readings WHERE site = :v) AS matches, :v AS v, length(:v) AS n",
        parameters={"v": INJECTION},
    )
    assert found["state"] == "SUCCEEDED", found
    assert found["first_page"]["rows"] == [[0, INJECTION, len(INJECTION)]], found
    stored = run_sql(
        platform,
        "CREATE TABLE injected (v VARCHAR);\n"
        "INSERT INTO injected VALUES (:v);\n"
        "SELECT v, (SELECT count(*) FROM meter_readings) AS readings FROM injected WHERE v = :v",
        parameters={"v": INJECTION},
    )
    assert stored["state"] == "SUCCEEDED", stored
    [[value, readings]] = stored["first_page"]["rows"]
    assert value == INJECTION and readings >= 4  # stored as text; meter_readings survived


def test_a_result_longer_than_row_limit_is_cut_and_flagged(security_platform: Platform) -> None:
    platform = security_platform
    statement = run_sql(platform, "SELECT range AS n FROM range(2500)", row_limit=1000, first_page_rows=100)
    assert statement["state"] == "SUCCEEDED", statement
    result = statement["result"]
    assert result["truncated"] is True and result["total_rows"] == 1000 and result["row_limit"] == 1000
    assert len(statement["first_page"]["rows"]) == 100
    sid = statement["id"]
    assert all_rows(platform, sid, limit=300) == [[n] for n in range(1000)]
    csv = get(platform, f"/{sid}/result.csv")
    assert csv.headers["Sadeem-Result-Truncated"] == "true" and csv.headers["Sadeem-Result-Rows"] == "1000"
    assert len(csv.text.splitlines()) == 1001
    parquet = get(platform, f"/{sid}/result.parquet")
    assert pq.read_table(io.BytesIO(parquet.content)).num_rows == 1000
    arrow = get(platform, f"/{sid}/result.arrow")
    assert pa.ipc.open_stream(arrow.content).read_all().num_rows == 1000
    downloads = audit_events(platform, action="statement.download", target_id=sid)
    assert {e["details"]["truncated"] for e in downloads} == {True}
    assert {e["details"]["rows"] for e in downloads} == {1000}


@pytest.mark.parametrize(
    "body",
    [
        {"wait_timeout": 51},
        {"wait_timeout": -1},
        {"row_limit": 0},
        {"first_page_rows": 10_001},
        {"timeout_seconds": 0},
        {"timeout_seconds": 86_401},
        {"engine": "sqlite"},
        {"on_wait_timeout": "IGNORE"},
        {"sql": ""},
        {"sql": "x" * 1_000_001},
        {"parameters": {"x" * 65: 1}},
    ],
    ids=lambda body: next(iter(body)),
)
def test_out_of_range_submit_fields_are_refused(security_platform: Platform, body: dict[str, Any]) -> None:
    platform = security_platform
    count = statement_count(platform)
    response = httpx.post(
        statements_url(platform),
        json={"sql": "SELECT 1", **body},
        headers=bearer(platform.world.tokens["ws_editor"]),
        timeout=60,
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert statement_count(platform) == count


def test_out_of_range_page_and_wait_queries_are_refused(security_platform: Platform) -> None:
    platform = security_platform
    sid = run_sql(platform, "SELECT 1 AS one")["id"]
    for path, params in (
        ("/result", {"limit": 100_001}),
        ("/result", {"limit": 0}),
        ("/result", {"wait": 51}),
        ("", {"wait": 51}),
        ("", {"wait": -1}),
    ):
        response = get(platform, f"/{sid}{path}", params=params)
        assert response.status_code == 422, (path, params, response.text)
    problem(get(platform, f"/{sid}/result", params={"cursor": "not-a-cursor"}), 400)
    problem(get(platform, "/0123456789abcdef0123456789abcdef"), 404)
    assert get(platform, "/not-an-id").status_code in (404, 422)
