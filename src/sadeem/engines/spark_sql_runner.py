"""Runs a Spark SQL file as a Spark application:
`spark-submit spark_sql_runner.py <file.sql> [--param=name=<JSON value>]…`.

The file holds one or more statements separated by `;`, with `:name` parameter markers that
Spark binds as literals (`spark.sql(statement, args=…)`, never text substitution); dates,
timestamps and decimals arrive as text (`CAST(:day AS DATE)`). Each runs in order through the session's
default catalog; the runner prints each statement's row count, and shows the last statement's
rows. The first failing statement ends the run (its exception is the driver's last output line).

Spark runs this file on its own (locally or in a driver pod whose image has only Spark and
Python): the standard library and pyspark only, nothing from Sadeem.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import urlsplit

SHOWN_ROWS = 20
SHOWN_STATEMENT_CHARS = 100


def split_statements(sql: str) -> list[tuple[int, str]]:
    """The statements of `sql` with the line each starts on, split on `;` outside string literals
    ('…', "…", with backslash escapes), quoted identifiers (`…`) and comments (-- …, /* … */,
    nested as Spark allows). Pieces without code (blank, comments only) are left out."""
    statements: list[tuple[int, str]] = []
    code_start: int | None = None  # where the current statement's code begins
    i, n = 0, len(sql)

    def close(end: int) -> None:
        if code_start is not None:
            statements.append((sql.count("\n", 0, code_start) + 1, sql[code_start:end].strip()))

    while i < n:
        char = sql[i]
        if sql.startswith("--", i):
            newline = sql.find("\n", i)
            i = n if newline < 0 else newline + 1
        elif sql.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif char == ";":
            close(i)
            code_start, i = None, i + 1
        else:
            if code_start is None and not char.isspace():
                code_start = i
            i += 1
            if char in "'\"`":
                while i < n and sql[i] != char:
                    i += 2 if sql[i] == "\\" and char != "`" else 1
                i += 1
    close(n)
    return statements


PARAMETER_PREFIX = "--param="
_MARKER = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)")


def parameter_args(parameters: Mapping[str, object]) -> list[str]:
    """The runner's arguments for a run's typed parameter values (the engines' side)."""

    def plain(value: object) -> object:
        return (
            value.isoformat()
            if isinstance(value, date | datetime)
            else str(value)
            if isinstance(value, Decimal)
            else value
        )

    return [
        f"{PARAMETER_PREFIX}{name}={json.dumps(plain(value))}" for name, value in sorted(parameters.items())
    ]


def _parameters(args: list[str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for arg in args:
        name, _, value = arg.removeprefix(PARAMETER_PREFIX).partition("=")
        values[name] = json.loads(value)
    return values


def _used(statement: str, parameters: Mapping[str, object]) -> dict[str, object]:
    """The parameters a statement names (Spark refuses arguments a statement does not use)."""
    names = set(_MARKER.findall(statement))
    return {name: value for name, value in parameters.items() if name in names}


def _read_sql(path: str) -> str:
    parts = urlsplit(path)
    if parts.scheme in ("", "file"):
        with open(parts.path if parts.scheme else path, encoding="utf-8") as file:  # noqa: PTH123
            return file.read()
    # s3a://, hdfs://, …: through Spark's own file systems.
    from pyspark.sql import SparkSession

    text: str = SparkSession.builder.getOrCreate().sparkContext.wholeTextFiles(path).values().first()
    return text


def _headline(statement: str) -> str:
    line = " ".join(statement.split())
    return line if len(line) <= SHOWN_STATEMENT_CHARS else line[: SHOWN_STATEMENT_CHARS - 1] + "…"


def main(argv: list[str]) -> int:
    if len(argv) < 2 or not all(arg.startswith(PARAMETER_PREFIX) for arg in argv[2:]):
        print("usage: spark_sql_runner.py <file.sql> [--param=name=<JSON value>]…", file=sys.stderr)
        return 2
    parameters = _parameters(argv[2:])
    from pyspark.sql import SparkSession

    statements = split_statements(_read_sql(argv[1]))
    if not statements:
        print(f"{argv[1]} holds no SQL statement", file=sys.stderr)
        return 1
    spark = SparkSession.builder.getOrCreate()
    total = len(statements)
    for number, (line, statement) in enumerate(statements, start=1):
        where = f"statement {number} of {total} (line {line})"
        print(f"{where}: {_headline(statement)}", flush=True)
        try:
            used = _used(statement, parameters)
            frame = spark.sql(statement, args=used) if used else spark.sql(statement)
            if number < total:
                print(f"{where}: {frame.count()} rows", flush=True)
            elif frame.columns:
                # The last statement's rows, as many as a log can hold (`show` reads no more).
                frame.show(SHOWN_ROWS, truncate=False)
            else:
                print(f"{where}: done", flush=True)
        except Exception:
            print(f"{where} failed", file=sys.stderr, flush=True)
            raise
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
