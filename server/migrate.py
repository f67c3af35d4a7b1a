"""Run Alembic migrations (migrations/ at the project root) against a database URL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from server.db import prepare_sqlite_file

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (the app never migrates itself at startup)."""
    prepare_sqlite_file(database_url)
    command.upgrade(alembic_config(database_url), revision)
