"""Alembic environment: the URL comes from the caller (server.migrate) or from the settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import server.models  # noqa: F401  (every table joins the metadata)
from server.db import Base


def _url() -> str:
    url = context.config.attributes.get("database_url")
    if url:
        return url
    from server.settings import Settings

    return Settings.from_env().database_url


def run_migrations_online() -> None:
    engine = create_engine(_url())
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:  # a migration that stops (a check refused the data) leaves no connection open
        engine.dispose()


run_migrations_online()
