"""Another connection holding the database's write lock, for tests of what waits and what goes on."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import make_url


@contextmanager
def write_lock_held(url: str) -> Iterator[None]:
    """Another connection holds the write lock until the block ends: reads go on, every write waits.

    SQLite: ``BEGIN IMMEDIATE`` (its one write lock). PostgreSQL: every table locked EXCLUSIVE.
    """
    if url.startswith("sqlite"):
        database = make_url(url).database
        assert database is not None
        conn = sqlite3.connect(database, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield
            conn.execute("ROLLBACK")
        finally:
            conn.close()
        return
    with psycopg.connect(url) as pg:
        tables = [row[0] for row in pg.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        pg.execute(f"LOCK TABLE {', '.join(tables)} IN EXCLUSIVE MODE")
        yield
        pg.rollback()
