"""Migrations: `alembic upgrade head` works on both databases, down and up again, and the models
and the migrations describe the same schema (no drift)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
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
