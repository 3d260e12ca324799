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

from workflow.core.calendar import DayNote, WorkingCalendar
from workflow.core.definition import DeadlinePolicy, Definition, Label

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
class ClockState:
    """Where one deadline's clock stands after the events so far; stored with the deadline row."""

    start: dt.date | None = None
    suspended: bool = False
    extension: int = 0
    pauses: list[Pause] = field(default_factory=list)
    met_on: dt.date | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "start": _iso(self.start),
            "suspended": self.suspended,
            "extension": self.extension,
            "pauses": [[_iso(p.entered), _iso(p.left)] for p in self.pauses],
            "met_on": _iso(self.met_on),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClockState:
        return cls(
            start=_date(data.get("start")),
            suspended=bool(data.get("suspended")),
            extension=int(data.get("extension") or 0),
            pauses=[Pause(_date(a) or dt.date.min, _date(b)) for a, b in data.get("pauses") or []],
            met_on=_date(data.get("met_on")),
        )


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _date(text: Any) -> dt.date | None:
    return dt.date.fromisoformat(str(text)) if text else None


def start_clock(policy: DeadlinePolicy, field_start: dt.date | None = None) -> ClockState:
    """The clock before any event; a policy that starts from a field starts at its date."""
    return ClockState(start=field_start if policy.start_field is not None else None)


def advance(policy: DeadlinePolicy, state: ClockState, event: Event) -> ClockState:
    """The clock after one more event (the state passed in is not changed)."""
    moved = ClockState(state.start, state.suspended, state.extension, list(state.pauses), state.met_on)
    _apply(policy, moved, event)
    return moved


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
    state = start_clock(policy, field_start)
    for event in events:
        state = advance(policy, state, event)
    return evaluate(policy, state, calendar, today)


def evaluate(policy: DeadlinePolicy, walk: ClockState, calendar: WorkingCalendar, today: dt.date) -> DeadlineStatus:
    """The status of a clock on ``today``: due date, paused days, met or not."""
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


def _apply(policy: DeadlinePolicy, walk: ClockState, event: Event) -> None:
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


def overdue_before(calendar: WorkingCalendar, today: dt.date) -> dt.date:
    """Items due before this day are overdue ``today`` (:func:`working_days_left` below 0): the last
    working day up to today, since a due date is overdue once a working day has passed after it."""
    day = today
    for _ in range(366):
        if calendar.is_working_day(day):
            return day
        day -= dt.timedelta(days=1)
    return day


@dataclass(frozen=True)
class ItemDeadline:
    policy: DeadlinePolicy
    label_zh: str
    label_en: str
    status: DeadlineStatus
    applies_now: bool
    """Counts for the item now: an open item deadline, or the deadline of the state it is in."""

    def label(self, lang: str) -> str:
        """The deadline's name as its definition writes it in ``lang``."""
        return Label(self.label_zh, self.label_en).in_lang(lang)


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
        applies = applies_in(definition, policy, status.status, state)
        found.append(ItemDeadline(policy, spec.label.zh, spec.label.en, status, applies))
    return found


def current_due(deadlines: Sequence[ItemDeadline]) -> dt.date | None:
    """The due date that applies now: the earliest of the open deadlines that apply."""
    dues = [d.status.due for d in deadlines if d.applies_now and d.status.due is not None]
    return min(dues) if dues else None


@dataclass(frozen=True)
class DeadlineRecord:
    """What is stored for one deadline of one item."""

    kind: str
    clock: ClockState
    status: DeadlineStatus
    applies_now: bool


OPEN = ("running", "paused", "suspended")


def applies_in(definition: Definition, policy: DeadlinePolicy, status: str, state: str) -> bool:
    """An open deadline counts now if it is the item's own or that of the state it is in."""
    if definition.states[state].terminal or status not in OPEN:
        return False
    return policy.start_state is None or policy.start_state == state


def step_records(
    definition: Definition,
    state: str,
    stored: Mapping[str, tuple[ClockState, str, bool]],
    event: Event,
    fields: Mapping[str, Any],
    calendar: WorkingCalendar,
    today: dt.date,
) -> list[DeadlineRecord]:
    """The records that change with ``event``; with nothing stored (creation), every record.

    ``stored`` maps a deadline's kind to its clock, status and whether it applied; ``state``
    is the item's state after the event. A clock the event does not move is not evaluated
    again unless whether it applies changed.
    """
    changed: list[DeadlineRecord] = []
    for spec in definition.deadlines:
        policy = spec.policy
        previous = stored.get(policy.name)
        if previous is None:
            value = fields.get(policy.start_field) if policy.start_field else None
            before = start_clock(policy, _date(value))
        else:
            before = previous[0]
        clock = advance(policy, before, event)
        unmoved = previous is not None and clock == before
        if unmoved and previous is not None and applies_in(definition, policy, previous[1], state) == previous[2]:
            continue
        status = evaluate(policy, clock, calendar, today)
        changed.append(DeadlineRecord(policy.name, clock, status, applies_in(definition, policy, status.status, state)))
    return changed
