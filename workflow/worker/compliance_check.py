"""The worker's daily compliance check: the auditors are emailed each finding once, when it is new.

Once a day (a ``reminders`` row ``compliance_check:<day>`` marks the day's check as done, so a pass
run twice, or by two workers, checks once) the whole check runs
(:func:`workflow.reports.compliance.check_database`). Each finding is remembered as a ``reminders``
row keyed by :attr:`Finding.key` (the rule, the item and the entries: stable from one day to the
next), and every active auditor (role ``auditor``) is written one email through the outbox naming
the findings not remembered before, in the same transaction: so each finding is told once, and a
finding that comes back after a fix (other entries) is told again. No migration: the reminders
table's unique key is the memory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from notifications.compliance_notice import EVENT, render_compliance_findings
from notifications.notices import Notifier
from notifications.outbox import enqueue
from workflow.engine import WorkflowEngine
from workflow.reports.compliance import check_database
from workflow.store.compliance_rows import stored_definitions
from workflow.store.daily import mark, marked
from workflow.store.db import reading
from workflow.store.people import active_role_holders

log = logging.getLogger("gongkai.worker")

AUDITOR_ROLE = "auditor"
KIND = "compliance"


def check_compliance(engine: WorkflowEngine, notifier: Notifier, now: dt.datetime, *, dry_run: bool = False) -> int:
    """Today's compliance check, unless done already today; the number of emails written."""
    today = now.astimezone(engine.zone).date()
    day_key = f"compliance_check:{today.isoformat()}"
    with reading(engine.db) as conn:
        if marked(conn, day_key):
            return 0
    definitions = stored_definitions(engine.db, engine.registry)
    findings = list(check_database(engine.db, definitions, engine.calendar, engine.zone, today))
    if dry_run:
        return 0
    written = 0
    with engine.db.begin() as conn:
        if not mark(conn, day_key, "compliance_check", today, now):
            return 0  # another worker checked today meanwhile
        fresh = [f for f in findings if mark(conn, f.key, KIND, today, now)]
        if not fresh:
            log.info("compliance check: %d findings, none new", len(findings))
            return 0
        auditors = active_role_holders(conn, AUDITOR_ROLE)
        lines = [
            {"subject": f.subject, "item_id": f.item_id, "rule": f.code, "entries": f.seqs, "on": f.on.isoformat(),
             "message": f.message(notifier.lang)}
            for f in fresh
        ]  # fmt: skip
        digest = hashlib.sha256("".join(f.key for f in fresh).encode()).hexdigest()[:16]
        for auditor in auditors:
            message = render_compliance_findings(
                lines, recipient_name=auditor.name, base_url=notifier.mail.base_url, today=today, lang=notifier.lang
            )
            written += enqueue(conn, key=f"{EVENT}:{today.isoformat()}:{digest}", event=EVENT,
                               recipient=auditor.email, message=message, now=now)  # fmt: skip
    log.warning("compliance check: %d new findings of %d; %d auditors told", len(fresh), len(findings), written)
    return written
