"""SQL text of SQL jobs: parsing, parameter markers and transpiling, with sqlglot.

Job SQL is written in one canonical dialect, Trino's, possibly several statements separated by
`;`, with `:name` parameter markers (sqlglot parses them as `exp.Placeholder`). Values are never
formatted into SQL text: each engine binds them (DuckDB `$name` named parameters, Trino `?`
markers sent with `EXECUTE IMMEDIATE … USING`).
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Collection, Iterable, Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, TokenError, UnsupportedError
from sqlglot.tokens import Token, TokenType

from sadeem.core.errors import InvalidInput
from sadeem.engines.base import ParameterValue

_TRINO = sqlglot.Dialect.get_or_raise("trino")
# sqlglot logs a statement's whole text at WARNING when it falls back to a generic parse (EXPLAIN,
# SHOW…): user SQL, which may hold secrets, must not reach the server's log that way.
logging.getLogger("sqlglot").setLevel(logging.ERROR)
# Where each statement starts in the job's SQL (1-based line), kept in the statement's meta so
# an engine's error about statement i can point back into the text the user wrote.
_LINE_META = "sadeem_statement_line"
# The tokenizer's own message for an unterminated string or quoted name: "Missing ' from LINE:OFFSET".
_MISSING_DELIMITER = re.compile(r"Missing (?P<delimiter>.+) from (?P<line>\d+):(?P<offset>\d+)")
# sqlglot's parse errors quote tokens as their repr: "<Token token_type: …, text: WHERE, line: 2, …>".
_TOKEN_REPR = re.compile(r"<Token token_type: [^,]*, text: (?P<text>.*?), line: \d+[^>]*>")
# How deeply parentheses, brackets and CASE may nest. sqlglot parses and writes SQL by recursion,
# ~25 Python frames per level (a scalar subquery, a function call), within Python's 1,000-frame limit
# shared with the server's own ~150; beyond ~35 levels a statement would end in RecursionError (a
# 500). 24 levels leave a margin and are far deeper than written or generated analytical SQL goes.
MAX_NESTING = 24
# A value constructor named like a type (ARRAY[…], ROW(…), MAP(…)) is first tried as a type and then
# parsed again as a value, at every level: its parse time doubles with each nested level (14 ARRAY[
# take 0.8 s, 24 would take 15 minutes). Eight of them nested parse in ~10 ms.
MAX_CONSTRUCTOR_NESTING = 8
_OPENERS = frozenset({TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE, TokenType.CASE})
_TYPE_TOKENS = frozenset(_TRINO.parser_class.TYPE_TOKENS)
_CLOSERS = frozenset({TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE})


class SqlProblem(InvalidInput):
    """SQL that cannot be parsed, bound or run where it is meant to run."""

    def __init__(self, detail: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(detail, line=line, column=column)
        self.line = line
        self.column = column


def parse_statements(sql: str) -> list[exp.Expression]:
    """The statements of `sql` (Trino dialect), empty ones dropped."""
    tokens = _tokenize(sql)
    _refuse_deep_nesting(tokens, sql)
    statements: list[exp.Expression] = []
    for chunk in _split_at_semicolons(tokens):
        try:
            parsed = _TRINO.parser().parse(chunk, sql)
        except ParseError as error:
            raise _syntax_problem(error) from None
        except RecursionError:
            # Deep nesting the token count does not see (a long run of NOT or unary minus).
            raise _too_deep(chunk[0].line) from None
        for statement in parsed:
            if not isinstance(statement, exp.Expression) or isinstance(statement, exp.Semicolon):
                continue
            if any(not marker.this for marker in statement.find_all(exp.Placeholder)):
                raise SqlProblem(
                    f"Positional ? parameters are not supported (line {chunk[0].line}): use :name markers.",
                    line=chunk[0].line,
                )
            statement.meta[_LINE_META] = chunk[0].line
            statements.append(statement)
    if not statements:
        raise SqlProblem("The SQL has no statement.")
    return statements


def statement_line(statement: exp.Expr) -> int | None:
    """The line of the job's SQL where `statement` (from parse_statements) starts."""
    line = statement.meta.get(_LINE_META)
    return line if isinstance(line, int) else None


def parameter_names(statements: Iterable[exp.Expr]) -> set[str]:
    """Every `:name` the statements use (also inside EXPLAIN)."""
    return {
        marker.name
        for statement in statements
        for marker in (explained(statement) or statement).find_all(exp.Placeholder)
    }


def check_job_sql(sql: str, declared: Collection[str]) -> None:
    """The SQL parses and uses only declared parameters; SqlProblem otherwise."""
    undeclared = sorted(parameter_names(parse_statements(sql)) - set(declared))
    if undeclared:
        names = ", ".join(f":{name}" for name in undeclared)
        raise SqlProblem(f"The SQL uses parameters that are not declared: {names}.")


def explained(statement: exp.Expr) -> exp.Expr | None:
    """The statement an `EXPLAIN [ANALYZE] …` explains (sqlglot keeps EXPLAIN as raw text), else None."""
    parts = _explain_parts(statement)
    return parts[1] if parts else None


_EXPLAIN_PREFIX = re.compile(r"^\s*(ANALY[SZ]E\b|\(.*?\))?\s*", re.IGNORECASE | re.DOTALL)


def _explain_parts(statement: exp.Expr) -> tuple[str, exp.Expr] | None:
    """("EXPLAIN ANALYZE" or "EXPLAIN", the explained statement) of an EXPLAIN, else None."""
    if not (isinstance(statement, exp.Command) and str(statement.this).upper() == "EXPLAIN"):
        return None
    text = statement.expression.name if statement.expression else ""
    prefix = _EXPLAIN_PREFIX.match(text)
    assert prefix is not None  # the pattern matches the empty string
    parsed = parse_statements(text[prefix.end() :])
    if len(parsed) != 1:
        raise SqlProblem("EXPLAIN takes one statement.", line=statement_line(statement))
    analyze = (prefix.group(1) or "").upper().startswith("ANALY")
    return ("EXPLAIN ANALYZE" if analyze else "EXPLAIN"), parsed[0]


def is_read_only(statement: exp.Expr) -> bool:
    """A query, DESCRIBE, SHOW, transaction control, or an EXPLAIN of one of them: what a
    workspace viewer may run. (EXPLAIN ANALYZE runs its statement, so it counts as that one.)"""
    inner = explained(statement)
    if inner is not None:
        return is_read_only(inner)
    if isinstance(statement, exp.Select) and statement.args.get("into") is not None:
        return False  # SELECT … INTO creates a table
    if isinstance(statement, exp.Query | exp.Values | exp.Describe | exp.Subquery):
        return True
    if isinstance(statement, exp.Transaction | exp.Commit | exp.Rollback):
        return True
    return isinstance(statement, exp.Command) and str(statement.this).upper() == "SHOW"


def statement_kind(statement: exp.Expr) -> str:
    """The statement's leading keyword(s) for messages: INSERT, CREATE TABLE, EXPLAIN ANALYZE DELETE…"""
    parts = _explain_parts(statement)
    if parts is not None:
        return f"{parts[0]} {statement_kind(parts[1])}"
    if isinstance(statement, exp.Command):
        return str(statement.this).upper()
    if isinstance(statement, exp.Create | exp.Drop):
        return f"{statement.key.upper()} {str(statement.args.get('kind') or '').upper()}".strip()
    return statement.key.upper()


def to_duckdb(statement: exp.Expr) -> str:
    """DuckDB SQL text of one statement; `:name` becomes the named parameter `$name`."""
    parts = _explain_parts(statement)
    if parts is not None:
        return f"{parts[0]} {to_duckdb(parts[1])}"
    try:
        return statement.sql("duckdb", unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as error:
        raise SqlProblem(
            f"The statement {_where(statement)}cannot run on DuckDB: {error}", line=statement_line(statement)
        ) from None
    except RecursionError:
        raise _too_deep(statement_line(statement)) from None


def to_trino_qmark(
    statement: exp.Expr, parameters: Mapping[str, ParameterValue]
) -> tuple[str, list[ParameterValue]]:
    """Trino SQL text of one statement with a `?` marker per `:name` use, and the values for
    those markers in order of appearance (a name used twice gets two markers)."""
    # Each marker gets a sentinel name; the generated text is then tokenized so that only real
    # markers (not look-alikes inside string literals or comments) become `?`.
    sentinels: dict[str, str] = {}

    def mark(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Placeholder):
            sentinel = f"sadeem_marker_{len(sentinels)}"
            sentinels[sentinel] = node.name
            return exp.Placeholder(this=sentinel)
        return node

    text = statement.transform(mark).sql("trino")
    pieces: list[str] = []
    values: list[ParameterValue] = []
    copied_up_to = 0
    tokens = _TRINO.tokenize(text)
    for colon, name in itertools.pairwise(tokens):
        is_marker = colon.token_type == TokenType.COLON and name.start == colon.end + 1
        if not is_marker or name.text not in sentinels:
            continue
        parameter = sentinels[name.text]
        if parameter not in parameters:
            raise SqlProblem(f"No value was given for parameter :{parameter}.")
        pieces.append(text[copied_up_to : colon.start])
        pieces.append("?")
        values.append(parameters[parameter])
        copied_up_to = name.end + 1
    pieces.append(text[copied_up_to:])
    return "".join(pieces), values


def _tokenize(sql: str) -> list[Token]:
    if not sql.strip():
        raise SqlProblem("The SQL is empty.")
    try:
        return _TRINO.tokenize(sql)
    except TokenError as error:
        missing = _MISSING_DELIMITER.search(str(error.__cause__ or ""))
        if missing is None:
            raise SqlProblem("Syntax error: the SQL text ends inside a string, name or comment.") from None
        line = int(missing["line"])
        offset = int(missing["offset"])
        column = offset - sql.rfind("\n", 0, offset)
        raise SqlProblem(
            f"Syntax error at line {line}, column {column}: {missing['delimiter']} is never closed.",
            line=line,
            column=column,
        ) from None


def _too_deep(line: int | None, column: int | None = None) -> SqlProblem:
    where = f" (line {line}, column {column})" if line is not None and column is not None else ""
    return SqlProblem(
        f"The SQL is nested too deeply for Sadeem to read{where}: at most {MAX_NESTING} levels of "
        f"parentheses, brackets and CASE, {MAX_CONSTRUCTOR_NESTING} of ARRAY[…], ROW(…) and MAP(…).",
        line=line,
        column=column,
    )


def _refuse_deep_nesting(tokens: list[Token], sql: str) -> None:
    """SqlProblem (with where) when parentheses, brackets and CASE nest deeper than MAX_NESTING,
    before the recursive parser meets it."""
    open_ones: list[tuple[TokenType, bool]] = []  # (opener, whether it opens a typed constructor)
    constructors = 0
    previous: TokenType | None = None
    for token in tokens:
        kind = token.token_type
        if kind in _OPENERS:
            constructor = kind is not TokenType.CASE and previous in _TYPE_TOKENS
            open_ones.append((kind, constructor))
            constructors += constructor
            if len(open_ones) > MAX_NESTING or constructors > MAX_CONSTRUCTOR_NESTING:
                raise _too_deep(token.line, token.start - sql.rfind("\n", 0, token.start))
        elif kind in _CLOSERS:
            while open_ones:  # a CASE left open inside the parenthesis: the parser will say so
                opener, constructor = open_ones.pop()
                constructors -= constructor
                if opener is not TokenType.CASE:
                    break
        elif kind is TokenType.END and open_ones and open_ones[-1][0] is TokenType.CASE:
            open_ones.pop()
        previous = kind


def _split_at_semicolons(tokens: list[Token]) -> list[list[Token]]:
    chunks: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            chunks.append([])
        else:
            chunks[-1].append(token)
    return [chunk for chunk in chunks if chunk]


def _syntax_problem(error: ParseError) -> SqlProblem:
    first = error.errors[0] if error.errors else {}
    line, column = first.get("line"), first.get("col")
    description = _TOKEN_REPR.sub(lambda match: repr(match["text"]), first.get("description") or str(error))
    near = first.get("highlight")
    detail = f"{description} (near {near!r})" if near else description
    if isinstance(column, int) and isinstance(near, str) and near and "\n" not in near:
        column -= len(near) - 1  # sqlglot points at the offending token's last character
    if isinstance(line, int) and isinstance(column, int):
        return SqlProblem(f"Syntax error at line {line}, column {column}: {detail}", line=line, column=column)
    return SqlProblem(f"Syntax error: {detail}")


def _where(statement: exp.Expr) -> str:
    line = statement_line(statement)
    return f"at line {line} " if line is not None else ""
