"""Numbers people read and quote: `<PREFIX>-<year>-<NNNN>` (APP-2026-0001, LEAD-2026-0042), one
sequence a year per kind, given out under the unique index (two at once: one retries)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute

from app.extensions import db
from app.services.errors import Conflict

Row = TypeVar("Row")
ATTEMPTS = 5


def next_number(column: InstrumentedAttribute[str], prefix: str, today: date) -> str:
    """The next number of the year: the highest so far (longest, then greatest: 10000 after 9999) plus one."""
    start = f"{prefix}-{today.year}-"
    top = db.session.scalar(select(column).where(column.like(start + "%"))
                            .order_by(func.length(column).desc(), column.desc()).limit(1))
    tail = top[len(start):] if top else ""
    return f"{start}{(int(tail) if tail.isdigit() else 0) + 1:04d}"


def insert_numbered(make: Callable[[str], Row], column: InstrumentedAttribute[str], prefix: str, today: date,
                    refused: str) -> Row:
    """`make(number)` added with the next number; `Conflict(refused)` if the numbers kept being taken."""
    for _ in range(ATTEMPTS):
        row = make(next_number(column, prefix, today))
        try:
            with db.session.begin_nested():
                db.session.add(row)
                db.session.flush()
        except IntegrityError:
            continue
        return row
    raise Conflict(refused)
