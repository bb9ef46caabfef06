"""SQL text of SQL jobs: parsing Trino-dialect statements, `:name` markers, transpiling to DuckDB
and to Trino with `?` markers, and values that stay data (bound by the engine, never formatted in)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from sadeem.core.errors import InvalidInput
from sadeem.engines.sql_text import (
    SqlProblem,
    check_job_sql,
    parameter_names,
    parse_statements,
    statement_line,
    to_duckdb,
    to_trino_qmark,
)

INJECTION = "x'); DROP TABLE t; --"


def test_statements_are_split_and_empty_ones_dropped() -> None:
    sql = "CREATE TABLE t (a INT);\n;\n  -- nothing here\n;\nINSERT INTO t VALUES (1);\n\nSELECT * FROM t;"
    statements = parse_statements(sql)
    assert [type(s).__name__ for s in statements] == ["Create", "Insert", "Select"]
    assert [statement_line(s) for s in statements] == [1, 5, 7]


@pytest.mark.parametrize("sql", ["", "   \n\t", ";;", "-- only a comment\n;"])
def test_sql_without_statements_is_a_problem(sql: str) -> None:
    with pytest.raises(SqlProblem) as caught:
        parse_statements(sql)
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.line is None


def test_syntax_error_names_line_and_column() -> None:
    with pytest.raises(SqlProblem) as caught:
        parse_statements("SELECT 1;\nSELECT a FROM WHERE x")
    problem = caught.value
    assert (problem.line, problem.column) == (2, 15)
    assert problem.detail.startswith("Syntax error at line 2, column 15: ")
    assert "'WHERE'" in problem.detail and "<Token" not in problem.detail
    assert problem.extra == {"line": 2, "column": 15}  # goes into the problem+json body


def test_unterminated_string_names_where_it_starts() -> None:
    with pytest.raises(SqlProblem) as caught:
        parse_statements("SELECT 1;\n  SELECT 'abc")
    assert (caught.value.line, caught.value.column) == (2, 10)
    assert "never closed" in caught.value.detail


def test_positional_markers_are_refused() -> None:
    with pytest.raises(SqlProblem, match="use :name"):
        parse_statements("SELECT * FROM t WHERE a = ?")


def test_parameter_names_are_every_marker_used() -> None:
    statements = parse_statements(
        "SELECT ':not_me', \"col:nor_me\" FROM t WHERE a = :a -- :comment\n;\n"
        "INSERT INTO u SELECT :b, CAST(:day AS date) FROM t WHERE x IN (:a, :Mixed)"
    )
    assert parameter_names(statements) == {"a", "b", "day", "Mixed"}
    assert parameter_names(statements[:1]) == {"a"}


def test_check_job_sql_names_the_undeclared_parameters_sorted() -> None:
    check_job_sql("SELECT :a, :b", ["a", "b", "unused"])
    with pytest.raises(SqlProblem) as caught:
        check_job_sql("SELECT :zeta, :alpha, :ok", ["ok"])
    assert caught.value.detail == "The SQL uses parameters that are not declared: :alpha, :zeta."


def test_check_job_sql_reports_syntax_errors() -> None:
    with pytest.raises(SqlProblem, match="line 1"):
        check_job_sql("SELEC 1 FROM", [])


def test_trino_constructs_transpile_to_duckdb_with_named_markers() -> None:
    (statement,) = parse_statements(
        "SELECT date_add('day', 1, d), approx_distinct(site) FROM t WHERE site = :site GROUP BY 1"
    )
    text = to_duckdb(statement)
    assert "$site" in text and ":site" not in text
    assert "APPROX_COUNT_DISTINCT(site)" in text
    assert "INTERVAL" in text  # date_add('day', 1, d) → d + INTERVAL 1 DAY


def test_what_duckdb_cannot_run_is_a_problem_at_its_line() -> None:
    statements = parse_statements("SELECT 1;\nSELECT soundex(name) FROM t")
    with pytest.raises(SqlProblem) as caught:
        to_duckdb(statements[1])
    assert "at line 2 cannot run on DuckDB" in caught.value.detail
    assert "SOUNDEX" in caught.value.detail
    assert caught.value.line == 2


def test_trino_qmark_orders_values_by_appearance_and_repeats() -> None:
    (statement,) = parse_statements(
        "SELECT ':b', :b AS b FROM t /* :a */ WHERE a = :a AND c IN (:b, :c) AND d > :a"
    )
    text, values = to_trino_qmark(statement, {"a": 1, "b": "two", "c": None, "unused": 5})
    assert text.count("?") == 5
    assert "':b'" in text and "/* :a */" in text  # look-alikes in literals and comments stay
    assert ":a" not in text.replace("/* :a */", "") and ":b" not in text.replace("':b'", "")
    assert values == ["two", 1, "two", None, 1]


def test_trino_qmark_without_a_value_is_a_problem() -> None:
    (statement,) = parse_statements("SELECT :a, :b")
    with pytest.raises(SqlProblem, match=":b"):
        to_trino_qmark(statement, {"a": 1})


def test_a_value_that_looks_like_sql_stays_data_in_duckdb() -> None:
    """The DuckDB text carries only `$name`; the value is bound, so it cannot end the string."""
    statements = parse_statements(
        "CREATE TABLE t (v VARCHAR, d DATE);\nINSERT INTO t VALUES (:v, :d);\nSELECT v, d FROM t"
    )
    connection = duckdb.connect()
    values = {"v": INJECTION, "d": dt.date(2026, 1, 31)}
    for statement in statements:
        text = to_duckdb(statement)
        assert INJECTION not in text
        used = {name: values[name] for name in parameter_names([statement])}
        connection.execute(text, used or None)
    assert connection.fetchall() == [(INJECTION, dt.date(2026, 1, 31))]
    assert connection.execute("SELECT count(*) FROM t").fetchall() == [(1,)]  # t was not dropped


def test_a_value_that_looks_like_sql_stays_data_in_trino_text() -> None:
    (statement,) = parse_statements("SELECT * FROM t WHERE name = :name")
    text, values = to_trino_qmark(statement, {"name": INJECTION})
    assert text == "SELECT * FROM t WHERE name = ?"
    assert values == [INJECTION]
