"""What the delivery drills share: a backlog of due reminder emails written straight into the outbox, the
worker's environment, the figures a drill prints, and the checks every drill ends with.

Workers are real ``run_worker.py`` processes (tests/test_worker_kill.py's ``run_worker``) with the
environment of tests/test_worker_outage.py; the SMTP server is tests/smtp_server.py's aiosmtpd one.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select

from notifications.outbox import SENT, outbox, outbox_values
from notifications.render import RenderedMessage
from tests.smtp_server import RecordingHandler
from tests.test_worker_outage import environment
from workflow.settings import Settings

RECIPIENT_DOMAIN = "town.example.gov.cn"


def seed(db: Engine, n: int, due: Sequence[dt.datetime] | dt.datetime, *, prefix: str = "drill") -> dict[str, str]:
    """``n`` reminder emails in the outbox, the i-th due at ``due[i]`` (or all at ``due``); one transaction.

    Returns each one's subject -> its Message-ID (fixed when written, so a resend carries it again).
    """
    rows = []
    for i in range(n):
        at = due if isinstance(due, dt.datetime) else due[i]
        message = RenderedMessage(subject=f"{prefix} 提醒 {i}", text=f"正文 {i}", html=f"<p>正文 {i}</p>")
        recipient = f"{prefix}{i}@{RECIPIENT_DOMAIN}"
        key = f"{prefix}:{i}"
        rows.append(outbox_values(key=key, event="reminder_overdue", recipient=recipient, message=message, now=at,
                                  item_id=None))  # fmt: skip
    with db.begin() as conn:
        conn.execute(insert(outbox), rows)
    return {row["subject"]: row["message_id"] for row in rows}


def worker_env(settings: Settings, port: int, **extra: str) -> dict[str, str]:
    return {**environment(settings, port), **extra}


@dataclass(frozen=True)
class Tally:
    expected: int
    distinct: int
    received: int
    lost: int
    duplicates: int
    foreign: int
    """Received with a Message-ID that is not the one its row was written with (must be 0)."""


def tally(handler: RecordingHandler, expected: dict[str, str]) -> Tally:
    """What the server got against what was written: lost, duplicated, and mislabelled messages."""
    with handler.lock:
        received = [(str(r.message["Subject"]), r.message_id) for r in handler.received]
    ours = [(subject, mid) for subject, mid in received if subject in expected]
    foreign = sum(1 for subject, mid in ours if expected[subject] != mid)
    counts = Counter(mid for _, mid in ours)
    wanted = set(expected.values())
    distinct = len(wanted & set(counts))
    return Tally(
        expected=len(expected), distinct=distinct, received=len(ours), lost=len(wanted) - distinct,
        duplicates=sum(c - 1 for c in counts.values()), foreign=foreign,
    )  # fmt: skip


def statuses(db: Engine) -> Counter[str]:
    with db.connect() as conn:
        return Counter(conn.execute(select(outbox.c.status)).scalars())


def all_sent(db: Engine) -> bool:
    return set(statuses(db)) == {SENT}


def figures(drill: str, **values: object) -> str:
    """One line of a drill's figures, printed (``pytest -rA`` shows it) and returned for the assertion message."""
    line = f"DRILL {drill}: " + ", ".join(f"{k}={v}" for k, v in values.items())
    print(line)
    return line
