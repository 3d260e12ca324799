"""Who was late: the steps of an item's history that overran their state's own deadline.

An escalation tells the leader not only who holds the item now but the whole chain of
who was late before (a review that took 8 working days of its 5, say). Pure: the audit
history and the calendar in, the steps out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from workflow.core.calendar import WorkingCalendar
from workflow.core.definition import DeadlinePolicy, Definition


@dataclass(frozen=True)
class HistoryStep:
    """One audit row reduced to what the chain needs."""

    on: dt.date
    trigger: str
    actor: str
    from_state: str | None
    to_state: str


@dataclass(frozen=True)
class StateVisit:
    state: str
    entered_on: dt.date
    due_on: dt.date | None
    """The state's own deadline for this visit; None when the state declares none."""
    done_on: dt.date | None = None
    done_by: str | None = None

    def late(self, today: dt.date) -> bool:
        return self.due_on is not None and (self.done_on or today) > self.due_on


def state_visits(definition: Definition, history: Sequence[HistoryStep], calendar: WorkingCalendar) -> list[StateVisit]:
    """Each stay in a state, in order: entered, due (by the state's deadline), left and by whom."""
    policies = {
        spec.policy.start_state: spec.policy
        for spec in definition.deadlines
        if spec.policy.name == f"state:{spec.policy.start_state}"
    }
    visits: list[StateVisit] = []
    current: StateVisit | None = None
    for step in history:
        if step.from_state == step.to_state:
            continue  # an internal transition: the stay goes on
        if current is not None:
            visits.append(StateVisit(current.state, current.entered_on, current.due_on, step.on, step.actor))
        policy = policies.get(step.to_state)
        current = StateVisit(step.to_state, step.on, _due(policy, step.on, calendar) if policy else None)
    if current is not None:
        visits.append(current)
    return visits


def earlier_late_visits(
    definition: Definition, history: Sequence[HistoryStep], calendar: WorkingCalendar
) -> list[StateVisit]:
    """The finished stays of the item's current revision that were done late (a revision starts afresh)."""
    starts = {t.trigger for t in definition.transitions if t.starts_revision}
    first = max((index for index, step in enumerate(history) if step.trigger in starts), default=0)
    return [
        visit
        for visit in state_visits(definition, history[first:], calendar)
        if visit.done_on is not None and visit.late(visit.done_on)
    ]


def _due(policy: DeadlinePolicy, entered: dt.date, calendar: WorkingCalendar) -> dt.date:
    if policy.calendar_days:
        return entered + dt.timedelta(days=policy.working_days)
    return calendar.add_working_days(entered, policy.working_days)
