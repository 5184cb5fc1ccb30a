"""The one source of the current time for services; tests replace it."""
from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from app.services import context


def system_now() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    clock: Callable[[], datetime] = context.extension("loanflow_clock", system_now)
    return clock()


_PERIOD = re.compile(r"P(\d{1,4})([DMY])")


def ahead(day: date, period: str) -> date | None:
    """`day` moved on by an ISO 8601 period of days, months or years (`P30D`, `P3Y`); a month's end it lacks is
    its last day (29 February plus a year: 28 February). None for any other text."""
    found = _PERIOD.fullmatch(period)
    if found is None:
        return None
    n, unit = int(found.group(1)), found.group(2)
    if unit == "D":
        return day + timedelta(days=n)
    months = day.month - 1 + (n if unit == "M" else 12 * n)
    year, month = day.year + months // 12, months % 12 + 1
    if year > date.max.year:
        return date.max
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
