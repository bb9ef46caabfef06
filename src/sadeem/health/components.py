"""The connection doctor: every component Sadeem depends on, checked at once, each with a status,
a message a person can act on, a version where one is known, and how long its check took.

Checks run concurrently, each in a thread of its own with its own database session, and the
report waits at most `health_check_timeout_seconds` for any of them: a hung S3 endpoint or a
locked database is reported `down` ("no answer within N s") instead of hanging the page. Nothing
here starts an engine or tests a connection (egress policy and cost): connections show their last
test, workers and schedulers their last heartbeat (health/heartbeats.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from importlib.metadata import version
from typing import Any

from pyiceberg.catalog.sql import IcebergTables
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from sadeem.catalog import storage
from sadeem.catalog.store import CATALOG_NAME
from sadeem.config import Settings
from sadeem.connections.models import Connection
from sadeem.core.clock import utcnow
from sadeem.db import migrate
from sadeem.db.engine import Database
from sadeem.engines.registry import specs
from sadeem.engines.spec import EngineSpec
from sadeem.health.schemas import Component, ComponentKind, ComponentStatus, HealthReport
from sadeem.heartbeats.models import ServiceHeartbeat, ServiceKind
from sadeem.runs.models import Run, RunState
from sadeem.workspaces.models import Workspace

ok, degraded, down, unknown = (
    ComponentStatus.ok,
    ComponentStatus.degraded,
    ComponentStatus.down,
    ComponentStatus.unknown,
)

# A worker or scheduler silent for this many of its intervals is down.
MISSED_BEATS = 3
# A run claimable for longer than this means workers are missing or all busy.
QUEUE_WAIT_WARNING = timedelta(minutes=5)
FAILED_RUNS_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Finding:
    status: ComponentStatus
    message: str
    version: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    """One check: `probe` yields the components it found (the connections check, one per
    connection); `name` and `kind` label the one reported if it fails or does not answer."""

    name: str
    kind: ComponentKind
    probe: Callable[[], list[Component]]


def _timed(name: str, kind: ComponentKind, find: Callable[[], Finding]) -> Check:
    def probe() -> list[Component]:
        started = time.perf_counter()
        try:
            finding = find()
        except Exception as exc:
            finding = Finding(down, f"check failed: {_first_line(exc)}")
        return [
            Component(
                name=name,
                kind=kind,
                status=finding.status,
                message=finding.message,
                version=finding.version,
                latency_ms=round((time.perf_counter() - started) * 1000, 1),
                checked_at=utcnow(),
                details=finding.details,
            )
        ]

    return Check(name, kind, probe)


def _first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).strip().partition(chr(10))[0]}"[:500]


def _ago(moment: datetime, now: datetime) -> str:
    seconds = max(0, round((now - moment).total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


# The checks -----------------------------------------------------------------------------------


def _database(db: Database) -> Finding:
    with db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        server = ".".join(str(part) for part in connection.dialect.server_version_info or ())
    current, head = migrate.current_revision(db.engine), migrate.head_revision()
    details = {"dialect": db.dialect, "migration_current": current, "migration_head": head}
    if current != head:
        return Finding(
            down,
            f"schema at migration {current}, the code expects {head}: run `sadeem db upgrade`",
            server,
            details,
        )
    return Finding(ok, f"{db.dialect} answers; schema at migration head {head}", server, details)


def _catalog(session: Session) -> Finding:
    warehouses = session.scalar(select(func.count()).select_from(Workspace)) or 0
    tables = (
        session.scalar(
            select(func.count()).select_from(IcebergTables).where(IcebergTables.catalog_name == CATALOG_NAME)
        )
        or 0
    )
    return Finding(
        ok,
        f"metadata store answers: {warehouses} warehouse(s) (one per workspace), {tables} table(s)",
        version("pyiceberg"),
        {"warehouses": warehouses, "tables": tables},
    )


def _storage(settings: Settings) -> Finding:
    root = settings.resolved_warehouse
    backend = "local" if storage.local_path(root) is not None else "s3"
    details = {"location": root, "backend": backend}
    try:
        where = storage.probe(settings, root)
    except Exception as exc:
        return Finding(down, f"cannot write to the warehouse {root}: {_first_line(exc)}", None, details)
    return Finding(ok, f"reachable and writable (probe written, read and deleted in {where})", None, details)


def _engine(session: Session, settings: Settings, spec: EngineSpec) -> Finding:
    details: dict[str, Any] = {"enabled": spec.enabled(settings), "runs": sorted(spec.runs)}
    if not details["enabled"]:
        return Finding(unknown, f"switched off: {spec.disabled_reason}", None, details)
    if spec.installation is not None:
        found = spec.installation(settings)
        # Degraded, not down: the platform and its other engines work; runs on this one fail with
        # this same message until it is installed (a laptop without `make spark`, say).
        return Finding(ok if found.ready else degraded, found.message, found.version, details)
    # An engine reached through connections: each connection's last test is its own component.
    assert spec.connection is not None
    count = session.scalar(select(func.count()).where(Connection.type == spec.connection)) or 0
    details["connections"] = count
    if not count:
        return Finding(
            unknown, f"not configured: no workspace has a {spec.connection} connection", None, details
        )
    return Finding(
        ok, f"runs through {count} {spec.connection} connection(s); see each one's last test", None, details
    )


def _connections(session: Session) -> list[Component]:
    rows = session.execute(
        select(
            Workspace.slug,
            Connection.name,
            Connection.type,
            Connection.last_test_ok,
            Connection.last_test_at,
            Connection.last_test_latency_ms,
            Connection.last_test_detail,
        )
        .join(Workspace, Workspace.id == Connection.workspace_id)
        .order_by(Workspace.slug, Connection.name)
    ).all()
    components = []
    for slug, name, type_, tested_ok, tested_at, latency, detail in rows:
        if tested_ok is None:
            status, message = unknown, "never tested: test it from the workspace's connections"
        else:
            status = ok if tested_ok else down
            message = f"last test {'passed' if tested_ok else 'failed'}: {detail or 'no detail'}"
        components.append(
            Component(
                name=f"connection {slug}/{name}",
                kind=ComponentKind.connection,
                status=status,
                message=message,
                latency_ms=latency,
                checked_at=tested_at,
                details={"workspace": slug, "connection": name, "type": str(type_)},
            )
        )
    return components


def _alive(beat: ServiceHeartbeat, now: datetime) -> bool:
    return beat.beat_at >= now - timedelta(seconds=MISSED_BEATS * beat.interval_seconds)


def _instance(beat: ServiceHeartbeat, now: datetime) -> dict[str, Any]:
    return {
        "id": beat.id,
        "host": beat.host,
        "pid": beat.pid,
        "version": beat.version,
        "started_at": beat.started_at.isoformat(),
        "beat_at": beat.beat_at.isoformat(),
        "interval_seconds": beat.interval_seconds,
        "alive": _alive(beat, now),
        "slots": beat.slots,
        "slots_in_use": beat.slots_in_use,
        **beat.details,
    }


def _heartbeats(
    session: Session, kind: ServiceKind
) -> tuple[list[ServiceHeartbeat], list[ServiceHeartbeat], datetime]:
    now = utcnow()
    beats = list(
        session.scalars(
            select(ServiceHeartbeat).where(ServiceHeartbeat.kind == kind).order_by(ServiceHeartbeat.id)
        )
    )
    alive = [beat for beat in beats if _alive(beat, now)]
    return beats, alive, now


def _silent(beats: list[ServiceHeartbeat], alive: list[ServiceHeartbeat], now: datetime) -> str:
    silent = [beat for beat in beats if beat not in alive]
    return "; ".join(f"{beat.id} silent since {_ago(beat.beat_at, now)}" for beat in silent)


def _versions(beats: list[ServiceHeartbeat]) -> str | None:
    return ", ".join(sorted({beat.version for beat in beats})) or None


def _workers(session: Session) -> Finding:
    beats, alive, now = _heartbeats(session, ServiceKind.worker)
    slots = sum(beat.slots or 0 for beat in alive)
    in_use = sum(beat.slots_in_use or 0 for beat in alive)
    details = {
        "alive": len(alive),
        "slots": slots,
        "slots_in_use": in_use,
        "instances": [_instance(beat, now) for beat in beats],
    }
    if not alive:
        why = _silent(beats, alive, now) or "none has started"
        return Finding(
            down,
            f"no worker is alive ({why}): queued runs will not start; run `sadeem worker` (or `sadeem up`)",
            None,
            details,
        )
    latest = max(beat.beat_at for beat in alive)
    summary = f"{len(alive)} alive, {in_use} of {slots} slots in use, last heartbeat {_ago(latest, now)}"
    if len(alive) < len(beats):
        return Finding(degraded, f"{summary}; {_silent(beats, alive, now)}", _versions(alive), details)
    return Finding(ok, summary, _versions(alive), details)


def _scheduler(session: Session) -> Finding:
    beats, alive, now = _heartbeats(session, ServiceKind.scheduler)
    details: dict[str, Any] = {"alive": len(alive), "instances": [_instance(beat, now) for beat in beats]}
    if not alive:
        why = _silent(beats, alive, now) or "none has started"
        return Finding(
            down,
            f"no scheduler is alive ({why}): schedules will not fire;"
            " run `sadeem scheduler` (or `sadeem up`)",
            None,
            details,
        )
    last = max(alive, key=lambda beat: beat.beat_at)
    details["last_tick_at"] = last.beat_at.isoformat()
    if error := last.details.get("error"):
        return Finding(
            degraded, f"last tick {_ago(last.beat_at, now)} failed: {error}", _versions(alive), details
        )
    details["fired_last_tick"] = last.details.get("fired", 0)
    summary = (
        f"{len(alive)} alive; last tick {_ago(last.beat_at, now)} fired {details['fired_last_tick']} run(s)"
    )
    if len(alive) < len(beats):
        return Finding(degraded, f"{summary}; {_silent(beats, alive, now)}", _versions(alive), details)
    return Finding(ok, summary, _versions(alive), details)


def _queue(session: Session) -> Finding:
    now = utcnow()
    depth = (
        session.scalar(
            select(func.count()).where(Run.state.in_((RunState.QUEUED, RunState.WAITING_FOR_RETRY)))
        )
        or 0
    )
    oldest = session.scalar(
        select(func.min(Run.not_before)).where(Run.state == RunState.QUEUED, Run.not_before <= now)
    )
    details: dict[str, Any] = {
        "depth": depth,
        "oldest_queued_seconds": round((now - oldest).total_seconds(), 1) if oldest else None,
    }
    if oldest is None:
        return Finding(ok, f"{depth} run(s) waiting, none due yet" if depth else "empty", None, details)
    message = f"{depth} run(s) waiting; the oldest due run has waited since {_ago(oldest, now)}"
    if now - oldest > QUEUE_WAIT_WARNING:
        return Finding(degraded, f"{message}: are workers down or all slots busy?", None, details)
    return Finding(ok, message, None, details)


def _failed_runs(session: Session) -> Finding:
    since = utcnow() - FAILED_RUNS_WINDOW
    counts = dict(
        session.execute(
            select(Run.state, func.count())
            .where(Run.state.in_((RunState.FAILED, RunState.TIMED_OUT)), Run.ended_at >= since)
            .group_by(Run.state)
        ).all()
    )
    failed, timed_out = counts.get(RunState.FAILED, 0), counts.get(RunState.TIMED_OUT, 0)
    details = {"failed": failed, "timed_out": timed_out, "window_hours": 24}
    if not failed + timed_out:
        return Finding(ok, "no run failed in the last 24 h", None, details)
    return Finding(
        degraded,
        f"{failed} run(s) failed and {timed_out} timed out in the last 24 h: see each workspace's runs",
        None,
        details,
    )


# Running them ---------------------------------------------------------------------------------


def _with_session(db: Database, find: Callable[[Session], Finding]) -> Callable[[], Finding]:
    def run() -> Finding:
        with db.reads() as session:
            return find(session)

    return run


def _checks(db: Database, settings: Settings) -> list[Check]:
    def connections() -> list[Component]:
        with db.reads() as session:
            return _connections(session)

    return [
        _timed("database", ComponentKind.database, lambda: _database(db)),
        _timed("catalog", ComponentKind.catalog, _with_session(db, _catalog)),
        _timed("storage", ComponentKind.storage, lambda: _storage(settings)),
        *(
            _timed(
                f"engine {spec.name}",
                ComponentKind.engine,
                _with_session(db, partial(_engine, settings=settings, spec=spec)),
            )
            for spec in specs()
        ),
        _timed("workers", ComponentKind.workers, _with_session(db, _workers)),
        _timed("scheduler", ComponentKind.scheduler, _with_session(db, _scheduler)),
        _timed("queue", ComponentKind.queue, _with_session(db, _queue)),
        _timed("failed runs", ComponentKind.runs, _with_session(db, _failed_runs)),
        Check("connections", ComponentKind.connection, connections),
    ]


def _failed(check: Check, message: str, latency_ms: float | None) -> Component:
    return Component(
        name=check.name,
        kind=check.kind,
        status=down,
        message=message,
        latency_ms=latency_ms,
        checked_at=utcnow(),
    )


def check_components(db: Database, settings: Settings) -> HealthReport:
    checks = _checks(db, settings)
    timeout = settings.health_check_timeout_seconds
    executor = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="sadeem-health")
    try:
        futures = [executor.submit(check.probe) for check in checks]
        wait(futures, timeout=timeout)
    finally:
        # A hung check's thread is left to finish by itself (its own client timeouts end it).
        executor.shutdown(wait=False, cancel_futures=True)
    components: list[Component] = []
    for check, future in zip(checks, futures, strict=True):
        if not future.done():
            components.append(_failed(check, f"no answer within {timeout:g} s", round(timeout * 1000, 1)))
        elif (error := future.exception()) is not None:
            components.append(_failed(check, f"check failed: {_first_line(error)}", None))
        else:
            components.extend(future.result())
    worst = max(
        (c.status for c in components if c.status is not unknown),
        key=[ok, degraded, down].index,
        default=ok,
    )
    return HealthReport(status=worst, checked_at=utcnow(), components=components)
