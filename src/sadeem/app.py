"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI

from sadeem import __version__
from sadeem.api.admission import AdmissionControl
from sadeem.api.openapi import install_openapi
from sadeem.api.parameters import reject_repeated_scalar_parameters
from sadeem.api.problems import install_problem_handlers, register_error_renderer
from sadeem.api.text import reject_nul_in_parameters
from sadeem.audit.middleware import AuditSafetyNet
from sadeem.audit.routes import router as audit_router
from sadeem.auth.identity import IdentityProvider, LocalIdentityProvider
from sadeem.auth.routes import router as auth_router
from sadeem.catalog.errors import render_iceberg_error
from sadeem.catalog.provisioning import CatalogProvisioner
from sadeem.catalog.rest import router as iceberg_router
from sadeem.catalog.routes import router as catalog_explorer_router
from sadeem.config import Settings
from sadeem.connections.keyring import Keyring
from sadeem.connections.routes import router as connections_router
from sadeem.connections.routes import types_router as connection_types_router
from sadeem.datasets.routes import router as datasets_router
from sadeem.db.engine import Database
from sadeem.health.routes import router as health_router
from sadeem.ingest.routes import router as ingest_router
from sadeem.ingest.scratch import clean_scratch as clean_ingest_scratch
from sadeem.jobs.routes import router as jobs_router
from sadeem.jobs.routes import schedule_router
from sadeem.observability.metrics import HttpMetrics
from sadeem.observability.middleware import RequestObservability
from sadeem.queries.routes import router as queries_router
from sadeem.resource_groups import service as resource_groups
from sadeem.resource_groups.routes import router as engine_limits_router
from sadeem.runs.routes import router as runs_router
from sadeem.statements.executor import StatementExecutor
from sadeem.statements.routes import admin_router as statements_admin_router
from sadeem.statements.routes import router as statements_router
from sadeem.ui.console import router as console_router
from sadeem.ui.docs import router as docs_router
from sadeem.worker import reaper
from sadeem.workspaces.provisioning import WorkspaceProvisioner
from sadeem.workspaces.routes import router as workspaces_router

ROUTERS = (
    auth_router,
    workspaces_router,
    engine_limits_router,
    connections_router,
    connection_types_router,
    catalog_explorer_router,
    datasets_router,
    audit_router,
    ingest_router,
    jobs_router,
    schedule_router,
    runs_router,
    queries_router,
    statements_router,
    statements_admin_router,
    iceberg_router,
    health_router,
    console_router,
    docs_router,
)
register_error_renderer("/iceberg/", render_iceberg_error)
log = logging.getLogger("sadeem.app")


def create_app(
    settings: Settings,
    db: Database | None = None,
    provisioner: WorkspaceProvisioner | None = None,
    identity_provider: IdentityProvider | None = None,
    shared_metrics_directory: Path | None = None,
) -> FastAPI:
    database = db or Database.connect(
        settings.resolved_database_url,
        pool_size=settings.max_concurrent_requests + settings.catalog_max_concurrent_requests,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # From the start, not at the first statement: a server that died mid-statement leaves it
        # RUNNING until some server's watchdog fails it.
        app.state.statements.open()
        # Uploads a killed process left behind (they may be gigabytes); see ingest/scratch.py.
        clean_ingest_scratch(settings)
        write_resource_groups(database, settings)
        yield
        app.state.statements.close()
        if db is None:  # we opened it, we close it
            database.dispose()

    app = FastAPI(
        title="Sadeem",
        version=__version__,
        description="Control plane of Sadeem, the on-prem lakehouse. All errors are RFC 9457 problem+json.",
        lifespan=lifespan,
        docs_url=None,  # served offline by sadeem.ui.docs
        redoc_url=None,
        # Before any route's own dependencies, so no handler or permission check sees a NUL.
        dependencies=[Depends(reject_nul_in_parameters), Depends(reject_repeated_scalar_parameters)],
    )
    app.state.settings = settings
    app.state.db = database
    app.state.provisioner = provisioner or CatalogProvisioner(settings)
    app.state.identity_provider = identity_provider or LocalIdentityProvider()
    app.state.keyring = Keyring.from_settings(settings)  # built once: may create the key file
    app.state.metrics = HttpMetrics(shared_metrics_directory) if settings.metrics_enabled else None
    # Each server reaps orphaned statements and runs from its start, on its watchdog's schedule.
    statements = StatementExecutor(
        database,
        settings,
        reap=lambda: reaper.reap(database, statements.id, settings.statement_orphan_after_seconds),
    )
    app.state.statements = statements

    install_problem_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    install_openapi(app)
    # Added last = outermost: the request id and context exist before the audit net looks at them,
    # and the latency metric includes the time a request waited for admission.
    app.add_middleware(AuditSafetyNet)
    app.add_middleware(
        AdmissionControl,
        limit=settings.max_concurrent_requests,
        catalog_limit=settings.catalog_max_concurrent_requests,
        waiting_limit=settings.max_waiting_requests,
    )
    app.add_middleware(RequestObservability, metrics=app.state.metrics)
    return app


def write_resource_groups(database: Database, settings: Settings) -> None:
    """Trino's resource groups of every workspace, as they should be now (PostgreSQL only; see
    sadeem.resource_groups). A failure is logged: the server still starts."""
    try:
        with database.unit_of_work("startup.write_resource_groups") as session:
            resource_groups.write_all(session, settings)
    except Exception as error:
        log.warning("Trino resource groups not written at start: %s", type(error).__name__)


# prometheus_client's own variable, not a Sadeem setting: `sadeem api --workers N` sets it for the
# server processes it starts (see observability/metrics.py).
PROMETHEUS_MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"


def create_app_from_environment() -> FastAPI:
    """The app of one of several server processes (`sadeem api --workers N`): uvicorn starts each
    process afresh, so each builds its Settings from the same SADEEM_* environment."""
    import os

    from sadeem.observability.logging import configure_logging

    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    shared = os.environ.get(PROMETHEUS_MULTIPROC_DIR)
    return create_app(settings, shared_metrics_directory=Path(shared) if shared else None)
