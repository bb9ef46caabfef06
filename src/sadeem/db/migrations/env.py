"""Alembic environment: the URL comes from the Alembic config (set by sadeem.db.migrate) or,
for a bare `alembic upgrade head`, from Sadeem's Settings."""

from __future__ import annotations

from alembic import context

from sadeem.db.engine import build_engine
from sadeem.models import ALL_METADATA

config = context.config
target_metadata = list(ALL_METADATA)


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from sadeem.config import Settings

    return Settings().resolved_database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = build_engine(_url(), pool_size=None)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration rebuilds a SQLite table by copying it and dropping the original;
            # with foreign keys enforced, that DROP would also delete every row referencing it
            # (ON DELETE CASCADE: dropping `jobs` would take the runs along). The pragma is ignored
            # inside a transaction, so it is set before one begins; the check below stands in.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if dangling:
                    raise RuntimeError(f"The migration left dangling foreign keys: {dangling[:10]}")
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
