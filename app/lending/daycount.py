"""Due dates and day counts: monthly clamping, weeks, days, whole term, and year fractions by basis."""
from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from app.lending.money import exact


class Frequency(StrEnum):
    MONTHS = "months"
    WEEKS = "weeks"
    DAYS = "days"
    WHOLE_TERM = "whole_term"


class DaysInYear(StrEnum):
    """Year basis for daily interest. `actual` is 366 in leap years and 365 otherwise."""

    D360 = "360"
    D365 = "365"
    ACTUAL = "actual"


class DaysInMonth(StrEnum):
    """`30` counts every month as 30 days (30/360 style); `actual` counts calendar days."""

    D30 = "30"
    ACTUAL = "actual"


def add_months(anchor: date, months: int) -> date:
    """`anchor` moved by whole months, keeping its day and clamping to the month's end.

    Counted from the anchor each time, so 31 Jan → 28 Feb → 31 Mar, never 28 Mar.
    """
    index = anchor.month - 1 + months
    year, month = anchor.year + index // 12, index % 12 + 1
    return date(year, month, min(anchor.day, calendar.monthrange(year, month)[1]))


def nominal_due_dates(disbursed_on: date, frequency: Frequency, every: int, count: int,
                      maturity_date: date | None = None) -> list[date]:
    """The contractual due dates before any holiday shift."""
    if frequency is Frequency.WHOLE_TERM:
        assert maturity_date is not None
        return [maturity_date]
    if frequency is Frequency.MONTHS:
        return [add_months(disbursed_on, every * j) for j in range(1, count + 1)]
    step = timedelta(days=every * (7 if frequency is Frequency.WEEKS else 1))
    return [disbursed_on + step * j for j in range(1, count + 1)]


def year_length(year: int, basis: DaysInYear) -> int:
    if basis is DaysInYear.ACTUAL:
        return 366 if calendar.isleap(year) else 365
    return int(basis.value)


def _is_month_end(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def days_30(start: date, end: date) -> int:
    """Days between two dates counting each month as 30 days (a month's last day counts as its 30th)."""
    d1 = 30 if _is_month_end(start) else min(start.day, 30)
    d2 = 30 if _is_month_end(end) else min(end.day, 30)
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + d2 - d1


def day_count(start: date, end: date, days_in_month: DaysInMonth) -> int:
    if days_in_month is DaysInMonth.D30:
        return days_30(start, end)
    return (end - start).days


def year_fraction(start: date, end: date, basis: DaysInYear, days_in_month: DaysInMonth) -> Decimal:
    """The fraction of a year between two dates under the basis; `actual` splits at each 1 January."""
    if end <= start:
        return Decimal(0)
    with exact():
        if days_in_month is DaysInMonth.D30:
            per_year = 360 if basis is DaysInYear.ACTUAL else int(basis.value)
            return Decimal(days_30(start, end)) / per_year
        if basis is not DaysInYear.ACTUAL:
            return Decimal((end - start).days) / int(basis.value)
        total = Decimal(0)
        cursor = start
        while cursor < end:
            boundary = min(end, date(cursor.year + 1, 1, 1))
            total += Decimal((boundary - cursor).days) / year_length(cursor.year, basis)
            cursor = boundary
        return total


def nominal_period_days(frequency: Frequency, every: int) -> int:
    """Days in one regular period for the annuity of a daily-interest loan (a month counts 30)."""
    return every * {Frequency.MONTHS: 30, Frequency.WEEKS: 7, Frequency.DAYS: 1}.get(frequency, 30)
