"""The digest a person is sent lists exactly the items their inbox lists: one rule, asked twice.

Items are driven through the engine into states of the three bundled chains; roles are handed
to people on some items and substitutes named (standing in today, or not yet). Then the worker
writes today's digests (everyone reads one) and, for every person of the office, the items named
in their digest are the items of their inbox: none when they get no digest.

A deterministic test puts an item in every state of every bundled definition at once (SQLite and
PostgreSQL); a Hypothesis property varies the states, holders and substitutes (SQLite, one fresh
database per example copied from a template built once).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
from collections import deque
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, Table, select

from notifications.notices import Notifier
from notifications.settings import MailSettings
from notifications.transport import FolderTransport
from tests.conftest import AUDIT_KEY, DEFINITIONS, OFFICE, FrozenClock
from tests.template_db import office_database
from workflow.core.definition import Definition
from workflow.core.errors import GongkaiError
from workflow.core.loader import load_definitions
from workflow.engine import WorkflowEngine
from workflow.store.db import make_engine
from workflow.store.models import OutboxMessage
from workflow.store.people import delegate, load_person, set_digest
from workflow.store.registry import DefinitionRegistry
from workflow.web.queries import inbox
from workflow.worker.passes import PassReport, Worker

outbox: Table = OutboxMessage.__table__  # type: ignore[assignment]
PEOPLE = [name for name, _ in OFFICE]
ROLES_OF = {name: set(roles) for name, roles in OFFICE}
START = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)  # a Monday: a working day, digests go out
ITEM_LINK = re.compile(r"/items/([A-Z]+-\d{4}-\d{4})")
GIVEN_FIELDS = {"outcome": "disclosed", "publish_at": "2026-12-01T09:00", "result": "upheld"}
"""What a person gives where a transition requires a field (a publication far ahead stays scheduled)."""


@cache
def chains() -> dict[str, Definition]:
    return load_definitions(DEFINITIONS)


@cache
def paths() -> dict[tuple[str, str], tuple[str, ...]]:
    """(definition, state) -> the triggers that reach the state from the initial one, shortest first."""
    found: dict[tuple[str, str], tuple[str, ...]] = {}
    for name, definition in chains().items():
        found[(name, definition.initial)] = ()
        queue = deque([definition.initial])
        while queue:
            state = queue.popleft()
            for transition in definition.transitions:
                if state in transition.sources and transition.dest and (name, transition.dest) not in found:
                    found[(name, transition.dest)] = (*found[(name, state)], transition.trigger)
                    queue.append(transition.dest)
    return found


EVERY_STATE = sorted(paths())


def fields_for(definition: Definition) -> dict[str, str]:
    if definition.name == "disclosure_request":
        return {"requester": "张三", "requester_type": "natural_person", "channel": "online",
                "received_on": "2026-03-02"}  # fmt: skip
    if definition.name == "appeal":
        return {"kind": "reconsideration", "applicant": "李四", "filed_on": "2026-03-02"}
    if definition.name == "consultation":
        return {"channel": "phone", "received_on": "2026-03-02"}
    return {}


def reach(engine: WorkflowEngine, name: str, state: str) -> int:
    """A new item driven by the office's people into ``state``, through the engine's rules."""
    definition = chains()[name]
    creator = next(p for p in PEOPLE if definition.creator_role in ROLES_OF[p])
    category = "03" if definition.requires_category else None
    item_id = engine.create(name, title=f"{name}:{state}", actor=creator, category=category,
                            fields=fields_for(definition)).id  # fmt: skip
    for trigger in paths()[(name, state)]:
        before = engine.show(item_id).state
        for person in PEOPLE:
            try:
                engine.fire(item_id, trigger, person, comment="意见", fields=_fields(definition, trigger, before))
            except GongkaiError:
                continue
            if engine.show(item_id).state != before:
                break  # a quorum takes more than one signature: go on with the next person
        assert engine.show(item_id).state != before, f"nobody could fire {trigger} on {name} in {before}"
    assert engine.show(item_id).state == state
    return item_id


def _fields(definition: Definition, trigger: str, state: str) -> dict[str, str] | None:
    transition = definition.transitions_for(trigger, state)
    assert transition is not None
    wanted = [g.params for g in transition.guards if g.name == "requires_field"]
    return {field: GIVEN_FIELDS[field] for field in wanted} or None


def digest_references(db: Engine) -> dict[str, set[str]]:
    """Recipient name -> the items named in today's digest to them."""
    found: dict[str, set[str]] = {}
    with db.connect() as conn:
        for recipient, text in conn.execute(
            select(outbox.c.recipient, outbox.c.body_text).where(outbox.c.event == "digest")
        ):
            found.setdefault(recipient.split("@")[0], set()).update(ITEM_LINK.findall(text))
    return found


def check_digests_match_inboxes(engine: WorkflowEngine, mail_dir: Path) -> dict[str, set[str]]:
    mail = MailSettings(smtp_url=None, mail_dir=mail_dir)
    worker = Worker(engine, Notifier(mail), lambda: FolderTransport(mail_dir, sender="gk@town.example.gov.cn"))
    worker.raise_digests(engine.clock(), PassReport(at=engine.clock().isoformat()))
    digests = digest_references(engine.db)
    today = engine.today()
    inboxes: dict[str, set[str]] = {}
    with engine.db.connect() as conn:
        for name in PEOPLE:
            person = load_person(conn, name, today, with_substitutions=True)
            inboxes[name] = {row.reference for row in inbox(engine, conn, person, today, page_size=10_000).rows}
    for name in PEOPLE:
        assert digests.get(name, set()) == inboxes[name], name
    return inboxes


def everyone_reads_a_digest(db: Engine) -> None:
    with db.begin() as conn:
        for name in PEOPLE:
            set_digest(conn, name, True)


def test_every_state_of_every_chain_is_in_the_same_digests_and_inboxes(
    engine: WorkflowEngine, clock: FrozenClock, tmp_path: Path
) -> None:
    clock.now = START
    with engine.db.begin() as conn:
        delegate(conn, "office_a", "legal_a", START.date(), START.date(), START)  # today only
        delegate(conn, "leader_b", "office_b", START.date() + dt.timedelta(days=1), START.date() + dt.timedelta(days=9),
                 START)  # fmt: skip
    everyone_reads_a_digest(engine.db)
    reference_of = {(name, state): engine.show(reach(engine, name, state)).reference for name, state in EVERY_STATE}
    inboxes = check_digests_match_inboxes(engine, tmp_path / "mail")
    office = inboxes["office_a"]
    assert reference_of[("proactive_disclosure", "scheduled")] not in office  # the worker publishes it
    assert reference_of[("normative_document", "published")] in office  # to be filed for the record
    assert reference_of[("disclosure_request", "processing")] in inboxes["legal_a"]  # standing in for office_a
    assert not inboxes["office_b"] & {reference_of[("proactive_disclosure", "leadership_signoff")]}  # not yet


@cache
def template() -> Path:
    """A migrated SQLite database with the office, everyone reading a digest; built once per process."""
    return office_database("gongkai-digests-", START, after=everyone_reads_a_digest)


def holders_of(role: str) -> list[str]:
    return [name for name in PEOPLE if role in ROLES_OF[name]]


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_persons_digest_lists_what_their_inbox_lists(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory(prefix="gongkai-example-") as folder:
        path = Path(folder) / "gongkai.db"
        shutil.copyfile(template(), path)
        db = make_engine(f"sqlite:///{path}")
        try:
            engine = WorkflowEngine(db, DefinitionRegistry(DEFINITIONS), AUDIT_KEY.encode(), clock=FrozenClock(START))
            for name, state in data.draw(st.lists(st.sampled_from(EVERY_STATE), min_size=1, max_size=5), label="items"):
                item_id = reach(engine, name, state)
                event(f"{name}:{state}")
                roles = sorted({t.role for t in chains()[name].transitions})
                if data.draw(st.booleans(), label="assign a role"):
                    role = data.draw(st.sampled_from(roles), label="role")
                    assignee = data.draw(st.sampled_from(holders_of(role)), label="assignee")
                    try:
                        engine.assign(item_id, role, assignee, "admin_a")
                    except GongkaiError:
                        event("assignment refused")
            for _ in range(data.draw(st.integers(0, 3), label="substitutes")):
                principal = data.draw(st.sampled_from(PEOPLE), label="principal")
                substitute = data.draw(st.sampled_from([p for p in PEOPLE if p != principal]), label="substitute")
                starts = START.date() + dt.timedelta(days=data.draw(st.integers(-3, 2), label="starts"))
                ends = starts + dt.timedelta(days=data.draw(st.integers(0, 4), label="lasts"))
                with db.begin() as conn:
                    delegate(conn, principal, substitute, starts, ends, START)
            check_digests_match_inboxes(engine, Path(folder) / "mail")
        finally:
            db.dispose()
