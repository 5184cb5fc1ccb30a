"""The one source of the current time for services; tests replace it."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from app.services import context


def system_now() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    clock: Callable[[], datetime] = context.extension("loanflow_clock", system_now)
    return clock()
