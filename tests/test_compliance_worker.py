"""The worker's daily compliance check: the auditors are emailed each finding once, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import email
from pathlib import Path

from sqlalchemy import select

from notifications.notices import Notifier
from notifications.outbox import outbox
from notifications.settings import MailSettings
from notifications.transport import FolderTransport
from tests.conftest import FrozenClock
from tests.test_compliance import office, reviewed, sql  # noqa: F401  (the office fixture)
from workflow.engine import WorkflowEngine
from workflow.worker.passes import Worker


def worker(engine: WorkflowEngine, folder: Path) -> Worker:
    mail = MailSettings(smtp_url=None, mail_dir=folder)
    return Worker(engine, Notifier(mail), lambda: FolderTransport(folder), compliance_check=True)


def compliance_mail(engine: WorkflowEngine) -> list[tuple[str, str, str]]:
    with engine.db.connect() as conn:
        rows = conn.execute(
            select(outbox.c.recipient, outbox.c.subject, outbox.c.body_text)
            .where(outbox.c.event == "compliance_findings")
            .order_by(outbox.c.id)
        ).all()
    return [(r.recipient, r.subject, r.body_text) for r in rows]


def test_each_finding_is_emailed_to_the_auditors_once(
    office: WorkflowEngine,  # noqa: F811
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    engine = office
    first = reviewed(engine)
    engine.fire(first, "sign_off", "leader_a")
    second = reviewed(engine, "drafter_b", "reviewer_b")
    engine.fire(second, "sign_off", "leader_b")
    run = worker(engine, tmp_path / "mail")

    run.run_pass(clock.now)
    assert compliance_mail(engine) == []  # a clean chain: nothing to tell

    sql(engine, "UPDATE items SET state = 'drafting' WHERE id = :id", id=first)
    run.run_pass(clock.now)
    assert compliance_mail(engine) == []  # checked once a day: today's check is done

    clock.advance(days=1)
    run.run_pass(clock.now)
    ref_first = engine.show(first).reference
    [(recipient, subject, body)] = compliance_mail(engine)
    assert recipient == "auditor_a@town.example.gov.cn"
    assert "1" in subject and ref_first in body and "state_unexplained" in body

    clock.advance(days=1)
    sql(engine, "UPDATE items SET state = 'drafting' WHERE id = :id", id=second)
    run.run_pass(clock.now)
    mails = compliance_mail(engine)
    assert len(mails) == 2
    body = mails[1][2]
    assert engine.show(second).reference in body and ref_first not in body  # only what is new

    clock.advance(days=1)
    run.run_pass(clock.now)
    assert len(compliance_mail(engine)) == 2  # nothing new: no email
    with engine.db.connect() as conn:
        ids = set(conn.execute(select(outbox.c.message_id).where(outbox.c.event == "compliance_findings")).scalars())
    sent = [email.message_from_bytes(p.read_bytes()) for p in (tmp_path / "mail").glob("*.eml")]
    findings_sent = [m for m in sent if m["Message-ID"] in ids]  # the auditors also get the daily anchor
    assert sum(1 for m in findings_sent if m["To"] == "auditor_a@town.example.gov.cn") == 2


def test_the_worker_leaves_the_check_to_run_worker_by_default(
    office: WorkflowEngine,  # noqa: F811
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    engine = office
    item = reviewed(engine)
    sql(engine, "UPDATE items SET state = 'drafting' WHERE id = :id", id=item)
    mail = MailSettings(smtp_url=None, mail_dir=tmp_path)
    Worker(engine, Notifier(mail), lambda: FolderTransport(tmp_path)).run_pass(clock.now + dt.timedelta(days=1))
    assert compliance_mail(engine) == []
