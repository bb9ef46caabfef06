from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from sadeem.api.schemas import JSON_INTEGER, RequestModel, ResponseModel
from sadeem.engines.registry import EngineName
from sadeem.engines.spec import TaskKind
from sadeem.jobs.schemas import ParameterJson, SqlEngine
from sadeem.results.schemas import ROWS_DESCRIPTION, ResultColumn
from sadeem.statements.models import StatementState

MAX_WAIT_SECONDS = 50  # Databricks' own cap on wait_timeout


class StatementSubmit(RequestModel):
    sql: Annotated[str, Field(min_length=1, max_length=1_000_000)] = Field(
        description="Trino-dialect SQL: one statement or several separated by `;` (the last one's rows "
        "are the result), with `:name` parameter markers. On DuckDB it is transpiled with sqlglot."
    )
    engine: SqlEngine = Field(
        default="duckdb",
        description="`duckdb`: embedded, fenced to the workspace. `trino`: a Trino connection.",
    )
    connection: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        default=None, description="The Trino connection's name (engine `trino` only)."
    )
    parameters: dict[Annotated[str, Field(max_length=64)], ParameterJson | None] = Field(
        default_factory=dict,
        max_length=100,
        description="A value for every `:name` in the SQL, bound by the engine (never pasted into the text).",
    )
    row_limit: Annotated[int, Field(ge=1, le=10**12), JSON_INTEGER] | None = Field(
        default=None,
        description="Keep at most this many rows (default and ceiling: your role's limit); "
        "a longer result is cut and flagged `truncated`.",
    )
    wait_timeout: float = Field(
        default=10,
        ge=0,
        le=MAX_WAIT_SECONDS,
        description="Seconds to wait for the statement to end before answering; 0 answers at once. "
        "Poll `GET …/statements/{id}` (with `wait`) after that.",
    )
    on_wait_timeout: Literal["CONTINUE", "CANCEL"] = Field(
        default="CONTINUE", description="What happens when it is still running after `wait_timeout`."
    )
    timeout_seconds: float | None = Field(
        default=None,
        gt=0,
        le=86_400,
        description="Stop it (TIMED_OUT) after this long; default and ceiling: the server's timeout.",
    )
    first_page_rows: Annotated[int, Field(ge=0, le=10_000), JSON_INTEGER] = Field(
        default=1_000, description="Rows of the result to include in the answer when it is ready in time."
    )


class StatementError(ResponseModel):
    message: str
    line: int | None = None
    column: int | None = None


class ResultManifest(ResponseModel):
    columns: list[ResultColumn]
    total_rows: int
    truncated: bool = Field(description="True when the result was cut at the row or byte limit.")
    row_limit: int | None = Field(description="The row limit the statement ran with.")
    size_bytes: int = Field(description="The kept result's size as Arrow.")
    expired: bool = Field(description="True once the result was removed (retention); the history stays.")


class ResultPage(ResponseModel):
    columns: list[ResultColumn]
    rows: list[list[Any]] = Field(description=ROWS_DESCRIPTION)
    row_offset: int = Field(description="The first row's position in the result (0-based).")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null after the last.")
    complete: bool = Field(description="True when this page reaches the end of a finished result.")


class StatementOut(ResponseModel):
    id: str
    workspace: str
    state: StatementState
    sql: str
    engine: str
    connection: str | None
    parameters: dict[str, Any]
    user: str = Field(description="Who ran it: the identity the engine used.")
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    duration_ms: int | None
    error: StatementError | None
    cancel_requested: bool
    result: ResultManifest | None = Field(description="Once SUCCEEDED: the result's shape and size.")
    first_page: ResultPage | None = Field(
        default=None, description="The first rows, when the statement ended within `wait_timeout`."
    )


class StatementTransitionOut(ResponseModel):
    from_state: StatementState | None
    to_state: StatementState
    reason: str | None
    actor: str = Field(description="Who moved it: a user, `executor:<server process>` or `reaper:<process>`.")
    at: datetime


class ExplainRequest(RequestModel):
    sql: Annotated[str, Field(min_length=1, max_length=1_000_000)]
    engine: Annotated[str, EngineName(TaskKind.sql, explains=True)] = "duckdb"
    connection: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    parameters: dict[Annotated[str, Field(max_length=64)], ParameterJson | None] = Field(
        default_factory=dict, max_length=100
    )


class ExplainOut(ResponseModel):
    engine: str
    engine_sql: str = Field(description="The SQL as the engine runs it (for DuckDB: transpiled from Trino).")
    plan: str = Field(description="The engine's plan as text.")
