"""Database engines: SQLite (WAL, busy timeout, BEGIN IMMEDIATE) or PostgreSQL (psycopg 3, lock_timeout)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError

from workflow.core.errors import ConfigurationError

DEFAULT_BUSY_TIMEOUT_MS = 10_000
"""How long a write waits for a lock held by another before it fails with nothing changed."""


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 here; other URLs pass as given."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError("config.bad_database_url", url=url) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigurationError("config.unsupported_database", backend=parsed.get_backend_name())
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS, **kwargs: Any) -> Engine:
    """An engine for ``url``; a statement waiting on another's lock fails after ``busy_timeout_ms``
    (SQLite's busy timeout, PostgreSQL's ``lock_timeout``), see :mod:`workflow.store.faults`."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, busy_timeout_ms, **kwargs)
    connect_args = {"options": f"-c lock_timeout={busy_timeout_ms}", **kwargs.pop("connect_args", {})}
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    _ping_when_idle(engine)
    return engine


PING_AFTER_IDLE_S = 1.0
"""A pooled PostgreSQL connection idle for longer is pinged before use; a busier one is not."""


def _ping_when_idle(engine: Engine) -> None:
    """Pre-ping only the pool's idle connections: SQLAlchemy's ``pool_pre_ping`` costs every fire a
    round trip. A dead connection found by the ping is replaced (the pool retries the checkout); one
    that dies within the idle window fails its first statement, before anything is written."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("checked_in_at")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # the driver's own error: the connection is gone
            raise DisconnectionError(str(error)) from error
        if not alive:
            raise DisconnectionError("the pooled connection did not answer its ping")


def reading(db: Engine) -> Connection:
    """A connection for reading. On SQLite its transaction is deferred: with WAL it never waits on a
    writer's lock, and a page that reads and then writes (in another transaction) never waits on its own."""
    return db.connect().execution_options(sqlite_begin="DEFERRED")


def _sqlite_engine(url: str, busy_timeout_ms: int, **kwargs: Any) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        folder = Path(database).parent
        if not folder.exists():
            raise ConfigurationError("config.no_database_folder", folder=str(folder))
    engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event emit BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the lock up front: SQLite ignores FOR UPDATE, and a deferred
        # transaction that later upgrades to a writer fails instead of waiting.
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        statement = f"BEGIN {mode}"
        try:
            connection.connection.driver_connection.execute(statement)
        except sqlite3.Error as error:
            # Raised here, outside SQLAlchemy's execution, the driver's error would reach the caller
            # unwrapped; wrapped, "database is locked" after the busy timeout is classified like any other.
            raise DBAPIError.instance(statement, None, error, sqlite3.Error) from error

    return engine
