"""Quartz cron cycles that fire at uneven gaps, each firing the next moment the fields match (issue 17).

`cron` reads a cron of a fixed period as an ISO 8601 repeating interval. The schedules production
diagrams carry are often not one: `0 0 0,12 ? * * *` (midnight and noon), `0 0 2 ? * MON-FRI` (working
days), `0 0 0 L * ?` (the last day of each month), `0 30 9 ? * 6#3` (the third Friday). Camunda 7 runs
them; Loanflow refused them as "not yet". `parse(text)` reads Quartz's fields (second minute hour
day-of-month month day-of-week [year], UTC as `cron` reads them):

- in every field `*`, a value, a list `a,b`, a range `a-b` (a range that runs past the end wraps:
  `FRI-MON`), a step `a/n`, `*/n` or `a-b/n`; month and weekday names (`JAN`, `MON`; Sunday is 1);
- day of month: `?`, `L` (the last day), `L-n` (n days before it), `nW` (the working day nearest the
  n-th, within the month), `LW` (the last working day);
- day of week: `?`, `nL` (the last such weekday of the month), `n#k` (the k-th such weekday); `L` alone
  is Saturday, as Quartz reads it.

One of day-of-month and day-of-week is `?` (or `*`): Quartz refuses both, and so does this. `next_after`
gives the first firing after a moment, or None when the year field has none left.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from app.engine.cron import DAYS as _DAYS
from app.engine.cron import FIELD_NAMES as _NAMES
from app.engine.cron import MONTHS as _MONTHS
from app.engine.cron import CronRefused
from app.engine.said import said

YEARS = (1970, 2199)
_SEARCH_YEARS = 8  # a schedule with no firing in this many years (after its last year) has none (Feb 30th...)


@dataclass(frozen=True)
class Quartz:
    text: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int] | None = None  # None: every year
    days: frozenset[int] | None = None  # days of the month; None: any (the weekday decides)
    last_day: int | None = None  # L-n: n days before the last day
    nearest_weekday: int | None = None  # nW; 0 for LW (the last working day)
    weekdays: frozenset[int] | None = None  # Quartz's 1 (Sunday) to 7; None: any
    last_weekday: int | None = None  # nL
    nth_weekday: tuple[int, int] | None = None  # n#k: (weekday, k)

    def next_after(self, moment: datetime) -> datetime | None:
        """The first firing strictly after `moment` (UTC), or None when there is none."""
        moment = moment.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
        day, first = moment.date(), moment.time()
        last_year = max(self.years) if self.years else moment.year
        end = date(min(max(moment.year, last_year) + _SEARCH_YEARS, YEARS[1]), 12, 31)
        while day <= end:
            if self.years is not None and day.year not in self.years:
                later = [y for y in self.years if y > day.year]
                if not later:
                    return None
                day, first = date(min(later), 1, 1), time(0)
                continue
            if day.month not in self.months or not self._on(day):
                day, first = day + timedelta(days=1), time(0)
                continue
            at = self._time_from(first)
            if at is not None:
                return datetime.combine(day, at, UTC)
            day, first = day + timedelta(days=1), time(0)
        return None

    def _time_from(self, first: time) -> time | None:
        for hour in sorted(h for h in self.hours if h >= first.hour):
            for minute in sorted(self.minutes):
                if (hour, minute) < (first.hour, first.minute):
                    continue
                for second in sorted(self.seconds):
                    if (hour, minute, second) >= (first.hour, first.minute, first.second):
                        return time(hour, minute, second)
        return None

    def _on(self, day: date) -> bool:
        last = calendar.monthrange(day.year, day.month)[1]
        weekday = day.isoweekday() % 7 + 1  # Quartz: Sunday 1 ... Saturday 7
        if self.last_day is not None:
            return day.day == last - self.last_day
        if self.nearest_weekday is not None:
            return day == _nearest_weekday(day.year, day.month, self.nearest_weekday or last)
        if self.days is not None and day.day not in self.days:
            return False
        if self.last_weekday is not None:
            return weekday == self.last_weekday and day.day + 7 > last
        if self.nth_weekday is not None:
            return weekday == self.nth_weekday[0] and (day.day - 1) // 7 + 1 == self.nth_weekday[1]
        return self.weekdays is None or weekday in self.weekdays


def _nearest_weekday(year: int, month: int, wanted: int) -> date:
    """The working day (Monday to Friday) nearest the `wanted`-th of the month, without leaving the month."""
    last = calendar.monthrange(year, month)[1]
    day = date(year, month, min(wanted, last))
    if day.weekday() == 5:  # Saturday: the Friday before, or the Monday after on the 1st
        return day - timedelta(days=1) if day.day > 1 else day + timedelta(days=2)
    if day.weekday() == 6:  # Sunday: the Monday after, or the Friday before on the last day
        return day + timedelta(days=1) if day.day < last else day - timedelta(days=2)
    return day


def _bad(index: int, text: str) -> CronRefused:
    return CronRefused(said("the %(name)s field %(text)r is not a Quartz cron field", name=_NAMES[index], text=text))


def _value(token: str, index: int, low: int, high: int, names: dict[str, int] | None, text: str) -> int:
    value = names.get(token) if names else None
    if value is None:
        if not token.isdigit():
            raise _bad(index, text)
        value = int(token)
    if not low <= value <= high:
        raise CronRefused(said("the %(name)s field %(text)r is out of range (%(low)d-%(high)d)", name=_NAMES[index],
                               text=text, low=low, high=high))
    return value


def _set(text: str, index: int, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    """The values a field's list of values, ranges and steps names."""
    found: set[int] = set()
    for part in text.upper().split(","):
        body, _, step_text = part.partition("/")
        if step_text and not step_text.isdigit() or step_text == "0":
            raise _bad(index, text)
        step = int(step_text) if step_text else 1
        if body in ("*", "?"):
            start, stop = low, high
        elif "-" in body:
            a, _, b = body.partition("-")
            start, stop = _value(a, index, low, high, names, text), _value(b, index, low, high, names, text)
        else:
            start = _value(body, index, low, high, names, text)
            stop = high if step_text else start
        span = range(start, stop + 1) if start <= stop else [*range(start, high + 1), *range(low, stop + 1)]
        found.update(list(span)[::step])
    return frozenset(found)


def parse(text: str) -> Quartz:
    """The schedule a Quartz cron expression of 6 or 7 fields gives; CronRefused naming what it cannot read."""
    fields = text.split()
    if not 6 <= len(fields) <= 7:
        raise CronRefused(said("a cron expression has 6 or 7 fields, this one has %(count)d", count=len(fields)))
    dom, dow = fields[3].upper(), fields[5].upper()
    if dom not in ("?", "*") and dow not in ("?", "*"):
        raise CronRefused(said("the cron %(text)r gives both a day of the month and a day of the week: one of them "
                               "is '?'", text=text))
    days: dict[str, object] = {}
    if dom not in ("?", "*"):
        days.update(_day_of_month(dom, fields[3]))
    elif dow not in ("?", "*"):
        days.update(_day_of_week(dow, fields[5]))
    return Quartz(
        text=text,
        seconds=_set(fields[0], 0, 0, 59), minutes=_set(fields[1], 1, 0, 59), hours=_set(fields[2], 2, 0, 23),
        months=_set(fields[4], 4, 1, 12, _MONTHS),
        years=_set(fields[6], 6, *YEARS) if len(fields) == 7 and fields[6] not in ("*", "?") else None,
        **days)  # type: ignore[arg-type]


def _day_of_month(upper: str, text: str) -> dict[str, object]:
    if upper == "L":
        return {"days": None, "last_day": 0}
    if upper.startswith("L-") and upper[2:].isdigit() and int(upper[2:]) <= 30:
        return {"days": None, "last_day": int(upper[2:])}
    if upper == "LW":
        return {"days": None, "nearest_weekday": 0}
    if upper.endswith("W") and upper[:-1].isdigit():
        return {"days": None, "nearest_weekday": _value(upper[:-1], 3, 1, 31, None, text)}
    return {"days": _set(upper, 3, 1, 31)}


def _day_of_week(upper: str, text: str) -> dict[str, object]:
    if upper == "L":
        return {"days": None, "weekdays": frozenset({7})}
    if upper.endswith("L"):
        return {"days": None, "last_weekday": _value(upper[:-1], 5, 1, 7, _DAYS, text)}
    if "#" in upper:
        weekday, _, nth = upper.partition("#")
        if not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise _bad(5, text)
        return {"days": None, "nth_weekday": (_value(weekday, 5, 1, 7, _DAYS, text), int(nth))}
    return {"days": None, "weekdays": _set(upper, 5, 1, 7, _DAYS)}


def shortest_gap(schedule: Quartz, now: datetime, firings: int = 50) -> timedelta | None:
    """The shortest time between two of the schedule's next `firings` (None: fewer than two)."""
    times: list[datetime] = []
    moment: datetime | None = now
    while moment is not None and len(times) < firings:
        moment = schedule.next_after(moment)
        if moment is not None:
            times.append(moment)
    return min((b - a for a, b in zip(times, times[1:], strict=False)), default=None)


__all__ = ["Quartz", "YEARS", "parse", "shortest_gap"]
