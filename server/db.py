"""Engine, sessions and the one transaction helper.

``Database.transaction()`` is the only place that commits. On SQLite it turns on
foreign keys, WAL and a busy timeout, and opens write transactions with
``BEGIN IMMEDIATE`` so concurrent writers queue instead of failing on upgrade.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask import current_app
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool

from server.files import private_file

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention so every constraint has a name."""

    metadata = MetaData(naming_convention=NAMING)


_IMMEDIATE = "donghanh_immediate"


def prepare_sqlite_file(url: str) -> None:
    """A SQLite database file is created 0600 before SQLite opens it (its -wal and -shm take
    its mode), or tightened if it exists; other URLs are left alone."""
    if not url.startswith("sqlite"):
        return
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        private_file(database)


def make_engine(url: str) -> Engine:
    """Create the engine for ``url``; SQLite gets pragmas and explicit BEGINs."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    prepare_sqlite_file(url)
    engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # pragma: no cover - exercised by every test
        dbapi_conn.isolation_level = None  # pysqlite: we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        immediate = conn.get_execution_options().get(_IMMEDIATE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextlib.contextmanager
    def transaction(self, write: bool = True) -> Iterator[Session]:
        """Open a session in one transaction; commit on success, roll back on error."""
        with self.sessions() as session:
            if write and self.is_sqlite:
                session.connection(execution_options={_IMMEDIATE: True})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()


def get_db() -> Database:
    """The Database of the current Flask app."""
    return current_app.extensions["donghanh"].db
