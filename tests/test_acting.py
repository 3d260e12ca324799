"""Who must act on an item now: the core's one rule, and every place that asks it.

The pure part runs over the bundled definitions with no database; the rest runs on SQLite
and PostgreSQL: the office's inbox and digest, new-task notices and reminders to people
standing in for someone today.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import Table, select

from notifications.notices import Notifier
from notifications.settings import MailSettings
from notifications.transport import FolderTransport
from tests.conftest import DEFINITIONS, FrozenClock
from workflow.core.acting import decisions_open_to, must_act, roles_to_act, states_to_act
from workflow.core.decisions import ItemSnapshot, Person
from workflow.core.definition import Definition
from workflow.core.loader import load_definitions
from workflow.engine import WorkflowEngine
from workflow.store.models import OutboxMessage
from workflow.store.people import delegate, load_person, set_digest
from workflow.web.queries import inbox
from workflow.worker.passes import PassReport, Worker

outbox: Table = OutboxMessage.__table__  # type: ignore[assignment]
ITEM_LINK = re.compile(r"/items/([A-Z]+-\d{4}-\d{4})")
"""An item's page linked from an email: how a digest names each item it lists."""


@cache
def chains() -> dict[str, Definition]:
    return load_definitions(DEFINITIONS)


# ---- the pure rule -----------------------------------------------------------------------------


def test_the_roles_asked_to_act_in_each_state_of_the_bundled_chains() -> None:
    proactive, normative, request = (
        chains()[n] for n in ("proactive_disclosure", "normative_document", "disclosure_request")
    )
    assert roles_to_act(proactive, "drafting") == ("drafter",)
    assert roles_to_act(proactive, "confidentiality_review") == ("confidentiality_reviewer",)
    assert roles_to_act(proactive, "scheduled") == ()  # the worker publishes it; the office may, need not
    assert roles_to_act(proactive, "published") == ()  # confirm_current is the worker's periodic question
    assert roles_to_act(proactive, "withheld") == ()  # terminal
    assert roles_to_act(normative, "published") == ("office",)  # file for the record
    assert roles_to_act(request, "processing") == ("office",)  # not the leader: extend keeps the state
    assert states_to_act(proactive, {"office"}) == frozenset()
    assert states_to_act(request, {"leader"}) == {"reply_signoff"}


def test_a_substitute_must_act_where_the_person_they_stand_in_for_must() -> None:
    definition = chains()["proactive_disclosure"]
    away = Person("leader_a", frozenset({"leader"}))
    substitute = Person("office_b", frozenset({"office"}), stands_in_for=(away,))
    assert must_act(substitute, definition, "leadership_signoff", {})
    assert not must_act(Person("office_b", frozenset({"office"})), definition, "leadership_signoff", {})
    # The role handed to someone else on this item: neither the principal nor their substitute.
    assert not must_act(substitute, definition, "leadership_signoff", {"leader": ["leader_b"]})
    assert must_act(substitute, definition, "leadership_signoff", {"leader": ["leader_a"]})
    assert not must_act(substitute, definition, "scheduled", {})


def test_links_offer_the_persons_decisions_but_never_the_workers() -> None:
    definition = chains()["proactive_disclosure"]
    office = Person("office_a", frozenset({"office"}))
    scheduled = ItemSnapshot(definition, "scheduled", {"publish_at": "2026-03-05T09:00"}, {}, {})
    assert decisions_open_to(scheduled, office) == []
    drafter = Person("drafter_a", frozenset({"drafter"}))
    published = ItemSnapshot(definition, "published", {}, {"drafter": ["drafter_a"]}, {})
    assert set(decisions_open_to(published, drafter)) == {"revise", "confirm_current"}


# ---- the shells asking it ----------------------------------------------------------------------


@pytest.fixture
def office(engine: WorkflowEngine, tmp_path: Path) -> WorkflowEngine:
    engine.notifier = Notifier(MailSettings(smtp_url=None, mail_dir=tmp_path / "mail"))
    return engine


def worker_for(engine: WorkflowEngine, tmp_path: Path) -> Worker:
    assert engine.notifier is not None
    mail = engine.notifier.mail
    return Worker(engine, engine.notifier, lambda: FolderTransport(mail.mail_dir, sender="gk@town.example.gov.cn"))


def digest_references(engine: WorkflowEngine, name: str) -> set[str]:
    """The references listed in today's digest to ``name`` (empty when none was written)."""
    with engine.db.connect() as conn:
        texts = conn.execute(
            select(outbox.c.body_text).where(
                outbox.c.event == "digest", outbox.c.recipient == f"{name}@town.example.gov.cn"
            )
        ).scalars()
        return {reference for text in texts for reference in ITEM_LINK.findall(text)}


def inbox_references(engine: WorkflowEngine, name: str) -> set[str]:
    with engine.db.connect() as conn:
        person = load_person(conn, name, engine.today(), with_substitutions=True)
        return {row.reference for row in inbox(engine, conn, person, engine.today()).rows}


def test_a_scheduled_item_is_in_neither_the_offices_digest_nor_their_inbox(
    office: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock, tmp_path: Path
) -> None:
    scheduled = make_item()
    office.fire(scheduled, "submit", "drafter_a")
    office.fire(scheduled, "clear", "reviewer_a")
    office.fire(scheduled, "schedule", "leader_a", fields={"publish_at": "2026-03-20T09:00"})
    request = make_item("disclosure_request")
    with office.db.begin() as conn:
        set_digest(conn, "office_b", True)
    worker_for(office, tmp_path).raise_digests(clock.now, PassReport(at=clock.now.isoformat()))
    reference = office.show(request).reference
    assert digest_references(office, "office_b") == {reference} == inbox_references(office, "office_b")


def test_someone_standing_in_today_is_told_reminded_and_sees_it_in_inbox_and_digest(
    office: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock, tmp_path: Path
) -> None:
    today = office.today()
    with office.db.begin() as conn:
        delegate(conn, "reviewer_a", "office_b", today, today + dt.timedelta(days=30), clock.now)
        delegate(conn, "reviewer_b", "legal_a", today + dt.timedelta(days=1), today + dt.timedelta(days=2), clock.now)
        set_digest(conn, "office_b", True)
    item_id = make_item(title="代审事项")
    office.fire(item_id, "submit", "drafter_a")
    reference = office.show(item_id).reference
    with office.db.connect() as conn:
        told = set(
            conn.execute(select(outbox.c.recipient).where(outbox.c.event == "new_task", outbox.c.item_id == item_id))
            .scalars()
            .all()
        )
    # office_b reads a digest: no single notice; legal_a stands in only from tomorrow.
    assert told == {f"{n}@town.example.gov.cn" for n in ("reviewer_a", "reviewer_b", "multi")}
    worker_for(office, tmp_path).raise_digests(clock.now, PassReport(at=clock.now.isoformat()))
    assert digest_references(office, "office_b") == {reference} == inbox_references(office, "office_b")
    assert inbox_references(office, "legal_a") == set()

    # Due on the fifth working day: the reminder that day goes to the substitute as well.
    with office.db.begin() as conn:
        set_digest(conn, "office_b", False)
    clock.now = dt.datetime(2026, 3, 9, 1, 0, tzinfo=dt.UTC)
    worker_for(office, tmp_path).raise_reminders(clock.now, PassReport(at=clock.now.isoformat()))
    with office.db.connect() as conn:
        reminded = set(
            conn.execute(
                select(outbox.c.recipient).where(outbox.c.event == "reminder_due_today", outbox.c.item_id == item_id)
            ).scalars()
        )
    assert "office_b@town.example.gov.cn" in reminded and "legal_a@town.example.gov.cn" not in reminded


def test_a_role_handed_to_one_person_reaches_only_them_and_their_substitute(
    office: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock
) -> None:
    today = office.today()
    with office.db.begin() as conn:
        delegate(conn, "leader_b", "office_a", today, today, clock.now)
        delegate(conn, "leader_a", "office_b", today, today, clock.now)
    item_id = make_item()
    office.fire(item_id, "submit", "drafter_a")
    office.assign(item_id, "leader", "leader_b", "admin_a")
    office.fire(item_id, "clear", "reviewer_a")
    with office.db.connect() as conn:
        told = set(
            conn.execute(
                select(outbox.c.recipient).where(
                    outbox.c.event == "new_task", outbox.c.item_id == item_id, outbox.c.subject.contains("领导签发")
                )
            ).scalars()
        )
    assert told == {"leader_b@town.example.gov.cn", "office_a@town.example.gov.cn"}
    reference = office.show(item_id).reference
    assert reference in inbox_references(office, "office_a")
    assert reference not in inbox_references(office, "office_b")
