"""Deadlines of real items, from their audit history, on both databases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from tests.conftest import FrozenClock
from workflow.core.deadlines import current_due
from workflow.engine import WorkflowEngine

D = dt.date


def at(day: dt.date) -> dt.datetime:
    """10:00 in Beijing on that day."""
    return dt.datetime(day.year, day.month, day.day, 2, 0, tzinfo=dt.UTC)


def test_request_deadline_with_pause_extension_and_correction(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock
) -> None:
    clock.now = at(D(2026, 1, 26))
    fields = {"requester": "张三", "requester_type": "business", "channel": "post", "received_on": "2026-01-26"}
    over_the_festival = make_item("disclosure_request", fields=fields)
    _, deadlines = engine.deadlines(over_the_festival)
    statutory = next(d for d in deadlines if d.policy.name == "statutory_reply")
    assert statutory.status.due == D(2026, 2, 28)  # 20 working days over the Spring Festival
    assert current_due(deadlines) == D(2026, 1, 27)  # but first: register it within a working day

    clock.now = at(D(2026, 2, 25))
    item_id = make_item("disclosure_request", fields={**fields, "received_on": "2026-02-25"})

    engine.fire(item_id, "register", "office_a")
    clock.now = at(D(2026, 3, 2))
    engine.fire(item_id, "consult_third_party", "office_a")
    clock.now = at(D(2026, 3, 6))
    _, deadlines = engine.deadlines(item_id)
    statutory = next(d for d in deadlines if d.policy.name == "statutory_reply")
    assert (statutory.status.status, statutory.status.paused_days) == ("paused", 4)

    engine.fire(item_id, "third_party_replied", "office_a")
    engine.fire(item_id, "extend", "leader_a", comment="需调取档案")
    _, deadlines = engine.deadlines(item_id)
    statutory = next(d for d in deadlines if d.policy.name == "statutory_reply")
    assert statutory.status.extension_days == 20
    assert statutory.status.paused_days == 4
    assert current_due(deadlines) == engine.calendar.add_working_days(D(2026, 2, 25), 44)

    engine.fire(item_id, "request_correction", "office_a", comment="请补充")
    _, deadlines = engine.deadlines(item_id)
    assert current_due(deadlines) is None  # suspended until the corrected application arrives
    clock.now = at(D(2026, 3, 16))
    engine.fire(item_id, "correction_received", "office_a")
    _, deadlines = engine.deadlines(item_id)
    statutory = next(d for d in deadlines if d.policy.name == "statutory_reply")
    assert statutory.status.start == D(2026, 3, 16)
    assert statutory.status.due == engine.calendar.add_working_days(D(2026, 3, 16), 40)


def test_review_deadline_applies_only_in_its_state(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock
) -> None:
    clock.now = at(D(2026, 9, 29))
    item_id = make_item()
    engine.fire(item_id, "submit", "drafter_a")
    _, deadlines = engine.deadlines(item_id)
    applying = {d.policy.name: d.status.due for d in deadlines if d.applies_now}
    assert applying == {
        "publication": engine.calendar.add_working_days(D(2026, 9, 29), 20),
        "state:confidentiality_review": engine.calendar.add_working_days(D(2026, 9, 29), 5),
    }
    assert current_due(deadlines) == applying["state:confidentiality_review"]
    clock.now = at(D(2026, 10, 20))
    engine.fire(item_id, "clear", "reviewer_a")
    _, deadlines = engine.deadlines(item_id)
    review = next(d for d in deadlines if d.policy.name == "state:confidentiality_review")
    assert (review.status.status, review.status.met, review.applies_now) == ("met_late", False, False)


def stored_deadlines(engine: WorkflowEngine, item_id: int) -> dict[str, tuple[str, dt.date | None, bool]]:
    from sqlalchemy import select

    from workflow.engine import deadlines_table as table

    with engine.db.connect() as conn:
        rows = conn.execute(
            select(table.c.kind, table.c.status, table.c.due_on, table.c.applies_now).where(table.c.item_id == item_id)
        ).all()
    return {row.kind: (row.status, row.due_on, row.applies_now) for row in rows}


def computed_deadlines(engine: WorkflowEngine, item_id: int) -> dict[str, tuple[str, dt.date | None, bool]]:
    _, deadlines = engine.deadlines(item_id)
    return {d.policy.name: (d.status.status, d.status.due, d.applies_now) for d in deadlines}


def test_stored_deadlines_follow_every_transition(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock
) -> None:
    """What the engine stores on each fire equals what the whole history gives."""
    clock.now = at(D(2026, 2, 10))
    fields = {"requester": "李四", "requester_type": "research", "channel": "email", "received_on": "2026-02-10"}
    request = make_item("disclosure_request", fields=fields)
    proactive = make_item()
    steps = [
        (request, "register", "office_a", None, {}),
        (proactive, "submit", "drafter_a", None, {}),
        (request, "consult_third_party", "office_a", None, {}),
        (proactive, "send_back", "reviewer_a", "请修改", {}),
        (request, "third_party_replied", "office_b", None, {}),
        (request, "extend", "leader_a", "延期", {}),
        (proactive, "submit", "drafter_a", None, {}),
        (request, "request_correction", "office_a", "补正", {}),
        (proactive, "clear", "reviewer_a", None, {}),
        (request, "correction_received", "office_a", None, {}),
        (request, "draft_reply", "office_a", None, {"outcome": "disclosed"}),
        (proactive, "sign_off", "leader_a", None, {}),
        (request, "clear", "reviewer_a", None, {}),
        (request, "sign_off", "leader_b", None, {}),
    ]
    for item_id, trigger, actor, comment, fields_given in steps:
        clock.advance(days=2)
        engine.fire(item_id, trigger, actor, comment=comment, fields=fields_given)
        for checked in (request, proactive):
            assert stored_deadlines(engine, checked) == computed_deadlines(engine, checked), (trigger, checked)
    assert stored_deadlines(engine, request)["statutory_reply"][0] in ("met", "met_late")
    assert not any(applies for _, _, applies in stored_deadlines(engine, request).values())


def test_list_overdue_and_due_before(engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock) -> None:
    clock.now = at(D(2026, 3, 2))
    in_review = make_item()
    engine.fire(in_review, "submit", "drafter_a")  # review due 5 working days later: 03-09
    drafting = make_item()  # publication due 20 working days later: 03-30
    answered_fields = {"requester": "王五", "requester_type": "other", "channel": "fax", "received_on": "2026-03-02"}
    request = make_item("disclosure_request", fields=answered_fields)  # register due 03-03
    review_due = engine.calendar.add_working_days(D(2026, 3, 2), 5)

    clock.now = at(D(2026, 3, 4))
    overdue = engine.list_items(overdue=True)
    assert [(v.id, v.due_date) for v in overdue] == [(request, D(2026, 3, 3))]
    due_soon = engine.list_items(due_before=D(2026, 3, 10))
    assert [(v.id, v.due_date) for v in due_soon] == [(request, D(2026, 3, 3)), (in_review, review_due)]
    assert {v.id: v.due_date for v in engine.list_items()}[drafting] == engine.calendar.add_working_days(
        D(2026, 3, 2), 20
    )
    engine.fire(request, "register", "office_a")
    assert engine.list_items(overdue=True) == []


def test_a_calendar_change_recomputes_open_deadlines(
    engine: WorkflowEngine, make_item: Callable[..., int], clock: FrozenClock
) -> None:
    from workflow.core.calendar import WorkingCalendar

    clock.now = at(D(2026, 3, 2))
    item_id = make_item()
    engine.fire(item_id, "submit", "drafter_a")
    assert engine.recompute_deadlines() == []  # nothing computed with other data
    review_due = engine.calendar.add_working_days(D(2026, 3, 2), 5)
    # The office declares a day off inside the review period: the review is due a day later.
    engine.calendar = WorkingCalendar(overrides={D(2026, 3, 4): False})
    engine.calendar_version = engine.calendar.data_version()
    changes = engine.recompute_deadlines()
    moved = {c.kind: (c.old_due, c.new_due) for c in changes if c.old_due != c.new_due}
    assert moved["state:confidentiality_review"] == (review_due, engine.calendar.add_working_days(D(2026, 3, 2), 5))
    assert moved["state:confidentiality_review"][1] == D(2026, 3, 10)
    assert stored_deadlines(engine, item_id) == computed_deadlines(engine, item_id)
    assert engine.recompute_deadlines() == []
