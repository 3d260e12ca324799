"""Once-a-day and once-per-finding marks of the worker's daily jobs (the files check, the compliance check,
the audit anchor), kept as rows of ``reminders`` under a unique key: a key written twice is written once,
so two passes or two workers on the same day do the job and send its email once."""

from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import Connection, Table, select

from workflow.store.models import Reminder
from workflow.store.sql import insert_if_absent

reminders_table = cast(Table, Reminder.__table__)


def marked(conn: Connection, key: str) -> bool:
    """True when ``key`` was marked already."""
    return conn.execute(select(reminders_table.c.id).where(reminders_table.c.key == key)).first() is not None


def mark(conn: Connection, key: str, kind: str, today: dt.date, now: dt.datetime) -> bool:
    """Mark ``key`` in the caller's transaction; False when it was marked already (another pass came first)."""
    values = {
        "key": key, "item_id": None, "deadline_kind": kind, "kind": kind, "due_on": today, "messages": 0,
        "raised_at": now,
    }  # fmt: skip
    return insert_if_absent(conn, reminders_table, values, ["key"])
