from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import Field

from sadeem.api.schemas import ResponseModel


class ComponentStatus(enum.StrEnum):
    ok = "ok"
    degraded = "degraded"  # works, but something needs a look
    down = "down"
    unknown = "unknown"  # not checked: switched off, never tested, or not configured


class ComponentKind(enum.StrEnum):
    database = "database"
    catalog = "catalog"
    storage = "storage"
    engine = "engine"
    connection = "connection"
    workers = "workers"
    scheduler = "scheduler"
    queue = "queue"
    runs = "runs"


class Component(ResponseModel):
    name: str
    kind: ComponentKind
    status: ComponentStatus
    message: str = Field(description="What was found, and what to do about it when it is not ok.")
    version: str | None = None
    latency_ms: float | None = Field(default=None, description="How long the check took.")
    checked_at: datetime | None = Field(
        default=None, description="When it was checked (a connection: when it was last tested)."
    )
    details: dict[str, Any] = Field(default_factory=dict)


class HealthReport(ResponseModel):
    status: ComponentStatus = Field(
        description="The worst status of any component (`unknown` ones aside): ok, degraded or down."
    )
    checked_at: datetime
    components: list[Component]
