"""How often, and how far apart, a failing service call is tried before it becomes an incident.

A service task's call that fails for a technical reason is tried again after a delay; after its last
try the instance goes to `error` with an incident (`runner._park_for_retry`). The task says how:

- nothing: `DEFAULT_RETRIES` retries (three tries), the first `FIRST_DELAY` after the failure, each next
  one `DEFAULT_BACKOFF` times as far;
- `<spiffworkflow:retry retries="N" backoff_base="B"/>` in its operator: N retries, the delay times B
  each time (SpiffWorkflow's own setting);
- `<spiffworkflow:retryIntervals>PT1M,PT5M,PT10M</spiffworkflow:retryIntervals>` among its extensions:
  the delays themselves, the n-th retry after the n-th interval (the last one repeats), as the import
  writes Camunda 7's `camunda:failedJobRetryTimeCycle` (`camunda_retries`).

Every value is bounded: at most MAX_RETRIES retries, each interval an ISO 8601 duration at least
MIN_INTERVAL long and within the bounds every duration has (`durations`). `problems(spec)` says what is
wrong with a task's setting (the strict check refuses it); the runner reads only what passed.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from app.engine.durations import TimerValueError, duration_from, parse_duration
from app.engine.said import said

DEFAULT_RETRIES = 2
FIRST_DELAY = timedelta(seconds=10)
DEFAULT_BACKOFF = 2
MAX_RETRIES = 100
MIN_INTERVAL = timedelta(seconds=1)
INTERVALS = "retryIntervals"  # the extension element's name, and its key in a task spec's extensions


def retries(spec: Any) -> int:
    """How many times a failed call of the task is tried again."""
    given = getattr(spec, "retries", None)
    if given is not None:
        return int(given)
    intervals = _intervals_text(spec)
    return len(split(intervals)) if intervals else DEFAULT_RETRIES


def delay_before(spec: Any, retry: int, now: datetime) -> timedelta:
    """How long after a failure at `now` the task's `retry`-th retry (1, 2...) runs."""
    intervals = _intervals_text(spec)
    if intervals:
        parts = split(intervals)
        return duration_from(now, parse_duration(parts[min(retry, len(parts)) - 1]))
    base = getattr(spec, "retry_backoff_base", None) or DEFAULT_BACKOFF
    return FIRST_DELAY * base ** (retry - 1)


def split(text: str) -> list[str]:
    """The intervals of a `retryIntervals` text, in order."""
    return [part.strip() for part in text.split(",") if part.strip()]


def interval_problem(text: str) -> str | None:
    """Why a list of retry intervals cannot be read, or None."""
    parts = split(text)
    if not parts:
        return said("the retry intervals %(text)r name no interval", text=text)
    if len(parts) > MAX_RETRIES:
        return said("the retry intervals %(text)r name more than %(most)d retries", text=text, most=MAX_RETRIES)
    for part in parts:
        try:
            parsed = parse_duration(part)
        except TimerValueError as exc:
            return str(exc)
        if duration_from(datetime(2000, 1, 1), parsed) < MIN_INTERVAL:
            return said("the retry interval %(interval)r is shorter than %(least)s s", interval=part,
                        least=f"{MIN_INTERVAL.total_seconds():g}")
    return None


def problems(spec: Any) -> list[str]:
    """What is wrong with a service task's retry setting: each a reason the strict check gives."""
    found: list[str] = []
    given = getattr(spec, "retries", None)
    if given is not None and not 0 <= int(given) <= MAX_RETRIES:
        found.append(said("retries=%(given)s: a failing service may be retried 0 to %(most)d times", given=given,
                          most=MAX_RETRIES))
    base = getattr(spec, "retry_backoff_base", None)
    if base is not None and not 1 <= int(base) <= 10:
        found.append(said("backoff_base=%(given)s: each delay may be 1 to 10 times the one before", given=base))
    intervals = _intervals_text(spec)
    if intervals is not None:
        why = interval_problem(intervals)
        if why:
            found.append(why)
    return found


def _intervals_text(spec: Any) -> str | None:
    value = (getattr(spec, "extensions", None) or {}).get(INTERVALS)
    return None if value is None else str(value)
