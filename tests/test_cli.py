"""The `sadeem` command line, run through typer's CliRunner against the test database (the CLI
reads its Settings from SADEEM_* environment variables), and the first-start bootstrap."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pyiceberg.table import Table
from sqlalchemy import select, text
from typer.testing import CliRunner

from sadeem.app import create_app
from sadeem.audit.models import AuditEvent
from sadeem.auth.models import ApiToken, PlatformRole, User
from sadeem.bootstrap import ADMIN_USERNAME, DEMO_WORKSPACE, bootstrap, load_demo_data
from sadeem.catalog.provisioning import CatalogProvisioner
from sadeem.catalog.store import PlatformCatalog
from sadeem.cli import app as cli
from sadeem.config import Settings
from sadeem.core.errors import InvalidInput
from sadeem.db import migrate
from sadeem.db.engine import Database
from sadeem.workspaces.models import Membership, Workspace, WorkspaceRole
from tests.conftest import PASSWORD, World, bearer, live_uvicorn, make_user

NEW_PASSWORD = "a brand new passphrase"
runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {"SADEEM_HOME": str(tmp_path / "home"), "SADEEM_DATABASE_URL": database_url}


@pytest.fixture
def client(settings: Settings, db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db)) as test_client:
        yield test_client


def sadeem(env: dict[str, str], *args: str, expect: int = 0) -> str:
    result = runner.invoke(cli, list(args), env=env)
    assert result.exit_code == expect, (args, result.output, result.exception)
    return result.output


def can_log_in(client: TestClient, username: str, password: str) -> bool:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    return response.status_code == 200


def cli_events(db: Database, action: str) -> list[AuditEvent]:
    with db.reads() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


# --- database ----------------------------------------------------------------------------------


def test_db_upgrade_migrates_an_empty_database(tmp_path: Path, empty_database_url: str) -> None:
    env = {"SADEEM_HOME": str(tmp_path / "home"), "SADEEM_DATABASE_URL": empty_database_url}
    assert "current: None" in sadeem(env, "db", "current")
    assert "Database at revision head" in sadeem(env, "db", "upgrade")
    head = migrate.head_revision()
    assert f"current: {head}  head: {head}" in sadeem(env, "db", "current")
    sadeem(env, "db", "upgrade")  # idempotent
    sadeem(env, "users", "create", "ada", "--password", PASSWORD)


def test_sqlite_default_lives_under_sadeem_home(tmp_path: Path) -> None:
    env = {"SADEEM_HOME": str(tmp_path / "state")}
    sadeem(env, "db", "upgrade")
    assert (tmp_path / "state" / "sadeem.db").is_file()
    sadeem(env, "users", "create", "ada", "--password", PASSWORD)
    assert "ada" in sadeem(env, "users", "list")


# --- users -------------------------------------------------------------------------------------


def test_users_create_with_password(env: dict[str, str], client: TestClient, db: Database) -> None:
    output = sadeem(env, "users", "create", "ada", "--password", PASSWORD, "--display-name", "Ada L")
    assert "Created user ada" in output
    assert PASSWORD not in output
    with db.reads() as session:
        user = session.scalars(select(User).where(User.username == "ada")).one()
    assert (user.role, user.display_name) == (PlatformRole.user, "Ada L")
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
    assert can_log_in(client, "ada", PASSWORD)
    (event,) = cli_events(db, "cli.users.create")
    assert (event.actor, event.target_id, event.outcome) == ("cli", "ada", "success")
    assert event.details == {"role": "user"}


def test_users_create_with_generated_password(env: dict[str, str], client: TestClient) -> None:
    output = sadeem(env, "users", "create", "grace", "--role", "admin", "--generate")
    match = re.search(r"Password \(shown once\): (\S+)", output)
    assert match, output
    assert can_log_in(client, "grace", match.group(1))
    me = client.get("/api/v1/me").json()
    assert me["role"] == "admin"


def test_users_create_without_a_terminal_generates_a_password(
    env: dict[str, str], client: TestClient
) -> None:
    output = sadeem(env, "users", "create", "linus")
    match = re.search(r"Password \(shown once\): (\S+)", output)
    assert match, output
    assert can_log_in(client, "linus", match.group(1))


def test_users_create_refuses_bad_input(env: dict[str, str], db: Database) -> None:
    sadeem(env, "users", "create", "ada", "--password", PASSWORD)
    assert "already exists" in sadeem(env, "users", "create", "ada", "--password", PASSWORD, expect=1)
    assert "12 to 256 characters" in sadeem(env, "users", "create", "bob", "--password", "short", expect=1)
    assert "Invalid value" in sadeem(env, "users", "create", "eve", "--role", "god", expect=2)
    with db.reads() as session:
        assert session.scalars(select(User.username).order_by(User.username)).all() == ["ada"]


def test_users_list(env: dict[str, str], db: Database) -> None:
    make_user(db, "ada", PlatformRole.admin)
    make_user(db, "bob")
    output = sadeem(env, "users", "list")
    assert re.search(r"ada\s.*admin", output)
    assert re.search(r"bob\s.*user", output)


def test_users_set_role(env: dict[str, str], db: Database) -> None:
    make_user(db, "ada", PlatformRole.admin)
    make_user(db, "bob")
    assert "bob is now admin" in sadeem(env, "users", "set-role", "bob", "admin")
    sadeem(env, "users", "set-role", "ada", "user")
    assert "last active platform admin" in sadeem(env, "users", "set-role", "bob", "user", expect=1)
    assert "No user named 'ghost'" in sadeem(env, "users", "set-role", "ghost", "admin", expect=1)
    with db.reads() as session:
        roles = dict(session.execute(select(User.username, User.role)).all())
    assert roles == {"ada": PlatformRole.user, "bob": PlatformRole.admin}
    assert len(cli_events(db, "cli.users.set_role")) == 2


def test_users_reset_password(env: dict[str, str], client: TestClient, db: Database) -> None:
    make_user(db, "ada")
    assert can_log_in(client, "ada", PASSWORD)
    assert "Password of ada reset" in sadeem(
        env, "users", "reset-password", "ada", "--password", NEW_PASSWORD
    )
    assert client.get("/api/v1/me").status_code == 401  # the session ended
    assert not can_log_in(client, "ada", PASSWORD)
    assert can_log_in(client, "ada", NEW_PASSWORD)

    output = sadeem(env, "users", "reset-password", "ada", "--generate")
    match = re.search(r"New password \(shown once\): (\S+)", output)
    assert match, output
    assert can_log_in(client, "ada", match.group(1))
    sadeem(env, "users", "reset-password", "ada", "--password", "short", expect=1)
    sadeem(env, "users", "reset-password", "ghost", "--password", NEW_PASSWORD, expect=1)


# --- tokens ------------------------------------------------------------------------------------


def test_tokens_create_prints_a_working_token(env: dict[str, str], client: TestClient, db: Database) -> None:
    make_user(db, "ada")
    result = runner.invoke(cli, ["tokens", "create", "ada", "--name", "ci", "--days", "7"], env=env)
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("sdm_")
    me = client.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json()["username"] == "ada"
    with db.reads() as session:
        row = session.scalars(select(ApiToken)).one()
    assert row.name == "ci"
    assert token.split("_", 2)[2] not in row.secret_hash
    assert 6.9 < (row.expires_at - row.created_at).total_seconds() / 86400 < 7.1


def test_tokens_create_refuses_bad_input(env: dict[str, str], db: Database, settings: Settings) -> None:
    make_user(db, "ada")
    too_long = str(settings.token_max_ttl_days + 1)
    assert "at most" in sadeem(env, "tokens", "create", "ada", "--name", "x", "--days", too_long, expect=1)
    for days in ("0", "-3"):
        assert "at most" in sadeem(env, "tokens", "create", "ada", "--name", "x", "--days", days, expect=1)
    sadeem(env, "tokens", "create", "ghost", "--name", "x", expect=1)
    with db.reads() as session:
        assert session.scalars(select(ApiToken)).all() == []


def test_tokens_revoke(env: dict[str, str], client: TestClient, db: Database) -> None:
    make_user(db, "ada")
    result = runner.invoke(cli, ["tokens", "create", "ada", "--name", "ci"], env=env)
    token = result.stdout.strip().splitlines()[-1]
    public_id = token.split("_", 2)[1]
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert f"Token {public_id} revoked" in sadeem(env, "tokens", "revoke", public_id)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert "No token" in sadeem(env, "tokens", "revoke", "0000000000000000", expect=1)
    (event,) = cli_events(db, "cli.tokens.revoke")
    assert (event.actor, event.target_type, event.target_id) == ("cli", "token", public_id)


# --- audit -------------------------------------------------------------------------------------


def test_audit_verify(env: dict[str, str], db: Database) -> None:
    make_user(db, "ada")
    make_user(db, "bob")
    make_user(db, "eve")
    assert "OK" in sadeem(env, "audit", "verify")
    with db.engine.begin() as connection:
        if db.dialect == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER audit_events_no_update")
        else:
            connection.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
        connection.execute(text("UPDATE audit_events SET target_id = 'mallory' WHERE seq = 2"))
    result = runner.invoke(cli, ["audit", "verify"], env=env)
    assert result.exit_code == 1, result.output
    assert "BROKEN at event 2" in result.stderr


# --- first start -------------------------------------------------------------------------------


@pytest.fixture
def first_start(tmp_path: Path, database_url: str) -> dict[str, object]:
    return {"home": tmp_path / "first", "database_url": database_url, "demo": True}


def test_bootstrap_with_admin_password_from_the_environment(
    first_start: dict[str, object], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SADEEM_ADMIN_PASSWORD", NEW_PASSWORD)
    settings = Settings(**first_start)  # type: ignore[arg-type]
    provisioner = CatalogProvisioner(settings)
    result = bootstrap(settings, db, provisioner)
    assert (result.admin_created, result.generated_password, result.demo_created) == (True, None, True)
    with TestClient(create_app(settings, db)) as client:
        assert can_log_in(client, ADMIN_USERNAME, NEW_PASSWORD)
        assert client.get("/api/v1/me").json()["role"] == "admin"
        demo = client.get(f"/api/v1/workspaces/{DEMO_WORKSPACE}")
        assert demo.status_code == 200
        assert demo.json()["my_role"] == "admin"
    with db.reads() as session:
        members = session.execute(select(Membership.role).join(Workspace)).scalars().all()
        assert members == [WorkspaceRole.admin]
        actors = set(session.scalars(select(AuditEvent.actor)))
    assert actors == {"system", ADMIN_USERNAME}

    again = bootstrap(settings, db, provisioner)
    assert (again.admin_created, again.generated_password, again.demo_created) == (False, None, False)
    with db.reads() as session:
        assert len(session.scalars(select(User)).all()) == 1
        assert len(session.scalars(select(Workspace)).all()) == 1


def test_bootstrap_generates_a_password_shown_once(first_start: dict[str, object], db: Database) -> None:
    settings = Settings(**{**first_start, "demo": False})  # type: ignore[arg-type]
    provisioner = CatalogProvisioner(settings)
    result = bootstrap(settings, db, provisioner)
    assert result.admin_created and not result.demo_created
    assert result.generated_password is not None and len(result.generated_password) >= 12
    with TestClient(create_app(settings, db)) as client:
        assert can_log_in(client, ADMIN_USERNAME, result.generated_password)
    again = bootstrap(settings, db, provisioner)
    assert again.generated_password is None and not again.admin_created
    with db.reads() as session:
        assert session.scalars(select(Workspace)).all() == []
        stored = session.scalars(select(User.password_hash)).one()
        assert stored is not None and result.generated_password not in stored


def test_bootstrap_leaves_an_existing_installation_alone(
    first_start: dict[str, object], db: Database
) -> None:
    make_user(db, "ada", PlatformRole.admin)
    settings = Settings(**first_start)  # type: ignore[arg-type]
    result = bootstrap(settings, db, CatalogProvisioner(settings))
    assert (result.admin_created, result.generated_password, result.demo_created) == (False, None, False)


def test_instances_starting_together_bootstrap_once(first_start: dict[str, object], db: Database) -> None:
    settings = Settings(**first_start)  # type: ignore[arg-type]
    provisioner = CatalogProvisioner(settings)
    results: list[object] = []
    start = threading.Barrier(4)

    def start_instance() -> None:
        start.wait()
        try:
            results.append(bootstrap(settings, db, provisioner))
        except Exception as exc:
            results.append(exc)

    threads = [threading.Thread(target=start_instance) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(not isinstance(r, Exception) for r in results), results
    assert sum(r.admin_created for r in results) == 1  # type: ignore[attr-defined]
    assert sum(r.demo_created for r in results) == 1  # type: ignore[attr-defined]
    assert sum(r.generated_password is not None for r in results) == 1  # type: ignore[attr-defined]
    with db.reads() as session:
        assert session.scalars(select(User.username)).all() == [ADMIN_USERNAME]
        assert session.scalars(select(Workspace.slug)).all() == [DEMO_WORKSPACE]


def test_bootstrap_refuses_a_weak_admin_password(first_start: dict[str, object], db: Database) -> None:
    settings = Settings(**first_start, admin_password="short")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        bootstrap(settings, db, CatalogProvisioner(settings))
    with db.reads() as session:
        assert session.scalars(select(User)).all() == []


def test_up_reports_a_weak_admin_password_instead_of_crashing(env: dict[str, str]) -> None:
    output = sadeem({**env, "SADEEM_ADMIN_PASSWORD": "short"}, "up", expect=1)
    assert "error" in output and "12 to 256 characters" in output


# --- ingest and the demo data ------------------------------------------------------------------


def test_ingest_uploads_a_file_through_a_live_server(
    env: dict[str, str], settings: Settings, db: Database, world: World, tmp_path: Path
) -> None:
    source = tmp_path / "cities.csv"
    source.write_text("id,city\n1,Riyadh\n2,Jeddah\n3,Dammam\n")
    token = world.tokens["ws_editor"]
    ingest = ["ingest", str(source), "--workspace", "alpha", "--table", "alpha.cities"]
    with live_uvicorn(create_app(settings, db)) as base:
        output = " ".join(sadeem(env, *ingest, "--url", base, "--token", token).split())
        assert re.search(r"create alpha\.cities: 3 rows in 1 file\(s\), snapshot \d+, [\d.]+ s", output), (
            output
        )
        # the token from SADEEM_TOKEN; the default mode appends to the existing table
        output = " ".join(sadeem({**env, "SADEEM_TOKEN": token}, *ingest, "--url", base).split())
        assert "append alpha.cities: 3 rows" in output

        refused = " ".join(
            sadeem(env, *ingest, "--url", base, "--token", "sdm_not_a_token", expect=1).split()
        )
        assert "error: 401: The bearer token is not a Sadeem token." in refused
        viewer = " ".join(
            sadeem(env, *ingest, "--url", base, "--token", world.tokens["ws_viewer"], expect=1).split()
        )
        assert "error: 403:" in viewer and "yours is 'viewer'" in viewer
        bad_mode = " ".join(
            sadeem(env, *ingest, "--url", base, "--token", token, "--mode", "upsert", expect=1).split()
        )
        assert "error: 422:" in bad_mode and "query.mode" in bad_mode
    unreachable = " ".join(sadeem(env, *ingest, "--url", base, "--token", token, expect=1).split())
    assert f"error: could not upload to {base}: ConnectError" in unreachable
    assert "a token is needed" in sadeem(env, *ingest, "--url", base, expect=1)

    with db.reads() as session:
        table = PlatformCatalog.in_session(session, settings).load_table(("alpha", "cities"))
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == [1, 1, 2, 2, 3, 3]
    summaries = [e for e in cli_events(db, "ingest_file") if "rows" in e.details]
    assert [(e.actor, e.details["mode"], e.details["rows"]) for e in summaries] == [
        ("ws_editor", "create", 3),
        ("ws_editor", "append", 3),
    ]


def test_bootstrap_loads_the_demo_data_once(first_start: dict[str, object], db: Database) -> None:
    settings = Settings(**first_start)  # type: ignore[arg-type]
    provisioner = CatalogProvisioner(settings)
    result = bootstrap(settings, db, provisioner)
    assert result.demo_created
    assert result.demo_data == "loaded 96,000 rows into demo.meter_readings"

    def demo_table() -> Table:
        with db.reads() as session:
            return PlatformCatalog.in_session(session, settings).load_table(
                (DEMO_WORKSPACE, "meter_readings")
            )

    table = demo_table()
    assert table.location().startswith(f"{settings.resolved_warehouse}/{DEMO_WORKSPACE}/")
    assert [field.name for field in table.schema().fields] == [
        "meter_id",
        "customer_class",
        "region",
        "reading_at",
        "kwh",
        "voltage",
        "quality_flag",
    ]
    assert table.scan().to_arrow().num_rows == 96_000
    snapshot = table.current_snapshot()
    assert snapshot is not None
    (commit,) = cli_events(db, "bootstrap.load_demo_data")
    assert (commit.actor, commit.target_id, commit.workspace) == ("system", "demo.meter_readings", "demo")
    assert commit.details["snapshot_id"] == str(snapshot.snapshot_id)

    again = bootstrap(settings, db, provisioner)
    assert (again.demo_created, again.demo_data) == (False, None)
    assert load_demo_data(settings, db) == "demo data already present"
    table = demo_table()
    assert table.metadata.current_snapshot_id == snapshot.snapshot_id and len(table.snapshots()) == 1
    assert table.scan().to_arrow().num_rows == 96_000
    assert len(cli_events(db, "bootstrap.load_demo_data")) == 1
