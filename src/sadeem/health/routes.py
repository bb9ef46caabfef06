from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from sadeem.api.responses import errors
from sadeem.auth.permissions import PlatformAdmin, Public
from sadeem.config import Settings
from sadeem.core.errors import NotFound, Unavailable
from sadeem.db import migrate
from sadeem.db.session import AppDatabase, UnitOfWorkRoute
from sadeem.health.components import check_components
from sadeem.health.schemas import HealthReport

router = APIRouter(tags=["health"], route_class=UnitOfWorkRoute)


class Liveness(BaseModel):
    status: str = "ok"


class Readiness(BaseModel):
    status: str = "ready"
    database: str
    migration_revision: str | None


@router.get("/health", operation_id="health:getLiveness")
def health(_: Public) -> Liveness:
    """Liveness: the process answers."""
    return Liveness()


@router.get("/health/ready", operation_id="health:getReadiness", responses=errors(503))
def ready(_: Public, db: AppDatabase) -> Readiness:
    """Readiness: the database answers and its schema is at the code's migration head."""
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current = migrate.current_revision(db.engine)
    except Exception as exc:
        raise Unavailable(f"The database is unreachable ({type(exc).__name__}).") from exc
    head = migrate.head_revision()
    if current != head:
        raise Unavailable(f"Database schema is at {current}, code expects {head}; run `sadeem db upgrade`.")
    return Readiness(database=db.dialect, migration_revision=current)


@router.get("/api/v1/health/components", operation_id="health:listComponents")
def components(_: PlatformAdmin, db: AppDatabase, request: Request) -> HealthReport:
    """Every component Sadeem depends on (database, catalog, storage, engines, connections, workers,
    scheduler, queue, failed runs), checked concurrently, each within the health check timeout.
    Connections show their last test; nothing here tests one or starts an engine."""
    settings: Settings = request.app.state.settings
    return check_components(db, settings)


@router.get(
    "/metrics",
    operation_id="health:getMetrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format."},
        **errors(404),
    },
)
def metrics(_: Public, request: Request) -> Response:
    """Prometheus metrics: request counts and latency by route and status."""
    http_metrics = request.app.state.metrics
    if http_metrics is None:
        raise NotFound("Metrics are disabled (SADEEM_METRICS_ENABLED=false).")
    return Response(generate_latest(http_metrics.exposition_registry()), media_type=CONTENT_TYPE_LATEST)
