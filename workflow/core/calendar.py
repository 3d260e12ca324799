"""China's working days: the national calendar (``chinesecalendar``) plus office overrides.

Pure: every function takes the dates it needs. Statutory holidays and make-up working
days (调休) come from ``chinesecalendar``, which has official data for 2004 to its last
published year. For a year it does not know, the calendar counts weekends only and
says so on every answer (``missing_years``, ``DayNote.official``) rather than being
silently wrong; the office can supply that year's days in ``definitions/calendar.yaml``
and declare the year covered there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chinese_calendar

from workflow.core.errors import CalendarError
from workflow.core.i18n import N_, translator

CALENDAR_FILE = "calendar.yaml"

HOLIDAY_NAMES: dict[str, str] = {
    # chinesecalendar's English names (its own keys), translated by the catalogues.
    "New Year's Day": N_("New Year's Day"),
    "Spring Festival": N_("Spring Festival"),
    "Tomb-sweeping Day": N_("Tomb-sweeping Day"),
    "Labour Day": N_("Labour Day"),
    "Dragon Boat Festival": N_("Dragon Boat Festival"),
    "National Day": N_("National Day"),
    "Mid-autumn Festival": N_("Mid-autumn Festival"),
    "Anti-Fascist 70th Day": N_("Anti-Fascist 70th Day"),
}


@dataclass(frozen=True)
class Override:
    day: dt.date
    working: bool
    reason: str


@dataclass(frozen=True)
class DayNote:
    """One calendar day and why it is, or is not, a working day."""

    day: dt.date
    working: bool
    kind: str
    """weekday, weekend, holiday, makeup_workday, override_off, override_on."""
    name: str | None = None
    """The holiday's name (English, as the national data gives it) or the override's reason."""
    official: bool = True
    """False when no official data covers the day's year: only weekends were counted."""


@dataclass(frozen=True)
class WorkingCalendar:
    overrides: Mapping[dt.date, bool] = field(default_factory=dict)
    """Office overrides: a date mapped to True (worked) or False (day off)."""
    reasons: Mapping[dt.date, str] = field(default_factory=dict)
    covered_years: frozenset[int] = frozenset()
    """Years the office declares complete in its overrides (for years without national data)."""
    source: str = "definitions/calendar.yaml"
    _notes: dict[dt.date, DayNote] = field(default_factory=dict, compare=False, repr=False)
    """Answers already worked out: chinesecalendar scans its whole table on every call."""

    def note(self, day: dt.date) -> DayNote:
        cached = self._notes.get(day)
        if cached is None:
            cached = self._notes[day] = self._work_out(day)
        return cached

    def _work_out(self, day: dt.date) -> DayNote:
        if day in self.overrides:
            working = self.overrides[day]
            return DayNote(day, working, "override_on" if working else "override_off", self.reasons.get(day))
        try:
            working = bool(chinese_calendar.is_workday(day))
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:
            weekend = day.weekday() >= 5
            official = day.year in self.covered_years
            return DayNote(day, not weekend, "weekend" if weekend else "weekday", None, official)
        weekend = day.weekday() >= 5
        if working:
            kind = "makeup_workday" if weekend else "weekday"
            return DayNote(day, True, kind, name if weekend else None)
        if name is not None and on_holiday:
            return DayNote(day, False, "holiday", name)
        return DayNote(day, False, "weekend")

    def is_working_day(self, day: dt.date) -> bool:
        return self.note(day).working

    def has_official_data(self, year: int) -> bool:
        if year in self.covered_years:
            return True
        try:
            chinese_calendar.is_workday(dt.date(year, 6, 1))
        except NotImplementedError:
            return False
        return True

    def add_working_days(self, start: dt.date, count: int) -> dt.date:
        """The date ``count`` working days after ``start``; ``start`` itself is not counted."""
        return self.count(start, count).due

    def count(self, start: dt.date, count: int) -> WorkingDayCount:
        """Day by day from the day after ``start`` until ``count`` working days are counted."""
        if count < 0:
            raise ValueError("count must not be negative")
        notes: list[DayNote] = []
        day = start
        remaining = count
        while remaining > 0:
            day += dt.timedelta(days=1)
            note = self.note(day)
            notes.append(note)
            if note.working:
                remaining -= 1
        missing = sorted({n.day.year for n in notes if not n.official})
        return WorkingDayCount(start, count, day, tuple(notes), tuple(missing))

    def data_version(self) -> str:
        """Which calendar data a date was computed with: the package version and the overrides."""
        overrides = ",".join(f"{d.isoformat()}={int(w)}" for d, w in sorted(self.overrides.items()))
        covered = ",".join(str(y) for y in sorted(self.covered_years))
        digest = hashlib.sha256(f"{overrides};{covered}".encode()).hexdigest()[:8]
        return f"chinesecalendar-{national_data_version()}+office-{digest}"

    def require_official(self, year: int) -> None:
        """For callers that must not go on without data: raise, naming the year."""
        if not self.has_official_data(year):
            raise CalendarError("calendar.no_data", year=year)


@dataclass(frozen=True)
class WorkingDayCount:
    start: dt.date
    count: int
    due: dt.date
    days: tuple[DayNote, ...]
    missing_years: tuple[int, ...]
    """Years counted with weekends only, for want of official data: say so to the user."""


def national_data_version() -> str:
    try:
        return importlib.metadata.version("chinesecalendar")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def holiday_label(name: str | None, lang: str) -> str:
    if name is None:
        return ""
    text = HOLIDAY_NAMES.get(name)
    return translator(lang)._(text) if text else name


def load_calendar(directory: Path) -> WorkingCalendar:
    """The national calendar with the office's overrides from ``calendar.yaml``, if present.

    The file holds ``days_off`` and ``working_days`` (each a list of ``{date, reason}``) and
    ``covered_years`` (years whose every holiday the office has entered itself).
    """
    from workflow.core.errors import DefinitionError
    from workflow.core.validation import Problem
    from workflow.core.yamlsource import YamlSyntaxError, read_yaml

    path = directory / CALENDAR_FILE
    if not path.exists():
        return WorkingCalendar(source=str(path))
    file = str(path)
    try:
        data, source_map = read_yaml(path.read_text(encoding="utf-8"), file)
    except YamlSyntaxError as error:
        raise DefinitionError([Problem(file, error.line, "definition.bad_yaml", {"detail": error.message})]) from None
    except (OSError, UnicodeDecodeError) as error:
        raise DefinitionError([Problem(file, 1, "definition.unreadable", {"detail": str(error)})]) from None
    data = data or {}
    problems: list[Problem] = []
    if not isinstance(data, dict):
        raise DefinitionError([Problem(file, 1, "calendar.bad_file")])
    for key in data:
        if key not in ("days_off", "working_days", "covered_years"):
            problems.append(Problem(file, source_map.line((key,)), "calendar.unknown_key", {"key": key}))
    overrides: dict[dt.date, bool] = {}
    reasons: dict[dt.date, str] = {}
    for key, working in (("days_off", False), ("working_days", True)):
        entries: Any = data.get(key) or []
        if not isinstance(entries, list):
            problems.append(Problem(file, source_map.line((key,)), "calendar.not_list", {"key": key}))
            continue
        for index, entry in enumerate(entries):
            line = source_map.line((key, index))
            day = entry.get("date") if isinstance(entry, dict) else None
            if isinstance(day, str):
                try:
                    day = dt.date.fromisoformat(day)
                except ValueError:
                    day = None
            if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
                problems.append(Problem(file, line, "calendar.bad_entry"))
                continue
            if day in overrides:
                problems.append(Problem(file, line, "calendar.duplicate_day", {"date": day.isoformat()}))
            overrides[day] = working
            reasons[day] = str(entry.get("reason") or "")
    years = data.get("covered_years") or []
    if not isinstance(years, list) or not all(isinstance(y, int) and not isinstance(y, bool) for y in years):
        problems.append(Problem(file, source_map.line(("covered_years",)), "calendar.bad_years"))
        years = []
    if problems:
        raise DefinitionError(problems)
    return WorkingCalendar(overrides, reasons, frozenset(years), source=file)
