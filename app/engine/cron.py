"""Quartz-style cron cycles (Camunda's `timeCycle`), read as ISO 8601 repeating intervals.

Camunda 7 accepts a Quartz cron expression (6 or 7 fields: second minute hour day-of-month month
day-of-week [year]) wherever it accepts `R/...`. Loanflow's timers run repeating intervals
(`durations.parse_cycle`), so a cron that fires at a fixed period is read as one:
`R/<next matching moment>/<period>`. Those are

- every N seconds, minutes or hours (`0/5 * * * * ?`, `0 0/15 * * * ?`, `0 30 */2 * * ?`: N divides
  the minute, hour or day, so the gaps are equal across its end),
- every day at a time (`0 0 8 * * ?`), every week on one day at a time (`0 0 8 ? * MON`).

Anything else (lists, ranges, `L`, `W`, `#`, days of the month, months, years, uneven steps) fires at
uneven gaps and is refused with the field that makes it so (`CronRefused`). Times are UTC.

The next matching moment is computed from the engine's clock when the timer starts
(`durations.parse_cycle`, called by `timers.ClockedCycle` with the clock's now), not when the
diagram is imported: a diagram is deployed once and its instances reach the timer any time later,
and a start fixed at import would be in the past by then (a cycle whose start has passed fires
at once).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.engine.said import Said, said

_FIELD = re.compile(r"[0-9A-Za-z*?/,\-#]+")
_FIRST_FIELD = re.compile(r"[0-9*?/,\-]+")
DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
MONTHS = {m: n for n, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV",
                                       "DEC"), start=1)}
FIELD_NAMES = (said("second"), said("minute"), said("hour"), said("day-of-month"), said("month"), said("day-of-week"),
          said("year"))


class CronRefused(ValueError):
    """A cron expression that is not a fixed period; the message says which field makes it so."""


def looks_like_cron(text: str) -> bool:
    """Whether `text` has the shape of a cron expression (5 to 7 fields, the first of digits and
    `* ? / , -`): no ISO 8601 value and no Python expression of ours has it."""
    fields = text.split()
    return 5 <= len(fields) <= 7 and bool(_FIRST_FIELD.fullmatch(fields[0])) and all(_FIELD.fullmatch(f)
                                                                                    for f in fields)


@dataclass(frozen=True)
class _Field:
    kind: str  # any, at, every
    value: int = 0  # at: the value; every: the first value
    step: int = 1


def _field(text: str, index: int, low: int, high: int, names: dict[str, int] | None = None) -> _Field:
    name = FIELD_NAMES[index]
    upper = text.upper()
    if upper in ("*", "?"):
        return _Field("any")
    refused = CronRefused(said("the %(name)s field %(text)r fires at uneven gaps (lists, ranges, L, W and # are not "
                               "a fixed period)", name=name, text=text))
    if "/" in upper:
        first, _, step = upper.partition("/")
        if not step.isdigit() or not (first == "*" or first.isdigit()):
            raise refused
        start, every = (low if first == "*" else int(first)), int(step)
        if not low <= start <= high or every < 1:
            raise CronRefused(said("the %(name)s field %(text)r is out of range", name=name, text=text))
        return _Field("any") if start == low and every == 1 else _Field("every", start, every)
    value = names.get(upper) if names else None
    if value is None:
        if not upper.isdigit():
            raise refused
        value = int(upper)
    if not low <= value <= high:
        raise CronRefused(said("the %(name)s field %(text)r is out of range (%(low)d-%(high)d)", name=name, text=text,
                               low=low, high=high))
    return _Field("at", value)


@dataclass(frozen=True)
class CronCycle:
    period: timedelta
    iso_period: str  # PT5M, P1D...
    meaning: str  # every 5 minutes, every day at 08:00:00 UTC... (said)
    unit: str  # the span the first firing is placed in: minute, hour, day, week
    offset: timedelta  # of the first firing from the start of that span (week: from Monday 00:00)


def _steps(every: _Field, size: int, name: str, text: str) -> tuple[int, int]:
    """(first, step) of a field that fires every `step` from `first`, equal gaps across `size`."""
    first, step = (0, 1) if every.kind == "any" else (every.value, every.step)
    if size % step or first >= step:
        raise CronRefused(said("the %(name)s field %(text)r fires at uneven gaps: the step must divide %(size)d and "
                               "the first value be below the step", name=name, text=text, size=size))
    return first, step


def _every(step: int, unit: str) -> Said:
    if step == 1:
        return {"s": said("every second"), "min": said("every minute"), "h": said("every hour")}[unit]
    return {"s": said("every %(step)d s", step=step), "min": said("every %(step)d min", step=step),
            "h": said("every %(step)d h", step=step)}[unit]


def read(text: str) -> CronCycle:
    """The fixed period a cron expression fires at, or CronRefused naming what makes it uneven."""
    fields = text.split()
    if len(fields) == 5:
        raise CronRefused(said("a cron of 5 fields (Unix style) is not read: write Quartz's 6 or 7 fields, seconds "
                               "first"))
    if not 6 <= len(fields) <= 7:
        raise CronRefused(said("a cron expression has 6 or 7 fields, this one has %(count)d", count=len(fields)))
    second, minute, hour = (_field(fields[i], i, 0, high) for i, high in ((0, 59), (1, 59), (2, 23)))
    day, month = _field(fields[3], 3, 1, 31), _field(fields[4], 4, 1, 12, MONTHS)
    weekday = _field(fields[5], 5, 1, 7, DAYS)
    if len(fields) == 7 and _field(fields[6], 6, 1970, 2199).kind != "any":
        raise CronRefused(said("the year field %(text)r is not a fixed period", text=fields[6]))
    for field_, index in ((day, 3), (month, 4)):
        if field_.kind != "any":
            raise CronRefused(said("the %(name)s field %(text)r fires at uneven gaps", name=FIELD_NAMES[index],
                                   text=fields[index]))
    if weekday.kind == "every":
        raise CronRefused(said("the day-of-week field %(text)r fires at uneven gaps", text=fields[5]))
    at = [f.value for f in (second, minute, hour)]
    if weekday.kind == "at":
        if any(f.kind != "at" for f in (second, minute, hour)):
            raise CronRefused(said("a cron on one day of the week fires at a fixed period only at one time of that "
                                   "day"))
        name = next(n for n, v in DAYS.items() if v == weekday.value)
        offset = timedelta(days=(weekday.value - 2) % 7, hours=at[2], minutes=at[1], seconds=at[0])
        return CronCycle(timedelta(days=7), "P7D", said("every week on %(day)s at %(time)s UTC", day=name,
                                                        time=f"{at[2]:02}:{at[1]:02}:{at[0]:02}"), "week", offset)
    if second.kind != "at":
        if minute.kind != "any" or hour.kind != "any":
            raise CronRefused(said("the second field %(text)r fires at uneven gaps when the minute or hour is fixed",
                                   text=fields[0]))
        first, step = _steps(second, 60, FIELD_NAMES[0], fields[0])
        return CronCycle(timedelta(seconds=step), f"PT{step}S", _every(step, "s"), "minute", timedelta(seconds=first))
    if minute.kind != "at":
        if hour.kind != "any":
            raise CronRefused(said("the minute field %(text)r fires at uneven gaps when the hour is fixed",
                                   text=fields[1]))
        first, step = _steps(minute, 60, FIELD_NAMES[1], fields[1])
        return CronCycle(timedelta(minutes=step), f"PT{step}M", _every(step, "min"), "hour",
                         timedelta(minutes=first, seconds=at[0]))
    if hour.kind != "at":
        first, step = _steps(hour, 24, FIELD_NAMES[2], fields[2])
        return CronCycle(timedelta(hours=step), f"PT{step}H", _every(step, "h"), "day",
                         timedelta(hours=first, minutes=at[1], seconds=at[0]))
    return CronCycle(timedelta(days=1), "P1D", said("every day at %(time)s UTC", time=f"{at[2]:02}:{at[1]:02}:{at[0]:02}"),
                     "day", timedelta(hours=at[2], minutes=at[1], seconds=at[0]))


def next_firing(cycle: CronCycle, now: datetime) -> datetime:
    """The first moment after `now` the cron fires at."""
    now = now.astimezone(UTC)
    span = now.replace(microsecond=0)
    if cycle.unit == "minute":
        span = span.replace(second=0)
    elif cycle.unit == "hour":
        span = span.replace(minute=0, second=0)
    else:
        span = span.replace(hour=0, minute=0, second=0)
        if cycle.unit == "week":
            span -= timedelta(days=span.weekday())
    firing = span + cycle.offset
    if firing <= now:
        firing += ((now - firing) // cycle.period + 1) * cycle.period
    return firing


def iso_cycle(text: str, now: datetime) -> str:
    """The cron as an ISO 8601 repeating interval starting at its next firing after `now`."""
    cycle = read(text)
    start = next_firing(cycle, now).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"R/{start}/{cycle.iso_period}"


__all__ = ["DAYS", "FIELD_NAMES", "MONTHS", "CronCycle", "CronRefused", "iso_cycle", "looks_like_cron", "next_firing", "read"]
