"""First start: the admin account and the demo workspace."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select

from sadeem.auth import service as auth_service
from sadeem.auth.models import PlatformRole, User
from sadeem.config import Settings
from sadeem.core.actor import Actor
from sadeem.core.errors import Conflict
from sadeem.db.engine import Database
from sadeem.jobs import demo as jobs_demo
from sadeem.queries.demo import create_demo_queries
from sadeem.runs import service as runs
from sadeem.runs.models import RunTrigger
from sadeem.workspaces import service as workspace_service
from sadeem.workspaces.models import Workspace
from sadeem.workspaces.provisioning import WorkspaceProvisioner

ADMIN_USERNAME = "admin"
DEMO_WORKSPACE = "demo"


@dataclass(frozen=True)
class BootstrapResult:
    admin_created: bool
    generated_password: str | None
    demo_created: bool
    demo_data: str | None = None  # what loading the demo data set did, when the workspace was new
    demo_jobs: str | None = None  # the sample jobs created, likewise


def bootstrap(settings: Settings, db: Database, provisioner: WorkspaceProvisioner) -> BootstrapResult:
    generated: str | None = None
    admin_created = demo_created = False
    with db.unit_of_work("bootstrap.create_admin") as session:
        if not session.scalar(select(func.count()).select_from(User)):
            if settings.admin_password is not None:
                password = settings.admin_password.get_secret_value()
            else:
                password = generated = secrets.token_urlsafe(18)
            try:
                auth_service.create_user(
                    session,
                    Actor.system(),
                    ADMIN_USERNAME,
                    password,
                    PlatformRole.admin,
                    display_name="Administrator",
                )
                admin_created = True
            except Conflict:  # another instance, starting at the same moment, created it first
                generated = None
    if settings.demo and admin_created:
        with db.unit_of_work("bootstrap.create_demo_workspace") as session:
            if session.scalar(select(func.count()).select_from(Workspace)) == 0:
                admin = auth_service.get_user(session, ADMIN_USERNAME)
                workspace_service.create_workspace(
                    session,
                    Actor.system(),
                    provisioner,
                    admin,
                    DEMO_WORKSPACE,
                    "Demo",
                    "Sample workspace created on first start.",
                )
                demo_created = True
    demo_data = load_demo_data(settings, db) if demo_created else None
    demo_jobs = create_demo_jobs(settings, db) if demo_created else None
    return BootstrapResult(admin_created, generated, demo_created, demo_data, demo_jobs)


def load_demo_data(settings: Settings, db: Database) -> str:
    """Load the generated meter readings into the new demo workspace (one table, ~100k rows).
    A failure is reported, not raised: the platform still starts."""
    from sadeem.catalog.writer import WorkspaceWriterCatalog
    from sadeem.ingest.demo_data import load_demo

    with db.reads() as session:
        workspace = session.scalars(select(Workspace).where(Workspace.slug == DEMO_WORKSPACE)).one()
    catalog = WorkspaceWriterCatalog(db, settings, Actor.system(), "bootstrap.load_demo_data", workspace)
    try:
        result = load_demo(catalog, workspace.namespace)
    except Exception as exc:
        return f"demo data not loaded: {type(exc).__name__}: {exc}"
    if result is None:
        return "demo data already present"
    return f"loaded {result.rows:,} rows into {result.table}"


def create_demo_jobs(settings: Settings, db: Database) -> str:
    """The demo workspace's sample jobs, with a first run queued, and its saved query: all or
    nothing. A failure is reported, not raised."""
    actor = Actor.system()
    try:
        with db.unit_of_work("bootstrap.create_demo_jobs") as session:
            workspace = session.scalars(select(Workspace).where(Workspace.slug == DEMO_WORKSPACE)).one()
            admin = auth_service.get_user(session, ADMIN_USERNAME)
            names, builders = jobs_demo.create_demo_jobs(session, actor, settings, workspace, admin)
            for job in builders:
                runs.new_run(
                    session,
                    actor,
                    workspace,
                    job,
                    version=job.current_version,
                    triggered_by=admin.id,
                    given_parameters={},
                    trigger=RunTrigger.manual,
                )
            queries = create_demo_queries(session, actor, settings, workspace, admin)
    except Exception as exc:
        return f"demo jobs not created: {type(exc).__name__}: {exc}"
    return f"jobs {', '.join(names)}, first runs queued; saved query {', '.join(queries)}"
