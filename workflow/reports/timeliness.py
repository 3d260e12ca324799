"""Timeliness statistics: how long each stage and each time limit took, in working days, and who was late.

Pure: the items' audit histories (read by :mod:`workflow.store.stage_history`), their pinned
definitions and the office calendar go in; figures come out. Days are counted as the deadlines
count them (:mod:`workflow.core.deadlines`): the day a stage is entered is not counted, the day it
is left is; a limit's paused days (a third party consulted) are not counted, a restart (a corrected
application, a revision) starts it afresh. A policy declared in calendar days counts calendar days.

- A **stage** is a state of a definition with a role, entered and left by a decision; leaving it
  is one handling, by the person who acted (a state left only by the worker at a set time, such as
  ``scheduled``, is a wait by design and not counted). Its limit is the state's declared deadline.
- A **limit** is a whole-item time limit of the definition (``publication``, ``statutory_reply``),
  walked through the same clock as the deadlines; each time it is met is one handling, by the
  person whose decision met it.

A handling counts in the period when it happened, in office time, whenever the item was created.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from workflow.core.calendar import WorkingCalendar
from workflow.core.deadlines import ClockState, Event, Pause, advance, evaluate, start_clock
from workflow.core.definition import Definition, Label
from workflow.core.errors import InvalidInput
from workflow.store.stage_history import ItemHistory, Step

STAGE = "stage"
LIMIT = "limit"
MAX_PERIOD_DAYS = 3660
"""A period longer than ten years is a typing mistake, not a report."""


@dataclass(frozen=True)
class Handled:
    """One stage left, or one time limit met, by one item."""

    kind: str
    """``stage`` or ``limit``."""
    definition: str
    definition_label: Label
    name: str
    """The state's name (a stage) or the policy's (a limit)."""
    label: Label
    item_id: int
    reference: str
    title: str
    category: str | None
    person: str
    """Who acted to leave the stage or meet the limit."""
    on_behalf_of: str | None
    trigger: str
    start: dt.date
    end: dt.date
    days: int
    """Working days taken (calendar days when the limit is declared so), paused days left out."""
    limit: int | None
    """The declared limit in days (with an extension granted); None when the stage has none."""
    calendar_days: bool
    due: dt.date | None
    days_late: int
    """0 in time; else the working (or calendar) days after the due date, at least 1."""
    missing_years: tuple[int, ...] = ()

    @property
    def late(self) -> bool:
        return self.days_late > 0


@dataclass(frozen=True)
class Group:
    """The figures of one row: a stage, a person at a stage, or a sub-directory's limit."""

    kind: str
    definition: str
    definition_label: Label
    name: str
    label: Label
    person: str | None
    category: str | None
    handled: int
    median: float
    p90: int
    limits: tuple[int, ...]
    """The limits declared for the handlings (one, unless a definition changed or an extension was granted)."""
    calendar_days: bool
    with_limit: int
    within: int
    late: tuple[Handled, ...]

    @property
    def share_within(self) -> float | None:
        """Handlings within the limit among those that have one; None when none has."""
        return self.within / self.with_limit if self.with_limit else None


@dataclass(frozen=True)
class TimelinessReport:
    start: dt.date
    end: dt.date
    handled: tuple[Handled, ...]
    stages: tuple[Group, ...]
    """Every stage and limit, in the order of the definitions."""
    people: tuple[Group, ...]
    """Each person at each stage they left."""
    categories: tuple[Group, ...]
    """Each catalogue sub-directory under each whole-item limit (``category`` None: none, e.g. applications)."""
    late: tuple[Handled, ...]
    """Every late handling, the latest first."""
    missing_years: tuple[int, ...]
    """Years counted with weekends only, for want of official calendar data."""


def check_period(start: dt.date, end: dt.date) -> None:
    """A period runs forward and is shorter than ten years."""
    if end < start:
        raise InvalidInput("report.period_backwards", start=start.isoformat(), end=end.isoformat())
    if (end - start).days > MAX_PERIOD_DAYS:
        raise InvalidInput("report.period_too_long", start=start.isoformat(), end=end.isoformat())


def count_days(
    calendar: WorkingCalendar,
    start: dt.date,
    end: dt.date,
    pauses: Sequence[Pause] = (),
    calendar_days: bool = False,
) -> int:
    """Days in (start, end] as a deadline counts them: working days (or every day), paused ones left out."""
    total = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if any(p.entered < day <= (p.left or end) for p in pauses):
            continue
        if calendar_days or calendar.is_working_day(day):
            total += 1
    return total


def percentile(values: Sequence[int], share: float) -> int:
    """The nearest-rank percentile: the least value that ``share`` of the values do not exceed
    ("nine in ten were handled within N working days")."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share * len(ordered))) - 1]


def handlings(history: ItemHistory, definition: Definition, calendar: WorkingCalendar, zone: ZoneInfo) -> list[Handled]:
    """Every stage the item left and every limit it met, over its whole history."""
    days = [step.at.astimezone(zone).date() for step in history.steps]
    found = _stages(history, definition, calendar, days)
    found.extend(_limits(history, definition, calendar, days))
    return found


def _stages(
    history: ItemHistory, definition: Definition, calendar: WorkingCalendar, days: list[dt.date]
) -> list[Handled]:
    policies = {spec.policy.name: spec.policy for spec in definition.deadlines}
    timed = {source for t in definition.timed_transitions for source in t.sources}
    found: list[Handled] = []
    open_stage: tuple[str, dt.date] | None = None
    for step, on in zip(history.steps, days, strict=True):
        if step.to_state is None or step.to_state == step.from_state:
            continue
        if open_stage is not None and step.from_state == open_stage[0]:
            state = definition.states[open_stage[0]]
            policy = policies.get(f"state:{state.name}")
            limit: int | None = None
            due: dt.date | None = None
            calendar_days = False
            if policy is not None:
                status = evaluate(policy, ClockState(start=open_stage[1], met_on=on), calendar, on)
                limit, due, calendar_days = policy.working_days, status.due, policy.calendar_days
            found.append(
                _handled(history, definition, STAGE, state.name, state.label, step, open_stage[1], on,
                         count_days(calendar, open_stage[1], on, (), calendar_days), limit, due, calendar_days,
                         calendar, (), ())
            )  # fmt: skip
        entered = definition.states.get(step.to_state)
        counted = entered is not None and entered.roles and not entered.terminal and entered.name not in timed
        open_stage = (step.to_state, on) if counted else None
    return found


def _limits(
    history: ItemHistory, definition: Definition, calendar: WorkingCalendar, days: list[dt.date]
) -> list[Handled]:
    found: list[Handled] = []
    for spec in definition.deadlines:
        policy = spec.policy
        if policy.name.startswith("state:"):
            continue  # a state's own limit: counted with its stage
        clock = start_clock(policy, _field_date(history.fields.get(policy.start_field or "")))
        for step, on in zip(history.steps, days, strict=True):
            before = clock
            clock = advance(
                policy, clock, Event(on, step.trigger, step.from_state, step.to_state or step.from_state or "")
            )
            if before.met_on is not None or clock.met_on is None or clock.start is None:
                continue
            status = evaluate(policy, clock, calendar, clock.met_on)
            taken = count_days(calendar, clock.start, clock.met_on, clock.pauses, policy.calendar_days)
            found.append(
                _handled(history, definition, LIMIT, policy.name, spec.label, step, clock.start, clock.met_on, taken,
                         policy.working_days + clock.extension, status.due, policy.calendar_days, calendar,
                         tuple(clock.pauses), status.missing_years)
            )  # fmt: skip
    return found


def _handled(
    history: ItemHistory,
    definition: Definition,
    kind: str,
    name: str,
    label: Label,
    step: Step,
    start: dt.date,
    end: dt.date,
    taken: int,
    limit: int | None,
    due: dt.date | None,
    calendar_days: bool,
    calendar: WorkingCalendar,
    pauses: tuple[Pause, ...],
    missing_years: tuple[int, ...],
) -> Handled:
    late = 0
    if due is not None and end > due:
        late = max(1, count_days(calendar, due, end, pauses, calendar_days))
    return Handled(
        kind=kind, definition=definition.name, definition_label=definition.label, name=name, label=label,
        item_id=history.item_id, reference=history.reference, title=history.title, category=history.category,
        person=step.actor, on_behalf_of=step.on_behalf_of, trigger=step.trigger, start=start, end=end, days=taken,
        limit=limit, calendar_days=calendar_days, due=due, days_late=late, missing_years=missing_years,
    )  # fmt: skip


def _field_date(value: object) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def count(
    histories: Iterable[ItemHistory],
    definition_of: Callable[[ItemHistory], Definition],
    calendar: WorkingCalendar,
    zone: ZoneInfo,
    start: dt.date,
    end: dt.date,
) -> TimelinessReport:
    """The report of the handlings from ``start`` to ``end`` (both included, office time)."""
    check_period(start, end)
    kept: list[Handled] = []
    order: dict[tuple[str, str, str], int] = {}
    for history in histories:
        definition = definition_of(history)
        for handled in handlings(history, definition, calendar, zone):
            if start <= handled.end <= end:
                kept.append(handled)
        for index, spec in enumerate(definition.deadlines):
            if not spec.policy.name.startswith("state:"):
                order.setdefault((definition.name, LIMIT, spec.policy.name), index)
        for index, state in enumerate(definition.states):
            order.setdefault((definition.name, STAGE, state), 100 + index)
    kept.sort(key=lambda h: (h.end, h.reference, h.kind, h.name))

    def place(h: Handled) -> tuple[str, int, str]:
        return (h.definition, order.get((h.definition, h.kind, h.name), 999), h.name)

    stages = _groups(kept, lambda h: (*place(h), h.kind), person=False, category=False)
    people = _groups([h for h in kept if h.kind == STAGE], lambda h: (h.person, *place(h)), person=True, category=False)
    categories = _groups(
        [h for h in kept if h.kind == LIMIT], lambda h: (h.category or "~", *place(h)), person=False, category=True
    )
    late = sorted((h for h in kept if h.late), key=lambda h: (-h.days_late, h.end, h.reference))
    missing = tuple(sorted({year for h in kept for year in h.missing_years}))
    return TimelinessReport(start, end, tuple(kept), stages, people, categories, tuple(late), missing)


def _groups(
    handled: Sequence[Handled], key: Callable[[Handled], tuple[object, ...]], *, person: bool, category: bool
) -> tuple[Group, ...]:
    buckets: dict[tuple[object, ...], list[Handled]] = {}
    for h in handled:
        buckets.setdefault(key(h), []).append(h)
    return tuple(_group(rows, person, category) for _, rows in sorted(buckets.items(), key=_sort_key))


def _sort_key(entry: tuple[tuple[object, ...], list[Handled]]) -> tuple[str, ...]:
    return tuple(f"{part:09d}" if isinstance(part, int) else str(part) for part in entry[0])


def _group(rows: Sequence[Handled], person: bool, category: bool) -> Group:
    first = rows[0]
    days = [h.days for h in rows]
    limited = [h for h in rows if h.limit is not None]
    return Group(
        kind=first.kind, definition=first.definition, definition_label=first.definition_label, name=first.name,
        label=first.label, person=first.person if person else None, category=first.category if category else None,
        handled=len(rows), median=float(statistics.median(days)), p90=percentile(days, 0.9),
        limits=tuple(sorted({h.limit for h in limited if h.limit is not None})),
        calendar_days=first.calendar_days, with_limit=len(limited), within=sum(1 for h in limited if not h.late),
        late=tuple(h for h in rows if h.late),
    )  # fmt: skip
