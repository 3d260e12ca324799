"""Deadline arithmetic on working days: statutory periods, extensions, restarts and pauses.

Pure: a deadline is computed from its policy, the item's history of transitions (dates
in the office's time zone) and ``today``; no database, no clock. Two clock rules come
from the Regulation and are declared per policy, never coded per definition:

- a *restart* (art. 30, correction): the period runs in full again from the date of
  the restarting transition (the receipt of the corrected application); while the
  item waits in a *suspended* state there is no due date at all;
- a *pause* (arts. 32-34, consultation): working days spent in a pause state are not
  counted; the day the item enters the pause still counts, the day it leaves does not.

The day the period starts is never counted (the civil-law rule for periods).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workflow.calendar import DayNote, WorkingCalendar
from workflow.definition import DeadlinePolicy, Definition

MAX_SPAN_DAYS = 3660
"""A guard against a policy that could never be met (e.g. a pause that never ends)."""


@dataclass(frozen=True)
class Event:
    """One line of an item's history, as a deadline needs it."""

    on: dt.date
    trigger: str
    from_state: str | None
    to_state: str


@dataclass(frozen=True)
class Pause:
    entered: dt.date
    left: dt.date | None


@dataclass(frozen=True)
class DeadlineStatus:
    policy: str
    status: str
    """not_started, running, paused, suspended, met, met_late."""
    start: dt.date | None
    due: dt.date | None
    working_days: int
    extension_days: int
    paused_days: int
    pauses: tuple[Pause, ...] = ()
    met_on: dt.date | None = None
    missing_years: tuple[int, ...] = ()

    def overdue(self, today: dt.date) -> bool:
        return self.status in ("running", "paused") and self.due is not None and today > self.due

    @property
    def met(self) -> bool | None:
        """True met in time, False met late, None not (yet) met."""
        if self.status == "met":
            return True
        if self.status == "met_late":
            return False
        return None


@dataclass
class _Walk:
    start: dt.date | None = None
    suspended: bool = False
    extension: int = 0
    pauses: list[Pause] = field(default_factory=list)
    met_on: dt.date | None = None


def compute(
    policy: DeadlinePolicy,
    events: Sequence[Event],
    calendar: WorkingCalendar,
    today: dt.date,
    field_start: dt.date | None = None,
) -> DeadlineStatus:
    """The deadline as the history stands on ``today``.

    ``events`` are in order, the first being the item's creation. ``field_start`` is the
    value of ``policy.start_field`` when the policy starts from a field.
    """
    walk = _Walk()
    if policy.start_field is not None:
        walk.start = field_start
    for event in events:
        _apply(policy, walk, event)
    if walk.start is None:
        return DeadlineStatus(policy.name, "not_started", None, None, policy.working_days, walk.extension, 0)
    if walk.suspended and walk.met_on is None:
        return DeadlineStatus(
            policy.name, "suspended", walk.start, None, policy.working_days, walk.extension, 0, tuple(walk.pauses)
        )
    due, paused, notes = count_with_pauses(
        calendar, walk.start, policy.working_days + walk.extension, walk.pauses, today, policy.calendar_days
    )
    if walk.met_on is not None:
        status = "met" if walk.met_on <= due else "met_late"
    else:
        status = "paused" if walk.pauses and walk.pauses[-1].left is None else "running"
    return DeadlineStatus(
        policy=policy.name,
        status=status,
        start=walk.start,
        due=due,
        working_days=policy.working_days,
        extension_days=walk.extension,
        paused_days=paused,
        pauses=tuple(walk.pauses),
        met_on=walk.met_on,
        missing_years=tuple(sorted({n.day.year for n in notes if not n.official})),
    )


def _apply(policy: DeadlinePolicy, walk: _Walk, event: Event) -> None:
    entering = event.to_state != event.from_state
    if policy.start_field is None:
        if policy.start_state is None and event.from_state is None:
            walk.start = event.on
        elif entering and event.to_state == policy.start_state:
            # (Re)entering the state starts its deadline afresh.
            walk.start, walk.extension, walk.pauses, walk.met_on = event.on, 0, [], None
    if walk.start is None:
        return
    if event.trigger in policy.restart_triggers:
        # Restarted (a corrected application, a revised item): the full period again.
        walk.start, walk.pauses, walk.suspended, walk.met_on = event.on, [], False, None
    if walk.met_on is not None:
        return
    if event.trigger == policy.extension_trigger:
        walk.extension = policy.extension_working_days
    if not entering:
        return
    if event.from_state in policy.pause_states and walk.pauses and walk.pauses[-1].left is None:
        walk.pauses[-1] = Pause(walk.pauses[-1].entered, event.on)
    if event.to_state in policy.pause_states:
        walk.pauses.append(Pause(event.on, None))
    walk.suspended = event.to_state in policy.suspend_states
    left_own_state = policy.start_state is not None and event.from_state == policy.start_state
    if event.to_state in policy.met_states or (left_own_state and not policy.met_states):
        walk.met_on = event.on


def _paused_on(day: dt.date, pauses: Sequence[Pause], today: dt.date) -> bool:
    """Within (entered, left]: an open pause lasts until today and is assumed to end then."""
    return any(p.entered < day <= (p.left or today) for p in pauses)


def count_with_pauses(
    calendar: WorkingCalendar,
    start: dt.date,
    count: int,
    pauses: Sequence[Pause],
    today: dt.date,
    calendar_days: bool = False,
) -> tuple[dt.date, int, list[DayNote]]:
    """The due date, the working days paused, and a note for every day walked."""
    day = start
    counted = 0
    paused = 0
    notes: list[DayNote] = []
    while counted < count:
        day += dt.timedelta(days=1)
        if (day - start).days > MAX_SPAN_DAYS:
            raise ValueError("deadline span exceeds ten years")
        note = calendar.note(day)
        if calendar_days:
            note = DayNote(day, True, note.kind, note.name, note.official)
        if note.working and _paused_on(day, pauses, today):
            paused += 1
            note = DayNote(day, False, "paused", note.name, note.official)
        elif note.working:
            counted += 1
        notes.append(note)
    return day, paused, notes


def working_days_left(calendar: WorkingCalendar, today: dt.date, due: dt.date) -> int:
    """Working days from tomorrow to the due date (0 on the day, negative once overdue)."""
    if due >= today:
        return sum(1 for n in range(1, (due - today).days + 1) if calendar.is_working_day(today + dt.timedelta(n)))
    return -sum(1 for n in range(0, (today - due).days) if calendar.is_working_day(today - dt.timedelta(n)))


@dataclass(frozen=True)
class ItemDeadline:
    policy: DeadlinePolicy
    label_zh: str
    label_en: str
    status: DeadlineStatus
    applies_now: bool
    """Counts for the item now: an open item deadline, or the deadline of the state it is in."""


def item_deadlines(
    definition: Definition,
    state: str,
    events: Sequence[Event],
    fields: Mapping[str, Any],
    calendar: WorkingCalendar,
    today: dt.date,
) -> list[ItemDeadline]:
    """Every deadline a definition declares, as the item's history stands on ``today``."""
    found: list[ItemDeadline] = []
    for spec in definition.deadlines:
        policy = spec.policy
        start_value = fields.get(policy.start_field) if policy.start_field else None
        field_start = dt.date.fromisoformat(str(start_value)) if start_value else None
        status = compute(policy, events, calendar, today, field_start)
        open_ = status.status in ("running", "paused", "suspended")
        own_state = policy.start_state is None or policy.start_state == state
        applies = open_ and own_state and not definition.states[state].terminal
        found.append(ItemDeadline(policy, spec.label.zh, spec.label.en, status, applies))
    return found


def current_due(deadlines: Sequence[ItemDeadline]) -> dt.date | None:
    """The due date that applies now: the earliest of the open deadlines that apply."""
    dues = [d.status.due for d in deadlines if d.applies_now and d.status.due is not None]
    return min(dues) if dues else None
