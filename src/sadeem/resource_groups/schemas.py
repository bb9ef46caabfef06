from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from sadeem.api.schemas import JSON_INTEGER, RequestModel, ResponseModel
from sadeem.config import Concurrency, MemoryPercent, QueueLength, SchedulingWeight

HardConcurrency = Annotated[
    Concurrency,
    Field(description="Queries of this class running at once; more wait QUEUED in Trino."),
    JSON_INTEGER,
]
MaxQueued = Annotated[
    QueueLength,
    Field(description="Queries of this class waiting at once; Trino refuses one more."),
    JSON_INTEGER,
]
ClassMemory = Annotated[
    MemoryPercent,
    Field(description="Percent of the workspace's memory; above it, new queries of the class wait."),
    JSON_INTEGER,
]
Weight = Annotated[
    SchedulingWeight,
    Field(description="The class's share when both classes have queries waiting (weighted fair)."),
    JSON_INTEGER,
]
WorkspaceMemory = Annotated[
    MemoryPercent,
    Field(description="Percent of the Trino cluster's query memory the workspace's queries may hold."),
    JSON_INTEGER,
]


class WorkClassLimitsBody(RequestModel):
    hard_concurrency: HardConcurrency
    max_queued: MaxQueued
    soft_memory_percent: ClassMemory
    scheduling_weight: Weight


class EngineLimitsBody(RequestModel):
    """Every limit, explicitly: what is not given is not guessed (GET, change, PUT)."""

    soft_memory_percent: WorkspaceMemory
    interactive: WorkClassLimitsBody = Field(description="The worksheet's queries (statements).")
    batch: WorkClassLimitsBody = Field(description="Jobs' queries (runs).")


class WorkClassLimitsOut(ResponseModel):
    hard_concurrency: int
    max_queued: int
    soft_memory_percent: int
    scheduling_weight: int
    resource_group: str = Field(
        description="The Trino resource group its queries run in.", examples=["sales.batch"]
    )


class EngineLimitsOut(ResponseModel):
    soft_memory_percent: int = Field(description="Percent of the Trino cluster's query memory.")
    interactive: WorkClassLimitsOut
    batch: WorkClassLimitsOut
    resource_group: str = Field(description="The workspace's Trino resource group (its slug).")
    source: str = Field(description="`workspace`: set for it by a platform admin; `default`: the server's.")
    updated_by: str | None
    updated_at: datetime | None
    enforced_by_trino_tables: bool = Field(
        description="Whether Sadeem writes them where Trino's database resource-group manager reads "
        "them (PostgreSQL). Otherwise (SQLite) they are shown only: a Trino used with it has its "
        "own (file) resource groups."
    )
