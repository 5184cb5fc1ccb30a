"""The one source of the current time for services; tests replace it."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flask import current_app


def system_now() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    clock: Callable[[], datetime] = current_app.extensions.get("loanflow_clock", system_now)
    return clock()
