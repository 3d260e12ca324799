"""Property: whatever anyone tries, in any order, the rules hold and the chain verifies.

Hypothesis draws random fire attempts (any trigger of the definition, any person of
the office, a comment or none, an outcome or none, a stale version now and then, days
passing) on items of all three definitions. After each attempt and at the end it checks:

- items are only ever in declared states;
- a refused attempt changes nothing (audit row count, item version and state);
- a successful one writes exactly one audit row that says what happened;
- separation of duties, read back from the audit log alone: who clears is neither the
  item's drafter nor who submitted; who signs off is not who cleared; a quorum is reached
  by distinct leaders, a substitute's vote counting as their principal's;
- the audit chain verifies.

SQLite only, one fresh database per example (copied from a template built once).
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, func, select

from tests.conftest import AUDIT_KEY, DEFINITIONS, OFFICE, FrozenClock
from tests.template_db import office_database
from workflow.core.definition import Definition
from workflow.core.errors import GongkaiError
from workflow.core.loader import load_definitions
from workflow.engine import WorkflowEngine
from workflow.store import audit_log as auditlog
from workflow.store.db import make_engine
from workflow.store.models import AuditEntry, Item
from workflow.store.people import delegate
from workflow.store.registry import DefinitionRegistry

KEY = AUDIT_KEY.encode("utf-8")
PEOPLE = [name for name, _ in OFFICE]
ROLES_OF = {name: set(roles) for name, roles in OFFICE}
# Substitutes: office_b for leader_a early in March, reviewer_a for leader_b all year.
DELEGATIONS = [
    ("leader_a", "office_b", dt.date(2026, 3, 2), dt.date(2026, 3, 10)),
    ("leader_b", "reviewer_a", dt.date(2026, 3, 1), dt.date(2026, 12, 31)),
]
DEFINITION_NAMES = ["proactive_disclosure", "normative_document", "disclosure_request"]
START = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)

# Separation of duties as the office states it, independent of the YAML files:
# trigger -> (item roles whose holders may not fire it, earlier triggers whose actors may not).
SEPARATION: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "proactive_disclosure": {
        "clear": (("drafter",), ("submit",)),
        "withhold": (("drafter",), ("submit",)),
        "sign_off": (("drafter",), ("submit", "clear")),
    },
    "normative_document": {
        "pass_legality": (("drafter",), ("submit",)),
        "clear": (("drafter",), ("submit",)),
        "sign_off": (("drafter",), ("submit", "clear")),
    },
    "disclosure_request": {
        "clear": ((), ("draft_reply",)),
        "sign_off": ((), ("clear",)),
    },
}
QUORUM = {"normative_document": ("sign_off", "collective_decision", 2)}


@cache
def definitions() -> dict[str, Definition]:
    return load_definitions(DEFINITIONS)


@cache
def template() -> Path:
    """A migrated SQLite database with the office and its substitutes, built once per process."""

    def substitutes(conn: Connection) -> None:
        for principal, substitute, starts, ends in DELEGATIONS:
            delegate(conn, principal, substitute, starts, ends, START)

    return office_database("gongkai-properties-", START, also=substitutes)


def may_act_as(role: str, today: dt.date) -> list[str]:
    """People who hold ``role`` themselves or stand in today for someone who does."""
    found = [name for name in PEOPLE if role in ROLES_OF[name]]
    found += [
        sub for principal, sub, starts, ends in DELEGATIONS if starts <= today <= ends and role in ROLES_OF[principal]
    ]
    return found


def pick(data: st.DataObject, likely: list[Any], anything: list[Any], label: str, wildness: int = 3) -> Any:
    """Mostly a likely choice (so items get far along their chains), sometimes anything at all.

    ``wildness`` in tenths: how often the choice is made from ``anything``.
    """
    wild = data.draw(st.integers(0, 9), label=f"{label} is wild") < wildness or not likely
    return data.draw(st.sampled_from(anything if wild else likely), label=label)


def count(db: Engine, table: Any) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def persons(row: Any) -> set[str]:
    return {row.actor} | ({row.on_behalf_of} if row.on_behalf_of else set())


def check_separation(engine: WorkflowEngine, item_id: int) -> None:
    """Separation of duties and quorum, read from the item's audit rows."""
    item = engine.show(item_id)
    rules = SEPARATION[item.definition]
    quorum = QUORUM.get(item.definition)
    declared = definitions()[item.definition].states
    last: dict[str, set[str]] = {}
    votes: list[set[str]] = []
    for row in auditlog.read_entries(engine.db, item_id):
        assert row.to_state in declared and (row.from_state is None or row.from_state in declared)
        who = persons(row)
        if row.trigger in rules:
            roles, triggers = rules[row.trigger]
            barred = {name for role in roles for name in item.holders.get(role, [])}
            barred |= {name for trigger in triggers for name in last.get(trigger, set())}
            assert not who & barred, f"{row.trigger} by {who} on item {item_id}: barred {barred}"
        if quorum is not None and row.trigger == quorum[0]:
            assert all(not who & earlier for earlier in votes), f"a second vote by {who} on item {item_id}"
            votes.append(who)
            expected = "published" if len(votes) >= quorum[2] else quorum[1]
            assert row.to_state == expected, (row.to_state, len(votes))
        if quorum is not None and row.to_state == quorum[1] and row.from_state != quorum[1]:
            votes = []  # entering the state afresh starts the votes from zero
        last[row.trigger] = who


def attempt(
    engine: WorkflowEngine, item_id: int, trigger: str, actor: str, comment: str | None, fields: Any, stale: bool
) -> None:
    """One fire attempt with every before/after check."""
    db = engine.db
    before = engine.show(item_id)
    rows_before = count(db, AuditEntry.__table__)
    version = before.version - 1 if stale else None
    try:
        result = engine.fire(item_id, trigger, actor, comment=comment, fields=fields, expected_version=version)
    except GongkaiError:
        after = engine.show(item_id)
        assert count(db, AuditEntry.__table__) == rows_before
        assert (after.state, after.version, after.fields, after.holders) == (
            before.state,
            before.version,
            before.fields,
            before.holders,
        )
        return
    assert not stale, "a stale version was accepted"
    after = engine.show(item_id)
    assert after.state in definitions()[after.definition].states
    assert after.state == result.to_state
    assert after.version == before.version + 1
    assert count(db, AuditEntry.__table__) == rows_before + 1
    row = auditlog.read_entries(db)[-1]
    assert (row.seq, row.item_id, row.trigger, row.actor, row.from_state, row.to_state) == (
        rows_before + 1,
        item_id,
        trigger,
        actor,
        before.state,
        after.state,
    )


@pytest.mark.slow
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data())
def test_random_attempts_never_break_the_rules(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory(prefix="gongkai-example-") as folder:
        path = Path(folder) / "gongkai.db"
        shutil.copyfile(template(), path)
        db = make_engine(f"sqlite:///{path}")
        try:
            run_example(data, db)
        finally:
            db.dispose()


def run_example(data: st.DataObject, db: Engine) -> None:
    clock = FrozenClock(START)
    engine = WorkflowEngine(db, DefinitionRegistry(DEFINITIONS), KEY, clock=clock)
    chains = definitions()

    items: list[int] = []
    for _ in range(data.draw(st.integers(1, 3), label="items")):
        name = data.draw(st.sampled_from(DEFINITION_NAMES), label="definition")
        creators = may_act_as(chains[name].creator_role, engine.today())
        creator = pick(data, creators, PEOPLE, "creator")
        fields = (
            {"requester": "张三", "requester_type": "natural_person", "channel": "post", "received_on": "2026-02-26"}
            if name == "disclosure_request"
            else {}
        )
        category = "08" if chains[name].requires_category else None
        rows_before, items_before = count(db, AuditEntry.__table__), count(db, Item.__table__)
        try:
            item = engine.create(name, title="事项", actor=creator, category=category, fields=fields)
        except GongkaiError:
            assert (count(db, AuditEntry.__table__), count(db, Item.__table__)) == (rows_before, items_before)
            continue
        assert item.state == chains[name].initial
        items.append(item.id)
    if not items:
        items.append(engine.create("proactive_disclosure", title="事项", actor="drafter_a", category="01").id)

    # Some examples stay close to the paths people take (deep states), others try anything.
    wildness = data.draw(st.sampled_from([1, 3, 6]), label="wildness")
    for _ in range(data.draw(st.integers(1, 80), label="steps")):
        open_items = [i for i in items if not chains[engine.show(i).definition].states[engine.show(i).state].terminal]
        item_id = pick(data, open_items, items, "item", wildness)
        item = engine.show(item_id)
        definition = chains[item.definition]
        from_here = definition.triggers_from(item.state)
        everything = definition.triggers
        trigger = pick(data, from_here, everything, "trigger", wildness)
        transition = definition.transitions_for(trigger, item.state)
        likely = may_act_as(transition.role, engine.today()) if transition else []
        actor = pick(data, likely, PEOPLE, "actor", wildness)
        comment = pick(data, ["意见"], [None, "意见", "  "], "comment", wildness)
        if item.definition == "disclosure_request":
            choices = list(definition.fields["outcome"].choices)
            outcome = pick(data, choices, [None, "bogus", *choices], "outcome", wildness)
            fields: dict[str, str] | None = None if outcome is None else {"outcome": outcome}
        else:
            fields = data.draw(st.sampled_from([None, None, None, {"outcome": "disclosed"}]), label="fields")
        stale = data.draw(st.sampled_from([False, False, False, False, True]), label="stale")
        attempt(engine, item_id, trigger, actor, comment, fields, stale)
        event(f"reached {engine.show(item_id).state}")
        clock.advance(days=data.draw(st.integers(0, 2), label="days"))

    for item_id in items:
        check_separation(engine, item_id)
    verified = auditlog.verify(db, KEY)
    assert verified.fault is None, verified.fault
    assert verified.count == count(db, AuditEntry.__table__)
