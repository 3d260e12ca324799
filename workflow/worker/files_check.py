"""The worker's daily files check: rehash every stored attachment, tell the administrators of each problem.

Once a day (a ``reminders`` row ``files_check:<day>`` marks the day's check as done, so a pass run
twice, or by two workers, checks once), every file of ``stored_files`` is rehashed
(:func:`workflow.store.file_check.verify_files`). Each problem found is recorded as a reminder
``files:<sha256>:<kind>:<day>`` and every active administrator (role ``admin``) is written one email
through the outbox naming the new problems, in the same transaction: once per problem per day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from notifications.files_notice import EVENT, render_files_mismatch
from notifications.notices import Notifier
from notifications.outbox import enqueue
from workflow.engine import WorkflowEngine
from workflow.store.daily import mark, marked
from workflow.store.db import reading
from workflow.store.file_check import verify_files
from workflow.store.people import active_role_holders

log = logging.getLogger("gongkai.worker")

ADMIN_ROLE = "admin"


def check_files(engine: WorkflowEngine, notifier: Notifier, now: dt.datetime, *, dry_run: bool = False) -> int:
    """Today's files check, unless done already today; the number of emails written."""
    store = engine.files
    if store is None:
        return 0
    today = now.astimezone(engine.zone).date()
    day_key = f"files_check:{today.isoformat()}"
    with reading(engine.db) as conn:
        if marked(conn, day_key):
            return 0
    report = verify_files(engine.db, store)
    if dry_run:
        return 0
    written = 0
    with engine.db.begin() as conn:
        if not mark(conn, day_key, "files_check", today, now):
            return 0  # another worker checked today meanwhile
        fresh = [
            problem for problem in report.problems
            if mark(conn, f"files:{problem.sha256}:{problem.kind}:{today.isoformat()}", "files", today, now)
        ]  # fmt: skip
        if not fresh:
            log.info("files check: %d stored files verified", report.checked)
            return 0
        admins = active_role_holders(conn, ADMIN_ROLE)
        digest = hashlib.sha256("".join(f"{p.sha256}{p.kind}" for p in fresh).encode()).hexdigest()[:16]
        for admin in admins:
            message = render_files_mismatch(
                fresh, recipient_name=admin.name, base_url=notifier.mail.base_url, today=today, lang=notifier.lang
            )
            key = f"{EVENT}:{today.isoformat()}:{digest}"
            written += enqueue(conn, key=key, event=EVENT, recipient=admin.email, message=message, now=now)
    log.warning(
        "files check: %d of %d stored files changed or missing; %d administrators told",
        len(fresh), report.checked, written,
    )  # fmt: skip
    return written
