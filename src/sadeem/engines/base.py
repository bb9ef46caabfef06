"""The one small protocol every engine implements, so the worker treats DuckDB, Trino, Spark
local and Spark on Kubernetes alike.

The worker calls `Engine.submit(task)` once per attempt and gets an `Execution` back at once
(the engine work goes on in a thread, a subprocess or a cluster). It then polls `status()`,
calls `cancel()` when the run is stopped, times out or loses its lease, and, after SUCCEEDED,
asks a SQL execution for its `result()`. Engines write log lines through `task.log` whenever
they have some (from any thread); the worker stores them with the attempt.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal, Protocol

import pyarrow as pa

# How SQL in Sadeem names the built-in catalog: DuckDB attaches the workspace's warehouse under
# it, and the editor's schema tree announces it.
CATALOG_ALIAS = "iceberg"

# A job parameter's value after validation against its declared type.
ParameterValue = str | int | float | bool | Decimal | date | datetime | None


class ExecutionState(enum.StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class ExecutionStatus:
    state: ExecutionState
    # FAILED: the engine's own message (for SQL, with line and column when the engine gives them).
    message: str | None = None
    # The engine's own ids of the queries it ran so far (Trino's), so the run's audit can name
    # them; empty for engines without such ids.
    query_ids: tuple[str, ...] = ()

    @property
    def finished(self) -> bool:
        return self.state is not ExecutionState.RUNNING


@dataclass(frozen=True)
class CatalogAccess:
    """How engine work reaches the built-in Iceberg REST catalog as the run's owner: the catalog
    URI (`http://host:port/iceberg`), the warehouse (the workspace slug) and a short-lived
    personal access token of the owner, revoked when the attempt ends."""

    uri: str
    warehouse: str
    token: str


@dataclass(frozen=True)
class WorkspaceStorage:
    slug: str
    namespace: str  # the workspace's root Iceberg namespace
    location: str  # file:///… or s3://bucket/prefix: where its tables (and run results) live


@dataclass(frozen=True)
class SqlTask:
    """`sql` is canonical Trino dialect, possibly several statements separated by `;`, with
    `:name` parameter markers; the last statement's rows are the result."""

    sql: str


@dataclass(frozen=True)
class Resources:
    cores: int = 1
    memory: str = "1g"  # Spark's own notation: 512m, 2g
    instances: int = 1  # executors only


@dataclass(frozen=True)
class SparkTask:
    kind: Literal["pyspark", "sql", "jar"]
    # Inline program text (pyspark, sql) kept with the job version, or a file URI.
    source: str | None = None
    file: str | None = None
    main_class: str | None = None  # jar only
    args: tuple[str, ...] = ()  # parameters already substituted (`{{name}}` → value, one arg each)
    conf: Mapping[str, str] = field(default_factory=dict)
    driver: Resources = Resources()
    executor: Resources = Resources()


@dataclass(frozen=True)
class EngineTask:
    """Everything an engine needs for one attempt of one run."""

    run_id: int
    attempt: int
    owner: str  # the run owner's username: the Trino user, the identity in the catalog token
    workspace: WorkspaceStorage
    catalog: CatalogAccess
    task: SqlTask | SparkTask
    parameters: Mapping[str, ParameterValue]
    work_dir: Path  # a private scratch directory for this attempt, removed afterwards
    log: Callable[[str], None]  # one line (no newline) at a time; thread-safe
    # The engine connection's decrypted settings (trino, spark_local, spark_k8s), or None for the
    # embedded default. Secrets inside never go to `log`.
    connection: Mapping[str, object] | None = None
    # A job's run (batch) or a worksheet statement (interactive, `run_id` is then the statement's
    # row id): engines that share a cluster tag their work with it (Trino: client tag `class:…`).
    work_class: Literal["batch", "interactive"] = "batch"


class Execution(Protocol):
    def status(self) -> ExecutionStatus:
        """Cheap; called every few hundred milliseconds by the worker."""

    def cancel(self) -> None:
        """Stop the engine work for real (interrupt, DELETE the query, kill the process group,
        delete the SparkApplication). Idempotent; `status()` then reports CANCELLED or FAILED."""

    def result(self) -> pa.RecordBatchReader | None:
        """After SUCCEEDED: the last statement's rows (SQL engines), streamed; None for Spark."""

    def close(self) -> None:
        """Release what the execution holds (connection, process, scratch files). Called once,
        after the result was read or the work ended otherwise; idempotent."""


class Engine(Protocol):
    name: str

    def submit(self, task: EngineTask) -> Execution:
        """Start the work and return at once. Errors the engine reports later (a syntax error,
        a missing file) arrive as FAILED status, not as exceptions from here."""


class EngineRefused(Exception):
    """The task cannot be started at all (a fenced statement, an unbindable parameter): the
    attempt fails with this message, without retries."""
