"""A migrated SQLite database with the test office, built once per process and copied by each example of a
property test (copying a file is far cheaper than migrating a fresh database)."""

from __future__ import annotations

import atexit
import datetime as dt
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, Engine

from tests.conftest import AUDIT_KEY, DEFINITIONS, OFFICE
from workflow.settings import Settings
from workflow.store.db import make_engine
from workflow.store.people import add_user
from workflow.wiring import initialise


def office_database(
    prefix: str,
    at: dt.datetime,
    also: Callable[[Connection], None] = lambda conn: None,
    after: Callable[[Engine], None] = lambda db: None,
) -> Path:
    """The file of a migrated database holding the office; ``also`` adds to it in the same transaction,
    ``after`` once it is committed. Removed when the process ends."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "template.db"
    url = f"sqlite:///{path}"
    db = make_engine(url)
    initialise(Settings(database_url=url, definitions_dir=DEFINITIONS, audit_key=AUDIT_KEY), db)
    with db.begin() as conn:
        for name, roles in OFFICE:
            add_user(conn, name, f"{name}@town.example.gov.cn", roles, at)
        also(conn)
    after(db)
    db.dispose()
    return path
