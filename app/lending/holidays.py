"""Chinese working days for due dates: `chinese_calendar` where it has data, else weekends + an admin table."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import date, timedelta

import chinese_calendar


class HolidayDataWarning(UserWarning):
    """A date lies outside the years `chinese_calendar` has published data for."""


@dataclass
class HolidayCalendar:
    """Decides whether a date is a working day in mainland China.

    Inside `chinese_calendar`'s published years its data is authoritative (public holidays and
    the weekend days worked in lieu). Outside them the calendar falls back to Monday–Friday minus
    `admin_holidays` (the table an administrator maintains) and warns once per year.
    """

    admin_holidays: frozenset[date] = frozenset()
    _warned_years: set[int] = field(default_factory=set, init=False, repr=False, compare=False)

    def is_working_day(self, day: date) -> bool:
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            self._warn_fallback(day.year)
            return day.weekday() < 5 and day not in self.admin_holidays

    def next_working_day(self, day: date) -> date:
        """`day` itself when it is a working day, else the first working day after it."""
        for _ in range(60):
            if self.is_working_day(day):
                return day
            day += timedelta(days=1)
        raise ValueError(f"no working day within 60 days after {day.isoformat()}")

    def _warn_fallback(self, year: int) -> None:
        if year in self._warned_years:
            return
        self._warned_years.add(year)
        warnings.warn(
            HolidayDataWarning(
                f"chinese_calendar has no holiday data for {year}; "
                "due dates use weekends and the admin holiday table instead"),
            stacklevel=3,
        )
