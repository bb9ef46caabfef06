"""A job's definition (what every version stores) and the job API's bodies."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any, Literal, Union

from pydantic import Field, StrictBool

from sadeem.api.schemas import JSON_INTEGER, IsoDateTime, RequestModel, ResponseModel
from sadeem.auth.schemas import Username
from sadeem.connections.schemas import ConnectionName, Description
from sadeem.engines.registry import EngineName
from sadeem.engines.spec import TaskKind

JobName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
ParameterName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
# A parameter value as JSON carries it: text (decimal, date and timestamp go as text too), a
# number or a boolean.
ParameterJson = Union[StrictBool, int, float, Annotated[str, Field(max_length=10_000)]]  # noqa: UP007
SparkMemory = Annotated[str, Field(max_length=16, pattern=r"^[1-9][0-9]{0,6}[kmgt]$")]
SqlEngine = Annotated[str, EngineName(TaskKind.sql)]
SparkEngine = Annotated[str, EngineName(TaskKind.spark)]


class ParameterType(enum.StrEnum):
    string = "string"
    integer = "integer"
    number = "number"
    decimal = "decimal"
    boolean = "boolean"
    date = "date"
    timestamp = "timestamp"


class ParameterSpec(RequestModel):
    name: ParameterName
    type: ParameterType = ParameterType.string
    default: ParameterJson | None = Field(
        default=None,
        description="Used when a run gives no value; without one, every run must give it. JSON numbers "
        "for integer/number, text for decimal, date (YYYY-MM-DD) and timestamp (ISO 8601).",
    )
    description: Description = ""


class SqlTaskSpec(RequestModel):
    type: Literal["sql"]
    engine: SqlEngine = Field(
        default="duckdb", description="DuckDB (embedded) or a Trino connection. The SQL is Trino dialect."
    )
    connection: ConnectionName | None = Field(
        default=None, description="The `trino` connection (engine trino)."
    )
    sql: str = Field(
        min_length=1,
        max_length=200_000,
        description="Trino-dialect SQL, one or more statements separated by `;`; `:name` marks a parameter. "
        "The last statement's rows are the run's result.",
    )


class SparkResources(RequestModel):
    cores: Annotated[int, Field(ge=1, le=64), JSON_INTEGER] = 1
    memory: SparkMemory = "1g"
    instances: Annotated[int, Field(ge=1, le=1000), JSON_INTEGER] = Field(
        default=1, description="Executors only."
    )


class SparkTaskSpec(RequestModel):
    type: Literal["spark"]
    engine: SparkEngine = Field(
        default="spark_local", description="`spark-submit --master local[*]`, or a SparkApplication."
    )
    connection: ConnectionName | None = Field(
        default=None, description="A `spark_local` (optional) or `spark_k8s` (required) connection."
    )
    kind: Literal["pyspark", "sql", "jar"]
    source: str | None = Field(
        default=None,
        max_length=500_000,
        description="The program text (pyspark, sql), kept with the version.",
    )
    file: str | None = Field(
        default=None,
        max_length=1024,
        pattern=r"^[^\x00-\x1f\x7f]+$",
        description="Instead of `source`: the program's URI (a path for Spark local; `local://`, `s3a://` "
        "for Kubernetes). A jar always comes as a file.",
    )
    main_class: str | None = Field(default=None, max_length=256, pattern=r"^[A-Za-z_$][A-Za-z0-9_$.]*$")
    args: list[Annotated[str, Field(max_length=4096)]] = Field(
        default_factory=list, max_length=256, description="`{{name}}` is replaced by a parameter's value."
    )
    conf: dict[
        Annotated[str, Field(min_length=1, max_length=256)], Annotated[str, Field(max_length=4096)]
    ] = Field(default_factory=dict, max_length=200, description="Spark properties (`spark.*`).")
    driver: SparkResources = Field(default_factory=SparkResources)
    executor: SparkResources = Field(default_factory=SparkResources)


class RetryPolicy(RequestModel):
    max_attempts: Annotated[int, Field(ge=1, le=20), JSON_INTEGER] = Field(
        default=1, description="Attempts in all, the first included."
    )
    backoff_seconds: float = Field(default=10.0, ge=0, le=86400, description="Wait before the first retry.")
    backoff_multiplier: float = Field(default=2.0, ge=1, le=10)
    max_backoff_seconds: float = Field(default=3600.0, ge=0, le=86400)

    def delay(self, retry_number: int) -> float:
        """Seconds to wait before retry number `retry_number` (1 = the first retry)."""
        return min(
            self.max_backoff_seconds, self.backoff_seconds * self.backoff_multiplier ** (retry_number - 1)
        )


class Schedule(RequestModel):
    cron: str = Field(min_length=9, max_length=120, description="Five-field cron, e.g. `0 2 * * *`.")
    timezone: str = Field(default="UTC", max_length=64, description="IANA time zone, e.g. `Asia/Riyadh`.")
    catch_up: Literal["skip", "backfill"] = Field(
        default="skip",
        description="After downtime: `skip` fires only the latest missed slot, `backfill` every one.",
    )


class SchedulePreview(ResponseModel):
    cron: str
    timezone: str
    fire_times: list[datetime] = Field(
        description="The next fire times, in the schedule's time zone (ISO 8601 with its UTC offset)."
    )


class NotificationEvent(enum.StrEnum):
    failure = "failure"
    success = "success"
    duration_exceeded = "duration_exceeded"


class Notification(RequestModel):
    # Control characters (C0, DEL, C1) and U+FEFF are named besides `\s` because regex dialects
    # disagree on them: the server's (Rust's regex) counts U+0085 as whitespace, the ECMA dialect
    # of the OpenAPI document does not, and only ECMA counts U+FEFF; listed, every client agrees.
    url: Annotated[str, Field(max_length=2048, pattern=r"^https?://[^\s\x00-\x1f\x7f-\x9f\ufeff]+$")]
    on: list[NotificationEvent] = Field(min_length=1)
    duration_threshold_seconds: Annotated[int, Field(ge=1), JSON_INTEGER] | None = None


class JobDefinition(RequestModel):
    """Everything a version fixes. Editing any of it makes a new version."""

    description: Description = ""
    task: Annotated[SqlTaskSpec | SparkTaskSpec, Field(discriminator="type")]
    parameters: list[ParameterSpec] = Field(default_factory=list, max_length=100)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    timeout_seconds: Annotated[int, Field(ge=1, le=7 * 86400), JSON_INTEGER] | None = None
    max_concurrent_runs: Annotated[int, Field(ge=1, le=1000), JSON_INTEGER] = 1
    schedule: Schedule | None = None
    notifications: list[Notification] = Field(default_factory=list, max_length=20)


RUN_AS_DESCRIPTION = (
    "The user the new version's runs act as, scheduled and manual alike. Default: you, its author. "
    "Only a workspace admin may name someone else (a member of the workspace)."
)


class JobCreate(JobDefinition):
    name: JobName
    run_as: Username | None = Field(default=None, description=RUN_AS_DESCRIPTION)


class JobUpdate(JobDefinition):
    message: Annotated[str, Field(max_length=2000)] = Field(default="", description="What changed, and why.")
    run_as: Username | None = Field(default=None, description=RUN_AS_DESCRIPTION)


class Rollback(RequestModel):
    version: Annotated[int, Field(ge=1), JSON_INTEGER]
    message: Annotated[str, Field(max_length=2000)] = ""
    run_as: Username | None = Field(default=None, description=RUN_AS_DESCRIPTION)


class JobVersionOut(ResponseModel):
    version: int
    definition: dict[str, Any]
    message: str
    created_by: str | None = Field(description="The version's author.")
    run_as: str = Field(description="Every run of this version acts as this user.")
    created_at: datetime


class JobOut(ResponseModel):
    name: str
    current_version: int
    definition: dict[str, Any]
    paused: bool
    next_fire_at: datetime | None = Field(description="The next schedule slot to fire (UTC).")
    author: str | None = Field(description="Who wrote the current version.")
    run_as: str = Field(
        description="Runs of the current version (scheduled and manual) act as this user: its author, "
        "unless a workspace admin named another."
    )
    created_by: str | None = Field(description="Who created the job (version 1).")
    created_at: datetime
    updated_at: datetime


class FieldChange(ResponseModel):
    path: str = Field(description="Dotted path of the changed field, e.g. `task.sql`.")
    before: Any
    after: Any


class JobVersionDiff(ResponseModel):
    from_version: int
    to_version: int
    changes: list[FieldChange]
    unified: str = Field(description="A unified diff of the two definitions as indented JSON.")


class RunSubmit(RequestModel):
    version: Annotated[int, Field(ge=1), JSON_INTEGER] | None = Field(
        default=None, description="Run this version instead of the current one."
    )
    # Keys are plain text here (a key pattern would become `patternProperties`, which lets any
    # other key through in JSON Schema); unknown names are refused by the service, as a 400.
    parameters: dict[Annotated[str, Field(max_length=64)], ParameterJson] = Field(
        default_factory=dict, max_length=100
    )
    idempotency_key: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[!-~]+$")] | None = Field(
        default=None,
        description="The same key submits the same run exactly once (Databricks' idempotency_token).",
    )


class Repair(RequestModel):
    since: IsoDateTime | None = Field(
        default=None, description="Only runs created at or after this time; default: every failed run."
    )
