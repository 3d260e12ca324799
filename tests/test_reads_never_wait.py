"""Reading never waits on a writer: on SQLite (WAL) a read takes no write lock, so the worker's queries,
the audit log and the command line's reports go on while another connection holds the write lock.

The engine here has a short busy timeout: a read that still asked for the write lock (``BEGIN
IMMEDIATE``) would wait for it and then fail with "database is locked".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from notifications.settings import MailSettings
from tests.conftest import AUDIT_KEY, DEFINITIONS
from tests.locks import write_lock_held
from workflow.settings import Settings
from workflow.store import audit_log
from workflow.store.db import make_engine
from workflow.wiring import initialise, open_engine
from workflow.worker.passes import status
from workflow.worker.timed import due_fires

BUSY_MS = 150


@pytest.fixture
def quick_db(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'gongkai.db'}"
    initialise(Settings(database_url=url, definitions_dir=DEFINITIONS, audit_key=AUDIT_KEY))
    db = make_engine(url, busy_timeout_ms=BUSY_MS)
    yield db
    db.dispose()


def test_a_write_waits_on_the_held_lock(quick_db: Engine) -> None:
    """The control: with the lock held, a transaction that writes gives up after the busy timeout."""
    with write_lock_held(str(quick_db.url)), pytest.raises(Exception, match="locked"), quick_db.begin() as conn:
        conn.exec_driver_sql("SELECT 1")


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(lambda db, engine: audit_log.verify(db, AUDIT_KEY.encode()), id="audit verify"),
        pytest.param(lambda db, engine: audit_log.anchor(db), id="audit anchor"),
        pytest.param(lambda db, engine: audit_log.read_entries(db), id="audit log"),
        pytest.param(lambda db, engine: status(engine), id="worker status"),
        pytest.param(lambda db, engine: due_fires(engine, dt.datetime.now(dt.UTC)), id="timed fires"),
        pytest.param(lambda db, engine: engine.list_items(), id="item list"),
    ],
)
def test_reads_go_on_while_another_connection_holds_the_write_lock(
    quick_db: Engine, read: Callable[[Engine, object], object]
) -> None:

    settings = Settings(database_url=str(quick_db.url), definitions_dir=DEFINITIONS, audit_key=AUDIT_KEY)
    engine = open_engine(settings, quick_db, mail=MailSettings(smtp_url=None))
    with write_lock_held(str(quick_db.url)):
        read(quick_db, engine)
