"""The DuckDB guard's allow-list (security issue #10, item 2): every name the deny-list missed is
refused as a function, a table function and a table name, bare, quoted and qualified; the SQL
Sadeem users write (the demo jobs, TPC-H-like analytics, EXPLAIN) still passes. The guard's
behaviour end to end is in test_statements_security.py; a fuzz of it in test_sql_fence_fuzz.py."""

from __future__ import annotations

import pytest

from sadeem.engines.duckdb_fence import check_statement
from sadeem.engines.sql_text import MAX_NESTING, SqlProblem, parse_statements
from sadeem.jobs.demo import BUILD_SQL, REPORT_SQL


def refusal(sql: str) -> str:
    with pytest.raises(SqlProblem) as caught:
        for statement in parse_statements(sql):
            check_statement(statement)
    return caught.value.detail


def accept(sql: str) -> None:
    for statement in parse_statements(sql):
        check_statement(statement)


# What the deny-list let through: logging to a host path (and the bearer token into duckdb_logs),
# settings with host paths, the catalog endpoint and secret name, session state.
MISSED_FUNCTIONS = [
    "enable_logging",
    "disable_logging",
    "truncate_duckdb_logs",
    "duckdb_logs",
    "duckdb_logs_parsed",
    "duckdb_settings",
    "duckdb_secrets",
    "duckdb_databases",
    "duckdb_extensions",
    "duckdb_tables",
    "duckdb_variables",
    "duckdb_memory",
    "duckdb_temporary_files",
    "pragma_database_list",
    "pragma_version",
    "pragma_platform",
    "pragma_user_agent",
    "checkpoint",
    "force_checkpoint",
    "enable_profiling",
    "iceberg_metadata",
    "iceberg_snapshots",
    "json_each",
    "test_all_types",
    "summary",
]


@pytest.mark.parametrize("name", MISSED_FUNCTIONS)
@pytest.mark.parametrize(
    "form",
    [
        "SELECT * FROM {name}()",
        "SELECT * FROM {upper}()",
        "SELECT * FROM main.{name}()",
        "SELECT * FROM system.main.{name}()",
        'SELECT * FROM "system"."main".{name}()',
        "SELECT count(*) FROM (SELECT * FROM {name}()) AS x",
        "WITH x AS (SELECT * FROM {name}()) SELECT * FROM x",
        "EXPLAIN SELECT * FROM {name}()",
        "SHOW SELECT * FROM {name}()",
        "INSERT INTO t SELECT * FROM {name}()",
    ],
)
def test_a_missed_table_function_is_refused(name: str, form: str) -> None:
    assert f"{name}()" in refusal(form.format(name=name, upper=name.upper())).lower()


# System views and tables, by every name that reaches them.
SYSTEM_TABLES = [
    "duckdb_settings",
    "duckdb_logs",
    "duckdb_databases",
    "duckdb_tables",
    "duckdb_columns",
    "duckdb_views",
    "pragma_database_list",
    "pg_settings",
    "pg_tables",
    "pg_namespace",
    "sqlite_master",
]


@pytest.mark.parametrize("name", SYSTEM_TABLES)
@pytest.mark.parametrize(
    "form",
    [
        "SELECT * FROM {name}",
        'SELECT * FROM "{name}"',
        "SELECT * FROM main.{name}",
        "SELECT * FROM system.main.{name}",
        'SELECT * FROM "system".main.{name}',
        "SELECT * FROM pg_catalog.{name}",
        "SELECT * FROM system.pg_catalog.{name}",
        "TABLE {name}",
        "DESCRIBE {name}",
        "SHOW {name}",
        "SELECT * FROM meter_readings AS m JOIN {name} AS s ON true",
        "SELECT (SELECT count(*) FROM {name})",
        "SELECT * FROM meter_readings WHERE site IN (SELECT 'x' FROM {name})",
    ],
)
def test_a_system_table_is_refused(name: str, form: str) -> None:
    assert "system catalog" in refusal(form.format(name=name))


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT enable_logging()",
        "SELECT getvariable('x')",
        "SELECT current_setting('allowed_directories')",
        "SELECT current_setting('TimeZone')",
        "SELECT nextval('s')",
        "SELECT setseed(0.5)",
        "SELECT write_log('x')",
        "SELECT sleep_ms(100000)",
        "SELECT pg_sleep(100)",
        "SELECT version()",
        "SELECT current_database()",
        "SELECT json_serialize_sql('SELECT 1')",
        "SELECT json_serialize_plan('SELECT * FROM duckdb_settings()')",
        "SELECT list_transform(['/etc/passwd'], f -> read_text(f))",
        "SELECT \"read_text\"('/etc/passwd')",
        "SELECT main.current_setting('threads')",
        "SELECT CASE WHEN true THEN getenv('HOME') END",
        "SELECT CAST(current_setting('threads') AS int)",
    ],
)
def test_a_function_off_the_list_is_refused(sql: str) -> None:
    assert "() is not allowed in Sadeem SQL" in refusal(sql)


@pytest.mark.parametrize(
    ("sql", "name"),
    [
        ("CREATE MACRO m() AS TABLE SELECT 1", "CREATE MACRO"),
        ("CREATE OR REPLACE TEMP MACRO m(x) AS x", "CREATE MACRO"),
        ("CREATE FUNCTION f() AS 1", "CREATE FUNCTION"),
        ("CREATE SEQUENCE s", "CREATE SEQUENCE"),
        ("CREATE TYPE e AS ENUM ('a')", "CREATE TYPE"),
        ("CREATE INDEX i ON t (a)", "CREATE INDEX"),
        ("DROP SECRET sadeem_catalog", "DROP SECRET"),
        ("DROP MACRO m", "DROP MACRO"),
    ],
)
def test_only_tables_views_and_schemas_are_created_or_dropped(sql: str, name: str) -> None:
    assert refusal(sql) == f"{name} is not allowed in Sadeem SQL."


def test_information_schema_offers_only_the_catalog_listings() -> None:
    accept("SELECT table_name FROM information_schema.tables WHERE table_schema = 'alpha'")
    accept("SELECT column_name, data_type FROM iceberg.information_schema.columns")
    accept("SELECT schema_name FROM information_schema.schemata")
    for view in ("key_column_usage", "table_constraints", "character_sets"):
        assert "information_schema" in refusal(f"SELECT * FROM information_schema.{view}")  # noqa: S608


LEGITIMATE = [
    BUILD_SQL,
    REPORT_SQL,
    # TPC-H-like: joins, CTEs, GROUP BY/HAVING, CASE, date arithmetic, EXISTS, LIKE, extract
    """
    WITH revenue AS (
        SELECT l_suppkey AS supplier_no, sum(l_extendedprice * (1 - l_discount)) AS total_revenue
        FROM lineitem
        WHERE l_shipdate >= DATE '1996-01-01' AND l_shipdate < DATE '1996-01-01' + INTERVAL '3' MONTH
        GROUP BY l_suppkey
    )
    SELECT s.s_suppkey, s.s_name, r.total_revenue,
           CASE WHEN r.total_revenue > 1000 THEN 'high' ELSE 'low' END AS band,
           sum(CASE WHEN o.o_orderpriority LIKE '1-%' THEN 1 ELSE 0 END) AS urgent
    FROM supplier AS s
    JOIN revenue AS r ON s.s_suppkey = r.supplier_no
    LEFT JOIN orders AS o ON o.o_custkey = s.s_nationkey
    WHERE EXISTS (SELECT 1 FROM nation AS n WHERE n.n_nationkey = s.s_nationkey)
      AND extract(year FROM o.o_orderdate) BETWEEN 1995 AND 1996
    GROUP BY s.s_suppkey, s.s_name, r.total_revenue
    HAVING count(*) > 0
    ORDER BY r.total_revenue DESC
    LIMIT 10
    """,
    # windows, GROUPING SETS, string and date functions, casts
    """
    SELECT region, day,
           row_number() OVER (PARTITION BY region ORDER BY kwh DESC) AS rn,
           rank() OVER w, lag(kwh, 1) OVER w, avg(kwh) OVER (w ROWS BETWEEN 6 PRECEDING AND CURRENT ROW),
           upper(substr(region, 1, 3)) || '-' || lpad(CAST(month(day) AS varchar), 2, '0') AS code,
           date_trunc('month', day), date_add('day', 7, day), date_diff('day', day, current_date),
           regexp_replace(region, '[aeiou]', ''), round(kwh, 2), coalesce(nullif(kwh, 0), 1),
           try_cast(region AS integer), approx_distinct(region) OVER (), format('{}:{}', region, day)
    FROM daily_usage
    WINDOW w AS (PARTITION BY region ORDER BY day)
    """,
    "SELECT region, customer_class, sum(kwh) FROM daily_usage\n"
    "GROUP BY GROUPING SETS ((region), (customer_class), ())",
    "SELECT * FROM range(10) AS r(n) CROSS JOIN UNNEST(ARRAY[1, 2]) AS u(x)",
    "SELECT * FROM generate_series(1, 5)",
    "SELECT list_transform([1, 2, 3], x -> x * 2), struct_pack(a := 1), map_keys(map([1], [2]))",
    "SELECT json_extract_string('{\"a\": 1}', '$.a'), json_extract_scalar('{\"a\": 1}', '$.a')",
    "SELECT string_agg(site, ',') WITHIN GROUP (ORDER BY site), count(*) FILTER (WHERE kwh > 1) FROM t",
    "SELECT median(kwh), quantile_cont(kwh, 0.9), stddev(kwh), max_by(site, kwh), arbitrary(site) FROM t",
    "EXPLAIN SELECT count(*) FROM meter_readings",
    "EXPLAIN ANALYZE SELECT site, sum(kwh) FROM meter_readings GROUP BY site",
    "DESCRIBE meter_readings",
    "SHOW TABLES",
    "SHOW ALL TABLES",
    "CREATE TABLE daily AS SELECT CAST(reading_at AS date) AS day, sum(kwh) AS kwh\n"
    "FROM meter_readings GROUP BY 1",
    "CREATE OR REPLACE VIEW v AS SELECT * FROM meter_readings",
    "CREATE SCHEMA IF NOT EXISTS staging",
    "ALTER TABLE t ADD COLUMN note varchar",
    "DROP VIEW IF EXISTS v",
    "INSERT INTO t SELECT * FROM meter_readings WHERE day = :day",
    "UPDATE t SET kwh = kwh * 2 WHERE site = 'north'",
    "DELETE FROM t WHERE kwh < 0",
    "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET kwh = s.kwh",
    "BEGIN TRANSACTION; COMMIT",
    "SELECT uuid(), random(), now(), current_timestamp, typeof(1)",
    "SELECT " + "(" * MAX_NESTING + "1" + ")" * MAX_NESTING,
]


@pytest.mark.parametrize("sql", LEGITIMATE)
def test_sql_users_write_still_passes(sql: str) -> None:
    accept(sql)
