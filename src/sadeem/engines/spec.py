"""What the control plane knows about an engine without loading it: an `EngineSpec`.

Services and request schemas ask the registry (`engines/registry.py`) for these and never name an
engine, so adding one is its module plus one spec in the registry.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp

from sadeem.config import Settings
from sadeem.connections.types import ConnectionType
from sadeem.engines.base import Engine


class TaskKind(enum.StrEnum):
    """A job task's `type`; the worksheet's statements are `sql`."""

    sql = "sql"
    spark = "spark"


def _always(settings: Settings) -> bool:
    return True


@dataclass(frozen=True)
class Installation:
    """An engine that runs on this host, as the health check finds it without starting it."""

    ready: bool
    message: str
    version: str | None = None


@dataclass(frozen=True)
class EngineSpec:
    name: str
    runs: frozenset[TaskKind]
    # Called when a task starts, so a worker imports only the engines it runs (the Kubernetes client
    # alone takes a second).
    factory: Callable[[Settings], Engine]
    # The type of connection the engine takes; None: embedded, it takes none.
    connection: ConnectionType | None = None
    connection_required: bool = False
    # A server can switch off an engine (Spark local runs job code on its host); saving a job for
    # it is then a 400 with `disabled_reason`, and a version saved before fails its runs with it.
    enabled: Callable[[Settings], bool] = _always
    disabled_reason: str = ""
    # What the engine would refuse of one parsed statement, refused when the SQL is saved or
    # submitted (a 400 raising InvalidInput), not when a run starts.
    validate: Callable[[exp.Expr], object] | None = None
    # The statement as the engine runs it, shown by the worksheet's EXPLAIN; None: no EXPLAIN.
    explain: Callable[[exp.Expr], str] | None = None
    # What the engine refuses of a Spark program `file` when the job is saved.
    check_program_file: Callable[[str], None] | None = None
    # What of the engine is installed on this host (health page); None: it runs elsewhere, reached
    # through its connections.
    installation: Callable[[Settings], Installation] | None = None
