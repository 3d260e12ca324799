"""Timeliness figures counted from a constructed history in working days (tests/timeliness_history.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from tests.conftest import FrozenClock
from tests.timeliness_history import build
from workflow.core.calendar import WorkingCalendar
from workflow.core.errors import InvalidInput
from workflow.engine import WorkflowEngine
from workflow.reports.timeliness import Group, TimelinessReport, count_days, percentile
from workflow.reports.timeliness_source import timeliness_report

APRIL = (dt.date(2026, 4, 1), dt.date(2026, 4, 30))


def group(groups: tuple[Group, ...], name: str, definition: str = "proactive_disclosure", **match: object) -> Group:
    found = [
        g for g in groups
        if g.name == name and g.definition == definition and all(getattr(g, k) == v for k, v in match.items())
    ]  # fmt: skip
    assert len(found) == 1, [(g.name, g.person, g.category) for g in groups]
    return found[0]


@pytest.fixture
def april(engine: WorkflowEngine, clock: FrozenClock, make_item: Callable[..., int]) -> TimelinessReport:
    build(engine, clock, make_item)
    return timeliness_report(engine, *APRIL)


def test_stage_figures_in_working_days_across_the_holiday(april: TimelinessReport) -> None:
    review = group(april.stages, "confidentiality_review")
    assert (review.handled, review.median, review.p90, review.limits) == (3, 5.0, 7, (5,))
    assert (review.with_limit, review.within, review.share_within) == (3, 2, pytest.approx(2 / 3))
    assert [(h.reference, h.days_late, h.due) for h in review.late] == [
        (review.late[0].reference, 2, dt.date(2026, 4, 13))
    ]
    assert review.late[0].title == "丙 应急预案"
    signoff = group(april.stages, "leadership_signoff")
    assert (signoff.handled, signoff.median, signoff.p90, signoff.within) == (3, 1.0, 4, 2)
    assert [(h.title, h.days, h.days_late, h.person) for h in signoff.late] == [("乙 预算公开", 4, 1, "leader_b")]
    drafting = group(april.stages, "drafting")
    assert (drafting.handled, drafting.median, drafting.limits, drafting.share_within) == (3, 0.0, (), None)


def test_whole_item_limits_count_as_the_deadlines_do(april: TimelinessReport) -> None:
    publication = group(april.stages, "publication")
    assert publication.kind == "limit"
    assert (publication.handled, publication.median, publication.p90, publication.limits) == (3, 8.0, 9, (20,))
    assert publication.within == 3
    # The application's reply: 9 working days from receipt to the answer, 4 of them with the third party.
    reply = group(april.stages, "statutory_reply", "disclosure_request")
    assert (reply.handled, reply.median, reply.within, reply.limits) == (1, 5.0, 1, (20,))
    (answer,) = [h for h in april.handled if h.name == "statutory_reply"]
    assert (answer.start, answer.end, answer.person) == (dt.date(2026, 4, 1), dt.date(2026, 4, 15), "leader_a")
    received = group(april.stages, "received", "disclosure_request")
    assert (received.handled, received.median, received.within) == (1, 0.0, 1)
    processing = group(april.stages, "processing", "disclosure_request")
    assert (processing.handled, processing.median) == (2, 1.0)
    consulted = group(april.stages, "third_party_consultation", "disclosure_request")
    assert consulted.median == 4.0


def test_per_person_and_per_sub_directory(april: TimelinessReport) -> None:
    a = group(april.people, "confidentiality_review", person="reviewer_a")
    assert (a.handled, a.median, a.p90, a.within) == (2, 4.0, 5, 2)
    b = group(april.people, "confidentiality_review", person="reviewer_b")
    assert (b.handled, b.within, b.late[0].days_late) == (1, 0, 2)
    leader_a = group(april.people, "leadership_signoff", person="leader_a")
    assert (leader_a.handled, leader_a.within) == (2, 2)
    reports = group(april.categories, "publication", category="03")
    assert (reports.handled, reports.median, reports.p90) == (2, 6.5, 9)
    emergency = group(april.categories, "publication", category="07")
    assert (emergency.handled, emergency.median) == (1, 8.0)
    assert group(april.categories, "statutory_reply", "disclosure_request").category is None


def test_late_items_with_how_late_latest_first(april: TimelinessReport) -> None:
    assert [(h.title, h.name, h.days_late) for h in april.late] == [
        ("丙 应急预案", "confidentiality_review", 2),
        ("乙 预算公开", "leadership_signoff", 1),
    ]


def test_a_handling_counts_in_the_period_it_happened_in_office_time(
    engine: WorkflowEngine, clock: FrozenClock, make_item: Callable[..., int]
) -> None:
    build(engine, clock, make_item)
    # A's sign-off at 01:30 on the 8th office time (the 7th in UTC) counts on the 8th.
    eighth = timeliness_report(engine, dt.date(2026, 4, 8), dt.date(2026, 4, 8))
    assert {(h.title, h.name) for h in eighth.handled} == {
        ("甲 防汛安排", "leadership_signoff"),
        ("甲 防汛安排", "publication"),
    }
    seventh = timeliness_report(engine, dt.date(2026, 4, 7), dt.date(2026, 4, 7))
    assert [(h.title, h.name) for h in seventh.handled] == [("甲 防汛安排", "confidentiality_review")]
    # Up to the 15th: B's and C's sign-offs (the 16th) are not there yet; review of C (15th) is.
    early = timeliness_report(engine, dt.date(2026, 4, 1), dt.date(2026, 4, 15))
    assert group(early.stages, "leadership_signoff").handled == 1
    assert group(early.stages, "confidentiality_review").handled == 3
    assert timeliness_report(engine, dt.date(2026, 5, 1), dt.date(2026, 5, 31)).handled == ()


def test_a_period_that_runs_backwards_is_refused(engine: WorkflowEngine) -> None:
    with pytest.raises(InvalidInput) as refused:
        timeliness_report(engine, dt.date(2026, 4, 30), dt.date(2026, 4, 1))
    assert refused.value.key == "report.period_backwards"
    assert "2026-04-01" in str(refused.value)


def test_counting_helpers() -> None:
    calendar = WorkingCalendar()
    # Thu 2 April to Tue 7 April: Fri 3 and Tue 7 (the holiday and the weekend between are not counted).
    assert count_days(calendar, dt.date(2026, 4, 2), dt.date(2026, 4, 7)) == 2
    assert count_days(calendar, dt.date(2026, 4, 2), dt.date(2026, 4, 7), calendar_days=True) == 5
    assert count_days(calendar, dt.date(2026, 4, 2), dt.date(2026, 4, 2)) == 0
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == 9
    assert percentile([3, 1], 0.9) == 3
    assert percentile([4], 0.9) == 4
