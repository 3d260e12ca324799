"""The chain of who was late: each stay in a state against that state's own deadline."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import DEFINITIONS
from workflow.core.calendar import WorkingCalendar, load_calendar
from workflow.core.latechain import HistoryStep, earlier_late_visits, state_visits
from workflow.core.loader import load_definition_file

D = dt.date


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    return load_calendar(DEFINITIONS)


def step(on: dt.date, trigger: str, actor: str, source: str | None, dest: str) -> HistoryStep:
    return HistoryStep(on, trigger, actor, source, dest)


def test_each_stay_is_measured_against_its_states_deadline_across_a_holiday(calendar: WorkingCalendar) -> None:
    definition = load_definition_file(DEFINITIONS / "proactive_disclosure.yaml")
    history = [
        step(D(2025, 9, 26), "create", "drafter_a", None, "drafting"),
        step(D(2025, 9, 29), "submit", "drafter_a", "drafting", "confidentiality_review"),
        # 5 working days from Mon 29 Sep 2025: 30 Sep, then the National Day holiday (1-8 Oct),
        # Sat 11 Oct is a make-up working day: 9, 10, 11, 13 Oct -> due Mon 13 Oct.
        step(D(2025, 10, 14), "clear", "reviewer_a", "confidentiality_review", "leadership_signoff"),
    ]
    visits = state_visits(definition, history, calendar)
    assert [v.state for v in visits] == ["drafting", "confidentiality_review", "leadership_signoff"]
    review = visits[1]
    assert review.due_on == D(2025, 10, 13)
    assert (review.done_on, review.done_by) == (D(2025, 10, 14), "reviewer_a")
    assert review.late(D(2026, 1, 1))
    assert visits[0].due_on is None  # drafting has no state deadline of its own
    assert visits[2].done_on is None
    late = earlier_late_visits(definition, history, calendar)
    assert [v.state for v in late] == ["confidentiality_review"]


def test_a_stay_done_on_its_due_day_is_not_late(calendar: WorkingCalendar) -> None:
    definition = load_definition_file(DEFINITIONS / "proactive_disclosure.yaml")
    history = [
        step(D(2025, 9, 29), "submit", "drafter_a", "drafting", "confidentiality_review"),
        step(D(2025, 10, 13), "clear", "reviewer_a", "confidentiality_review", "leadership_signoff"),
    ]
    assert earlier_late_visits(definition, history, calendar) == []


def test_a_new_revision_starts_a_new_round(calendar: WorkingCalendar) -> None:
    definition = load_definition_file(DEFINITIONS / "proactive_disclosure.yaml")
    history = [
        step(D(2026, 3, 2), "submit", "drafter_a", "drafting", "confidentiality_review"),
        step(D(2026, 3, 20), "clear", "reviewer_a", "confidentiality_review", "leadership_signoff"),
        step(D(2026, 3, 23), "sign_off", "leader_a", "leadership_signoff", "published"),
        step(D(2026, 6, 1), "revise", "drafter_a", "published", "drafting"),
        step(D(2026, 6, 2), "submit", "drafter_a", "drafting", "confidentiality_review"),
    ]
    assert earlier_late_visits(definition, history, calendar) == []
    assert len(earlier_late_visits(definition, history[:3], calendar)) == 1


def test_internal_transitions_do_not_end_a_stay(calendar: WorkingCalendar) -> None:
    definition = load_definition_file(DEFINITIONS / "disclosure_request.yaml")
    history = [
        step(D(2026, 3, 2), "register", "office_a", "received", "processing"),
        step(D(2026, 3, 20), "extend", "leader_a", "processing", "processing"),
    ]
    visits = state_visits(definition, history, calendar)
    assert [(v.state, v.done_on) for v in visits] == [("processing", None)]
