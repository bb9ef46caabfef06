"""The host-side guard for SQL that runs on the embedded DuckDB: what a statement may be and what it
may call, checked before DuckDB sees it (DuckDB's own settings fence files and the network, but not
everything — see docs/overview.md, Threat model)."""

from __future__ import annotations

import re
import threading

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from sadeem.engines.sql_text import SqlProblem, explained, statement_line, to_duckdb

# What a Sadeem SQL statement may be, by DuckDB's own classification and by its first keyword
# (the first keyword catches what DuckDB files under an allowed type: PRAGMA → SELECT/SET,
# CREATE SECRET → CREATE, and is checked before DuckDB parses anything, since parsing IMPORT
# DATABASE already reads files).
_ALLOWED_TYPES = frozenset(
    {
        duckdb.StatementType.SELECT,
        duckdb.StatementType.INSERT,
        duckdb.StatementType.UPDATE,
        duckdb.StatementType.DELETE,
        duckdb.StatementType.MERGE_INTO,
        duckdb.StatementType.CREATE,
        duckdb.StatementType.DROP,
        duckdb.StatementType.ALTER,
        duckdb.StatementType.EXPLAIN,
        duckdb.StatementType.TRANSACTION,
    }
)


_ALLOWED_FIRST_WORDS = frozenset(
    {
        "SELECT", "WITH", "FROM", "VALUES", "TABLE", "(", "INSERT", "UPDATE", "DELETE", "TRUNCATE",
        "MERGE", "CREATE", "DROP", "ALTER", "DESCRIBE", "SHOW", "SUMMARIZE",
        "BEGIN", "START", "COMMIT", "ROLLBACK", "ABORT", "END",
    }
)  # fmt: skip
_TWO_WORD_NAMES = frozenset(
    {
        ("CREATE", "SECRET"),
        ("UPDATE", "EXTENSIONS"),
        ("EXPORT", "DATABASE"),
        ("IMPORT", "DATABASE"),
        ("FORCE", "INSTALL"),
        ("FORCE", "CHECKPOINT"),
    }
)
# Words that may stand between CREATE and the kind of object it creates.
_CREATE_MODIFIERS = frozenset({"OR", "REPLACE", "TEMP", "TEMPORARY", "PERSISTENT"})
_DUCKDB = sqlglot.Dialect.get_or_raise("duckdb")


def refuse_unfenced(statement: str | exp.Expr) -> None:
    """Refuse (SqlProblem) a statement DuckDB's own settings do not fence: ATTACH (another
    endpoint is an SSRF path), DETACH, CREATE SECRET, INSTALL/LOAD, SET/RESET, PRAGMA, COPY
    (it may write into the allowed warehouse directory), EXPORT/IMPORT DATABASE, USE, CALL,
    PREPARE/EXECUTE and anything else that is not plain query, DML, DDL or a transaction.
    `statement` is DuckDB SQL text or a parsed (Trino dialect) statement."""
    fenced_statement_type(to_duckdb(statement) if isinstance(statement, exp.Expr) else statement)


# Table functions that read files or URLs, or reveal the session's secrets. DuckDB's fence
# (allowed_directories, no external access) already stops them outside the workspace's storage;
# SQL written in Sadeem never needs them at all, so they are refused before DuckDB sees them.
# `query`/`query_table` run SQL from a string, which no check of the outer statement would see;
# `duckdb_*`, `pragma_*` and `current_setting` reveal host paths and settings.
_FILE_FUNCTION = re.compile(
    r"(read_\w+|\w+_scan|glob|sniff_csv|parquet_\w+|iceberg_\w+|delta_\w+|duckdb_\w+|which_secret"
    r"|pragma_\w+|current_setting|getenv|query|query_table|json_execute_serialized_sql"
    r"|load_aws_credentials|httpfs_\w+)",
    re.IGNORECASE,
)
# A table named like a file (`FROM "/etc/passwd"`, `FROM "x.parquet"`): DuckDB would read the file.
_FILE_LIKE_NAME = re.compile(
    r"[/\\:~]|\.\.|\.(csv|tsv|txt|parquet|json|jsonl|ndjson|arrow|avro|orc|xlsx|db|duckdb|sqlite|gz|zst)$",
    re.IGNORECASE,
)


def refuse_file_access(statement: exp.Expr) -> None:
    """Refuse (SqlProblem) a parsed statement that names a file-reading table function or a
    table whose name is a path: the worksheet and jobs reach data through the catalog only."""
    inner = explained(statement)
    if inner is not None:
        refuse_file_access(inner)
        return
    for function in statement.find_all(exp.Func):
        name = function.name if isinstance(function, exp.Anonymous) else function.sql_name()
        if name and _FILE_FUNCTION.fullmatch(name):
            raise SqlProblem(
                f"{name}() is not allowed in Sadeem SQL: read tables through the catalog "
                "(files and URLs are out of reach).",
                line=statement_line(statement),
            )
    for table in statement.find_all(exp.Table):
        for part in (table.name, table.text("db"), table.text("catalog")):
            if part and _FILE_LIKE_NAME.search(part):
                raise SqlProblem(
                    f"'{part}' looks like a file path: tables are read through the catalog, files are "
                    "out of reach.",
                    line=statement_line(statement),
                )


def check_statement(statement: exp.Expr) -> duckdb.StatementType:
    """Everything the host refuses before DuckDB runs a (Trino-dialect, parsed) statement; its
    DuckDB statement type otherwise."""
    refuse_file_access(statement)
    text = to_duckdb(statement)
    kind = fenced_statement_type(text)  # first: it names the refused statement (LOAD, COPY…)
    _refuse_file_tokens(text, raw=isinstance(statement, exp.Command))
    return kind


def _refuse_file_tokens(text: str, raw: bool = False) -> None:
    """The same refusals on the DuckDB text's tokens: what sqlglot keeps as raw text (SHOW …, a
    statement it falls back to parsing as a command) has no syntax tree to look into, so there
    (`raw`) every name or string that looks like a path is refused, wherever it stands."""
    try:
        tokens = _DUCKDB.tokenize(text)
    except TokenError as error:
        raise SqlProblem("The statement could not be read.") from error
    previous = None
    for token, following in zip(tokens, [*tokens[1:], None], strict=True):
        if token.token_type is TokenType.COMMAND and following is not None:
            _refuse_file_tokens(following.text, raw=True)  # sqlglot keeps a command's rest as one token
        if following is not None and following.token_type is TokenType.L_PAREN:
            if _FILE_FUNCTION.fullmatch(token.text):
                raise SqlProblem(
                    f"{token.text}() is not allowed in Sadeem SQL: read tables through the catalog "
                    "(files and URLs are out of reach)."
                )
        elif (
            (raw or previous in (TokenType.FROM, TokenType.JOIN))
            and token.token_type in (TokenType.VAR, TokenType.IDENTIFIER, TokenType.STRING)
            and _FILE_LIKE_NAME.search(token.text)
        ):
            raise SqlProblem(
                f"'{token.text}' looks like a file path: tables are read through the catalog, files are out "
                "of reach."
            )
        previous = token.token_type


def fenced_statement_type(text: str) -> duckdb.StatementType:
    words = first_words(text)
    while words and words[0] == "EXPLAIN":  # EXPLAIN ANALYZE runs its statement: check that one
        words = words[2:] if words[1:2] in (["ANALYZE"], ["ANALYSE"]) else words[1:]
    if not words:
        raise SqlProblem("The statement is empty.")
    refused = _refused_name(words)
    if refused is not None:
        raise SqlProblem(f"{refused} is not allowed in Sadeem SQL.")
    try:
        with _parser_lock:
            kinds = [parsed.type for parsed in _parser.extract_statements(text)]
    except duckdb.ParserException as error:
        # sqlglot's DuckDB text that DuckDB's own parser refuses: a construct without a DuckDB form.
        raise SqlProblem(f"This cannot run on DuckDB ({text}): {error}") from None
    for kind in kinds:
        if kind not in _ALLOWED_TYPES:
            raise SqlProblem(f"{kind.name.replace('_', ' ')} statements are not allowed in Sadeem SQL.")
    if len(kinds) != 1:
        raise SqlProblem("Each statement must be one DuckDB statement.")
    return kinds[0]


_PARSE_ONLY: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": "false",
    "autoinstall_known_extensions": "false",
    "autoload_known_extensions": "false",
    "lock_configuration": "true",
}
# One parse-only connection for the process (opening a database costs ~40 ms): locked, with no
# file or network access, since parsing some statements already touches files.
_parser = duckdb.connect(":memory:", config=_PARSE_ONLY)
_parser_lock = threading.Lock()


def _refused_name(words: list[str]) -> str | None:
    first, second = words[0], words[1] if len(words) > 1 else ""
    if first == "CREATE":
        kind = next((word for word in words[1:] if word not in _CREATE_MODIFIERS), "")
        return "CREATE SECRET" if kind == "SECRET" else None
    if (first, second) in _TWO_WORD_NAMES:
        return f"{first} {second}"
    return None if first in _ALLOWED_FIRST_WORDS else first


def first_words(text: str, count: int = 8) -> list[str]:
    """The statement's first keywords, upper-cased, comments skipped."""
    try:
        tokens = _DUCKDB.tokenize(text)
    except TokenError as error:
        raise SqlProblem("The statement could not be read.") from error
    if len(tokens) > 1 and tokens[0].token_type is TokenType.COMMAND:
        # sqlglot keeps the rest of a statement it treats as a command (EXPLAIN, CALL) as one raw token.
        return [tokens[0].text.upper(), *first_words(tokens[1].text, count - 1)]
    return [token.text.upper() for token in tokens[:count]]
