"""Which reminders a deadline calls for today. Pure: the worker resolves people and sends.

Every reminder has a key that names it once and for all (item, deadline, kind, due date,
and for repeated escalations the day), so a pass run twice, or by two workers at once,
raises it once: the key is unique in the database.

A pass that did not run on the exact day catches up: an "upcoming" reminder is due
from its day on until the next tighter one, so a worker that was down sends the one
that still makes sense, and never both "5 days left" and "1 day left" at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from workflow.core.calendar import WorkingCalendar
from workflow.core.deadlines import working_days_left
from workflow.core.definition import ReminderPolicy

KINDS = ("upcoming", "due_today", "overdue", "escalation")


@dataclass(frozen=True)
class PlannedReminder:
    kind: str
    key: str
    roles: tuple[str, ...]
    """Who is told: the roles on the item (the people are resolved by the caller)."""
    due: dt.date
    working_days_left: int


def plan(
    item_id: int,
    deadline_kind: str,
    due: dt.date,
    policy: ReminderPolicy,
    acting_roles: tuple[str, ...],
    calendar: WorkingCalendar,
    today: dt.date,
) -> list[PlannedReminder]:
    """The reminders due on ``today`` for one open, running deadline (not paused or suspended)."""
    left = working_days_left(calendar, today, due)
    notify = policy.notify or acting_roles
    base = f"{item_id}:{deadline_kind}:{due.isoformat()}"
    planned: list[PlannedReminder] = []
    if left > 0:
        brackets = [days for days in policy.before if days >= left]
        if brackets:
            days = min(brackets)
            planned.append(PlannedReminder("upcoming", f"{base}:upcoming:{days}", notify, due, left))
        return planned
    if left == 0:
        if policy.on_due_day:
            planned.append(PlannedReminder("due_today", f"{base}:due_today", notify, due, left))
        return planned
    planned.append(PlannedReminder("overdue", f"{base}:overdue", notify, due, left))
    if policy.escalate_to is not None:
        if not policy.repeat_escalation:
            planned.append(PlannedReminder("escalation", f"{base}:escalation", (policy.escalate_to,), due, left))
        elif calendar.is_working_day(today):
            key = f"{base}:escalation:{today.isoformat()}"
            planned.append(PlannedReminder("escalation", key, (policy.escalate_to,), due, left))
    return planned
