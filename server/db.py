"""Engine, sessions and the one transaction helper.

``Database.transaction()`` is the only place that commits. On SQLite it turns on
foreign keys, WAL and a busy timeout, and opens write transactions with
``BEGIN IMMEDIATE`` so concurrent writers queue instead of failing on upgrade. The queue is
a lock file beside the database (``flock``, one writer at a time across every process of
the instance: gunicorn's workers, the CLI, the forwarding worker): a writer waiting on it is
woken the moment the last one commits, where SQLite's own busy handler sleeps and retries
in steps of up to 100 ms, which under load made the last in line wait a second or more.
Connections are pooled (SQLite's pysqlite default) and set up once, not per transaction.
``Database.reading()`` is for a few single-statement reads on every request (who is
calling): on PostgreSQL it runs them without a transaction of their own.

A pooled PostgreSQL connection is tested before use only when it has lain idle for
``IDLE_PING_SECONDS``: a connection that served a request a moment ago is trusted, and one
the server dropped while it slept is replaced before anyone uses it (SQLAlchemy's pessimistic
disconnect handling, by idle time rather than on every checkout, which cost a round trip on
every transaction).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator

from flask import current_app
from sqlalchemy import MetaData, create_engine, event, exc
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

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
#: A pooled PostgreSQL connection idle this long is tested (SELECT 1) before it is used.
IDLE_PING_SECONDS = 2.0


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
        engine = create_engine(url, pool_size=5, max_overflow=10)
        _ping_when_idle(engine)
        return engine
    prepare_sqlite_file(url)
    engine = create_engine(url, connect_args={"timeout": 30})

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


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn, record):
        record.info["idle_from"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn, record, _proxy):
        idle_from = record.info.pop("idle_from", None)
        if idle_from is None or time.monotonic() - idle_from < IDLE_PING_SECONDS:
            return  # new, or back in the pool a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
            dbapi_conn.rollback()  # the ping's own transaction, not the caller's
        except Exception as e:  # the pool discards it and checks out another
            raise exc.DisconnectionError() from e


class WriterQueue:
    """One SQLite writer at a time across the processes of an instance: a thread lock inside
    the process (its waiters woken the moment it is let go), and between processes an
    exclusive ``flock`` on ``path``, tried every millisecond by the one thread per process
    that holds the thread lock. Re-entrant in a thread. A writer that has waited ``patience``
    seconds goes ahead without the queue, to SQLite's own busy timeout and its error."""

    def __init__(self, path: str, patience: float = 30.0):
        self.path = path
        self.patience = patience
        self._lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid: int | None = None
        self._locked = False

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        deadline = time.monotonic() + self.patience
        if not self._lock.acquire(timeout=self.patience):
            yield  # the queue is stuck: SQLite's busy timeout decides
            return
        try:
            if self._depth == 0:
                self._locked = self._flock(deadline)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._locked:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                    self._locked = False
        finally:
            self._lock.release()

    def _flock(self, deadline: float) -> bool:
        if self._fd is None or self._pid != os.getpid():  # a forked worker opens its own
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.001)


def _writer_queue(url: str) -> WriterQueue | None:
    database = make_url(url).database if url.startswith("sqlite") else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return WriterQueue(database + "-writer.lock")


class Database:
    """An engine and its session factory."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.writers = _writer_queue(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.autocommit_sessions = sessionmaker(
            self.engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextlib.contextmanager
    def transaction(self, write: bool = True) -> Iterator[Session]:
        """Open a session in one transaction; commit on success, roll back on error."""
        queued = self.writers.held() if write and self.writers else contextlib.nullcontext()
        with queued, self.sessions() as session:
            if write and self.is_sqlite:
                session.connection(execution_options={_IMMEDIATE: True})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for a few reads that need no snapshot in common (each statement sees
        what is committed when it runs): on PostgreSQL in autocommit, no BEGIN and COMMIT
        round trips; on SQLite a read transaction."""
        if self.is_sqlite:
            with self.transaction(write=False) as session:
                yield session
            return
        with self.autocommit_sessions() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def get_db() -> Database:
    """The Database of the current Flask app."""
    return current_app.extensions["donghanh"].db
