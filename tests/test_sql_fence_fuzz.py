"""A grammar-based fuzz of the DuckDB guard (security issue #10): statements built from safe and
denied DuckDB functions, table functions and system tables, nested in subqueries, CTEs, CASE,
casts, EXPLAIN, with quoted and qualified names, comments and odd casing. The invariants: every
statement holding a denied name is refused (SqlProblem), and every statement of the safe grammar
is accepted.

CI runs a fixed set of examples (derandomized); SADEEM_FUZZ_EXPLORE=1 explores with many more,
new ones each run (nightly)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sadeem.engines.duckdb_fence import check_statement
from sadeem.engines.sql_text import SqlProblem, parse_statements

EXPLORE = os.environ.get("SADEEM_FUZZ_EXPLORE") == "1"
FUZZ = settings(
    max_examples=5_000 if EXPLORE else 150,
    derandomize=not EXPLORE,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

SAFE_SCALARS = [
    "upper({v})",
    "lower({v})",
    "length({v})",
    "substr({v}, 1, 2)",
    "concat({v}, 'x')",
    "regexp_replace({v}, '[0-9]', '')",
    "coalesce({v}, 'none')",
    "nullif({v}, '')",
    "strpos({v}, 'a')",
    "md5({v})",
    "abs({n})",
    "round({n}, 2)",
    "greatest({n}, 1)",
    "sqrt(abs({n}))",
    "date_trunc('month', current_date)",
    "date_add('day', {n}, current_date)",
    "year(current_date)",
    "list_transform([1, 2], x -> x + {n})",
    "cardinality(ARRAY[{n}, 2])",
    "json_extract_string('{{\"a\": 1}}', '$.a')",
    "try_cast({v} AS integer)",
]
SAFE_AGGREGATES = ["count(*)", "sum({n})", "avg({n})", "max({v})", "string_agg({v}, ',')", "median({n})"]
SAFE_SOURCES = ["meter_readings", "alpha.meter_readings", "range(5) AS r(n)", "generate_series(1, 3) AS g(n)"]

# Denied table functions and scalar functions (as DuckDB knows them), and system tables.
DENIED_TABLE_FUNCTIONS = [
    "read_text('/etc/passwd')",
    "read_csv('/etc/passwd')",
    "read_blob('/tmp/x')",
    "duckdb_settings()",
    "duckdb_secrets()",
    "duckdb_databases()",
    "duckdb_logs()",
    "duckdb_extensions()",
    "enable_logging(['HTTP'])",
    "truncate_duckdb_logs()",
    "pragma_database_list()",
    "query('SELECT 1')",
    "query_table('t')",
    "checkpoint()",
    "iceberg_metadata('x')",
    "which_secret('s3://x', 's3')",
]
DENIED_SCALARS = [
    "current_setting('allowed_directories')",
    "getvariable('x')",
    "getenv('HOME')",
    "enable_logging()",
    "write_log('x')",
    "nextval('s')",
    "version()",
    "json_serialize_sql('SELECT 1')",
    "sleep_ms(1)",
]
SYSTEM_TABLES = [
    "duckdb_settings",
    "duckdb_logs",
    "duckdb_databases",
    "duckdb_tables",
    "pragma_database_list",
    "pg_settings",
    "pg_catalog.pg_settings",
    "sqlite_master",
    "information_schema.key_column_usage",
]
QUALIFIERS = ["", "main.", "system.main.", '"system"."main".', "SYSTEM.MAIN."]


def odd_case(draw: st.DrawFn, text: str) -> str:
    """The text with random letters upper-cased (names are case-insensitive to DuckDB)."""
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if flip else c for c, flip in zip(text, flips, strict=True))


@st.composite
def values(draw: st.DrawFn) -> tuple[str, str]:
    """(a text expression, a numeric expression) for the safe templates."""
    text = draw(st.sampled_from(["site", "'abc'", "CAST(id AS varchar)", "'x' || site"]))
    number = draw(st.sampled_from(["kwh", "1", "id * 2", "CAST('3' AS integer)"]))
    return text, number


@st.composite
def safe_expression(draw: st.DrawFn, depth: int = 2) -> str:
    text, number = draw(values())
    expression = draw(st.sampled_from(SAFE_SCALARS)).format(v=text, n=number)
    if depth and draw(st.booleans()):
        inner = draw(safe_expression(depth=depth - 1))
        expression = draw(
            st.sampled_from(
                [
                    f"CASE WHEN {inner} IS NULL THEN {expression} END",
                    f"coalesce(CAST({inner} AS varchar), CAST({expression} AS varchar))",
                    f"(SELECT {inner})",
                ]
            )
        )
    return draw(odd_case_maybe(expression))


@st.composite
def odd_case_maybe(draw: st.DrawFn, text: str) -> str:
    return odd_case(draw, text) if draw(st.booleans()) else text


@st.composite
def wrapped(draw: st.DrawFn, expression: str, source: str) -> str:
    """A statement reading `source` and computing `expression`, in one of many shapes."""
    comment = draw(st.sampled_from(["", "/* c */ ", "-- c\n"]))
    shape = draw(
        st.sampled_from(
            [
                "SELECT {e} FROM {s}",
                "SELECT {e} AS x FROM {s} WHERE 1 = 1",
                "WITH q AS (SELECT {e} AS x FROM {s}) SELECT * FROM q",
                "SELECT * FROM (SELECT {e} AS x FROM {s}) AS sub",
                "SELECT (SELECT {e} FROM {s} LIMIT 1)",
                "SELECT 1 WHERE EXISTS (SELECT {e} FROM {s})",
                "SELECT CASE WHEN true THEN (SELECT CAST({e} AS varchar) FROM {s} LIMIT 1) END",
                "EXPLAIN SELECT {e} FROM {s}",
                "CREATE TABLE fuzz AS SELECT {e} AS x FROM {s}",
                "INSERT INTO fuzz SELECT {e} FROM {s}",
            ]
        )
    )
    return comment + shape.format(e=expression, s=source)


@st.composite
def safe_statement(draw: st.DrawFn) -> str:
    expression = draw(safe_expression())
    if draw(st.booleans()):
        text, number = draw(values())
        expression = draw(st.sampled_from(SAFE_AGGREGATES)).format(v=text, n=number)
    return draw(wrapped(expression, draw(st.sampled_from(SAFE_SOURCES))))


@st.composite
def denied_statement(draw: st.DrawFn) -> tuple[str, str]:
    """(statement, the denied name it holds), the denied part placed anywhere a name can stand."""
    qualifier = draw(st.sampled_from(QUALIFIERS))
    where = draw(st.sampled_from(["table function", "scalar", "table"]))
    if where == "table function":
        call = draw(st.sampled_from(DENIED_TABLE_FUNCTIONS))
        name = call.split("(")[0]
        source, expression = qualifier + odd_case(draw, call), draw(safe_expression(depth=1))
    elif where == "scalar":
        call = draw(st.sampled_from(DENIED_SCALARS))
        name = call.split("(")[0]
        source = draw(st.sampled_from(SAFE_SOURCES))
        quoted = draw(st.booleans())
        called = f'"{name}"{call[len(name) :]}' if quoted else odd_case(draw, call)
        expression = draw(
            st.sampled_from(
                [
                    called,
                    f"CASE WHEN true THEN {called} END",
                    f"CAST({called} AS varchar)",
                    f"upper({called})",
                ]
            )
        )
    else:
        table = draw(st.sampled_from(SYSTEM_TABLES))
        name = table.split(".")[-1]
        quoted = draw(st.booleans()) and "." not in table
        source = f'"{table}"' if quoted else odd_case(draw, table if "." in table else qualifier + table)
        expression = draw(safe_expression(depth=1))
    return draw(wrapped(expression, source)), name


def check(sql: str) -> None:
    for statement in parse_statements(sql):
        check_statement(statement)


@FUZZ
@given(denied_statement())
def test_every_statement_holding_a_denied_name_is_refused(case: tuple[str, str]) -> None:
    sql, name = case
    try:
        check(sql)
    except SqlProblem:
        return
    raise AssertionError(f"not refused ({name}): {sql}")


@FUZZ
@given(safe_statement())
def test_every_statement_of_the_safe_grammar_is_accepted(sql: str) -> None:
    try:
        check(sql)
    except SqlProblem as problem:
        raise AssertionError(f"refused: {sql}\n{problem.detail}") from None
