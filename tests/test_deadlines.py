"""Deadline arithmetic: statutory periods, extension, correction restart, consultation pause."""

from __future__ import annotations

import datetime as dt

from workflow.core.calendar import WorkingCalendar
from workflow.core.deadlines import DeadlinePolicy, Event, compute, working_days_left

D = dt.date
CAL = WorkingCalendar()
STATUTORY = DeadlinePolicy(
    name="statutory_reply",
    working_days=20,
    start_field="received_on",
    met_states=("answered",),
    pause_states=("third_party_consultation",),
    suspend_states=("awaiting_correction",),
    restart_triggers=("correction_received",),
    extension_trigger="extend",
    extension_working_days=20,
)
REVIEW = DeadlinePolicy(name="review", working_days=5, start_state="confidentiality_review")


def created(on: dt.date) -> Event:
    return Event(on, "create", None, "received")


def test_statutory_period_across_the_spring_festival() -> None:
    status = compute(STATUTORY, [created(D(2026, 1, 26))], CAL, D(2026, 2, 2), field_start=D(2026, 1, 26))
    assert (status.status, status.start, status.due) == ("running", D(2026, 1, 26), D(2026, 2, 28))
    assert not status.overdue(D(2026, 2, 28))
    assert status.overdue(D(2026, 3, 1))


def test_extension_adds_twenty_working_days_once() -> None:
    events = [created(D(2026, 3, 2)), Event(D(2026, 3, 20), "extend", "processing", "processing")]
    status = compute(STATUTORY, events, CAL, D(2026, 3, 20), field_start=D(2026, 3, 2))
    plain = CAL.add_working_days(D(2026, 3, 2), 20)
    assert status.extension_days == 20
    assert status.due == CAL.add_working_days(D(2026, 3, 2), 40)
    assert status.due > plain


def test_correction_suspends_then_restarts_the_full_period_from_the_corrected_receipt() -> None:
    events = [
        created(D(2026, 3, 2)),
        Event(D(2026, 3, 3), "register", "received", "processing"),
        Event(D(2026, 3, 5), "request_correction", "processing", "awaiting_correction"),
    ]
    waiting = compute(STATUTORY, events, CAL, D(2026, 3, 10), field_start=D(2026, 3, 2))
    assert (waiting.status, waiting.due) == ("suspended", None)
    events.append(Event(D(2026, 3, 16), "correction_received", "awaiting_correction", "processing"))
    restarted = compute(STATUTORY, events, CAL, D(2026, 3, 16), field_start=D(2026, 3, 2))
    assert restarted.start == D(2026, 3, 16)
    assert restarted.due == CAL.add_working_days(D(2026, 3, 16), 20) == D(2026, 4, 14)


def test_consultation_pauses_the_clock_and_the_days_are_not_counted() -> None:
    events = [
        created(D(2026, 3, 2)),
        Event(D(2026, 3, 3), "register", "received", "processing"),
        Event(D(2026, 3, 4), "consult_third_party", "processing", "third_party_consultation"),
    ]
    ongoing = compute(STATUTORY, events, CAL, D(2026, 3, 11), field_start=D(2026, 3, 2))
    assert ongoing.status == "paused"
    assert ongoing.paused_days == 5  # 03-05, 03-06, 03-09, 03-10, 03-11 (weekend not a working day anyway)
    events.append(Event(D(2026, 3, 18), "third_party_replied", "third_party_consultation", "processing"))
    resumed = compute(STATUTORY, events, CAL, D(2026, 3, 20), field_start=D(2026, 3, 2))
    assert resumed.status == "running"
    assert resumed.paused_days == 10  # 03-05 .. 03-18, working days only
    assert resumed.due == CAL.add_working_days(D(2026, 3, 2), 30)


def test_met_in_time_and_late() -> None:
    events = [created(D(2026, 3, 2)), Event(D(2026, 3, 27), "sign_off", "reply_signoff", "answered")]
    assert compute(STATUTORY, events, CAL, D(2026, 4, 30), field_start=D(2026, 3, 2)).met is True
    late = [created(D(2026, 3, 2)), Event(D(2026, 4, 30), "sign_off", "reply_signoff", "answered")]
    status = compute(STATUTORY, late, CAL, D(2026, 5, 6), field_start=D(2026, 3, 2))
    assert (status.status, status.met, status.overdue(D(2026, 5, 6))) == ("met_late", False, False)


def test_a_state_deadline_starts_on_entry_and_is_met_on_leaving() -> None:
    events = [
        Event(D(2026, 9, 28), "create", None, "drafting"),
        Event(D(2026, 9, 29), "submit", "drafting", "confidentiality_review"),
    ]
    running = compute(REVIEW, events, CAL, D(2026, 9, 30))
    # 09-30, then National Day 10-01..10-07 off, 10-08, 10-09 (Fri) and 10-10 (Sat, make-up), 10-12.
    assert running.due == CAL.add_working_days(D(2026, 9, 29), 5)
    assert running.due > D(2026, 10, 7)
    events.append(Event(D(2026, 10, 8), "send_back", "confidentiality_review", "drafting"))
    assert compute(REVIEW, events, CAL, D(2026, 10, 9)).status == "met"
    events.append(Event(D(2026, 10, 12), "submit", "drafting", "confidentiality_review"))
    again = compute(REVIEW, events, CAL, D(2026, 10, 12))
    assert (again.status, again.start) == ("running", D(2026, 10, 12))


def test_not_started_without_the_start_field() -> None:
    assert compute(STATUTORY, [created(D(2026, 3, 2))], CAL, D(2026, 3, 2)).status == "not_started"


def test_working_days_left() -> None:
    assert working_days_left(CAL, D(2026, 2, 13), D(2026, 2, 24)) == 2  # 02-14 (make-up), 02-24
    assert working_days_left(CAL, D(2026, 2, 24), D(2026, 2, 24)) == 0
    assert working_days_left(CAL, D(2026, 2, 26), D(2026, 2, 24)) == -2


def test_a_revision_restarts_a_met_item_deadline() -> None:
    policy = DeadlinePolicy(name="publish", working_days=20, met_states=("published",), restart_triggers=("revise",))
    events = [
        Event(D(2026, 3, 2), "create", None, "drafting"),
        Event(D(2026, 3, 10), "sign_off", "leadership_signoff", "published"),
    ]
    assert compute(policy, events, CAL, D(2026, 3, 11)).status == "met"
    events.append(Event(D(2026, 4, 1), "revise", "published", "drafting"))
    again = compute(policy, events, CAL, D(2026, 4, 2))
    assert (again.status, again.start, again.due) == ("running", D(2026, 4, 1), CAL.add_working_days(D(2026, 4, 1), 20))
