"""No outbox row holds the body of an item under confidentiality review: not in the email, not
in the context a notice is rendered from when it is sent, not in a subject.

Items of the three bundled chains are driven into, around and through their confidentiality
reviews (sent back, submitted again), with worker passes (reminders, escalations, digests,
delivery) while they wait there. Once cleared, the leader's notice shows the body again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy import Table, func, select

from notifications.notices import Notifier
from notifications.render import BODY_LIMIT, ItemSummary, deferred_context, render, render_context
from notifications.settings import MailSettings
from notifications.transport import FolderTransport
from tests.conftest import FrozenClock
from workflow.engine import WorkflowEngine
from workflow.store.models import OutboxMessage
from workflow.store.people import set_digest
from workflow.worker.passes import Worker

outbox: Table = OutboxMessage.__table__  # type: ignore[assignment]


def rows_holding(engine: WorkflowEngine, text: str, after: int) -> list[tuple[int, str, str]]:
    """(id, event, recipient) of the outbox rows written after id ``after`` that contain ``text`` anywhere."""
    with engine.db.connect() as conn:
        rows = conn.execute(select(outbox).where(outbox.c.id > after).order_by(outbox.c.id)).all()
    return [
        (row.id, row.event, row.recipient)
        for row in rows
        if any(
            text in value
            for value in (row.subject, row.body_text, row.body_html, json.dumps(row.context or {}, ensure_ascii=False))
        )
    ]


def last_id(engine: WorkflowEngine) -> int:
    with engine.db.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(outbox.c.id), 0))).scalar_one())


def test_no_outbox_row_holds_the_body_of_an_item_under_confidentiality_review(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock, tmp_path: Path
) -> None:
    mail = MailSettings(smtp_url=None, mail_dir=tmp_path / "mail")
    engine.notifier = Notifier(mail)
    worker = Worker(engine, Notifier(mail), lambda: FolderTransport(mail.mail_dir, sender="gk@town.example.gov.cn"))
    with engine.db.begin() as conn:
        set_digest(conn, "reviewer_b", True)
    bodies = {name: f"机密正文 {name} {uuid.uuid4().hex}" for name in ("proactive", "normative", "request")}
    proactive = make_item(body=bodies["proactive"])
    normative = make_item("normative_document", body=bodies["normative"])
    request = make_item("disclosure_request", body=bodies["request"])

    def into_review() -> None:
        engine.fire(proactive, "submit", "drafter_a")
        engine.fire(normative, "pass_legality", "legal_a")
        engine.fire(request, "draft_reply", "office_a", fields={"outcome": "disclosed"})

    def waiting_in_review(days: int) -> None:
        """Worker passes day by day while the items wait: reminders, escalation, digests, delivery."""
        for _ in range(days):
            clock.advance(days=1)
            worker.run_pass(clock.now)

    def no_body_since(mark: int) -> None:
        for name, body in bodies.items():
            assert rows_holding(engine, body, mark) == [], f"the body of {name} is in the outbox"

    engine.fire(normative, "submit", "drafter_a")  # the legal reviewer reads the body first
    engine.fire(request, "register", "office_a")
    mark = last_id(engine)
    into_review()
    waiting_in_review(9)  # past every review's deadline: overdue reminders and escalations too
    no_body_since(mark)
    assert last_id(engine) > mark + 10  # notices, reminders and digests were written meanwhile

    # Sent back to be redrafted (the drafter may read their own body), then submitted again.
    engine.fire(proactive, "send_back", "reviewer_a", comment="请修改")
    engine.fire(normative, "send_back", "reviewer_a", comment="请修改")
    engine.fire(normative, "submit", "drafter_a")
    engine.fire(request, "send_back", "reviewer_a", comment="请修改")
    mark = last_id(engine)
    into_review()
    waiting_in_review(2)
    no_body_since(mark)

    # Cleared: the leaders' notices show the body, as before.
    mark = last_id(engine)
    engine.fire(proactive, "clear", "reviewer_a")
    assert {event for _, event, _ in rows_holding(engine, bodies["proactive"], mark)} == {"new_task"}


def test_a_notice_keeps_only_the_body_its_email_shows_and_renders_the_same() -> None:
    long_body = "  第一段。\n" + "正文" * 1500 + "  \n"
    today = date(2026, 3, 2)
    base = "https://gk.town.example.gov.cn"
    for state, expect_body in (("leadership_signoff", True), ("confidentiality_review", False)):
        item = ItemSummary("GK-2026-0001", "标题", state, "环节", date(2026, 3, 9), long_body)
        confidential = frozenset({"confidentiality_review"})
        context = deferred_context(
            "new_task", recipient_name="a", base_url=base, today=today, confidential_states=confidential,
            lang="zh", item=item,
        )  # fmt: skip
        kept = context["item"]["body"]
        assert len(kept) == (BODY_LIMIT if expect_body else 0)
        direct = render(
            "new_task", recipient_name="a", base_url=base, today=today, confidential_states=confidential,
            lang="zh", item=item,
        )  # fmt: skip
        assert render_context(json.loads(json.dumps(context))) == direct
