"""The worker's daily anchor of the audit chain: appended to ``GONGKAI_ANCHOR_FILE``, emailed to the auditors.

Once per office day. A ``reminders`` row ``anchor:<day>`` is the day's key: the transaction that
inserts it takes the chain's head and records it (a second row ``anchor:<day>:<seq>:<hash>``) and writes
one email to every active auditor (role ``auditor``) through the outbox, so two passes or two workers
write one anchor and one email each. The file line is written from that record after the commit, under
a file lock and only when the file has no line of that day yet: a pass killed in between writes it on
the next pass of the day, and the file and the emails always carry the same anchor.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import cast

from sqlalchemy import Connection, Table, select

from notifications.anchor_notice import EVENT, render_anchor
from notifications.notices import Notifier
from notifications.outbox import enqueue
from workflow.engine import WorkflowEngine
from workflow.store.anchors import Anchor, append_anchor
from workflow.store.daily import mark
from workflow.store.db import reading
from workflow.store.models import AuditHead, Reminder
from workflow.store.people import active_role_holders

log = logging.getLogger("gongkai.worker")

reminders_table = cast(Table, Reminder.__table__)
audit_head = cast(Table, AuditHead.__table__)
AUDITOR_ROLE = "auditor"
KIND = "anchor"


def anchor_daily(
    engine: WorkflowEngine, notifier: Notifier, now: dt.datetime, anchor_file: Path | None, *, dry_run: bool = False
) -> int:
    """Today's anchor, unless taken already today; the number of emails written."""
    today = now.astimezone(engine.zone).date()
    day_key = f"{KIND}:{today.isoformat()}"
    written = 0
    with reading(engine.db) as conn:
        kept = _kept(conn, today, engine.zone)
    if kept is None and not dry_run:
        with engine.db.begin() as conn:
            if mark(conn, day_key, KIND, today, now):
                head = conn.execute(select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).one()
                kept = Anchor(int(head.seq), str(head.hash), today.isoformat(), _moment(now, engine.zone))
                mark(conn, f"{day_key}:{kept.seq}:{kept.hash}", KIND, today, now)
                written = _mail_auditors(conn, notifier, kept, today, now)
                log.info("audit anchor of %s: entry #%d; %d auditors told", today, kept.seq, written)
            else:
                kept = _kept(conn, today, engine.zone)  # another worker took it meanwhile
    if kept is not None and anchor_file is not None and not dry_run and append_anchor(anchor_file, kept):
        log.info("audit anchor of %s appended to %s", today, anchor_file)
    return written


def _kept(conn: Connection, today: dt.date, zone: dt.tzinfo) -> Anchor | None:
    """The anchor recorded for ``today``, if one was taken."""
    prefix = f"{KIND}:{today.isoformat()}:"
    row = conn.execute(
        select(reminders_table.c.key, reminders_table.c.raised_at).where(reminders_table.c.key.startswith(prefix))
    ).first()
    if row is None:
        return None
    seq, digest = row.key[len(prefix) :].split(":")
    taken = row.raised_at if row.raised_at.tzinfo else row.raised_at.replace(tzinfo=dt.UTC)
    return Anchor(int(seq), digest, today.isoformat(), _moment(taken, zone))


def _moment(at: dt.datetime, zone: dt.tzinfo) -> str:
    return at.astimezone(zone).isoformat(timespec="seconds")


def _mail_auditors(conn: Connection, notifier: Notifier, kept: Anchor, today: dt.date, now: dt.datetime) -> int:
    auditors = active_role_holders(conn, AUDITOR_ROLE)
    written = 0
    for auditor in auditors:
        message = render_anchor(
            seq=kept.seq, digest=kept.hash, line=kept.as_line(), recipient_name=auditor.display_name or auditor.name,
            today=today, lang=notifier.lang,
        )  # fmt: skip
        key = f"{EVENT}:{today.isoformat()}"
        written += enqueue(conn, key=key, event=EVENT, recipient=auditor.email, message=message, now=now)
    return written
