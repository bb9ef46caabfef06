"""Migrations: `alembic upgrade head` works on both databases, down and up again, and the models
and the migrations describe the same schema (no drift)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from sadeem.db import migrate
from sadeem.db.engine import build_engine
from sadeem.models import ALL_METADATA

REPO = Path(__file__).resolve().parent.parent
ALEMBIC = Path(sys.executable).parent / "alembic"
# Every table the migrations create: Sadeem's own and the catalog's (pyiceberg's SqlCatalog).
ALL_TABLES = {name for metadata in ALL_METADATA for name in metadata.tables}


def drift(url: str) -> list[Any]:
    engine = build_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            return list(compare_metadata(context, list(ALL_METADATA)))  # type: ignore[arg-type]
    finally:
        engine.dispose()


def tables(url: str) -> set[str]:
    engine = build_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def current(url: str) -> str | None:
    engine = build_engine(url)
    try:
        return migrate.current_revision(engine)
    finally:
        engine.dispose()


def test_models_and_migrations_do_not_drift(database_url: str) -> None:
    assert drift(database_url) == []
    assert current(database_url) == migrate.head_revision()


def test_an_empty_database_differs_from_the_models(empty_database_url: str) -> None:
    """The drift check can see a difference at all."""
    differences = drift(empty_database_url)
    added = {d[1].name for d in differences if d[0] == "add_table"}
    assert added == ALL_TABLES


def alembic(url: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SADEEM_")}
    env["SADEEM_DATABASE_URL"] = url
    result = subprocess.run(
        [str(ALEMBIC), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout + result.stderr


@pytest.mark.slow
def test_alembic_command_line_upgrade_downgrade_upgrade(empty_database_url: str) -> None:
    url = empty_database_url
    alembic(url, "upgrade", "head")
    head = migrate.head_revision()
    assert head is not None
    assert head in alembic(url, "current")
    assert tables(url) >= ALL_TABLES
    assert "No new upgrade operations detected" in alembic(url, "check")
    assert drift(url) == []

    alembic(url, "downgrade", "base")
    assert current(url) is None
    assert tables(url) <= {"alembic_version"}

    alembic(url, "upgrade", "head")
    assert current(url) == head
    assert drift(url) == []


def test_migrate_module_upgrades_in_steps(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url, "base")
    assert current(empty_database_url) is None
    migrate.upgrade(empty_database_url)
    assert current(empty_database_url) == migrate.head_revision()
    assert drift(empty_database_url) == []


def _insert(connection: Any, table: str, **values: Any) -> None:
    """A row with `values` and a placeholder in every other required column, whatever the schema
    of the revision the database is at."""
    reflected = sa.Table(table, sa.MetaData(), autoload_with=connection)
    # JSON: a dict where the column is reflected as JSON, its text where it is not (SQLite).
    placeholders = {int: 0, str: "x", bool: False, datetime: datetime.now(UTC), dict: {}, object: "{}"}
    row = dict(values)
    for column in reflected.columns:
        if column.name not in row and not column.nullable and not column.primary_key:
            row[column.name] = placeholders[column.type.python_type]
    connection.execute(reflected.insert().values(**row))


def test_0008_backfills_run_as_from_each_versions_author(empty_database_url: str) -> None:
    """Security issue #10: an existing version an editor added to an admin's job runs as the editor
    after the upgrade; a downgrade revokes engine credentials instead of widening them."""
    url = empty_database_url
    migrate.upgrade(url, "0007")
    engine = build_engine(url, pool_size=None)
    try:
        with engine.begin() as connection:
            _insert(connection, "users", id=1, username="admin", role="admin")
            _insert(connection, "users", id=2, username="editor", role="user")
            _insert(connection, "workspaces", id=1, slug="alpha", namespace="alpha", status="active")
            _insert(
                connection,
                "jobs",
                id=1,
                workspace_id=1,
                name="j",
                current_version=2,
                run_as_id=1,
                created_by=1,
            )
            for version, author in ((1, 1), (2, 2), (3, None)):
                _insert(connection, "job_versions", job_id=1, version=version, created_by=author)
        migrate.upgrade(url)
        with engine.begin() as connection:
            run_as = connection.execute(
                sa.text("SELECT version, run_as_id FROM job_versions ORDER BY version")
            )
            assert [tuple(row) for row in run_as] == [(1, 1), (2, 2), (3, 1)]
            assert "run_as_id" not in {c["name"] for c in inspect(connection).get_columns("jobs")}
            assert connection.execute(sa.text("SELECT count(*) FROM job_versions")).scalar() == 3
            _insert(connection, "api_tokens", user_id=2, public_id="e", scope="catalog:1")
            _insert(connection, "api_tokens", user_id=2, public_id="p")
        command.downgrade(migrate.alembic_config(url), "0007")
        with engine.begin() as connection:
            assert connection.execute(sa.text("SELECT run_as_id FROM jobs")).scalar() == 2
            revoked = connection.execute(
                sa.text("SELECT public_id, revoked_at FROM api_tokens ORDER BY public_id")
            )
            assert [(row[0], row[1] is not None) for row in revoked] == [("e", True), ("p", False)]
    finally:
        engine.dispose()
    migrate.upgrade(url)
    assert drift(url) == []
