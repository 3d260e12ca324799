"""China's working days: the national calendar (``chinesecalendar``) plus office overrides.

Pure: every function takes the dates it needs. A year the national data does not
cover raises :class:`CalendarError`; a legal deadline is never silently wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import chinese_calendar

from workflow.errors import CalendarError


@dataclass(frozen=True)
class WorkingCalendar:
    overrides: Mapping[dt.date, bool] = field(default_factory=dict)
    """Office overrides: a date mapped to True (worked) or False (day off)."""

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            raise CalendarError("calendar.no_data", year=day.year) from None

    def add_working_days(self, start: dt.date, count: int) -> dt.date:
        """The date ``count`` working days after ``start``; ``start`` itself is not counted."""
        day = start
        remaining = count
        while remaining > 0:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day
