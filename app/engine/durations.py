"""ISO 8601 durations, dates and cycles as the engine reads them, bounded before SpiffWorkflow sees them.

Timers (`timers.py`), a user task's `dueIn` and `processes validate` read their values here.
SpiffWorkflow turns a duration's months and years into days one month at a time, so
`"P999999999Y"` looped for hours holding the database; here every value is checked first: a
duration of at most MAX_YEARS in each part and in all, dates in YEARS, cycles of at most
MAX_REPETITIONS firings at least MIN_INTERVAL apart (at least MIN_QUICK_INTERVAL apart for a cycle
of at most QUICK_REPETITIONS firings), texts of at most MAX_TEXT characters. A timer expression may
also give a `timedelta` (a duration) or a `datetime` (a date), as SpiffArena's diagrams write
`timedelta(seconds=30)`; they are held to the same bounds. A
value outside them is a `TimerValueError` (a ValueError) that says which bound it broke.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from app.engine import cron, cron_schedule
from app.engine.said import said

MAX_YEARS = 100  # a duration, or a cycle's interval
MAX_DAYS = 36_525  # MAX_YEARS of 365.25 days
YEARS = (1970, 2199)  # the years a timer date may name
MAX_REPETITIONS = 10_000  # firings of a cycle `Rn/...` (`R/...` fires until its task ends)
MIN_INTERVAL = timedelta(minutes=1)  # between two firings of an unbounded cycle, or of a long one
# A cycle of at most QUICK_REPETITIONS firings may fire as often as every MIN_QUICK_INTERVAL: its work
# is bounded by its count (as that of as many durations in a row), so it cannot flood the worker;
# what the 60 s floor guards against is a cycle that keeps firing fast for as long as its task waits.
QUICK_REPETITIONS = 100
MIN_QUICK_INTERVAL = timedelta(milliseconds=100)
MAX_TEXT = 100  # characters of a timer value
# Days each designator of a duration is worth (on average, for the bound).
_DAYS_PER = {"years": 365.25, "months": 365.25 / 12, "weeks": 7, "days": 1, "hours": 1 / 24, "minutes": 1 / 1440,
             "seconds": 1 / 86400}
# The designators as a message names them.
_PART_NAMES = {"years": said("years"), "months": said("months"), "weeks": said("weeks"), "days": said("days"),
               "hours": said("hours"), "minutes": said("minutes"), "seconds": said("seconds")}


class TimerValueError(ValueError):
    """A timer value (or a `dueIn`) that is malformed or out of the bounds the engine accepts."""


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TimerValueError(said("%(what)s must be an ISO 8601 text, got %(type)s", what=what,
                                   type=type(value).__name__))
    if len(value) > MAX_TEXT:
        raise TimerValueError(said("%(what)s of %(length)s characters is not a timer value (at most %(most)d)",
                                   what=what, length=f"{len(value):,}", most=MAX_TEXT))
    return value.strip()


def parse_duration(value: Any) -> dict[str, float]:
    """The parts of an ISO 8601 duration (`P2D`, `PT48H`, `P1Y2M`), each and all within MAX_YEARS."""
    text = _text(value, said("a duration"))
    try:
        parsed = TimerEventDefinition.parse_iso_duration(text)
    except Exception as exc:  # the library raises several types for bad input
        raise TimerValueError(said("not an ISO 8601 duration: %(text)r", text=text)) from exc
    if not text.upper().startswith("P") or not parsed:
        raise TimerValueError(said("not an ISO 8601 duration: %(text)r", text=text))
    days = 0.0
    for part, amount in parsed.items():
        worth = amount * _DAYS_PER[part]
        if worth > MAX_DAYS:
            raise TimerValueError(said("the duration %(text)r has %(amount)s %(part)s: more than %(most)d years",
                                       text=text, amount=f"{amount:,}", part=_PART_NAMES.get(part, part),
                                       most=MAX_YEARS))
        days += worth
    if days > MAX_DAYS:
        raise TimerValueError(said("the duration %(text)r is longer than %(most)d years", text=text, most=MAX_YEARS))
    return parsed


def duration_from(start: datetime, parsed: dict[str, float]) -> timedelta:
    """A checked duration from `start` (months and years are calendar months and years)."""
    return TimerEventDefinition.get_timedelta_from_start(dict(parsed), start)


def duration_until(end: datetime, parsed: dict[str, float]) -> timedelta:
    """A checked duration that ends at `end`."""
    return TimerEventDefinition.get_timedelta_from_end(dict(parsed), end)


def due_after(expression: str, start: datetime) -> datetime:
    """`start` plus an ISO 8601 duration such as 'P2D' or 'PT48H'; TimerValueError if malformed or too long."""
    return start + duration_from(start, parse_duration(expression))


def parse_date(value: Any) -> datetime:
    """An ISO 8601 date-time (or week date), in UTC, with its year in YEARS."""
    text = _text(value, said("a timer date"))
    try:
        parsed = TimerEventDefinition.parse_time_or_duration(text)
    except Exception as exc:
        raise TimerValueError(said("a timer date must be an ISO 8601 date-time, got %(text)r", text=text)) from exc
    if not isinstance(parsed, datetime):
        raise TimerValueError(said("a timer date must be an ISO 8601 date-time, got %(text)r", text=text))
    if not YEARS[0] <= parsed.year <= YEARS[1]:
        raise TimerValueError(said("the timer date %(text)r is outside the years %(first)d–%(last)d", text=text,
                                   first=YEARS[0], last=YEARS[1]))
    return parsed


def irregular_cron(value: Any, now: datetime) -> cron_schedule.Quartz | None:
    """The schedule of a Quartz cron that fires at uneven gaps (`cron_schedule`: midnight and noon, working
    days, the last day of the month); None for any other value, a cron of a fixed period included (a
    repeating interval, `parse_cycle`). TimerValueError when its fields cannot be read, or when two of its
    next firings are closer than MIN_INTERVAL."""
    text = value.strip() if isinstance(value, str) else ""
    if not cron.looks_like_cron(text) or len(text.split()) == 5:  # Unix style: `parse_cycle` says so
        return None
    try:
        cron.read(text)
        return None
    except cron.CronRefused:
        pass
    try:
        schedule = cron_schedule.parse(text)
    except cron.CronRefused as exc:
        raise TimerValueError(said("the cron cycle %(value)r cannot be read: %(why)s", value=text,
                                   why=exc.args[0])) from None
    gap = cron_schedule.shortest_gap(schedule, now)
    if gap is not None and gap < MIN_INTERVAL:
        raise TimerValueError(said("the cron cycle %(value)r fires %(gap)s s apart at its closest: more often than "
                                   "every %(most)s s", value=text, gap=f"{gap.total_seconds():g}",
                                   most=f"{MIN_INTERVAL.total_seconds():g}"))
    return schedule


def parse_cycle(value: Any, now: datetime) -> tuple[int, datetime, timedelta]:
    """`R[n]/start/duration`, `R[n]/duration/end` or `R[n]/duration` (first firing: now + duration):
    (firings, -1 for unbounded; the first firing; the interval). A Quartz cron of a fixed period is
    read as `R/<its next firing after now>/<period>` (`cron`)."""
    text = _text(value, said("a timer cycle"))
    if cron.looks_like_cron(text):
        try:
            cycle = cron.read(text)
        except cron.CronRefused as exc:
            raise TimerValueError(said("the cron cycle %(value)r is not a fixed period: %(why)s", value=text,
                                       why=exc.args[0])) from None
        if cycle.period < MIN_INTERVAL:
            raise TimerValueError(said("the cron cycle %(value)r fires %(meaning)s: more often than every %(most)s s",
                                       value=text, meaning=cycle.meaning, most=f"{MIN_INTERVAL.total_seconds():g}"))
        text = cron.iso_cycle(text, now)
    parts = text.upper().replace("--", "/").split("/")
    if not parts[0].startswith("R") or len(parts) not in (2, 3):
        raise TimerValueError(said("a timer cycle must be R[n]/[start/]duration[/end], got %(text)r", text=text))
    count = parts[0][1:]
    if count and (not count.isdigit() or int(count) > MAX_REPETITIONS):
        raise TimerValueError(said("the timer cycle %(text)r repeats more than %(most)s times", text=text,
                                   most=f"{MAX_REPETITIONS:,}"))
    cycles = int(count) if count else -1
    if len(parts) == 2:
        duration = duration_from(now, parse_duration(parts[1]))
        start = now + duration
    elif parts[1].startswith("P"):
        end = parse_date(parts[2])
        duration = duration_until(end, parse_duration(parts[1]))
        start = end - duration
    else:
        start = parse_date(parts[1])
        duration = duration_from(start, parse_duration(parts[2]))
    check_interval(text, cycles, duration)
    return cycles, start, duration


def check_interval(text: str, cycles: int, interval: timedelta) -> None:
    """A cycle fires at most every MIN_INTERVAL; one of at most QUICK_REPETITIONS firings (bounded work)
    at most every MIN_QUICK_INTERVAL."""
    bounded = 0 <= cycles <= QUICK_REPETITIONS
    floor = MIN_QUICK_INTERVAL if bounded else MIN_INTERVAL
    if interval < floor:
        if bounded:
            raise TimerValueError(said("the timer cycle %(text)r fires more often than every %(most)s s", text=text,
                                       most=f"{floor.total_seconds():g}"))
        raise TimerValueError(said("the timer cycle %(text)r fires more often than every %(most)s s (a cycle of at "
                                   "most %(quick)d firings, R%(quick)d/..., may fire every %(quickest)s s)", text=text,
                                   most=f"{floor.total_seconds():g}", quick=QUICK_REPETITIONS,
                                   quickest=f"{MIN_QUICK_INTERVAL.total_seconds():g}"))


def duration_value(value: Any, start: datetime) -> timedelta:
    """A timer duration from `start`: an ISO 8601 text, or a `timedelta` of at most MAX_YEARS and not negative."""
    if isinstance(value, timedelta):
        if value < timedelta(0):
            raise TimerValueError(said("the duration %(value)s is negative: a timer waits forward in time",
                                       value=str(value)))
        if value > timedelta(days=MAX_DAYS):
            raise TimerValueError(said("the duration %(value)s is longer than %(most)d years", value=str(value),
                                       most=MAX_YEARS))
        return value
    return duration_from(start, parse_duration(value))


def date_value(value: Any) -> datetime:
    """A timer date: an ISO 8601 text, or a `datetime` or `date` (read as its ISO 8601 text, as if written so)."""
    if isinstance(value, date):
        value = value.isoformat()
    return parse_date(value)


def check_timer_value(value: Any, now: datetime) -> None:
    """A literal timer value, by its form (lint): a cycle `R…` or a cron, a duration `P…` or a
    `timedelta`, or a date (a text or a `datetime`)."""
    if isinstance(value, timedelta):
        duration_value(value, now)
        return
    if isinstance(value, date):
        date_value(value)
        return
    text = value.strip().upper() if isinstance(value, str) else ""
    if text.startswith("R") or cron.looks_like_cron(text):
        if irregular_cron(value, now) is None:
            parse_cycle(value, now)
    elif text.startswith("P"):
        parse_duration(value)
    else:
        parse_date(value)


__all__ = ["TimerValueError", "check_interval", "check_timer_value", "date_value", "due_after", "duration_from",
           "duration_value", "irregular_cron", "parse_cycle", "parse_date", "parse_duration"]
