"""Working days on China's official calendar, with facts checked against the State Council notices."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from workflow.core.calendar import WorkingCalendar, load_calendar
from workflow.core.errors import DefinitionError

D = dt.date
CAL = WorkingCalendar()


@pytest.mark.parametrize(
    ("day", "working", "kind"),
    [
        (D(2025, 1, 26), True, "makeup_workday"),  # Sunday worked before the 2025 Spring Festival
        (D(2025, 1, 28), False, "holiday"),
        (D(2025, 2, 4), False, "holiday"),
        (D(2025, 2, 5), True, "weekday"),
        (D(2025, 2, 8), True, "makeup_workday"),  # Saturday worked after it
        (D(2025, 10, 1), False, "holiday"),
        (D(2025, 10, 8), False, "holiday"),
        (D(2025, 10, 11), True, "makeup_workday"),
        (D(2026, 1, 4), True, "makeup_workday"),
        (D(2026, 2, 14), True, "makeup_workday"),
        (D(2026, 2, 15), False, "holiday"),
        (D(2026, 2, 23), False, "holiday"),
        (D(2026, 2, 28), True, "makeup_workday"),
        (D(2026, 9, 20), True, "makeup_workday"),
        (D(2026, 10, 7), False, "holiday"),
        (D(2026, 3, 7), False, "weekend"),
    ],
)
def test_day_kinds(day: dt.date, working: bool, kind: str) -> None:
    note = CAL.note(day)
    assert (note.working, note.kind, note.official) == (working, kind, True)


def test_twenty_working_days_across_the_2026_spring_festival_ends_on_a_makeup_saturday() -> None:
    counted = CAL.count(D(2026, 1, 26), 20)
    assert counted.due == D(2026, 2, 28)
    assert counted.missing_years == ()
    skipped = [n.day for n in counted.days if not n.working]
    assert D(2026, 2, 15) in skipped and D(2026, 2, 23) in skipped
    assert sum(n.working for n in counted.days) == 20


def test_the_day_of_receipt_is_not_counted() -> None:
    # Received on a Monday: the first working day counted is Tuesday.
    assert CAL.add_working_days(D(2026, 3, 2), 1) == D(2026, 3, 3)
    # Received on a Friday: Monday.
    assert CAL.add_working_days(D(2026, 3, 6), 1) == D(2026, 3, 9)
    assert CAL.add_working_days(D(2026, 3, 6), 0) == D(2026, 3, 6)


def test_2025_spring_festival_and_national_day() -> None:
    # 2025-01-24 (Fri) + 5 working days: 01-26 (Sun, make-up), 01-27, then the festival, 02-05, 02-06, 02-07.
    assert CAL.add_working_days(D(2025, 1, 24), 5) == D(2025, 2, 7)
    # 2025-09-30 + 1: the National Day and Mid-autumn holiday runs 10-01..10-08; 10-09 is next.
    assert CAL.add_working_days(D(2025, 9, 30), 1) == D(2025, 10, 9)
    # 2025-09-26 (Fri) + 2: 09-28 (Sun) is a make-up working day, then 09-29.
    assert CAL.add_working_days(D(2025, 9, 26), 2) == D(2025, 9, 29)


def test_a_year_without_official_data_is_counted_but_flagged() -> None:
    counted = CAL.count(D(2026, 12, 28), 10)
    assert counted.missing_years == (2027,)
    assert not CAL.has_official_data(2027)
    assert any(not n.official for n in counted.days)


def test_office_overrides_and_covered_years(tmp_path: Path) -> None:
    (tmp_path / "calendar.yaml").write_text(
        "days_off:\n  - {date: 2026-03-03, reason: 镇人代会}\n"
        "working_days:\n  - {date: 2026-03-07, reason: 防汛值班}\n"
        "covered_years: [2027]\n",
        encoding="utf-8",
    )
    cal = load_calendar(tmp_path)
    assert cal.note(D(2026, 3, 3)).kind == "override_off"
    assert cal.note(D(2026, 3, 7)).working
    assert cal.add_working_days(D(2026, 3, 2), 2) == D(2026, 3, 5)
    assert cal.has_official_data(2027)
    assert cal.data_version() != CAL.data_version()


def test_bad_calendar_file_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "calendar.yaml").write_text("days_off:\n  - {date: 2026-13-01}\nholidays: []\n", encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_calendar(tmp_path)
    lines = {(p.line, p.key) for p in caught.value.problems}
    assert lines == {(2, "calendar.bad_entry"), (3, "calendar.unknown_key")}


def test_bundled_calendar_file_loads() -> None:
    cal = load_calendar(Path(__file__).resolve().parent.parent / "definitions")
    assert cal.overrides == {}
