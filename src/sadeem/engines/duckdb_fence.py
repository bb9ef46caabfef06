"""The host-side guard for SQL that runs on the embedded DuckDB: what a statement may be and what it
may call, checked before DuckDB sees it (DuckDB's own settings fence files and the network, but not
everything — see docs/overview.md, Threat model).

The guard is an allow-list, so that what nobody has looked at is refused rather than run: statement
kinds by their first keywords and DuckDB's own classification; on the statement's syntax tree,
sqlglot's typed functions that are pure computations, DuckDB functions sqlglot does not know by
an explicit set of names, three table functions, and tables that are not DuckDB's system catalog.
A second pass over the DuckDB text refuses what the tree cannot show (a command's raw text) or
what sqlglot's DuckDB rendering could add."""

from __future__ import annotations

import re
import threading

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from sadeem.engines.sql_text import SqlProblem, explained, parse_statements, statement_line, to_duckdb

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
# What CREATE, DROP and ALTER may make, remove or change: the catalog's tables, views and schemas.
# A MACRO or FUNCTION would hide calls behind a name the guard never sees called; SECRET, SEQUENCE,
# TYPE and INDEX are session state no Sadeem SQL needs.
_OBJECT_KINDS = {
    "CREATE": frozenset({"TABLE", "VIEW", "SCHEMA"}),
    "DROP": frozenset({"TABLE", "VIEW", "SCHEMA"}),
    "ALTER": frozenset({"TABLE", "VIEW"}),
}
_DUCKDB = sqlglot.Dialect.get_or_raise("duckdb")
_SHOWN_CHARS = 200  # of a statement DuckDB refuses, in the message (the caller has the whole text)


def refuse_unfenced(statement: str | exp.Expr) -> None:
    """Refuse (SqlProblem) a statement DuckDB's own settings do not fence: ATTACH (another
    endpoint is an SSRF path), DETACH, CREATE SECRET, INSTALL/LOAD, SET/RESET, PRAGMA, COPY
    (it may write into the allowed warehouse directory), EXPORT/IMPORT DATABASE, USE, CALL,
    PREPARE/EXECUTE and anything else that is not plain query, DML, DDL or a transaction.
    `statement` is DuckDB SQL text or a parsed (Trino dialect) statement."""
    fenced_statement_type(to_duckdb(statement) if isinstance(statement, exp.Expr) else statement)


# --- what a statement may call --------------------------------------------------------------------

# DuckDB functions by name, for calls sqlglot parses as exp.Anonymous (it does not know them): the
# pure computations on values that analytical SQL uses. Left out on purpose: anything reading or
# writing state outside the row (current_setting, getvariable, nextval, setseed, write_log), the
# session's identity and catalog (current_*, version, pg_* and has_*_privilege compatibility
# functions), SQL in a string (json_serialize_sql and its kin), sleeps, DuckDB internals
# (__internal_*, finalize, combine, stats) and extension functions nobody here needs (icu_collate_*,
# st_*, iceberg_*, variant_*).
_SAFE_FUNCTIONS = frozenset(
    {
        # string
        "ascii", "bar", "base64", "bin", "bit_length", "char_length", "character_length", "chr",
        "concat", "concat_ws", "contains", "damerau_levenshtein", "decode", "editdist3", "encode",
        "ends_with", "format", "format_bytes", "formatreadabledecimalsize", "formatreadablesize",
        "from_base64", "from_binary", "from_hex", "hamming", "hash", "hex", "ilike_escape", "instr",
        "jaccard", "jaro_similarity", "jaro_winkler_similarity", "lcase", "left", "left_grapheme",
        "len", "length", "length_grapheme", "levenshtein", "like_escape", "lower", "lpad", "ltrim",
        "md5", "md5_number", "md5_number_lower", "md5_number_upper", "mismatches", "nfc_normalize",
        "not_ilike_escape", "not_like_escape", "octet_length", "ord", "parse_formatted_bytes",
        "position", "prefix", "printf", "repeat", "replace", "reverse", "right", "right_grapheme",
        "rpad", "rtrim", "sha1", "sha256", "split", "split_part", "starts_with", "str_split",
        "str_split_regex", "string_split", "string_split_regex", "string_to_array", "strip_accents",
        "strlen", "strpos", "substr", "substring", "substring_grapheme", "suffix", "to_base",
        "to_base64", "to_binary", "to_hex", "translate", "trim", "ucase", "unbin", "unhex",
        "unicode", "upper", "url_decode", "url_encode",
        # regular expressions
        "regexp_escape", "regexp_extract", "regexp_extract_all", "regexp_full_match",
        "regexp_matches", "regexp_replace", "regexp_split_to_array",
        # math and bits
        "abs", "acos", "acosh", "add", "asin", "asinh", "atan", "atan2", "atanh", "bit_count",
        "bit_position", "bitstring", "cbrt", "ceil", "ceiling", "cos", "cosh", "cot", "degrees",
        "divide", "equi_width_bins", "even", "exp", "factorial", "fdiv", "fmod", "gamma", "gcd",
        "get_bit", "greatest", "greatest_common_divisor", "isfinite", "isinf", "isnan", "lcm",
        "least", "least_common_multiple", "lgamma", "ln", "log", "log10", "log2", "mod", "multiply",
        "nextafter", "pi", "pow", "power", "radians", "random", "round", "round_even",
        "roundbankers", "set_bit", "sign", "signbit", "sin", "sinh", "sqrt", "subtract", "tan",
        "tanh", "trunc", "xor",
        # date and time
        "age", "century", "current_date", "current_localtime", "current_localtimestamp",
        "date_add", "date_diff", "date_part", "date_sub", "date_trunc", "datediff", "datepart",
        "datesub", "datetrunc", "day", "dayname", "dayofmonth", "dayofweek", "dayofyear",
        "days_in_month", "decade", "epoch", "epoch_ms", "epoch_ns", "epoch_us", "era",
        "get_current_time", "get_current_timestamp", "hour", "isodow", "isoyear", "julian",
        "last_day", "make_date", "make_time", "make_timestamp", "make_timestamp_ms",
        "make_timestamp_ns", "make_timestamptz", "microsecond", "millennium", "millisecond",
        "minute", "month", "monthname", "nanosecond", "normalized_interval", "now", "quarter",
        "second", "strftime", "strptime", "time_bucket", "timezone", "timezone_hour",
        "timezone_minute", "to_centuries", "to_days", "to_decades", "to_hours", "to_microseconds",
        "to_millennia", "to_milliseconds", "to_minutes", "to_months", "to_quarters", "to_seconds",
        "to_timestamp", "to_weeks", "to_years", "today", "transaction_timestamp", "try_strptime",
        "week", "weekday", "weekofyear", "year", "yearweek",
        # lists and arrays
        "aggregate", "apply", "array_aggr", "array_aggregate", "array_append", "array_apply",
        "array_cat", "array_concat", "array_contains", "array_cosine_distance",
        "array_cosine_similarity", "array_cross_product", "array_distance", "array_distinct",
        "array_dot_product", "array_extract", "array_filter", "array_grade_up", "array_has",
        "array_has_all", "array_has_any", "array_indexof", "array_inner_product",
        "array_intersect", "array_length", "array_negative_dot_product",
        "array_negative_inner_product", "array_pop_back", "array_pop_front", "array_position",
        "array_prepend", "array_push_back", "array_push_front", "array_reduce", "array_resize",
        "array_reverse", "array_reverse_sort", "array_select", "array_slice", "array_sort",
        "array_to_string", "array_transform", "array_unique", "array_value", "array_where",
        "array_zip", "cardinality", "element_at", "filter", "flatten", "generate_series",
        "generate_subscripts", "grade_up", "list_aggr", "list_aggregate", "list_any_value",
        "list_append", "list_apply", "list_approx_count_distinct", "list_avg", "list_bit_and",
        "list_bit_or", "list_bit_xor", "list_bool_and", "list_bool_or", "list_cat", "list_concat",
        "list_contains", "list_cosine_distance", "list_cosine_similarity", "list_count",
        "list_distance", "list_distinct", "list_dot_product", "list_element", "list_entropy",
        "list_extract", "list_filter", "list_first", "list_grade_up", "list_has", "list_has_all",
        "list_has_any", "list_histogram", "list_indexof", "list_inner_product", "list_intersect",
        "list_kurtosis", "list_kurtosis_pop", "list_last", "list_mad", "list_max", "list_median",
        "list_min", "list_mode", "list_negative_dot_product", "list_negative_inner_product",
        "list_pack", "list_position", "list_prepend", "list_product", "list_reduce",
        "list_resize", "list_reverse", "list_reverse_sort", "list_select", "list_sem",
        "list_skewness", "list_slice", "list_sort", "list_stddev_pop", "list_stddev_samp",
        "list_string_agg", "list_sum", "list_transform", "list_unique", "list_value",
        "list_var_pop", "list_var_samp", "list_where", "list_zip", "range", "reduce",
        # structs, maps, unions and enums
        "enum_code", "enum_first", "enum_last", "enum_range", "enum_range_boundary", "map",
        "map_concat", "map_contains", "map_contains_entry", "map_contains_value", "map_entries",
        "map_extract", "map_extract_value", "map_from_entries", "map_keys", "map_values", "row",
        "struct_concat", "struct_contains", "struct_extract", "struct_extract_at", "struct_has",
        "struct_indexof", "struct_insert", "struct_keys", "struct_pack", "struct_position",
        "struct_update", "struct_values", "union_extract", "union_tag", "union_value",
        # JSON
        "array_to_json", "from_json", "from_json_strict", "json", "json_array",
        "json_array_length", "json_contains", "json_exists", "json_extract", "json_extract_path",
        "json_extract_path_text", "json_extract_string", "json_keys", "json_merge_patch",
        "json_object", "json_pretty", "json_quote", "json_structure", "json_transform",
        "json_transform_strict", "json_type", "json_valid", "json_value", "row_to_json",
        "to_json",
        # conditionals, types and identifiers
        "coalesce", "constant_or_null", "error", "gen_random_uuid", "ifnull", "nullif", "typeof",
        "uuid", "uuid_extract_timestamp", "uuid_extract_version", "uuidv4", "uuidv7",
        # aggregates
        "any_value", "approx_count_distinct", "approx_quantile", "approx_top_k", "arbitrary",
        "arg_max", "arg_max_null", "arg_max_nulls_last", "arg_min", "arg_min_null",
        "arg_min_nulls_last", "argmax", "argmin", "array_agg", "avg", "bit_and", "bit_or",
        "bit_xor", "bitstring_agg", "bool_and", "bool_or", "corr", "count", "count_if",
        "count_star", "countif", "covar_pop", "covar_samp", "entropy", "favg", "first", "fsum",
        "geomean", "geometric_mean", "group_concat", "histogram", "histogram_exact",
        "is_histogram_other_bin", "json_group_array", "json_group_object", "json_group_structure",
        "kahan_sum", "kurtosis", "kurtosis_pop", "last", "list", "listagg", "mad", "max",
        "max_by", "mean", "median", "min", "min_by", "mode", "product", "quantile",
        "quantile_cont", "quantile_disc", "regr_avgx", "regr_avgy", "regr_count",
        "regr_intercept", "regr_r2", "regr_slope", "regr_sxx", "regr_sxy", "regr_syy",
        "reservoir_quantile", "sem", "skewness", "stddev", "stddev_pop", "stddev_samp",
        "string_agg", "sum", "sum_no_overflow", "sumkahan", "var_pop", "var_samp", "variance",
        "wavg", "weighted_avg",
        # window functions
        "cume_dist", "dense_rank", "first_value", "lag", "last_value", "lead", "nth_value",
        "ntile", "percent_rank", "rank", "rank_dense", "row_number",
    }
)  # fmt: skip
# What may stand in FROM as a function: row generators. Every other DuckDB table function reads
# files or URLs (read_*, *_scan, glob), runs SQL from a string (query, query_table), reveals or
# changes the session (duckdb_*, pragma_*, which_secret, enable_logging, checkpoint) or the
# catalog's internals (iceberg_*).
_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})
_TYPED_TABLE_FUNCTIONS: tuple[type[exp.Func], ...] = (
    exp.GenerateSeries,
    exp.ExplodingGenerateSeries,
    exp.Unnest,
)

# sqlglot files its typed functions by kind; these modules hold computations on values (each is
# rendered as DuckDB's own function or expression for the same computation).
_PURE_FUNCTION_MODULES = frozenset(
    f"sqlglot.expressions.{kind}" for kind in ("string", "temporal", "aggregate", "array", "math", "json")
)
# …except these, which reach outside the row (secrets, files, AI services) or produce tables.
_IMPURE_FUNCTIONS: frozenset[type[exp.Func]] = frozenset(
    {exp.Secret, exp.ToFile, exp.AIAgg, exp.AISummarizeAgg, exp.JSONTable, exp.OpenJSON, exp.GapFill}
)
# The pure ones among sqlglot's general-purpose functions (that module also holds ReadCSV,
# ReadParquet, CurrentUser, AI and ML calls); And/Or/Xor are functions to sqlglot too.
_PURE_GENERAL_FUNCTIONS: frozenset[type[exp.Func]] = frozenset(
    {
        exp.Case, exp.Cast, exp.TryCast, exp.CastToStrType, exp.Coalesce, exp.Collate, exp.Columns,
        exp.Exists, exp.Greatest, exp.Least, exp.If, exp.Nullif, exp.Nvl2, exp.EqualNull, exp.Rand,
        exp.Uuid, exp.Try, exp.WidthBucket, exp.And, exp.Or, exp.Xor, exp.ApproxDistinct, exp.Pow,
        exp.RegexpLike, exp.Typeof,
    }
)  # fmt: skip
# Calls named by text, checked against _SAFE_FUNCTIONS.
_NAMED_CALLS = (exp.Anonymous, exp.AnonymousAggFunc)


def _typed_pure_functions() -> frozenset[type[exp.Func]]:
    found: set[type[exp.Func]] = set()
    pending: list[type[exp.Func]] = [exp.Func]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                pending.append(sub)
    pure = {kind for kind in found if kind.__module__ in _PURE_FUNCTION_MODULES} - _IMPURE_FUNCTIONS
    return frozenset(pure | _PURE_GENERAL_FUNCTIONS)


_PURE_FUNCTION_CLASSES = _typed_pure_functions()

# DuckDB's system catalog: its `system.main` views and table functions (duckdb_settings,
# duckdb_databases, duckdb_logs, pragma_database_list, sqlite_master…) and `pg_catalog` (pg_settings…)
# reveal settings, host paths, the catalog endpoint and the secret's name. Refused as any part of a
# table's name, since an unqualified name falls through to them when no table has it.
_SYSTEM_NAME = re.compile(r"(duckdb|pragma|pg|sqlite)_\w*", re.IGNORECASE)
_SYSTEM_CATALOG = "system"
# information_schema lists the attached Iceberg catalog's namespaces, tables and columns (names and
# types only; the catalog shows a workspace only its own), which worksheet users look up; its
# other views (constraints, character sets) describe nothing a workspace has.
_INFORMATION_SCHEMA = "information_schema"
_INFORMATION_SCHEMA_VIEWS = frozenset({"schemata", "tables", "columns", "views"})

# Called names refused in the DuckDB text itself, whatever produced them (sqlglot renders some
# typed functions as other calls, e.g. a time zone as current_setting('TimeZone')).
_DENIED_CALL = re.compile(
    r"(read_\w+|\w+_scan|glob|sniff_csv|parquet_\w+|iceberg_\w+|delta_\w+|duckdb_\w+|pragma_\w+|pg_\w+"
    r"|sqlite_\w+|which_secret|current_setting|getenv|getvariable|query|query_table|json_execute_\w+"
    r"|json_serialize_\w+|json_deserialize_sql|load_aws_credentials|httpfs_\w+|enable_\w+|disable_\w+"
    r"|truncate_duckdb_logs|\w*checkpoint|write_log|sleep_ms|nextval|currval|setseed)",
    re.IGNORECASE,
)
# A table named like a file (`FROM "/etc/passwd"`, `FROM "x.parquet"`): DuckDB would read the file.
_FILE_LIKE_NAME = re.compile(
    r"[/\\:~]|\.\.|\.(csv|tsv|txt|parquet|json|jsonl|ndjson|arrow|avro|orc|xlsx|db|duckdb|sqlite|gz|zst)$",
    re.IGNORECASE,
)
# Statements DuckDB runs on a query (SHOW/DESCRIBE/SUMMARIZE <query>) that sqlglot keeps as raw text.
_QUERY_FIRST_WORDS = frozenset({"SELECT", "WITH", "FROM", "VALUES", "TABLE", "("})


def refuse_unlisted(statement: exp.Expr) -> None:
    """Refuse (SqlProblem) a parsed statement that calls a function or reads a table the allow-list
    does not hold: the worksheet and jobs reach data through the catalog only, and compute on it
    with pure functions."""
    line = statement_line(statement)
    inner = explained(statement)
    if inner is not None:
        refuse_unlisted(inner)
        return
    if isinstance(statement, exp.Command):
        _refuse_in_raw_text(statement.expression.name if statement.expression else "", line)
        return
    in_from: set[int] = set()
    for node in statement.walk():
        if isinstance(node, exp.Table):
            if isinstance(node.this, exp.Func):
                in_from.add(id(node.this))
                _refuse_table_function(node.this, line)
            else:
                _refuse_table_name(node, line)
        elif isinstance(node, exp.Func) and id(node) not in in_from:
            _refuse_function(node, line)


def _function_name(function: exp.Func) -> str:
    return (function.name if isinstance(function, _NAMED_CALLS) else function.sql_name()).lower()


def _refuse_table_function(function: exp.Func, line: int | None) -> None:
    name = _function_name(function)
    allowed = isinstance(function, _TYPED_TABLE_FUNCTIONS) or (
        isinstance(function, _NAMED_CALLS) and name in _TABLE_FUNCTIONS
    )
    if not allowed:
        raise SqlProblem(
            f"{name}() is not allowed in Sadeem SQL: read tables through the catalog (in FROM, only "
            "range(), generate_series() and unnest() may stand as functions).",
            line=line,
        )


def _refuse_function(function: exp.Func, line: int | None) -> None:
    if isinstance(function, _NAMED_CALLS):
        allowed = _function_name(function) in _SAFE_FUNCTIONS
    else:
        allowed = type(function) in _PURE_FUNCTION_CLASSES
    if not allowed:
        raise SqlProblem(
            f"{_function_name(function)}() is not allowed in Sadeem SQL: only DuckDB's functions that "
            "compute on values (string, math, date and time, list, struct, map, regexp, JSON, aggregate "
            "and window functions) may be called.",
            line=line,
        )


def _refuse_table_name(table: exp.Table, line: int | None) -> None:
    name, schema, catalog = table.name, table.text("db"), table.text("catalog")
    for part in (name, schema, catalog):
        if part and _FILE_LIKE_NAME.search(part):
            raise SqlProblem(
                f"'{part}' looks like a file path: tables are read through the catalog, files are "
                "out of reach.",
                line=line,
            )
    for part in (name, schema, catalog):
        if part and (_SYSTEM_NAME.fullmatch(part) or part.lower() == _SYSTEM_CATALOG):
            raise SqlProblem(_system_catalog(part), line=line)
    parts = [part.lower() for part in (name, schema, catalog)]
    if _INFORMATION_SCHEMA in parts and not (
        parts[1] == _INFORMATION_SCHEMA and parts[0] in _INFORMATION_SCHEMA_VIEWS
    ):
        raise SqlProblem(
            f"'{table.sql('duckdb')}' is not allowed in Sadeem SQL: of information_schema, only "
            f"{', '.join(sorted(_INFORMATION_SCHEMA_VIEWS))} may be read.",
            line=line,
        )


def _system_catalog(name: str) -> str:
    return (
        f"'{name}' is DuckDB's system catalog, which is not allowed in Sadeem SQL (names starting with "
        "duckdb_, pragma_, pg_ or sqlite_ are reserved for it): tables are read through the catalog."
    )


def _refuse_in_raw_text(text: str, line: int | None) -> None:
    """A command's raw text (SHOW …, DESCRIBE …): a query in it is checked as a parsed statement;
    what does not parse is checked token by token, refusing anything not plainly allowed."""
    if first_words(text, 1)[:1] in [[word] for word in _QUERY_FIRST_WORDS]:
        try:
            parsed = parse_statements(text)
        except SqlProblem:
            parsed = []
        for statement in parsed:
            refuse_unlisted(statement)
        if parsed:
            return
    _refuse_tokens(text, raw=True)


def check_statement(statement: exp.Expr) -> duckdb.StatementType:
    """Everything the host refuses before DuckDB runs a (Trino-dialect, parsed) statement; its
    DuckDB statement type otherwise."""
    text = to_duckdb(statement)
    kind = fenced_statement_type(text)  # first: it names the refused statement (LOAD, COPY…)
    refuse_unlisted(statement)
    # EXPLAIN's own text is a command to sqlglot; the statement it explains is not raw text.
    explained_one = explained(statement)
    if explained_one is not None:
        statement, text = explained_one, to_duckdb(explained_one)
    _refuse_tokens(text, raw=isinstance(statement, exp.Command))
    return kind


def _refuse_tokens(text: str, raw: bool = False) -> None:
    """Refusals on the DuckDB text's tokens, whatever sqlglot rendered: denied calls anywhere, and
    paths after FROM/JOIN. In what sqlglot keeps as raw text (`raw`: SHOW …, a statement it falls
    back to parsing as a command) there is no syntax tree to look into, so there every call must be
    to an allowed function, and every name or string that looks like a path or names the system
    catalog is refused, wherever it stands."""
    try:
        tokens = _DUCKDB.tokenize(text)
    except TokenError as error:
        raise SqlProblem("The statement could not be read.") from error
    previous = None
    for token, following in zip(tokens, [*tokens[1:], None], strict=True):
        word = token.text
        if token.token_type is TokenType.COMMAND and following is not None:
            _refuse_tokens(following.text, raw=True)  # sqlglot keeps a command's rest as one token
        if following is not None and following.token_type is TokenType.L_PAREN:
            named = token.token_type in (TokenType.VAR, TokenType.IDENTIFIER)
            unlisted = raw and word.isidentifier() and word.lower() not in _RAW_CALLS
            if (named and _DENIED_CALL.fullmatch(word)) or unlisted:
                raise SqlProblem(f"{word}() is not allowed in Sadeem SQL.")
        elif token.token_type in (TokenType.VAR, TokenType.IDENTIFIER, TokenType.STRING):
            if (raw or previous in (TokenType.FROM, TokenType.JOIN)) and _FILE_LIKE_NAME.search(word):
                raise SqlProblem(
                    f"'{word}' looks like a file path: tables are read through the catalog, files are out "
                    "of reach."
                )
            if raw and (_SYSTEM_NAME.fullmatch(word) or word.lower() == _SYSTEM_CATALOG):
                raise SqlProblem(_system_catalog(word))
        previous = token.token_type


# What may stand before "(" in a command's raw text: the allowed functions and the SQL words that
# take a parenthesis (types, IN, OVER, VALUES…).
_RAW_CALLS = (
    _SAFE_FUNCTIONS
    | _TABLE_FUNCTIONS
    | {
        "cast", "try_cast", "extract", "exists", "in", "over", "filter", "within", "values", "as",
        "and", "or", "not", "any", "all", "some", "from", "select", "where", "on", "using", "by",
        "decimal", "numeric", "varchar", "char", "struct", "map", "union", "interval", "if",
        "coalesce", "nullif", "grouping", "rollup", "cube", "sets", "lateral", "join", "with",
    }
)  # fmt: skip


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
        shown = text if len(text) <= _SHOWN_CHARS else f"{text[:_SHOWN_CHARS]}…"
        raise SqlProblem(f"This cannot run on DuckDB ({shown}): {error}") from None
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
    if (first, second) in _TWO_WORD_NAMES:
        return f"{first} {second}"
    if first in _OBJECT_KINDS:
        kind = next((word for word in words[1:] if word not in _CREATE_MODIFIERS), "")
        return None if kind in _OBJECT_KINDS[first] else f"{first} {kind}".strip()
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
