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
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
