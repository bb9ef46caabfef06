"""A saved query's content (what every version stores) and the saved-query API's bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StrictBool

from sadeem.api.schemas import RequestModel, ResponseModel
from sadeem.connections.schemas import ConnectionName, Description
from sadeem.datasets.schemas import Tags
from sadeem.jobs.schemas import JobName, JobOut, ParameterJson, ParameterSpec, Schedule, SqlEngine
from sadeem.runs.schemas import RunOut

QueryName = JobName
Message = Annotated[str, Field(max_length=2000)]


class SavedQueryContent(RequestModel):
    """Everything a version fixes. Editing any of it makes a new version."""

    description: Description = ""
    tags: Tags = Field(default_factory=list)
    sql: str = Field(
        min_length=1,
        max_length=200_000,
        description="Trino-dialect SQL, one or more statements separated by `;`; `:name` marks a parameter.",
    )
    engine: SqlEngine = Field(default="duckdb", description="DuckDB (embedded) or a Trino connection.")
    connection: ConnectionName | None = Field(
        default=None, description="The `trino` connection (engine trino only, and then required)."
    )
    parameters: list[ParameterSpec] = Field(
        default_factory=list, max_length=100, description="Declared like a job's parameters."
    )


class SavedQueryCreate(SavedQueryContent):
    name: QueryName
    shared: StrictBool = Field(
        default=False, description="Visible to every member of the workspace; otherwise only to you."
    )


class SavedQueryUpdate(SavedQueryContent):
    """The whole content; an identical content makes no new version."""

    message: Message = Field(default="", description="What changed, and why.")


class SavedQueryOut(ResponseModel):
    name: str
    owner: str | None
    shared: bool
    current_version: int
    description: str
    tags: list[str]
    sql: str
    engine: str
    connection: str | None
    parameters: list[dict[str, Any]]
    can_edit: bool = Field(description="Whether you may edit or delete it (its owner or a workspace admin).")
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class SavedQueryVersionOut(ResponseModel):
    version: int
    content: dict[str, Any] = Field(description="description, tags, sql, engine, connection, parameters.")
    message: str
    created_by: str | None
    created_at: datetime


class RunAsJob(RequestModel):
    job_name: QueryName | None = Field(default=None, description="Default: the query's name.")
    schedule: Schedule | None = Field(
        default=None,
        description="The job's schedule. Omitted: a new job has none, an existing one keeps its own.",
    )
    # Keys are plain text (a key pattern would become `patternProperties`); unknown names are a 400.
    parameters: dict[Annotated[str, Field(max_length=64)], ParameterJson] = Field(
        default_factory=dict,
        max_length=100,
        description="Values for this run; a job with a schedule also takes them as its parameters' defaults.",
    )
    submit: StrictBool = Field(default=True, description="Queue a run now; false only saves the job.")
    message: Message = Field(default="", description="The job version's message when the job is updated.")


class RunAsJobOut(ResponseModel):
    job: JobOut
    job_created: bool = Field(description="True: a new job; false: an existing one (maybe a new version).")
    query_version: int = Field(description="The query version the job's SQL came from.")
    run: RunOut | None
