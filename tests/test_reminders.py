"""Reminder planning: which reminder on which day, and keys that make each one unique."""

from __future__ import annotations

import datetime as dt

from workflow.core.calendar import WorkingCalendar
from workflow.core.definition import ReminderPolicy
from workflow.core.reminders import plan

D = dt.date
CAL = WorkingCalendar()
FESTIVAL_DUE = D(2026, 2, 28)
STATUTORY = ReminderPolicy(before=(5, 1), on_due_day=True, notify=("office",), escalate_to="leader")


def kinds(today: dt.date, due: dt.date = FESTIVAL_DUE, policy: ReminderPolicy = STATUTORY) -> list[tuple[str, str]]:
    return [(r.kind, r.key) for r in plan(7, "statutory_reply", due, policy, ("office",), CAL, today)]


def test_upcoming_brackets_around_the_spring_festival() -> None:
    # Due 2026-02-28, a make-up Saturday. On 02-13 six working days are left (02-14, a make-up
    # Saturday, then 02-24..02-28 after the festival): nothing yet. On 02-14, five: the first reminder.
    assert kinds(D(2026, 2, 13)) == []
    assert kinds(D(2026, 2, 14)) == [("upcoming", "7:statutory_reply:2026-02-28:upcoming:5")]
    assert kinds(D(2026, 2, 24)) == [("upcoming", "7:statutory_reply:2026-02-28:upcoming:5")]
    assert kinds(D(2026, 2, 27)) == [("upcoming", "7:statutory_reply:2026-02-28:upcoming:1")]
    assert kinds(D(2026, 2, 28)) == [("due_today", "7:statutory_reply:2026-02-28:due_today")]


def test_overdue_once_and_escalation_every_working_day() -> None:
    monday = kinds(D(2026, 3, 2))
    assert monday == [
        ("overdue", "7:statutory_reply:2026-02-28:overdue"),
        ("escalation", "7:statutory_reply:2026-02-28:escalation:2026-03-02"),
    ]
    tuesday = kinds(D(2026, 3, 3))
    assert tuesday[0] == monday[0]  # the same key: raised once
    assert tuesday[1][1].endswith("2026-03-03")  # a new escalation each working day
    assert kinds(D(2026, 3, 7)) == [monday[0]]  # Saturday: no escalation


def test_a_pass_that_missed_the_day_catches_up_with_the_tighter_reminder_only() -> None:
    due = D(2026, 3, 16)  # Monday
    assert [k for k, _ in kinds(D(2026, 3, 13), due)] == ["upcoming"]  # Friday, 1 left
    assert kinds(D(2026, 3, 14), due) == kinds(D(2026, 3, 13), due)  # the weekend pass: same key


def test_no_escalation_without_a_role_above_and_once_when_not_repeated() -> None:
    quiet = ReminderPolicy(before=(), on_due_day=False)
    assert kinds(D(2026, 3, 16), D(2026, 3, 16), quiet) == []
    assert [k for k, _ in kinds(D(2026, 3, 17), D(2026, 3, 16), quiet)] == ["overdue"]
    once = ReminderPolicy(escalate_to="leader", repeat_escalation=False)
    keys = {key for day in (D(2026, 3, 17), D(2026, 3, 18)) for _, key in kinds(day, D(2026, 3, 16), once)}
    assert keys == {"7:statutory_reply:2026-03-16:overdue", "7:statutory_reply:2026-03-16:escalation"}
