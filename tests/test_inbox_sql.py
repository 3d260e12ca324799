"""The inbox asks the database who must act, and the answer is the core's (SQLite and PostgreSQL).

``must_act`` (workflow/core/acting.py) is the rule; the inbox pages in SQL through the core's
``holdings_to_act`` spelled per dialect (workflow/store/holders.py). Over items in every kind of state,
with roles assigned to one person, assigned to nobody (an empty list) and people standing in for others,
the SQL and the core agree for every person; so do "who may see it" (``may_see``) and its SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Connection, event, select, update

from tests.conftest import OFFICE, FrozenClock
from workflow.core.acting import acting_names, holdings_to_act, must_act
from workflow.core.deadlines import overdue_before, working_days_left
from workflow.core.decisions import Person
from workflow.engine import WorkflowEngine, items
from workflow.store.holders import held
from workflow.store.people import delegate, load_person
from workflow.web.access import READ_ALL_ROLES, may_see
from workflow.web.queries import InboxQuery, holdings_to_see, inbox


def build_office(engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock) -> None:
    """Items in drafting, review, sign-off, scheduled and published; some with a role handed to one
    person, one with an empty assignment list; and two people standing in for others today."""
    today = engine.today()
    with engine.db.begin() as conn:
        delegate(conn, "reviewer_a", "office_b", today, today + dt.timedelta(days=3), clock.now)
        delegate(conn, "leader_b", "legal_a", today, today, clock.now)
        delegate(conn, "leader_c", "drafter_b", today + dt.timedelta(days=1), today + dt.timedelta(days=2), clock.now)
    make_item(title="起草中")
    make_item(title="乙起草", actor="drafter_b")
    reviewed = make_item(title="待审查")
    engine.fire(reviewed, "submit", "drafter_a")
    handed = make_item(title="指定审查")
    engine.fire(handed, "submit", "drafter_a")
    engine.assign(handed, "confidentiality_reviewer", "reviewer_b", "admin_a")
    signoff = make_item(title="待签发", actor="drafter_b")
    engine.fire(signoff, "submit", "drafter_b")
    engine.fire(signoff, "clear", "reviewer_a")
    to_leader = make_item(title="指定签发")
    engine.assign(to_leader, "leader", "leader_b", "admin_a")
    engine.fire(to_leader, "submit", "drafter_a")
    engine.fire(to_leader, "clear", "reviewer_b")
    scheduled = make_item(title="定时发布")
    engine.fire(scheduled, "submit", "drafter_a")
    engine.fire(scheduled, "clear", "reviewer_a")
    engine.fire(scheduled, "schedule", "leader_a", fields={"publish_at": "2026-12-01T09:00"})
    published = make_item(title="已公开")
    engine.fire(published, "submit", "drafter_a")
    engine.fire(published, "clear", "reviewer_b")
    engine.fire(published, "sign_off", "leader_a")
    nobody = make_item(title="空指定")
    engine.fire(nobody, "submit", "drafter_a")
    with engine.db.begin() as conn:  # an assignment list left empty: open to every reviewer again
        conn.execute(update(items).where(items.c.id == nobody).values(holders={"confidentiality_reviewer": []}))
    make_item("disclosure_request", title="申请公开")
    request = make_item("disclosure_request", title="已登记申请")
    engine.fire(request, "register", "office_a")


def everything(engine: WorkflowEngine, conn: Connection) -> list[tuple[str, object, str, dict[str, list[str]]]]:
    found = []
    for row in conn.execute(select(items.c.id)).scalars():
        item = engine.item_row(conn, row)
        definition = engine.registry.pinned(conn, item.definition, item.definition_version)
        found.append((item.reference, definition, item.state, item.holders))
    return found


def person_of(engine: WorkflowEngine, conn: Connection, name: str) -> Person:
    return load_person(conn, name, engine.today(), with_substitutions=True)


def test_the_database_and_the_core_agree_on_who_must_act_and_who_may_see(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock
) -> None:
    build_office(engine, make_item, clock)
    dialect = engine.db.dialect.name
    with engine.db.connect() as conn:
        stored = everything(engine, conn)
        definitions = engine.registry.stored(conn)
        for name, _ in OFFICE:
            person = person_of(engine, conn, name)
            core = {ref for ref, definition, state, holders in stored if must_act(person, definition, state, holders)}  # type: ignore[arg-type]
            sql = {r.reference for r in inbox(engine, conn, person, engine.today(), page_size=1000).rows}
            assert sql == core, name
            direct = held(dialect, holdings_to_act(person, definitions), acting_names(person))
            assert set(conn.execute(select(items.c.reference).where(direct)).scalars()) == core, name
            seen = {ref for ref, definition, _, holders in stored if may_see(person, definition, holders)}  # type: ignore[arg-type]
            visible = held(dialect, holdings_to_see(person, definitions), acting_names(person))
            in_sql = set(conn.execute(select(items.c.reference).where(visible)).scalars())
            if person.roles & READ_ALL_ROLES:
                assert seen == {ref for ref, *_ in stored}
            else:
                assert in_sql == seen, name
    # The cases the office relies on, named.
    with engine.db.connect() as conn:

        def titles(name: str) -> set[str]:
            person = person_of(engine, conn, name)
            return {r.title for r in inbox(engine, conn, person, engine.today()).rows}

        assert titles("reviewer_a") == {"待审查", "空指定"}
        assert titles("reviewer_b") == {"待审查", "指定审查", "空指定"}
        assert titles("office_b") == {"待审查", "空指定", "申请公开", "已登记申请", "定时发布"} - {"定时发布"}
        assert titles("legal_a") >= {"指定签发"} and "待签发" in titles("legal_a")  # stands in for leader_b
        assert "指定签发" not in titles("leader_a") and "待签发" in titles("leader_a")
        assert titles("drafter_b") == {"乙起草"}  # standing in for leader_c only from tomorrow


def test_overdue_is_the_same_day_in_sql_and_in_working_days_left(engine: WorkflowEngine) -> None:
    calendar = engine.calendar
    for offset in range(0, 40):
        today = dt.date(2026, 9, 20) + dt.timedelta(days=offset)  # over the National Day week
        cutoff = overdue_before(calendar, today)
        for back in range(0, 15):
            due = today - dt.timedelta(days=back)
            assert (due < cutoff) == (working_days_left(calendar, today, due) < 0), (today, due)


def test_a_page_costs_the_same_statements_with_5_or_55_items(
    engine: WorkflowEngine, make_item: Callable[..., int]
) -> None:
    def statements_for_page() -> int:
        sent: list[str] = []

        def count(*args: object) -> None:
            sent.append(str(args[2]))

        event.listen(engine.db, "before_cursor_execute", count)
        try:
            with engine.db.connect() as conn:
                person = person_of(engine, conn, "reviewer_a")
                page = inbox(engine, conn, person, engine.today(), InboxQuery(search="送审"))
        finally:
            event.remove(engine.db, "before_cursor_execute", count)
        assert page.rows
        return len(sent)

    for _ in range(5):
        engine.fire(make_item(title="送审事项"), "submit", "drafter_a")
    statements_for_page()  # the registry parses each stored definition version once per process
    few = statements_for_page()
    for _ in range(50):
        engine.fire(make_item(title="送审事项"), "submit", "drafter_a")
    assert statements_for_page() == few <= 5  # the person, their stand-ins, the versions, a count, the page
