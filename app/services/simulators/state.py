"""The simulators' named settings (`simulator_state`), JSON by name."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import SimulatorState
from app.services import clock


def get(name: str, *, for_update: bool = False) -> dict[str, Any] | None:
    """The value stored under `name`, None when there is none; `for_update` locks the row (PostgreSQL)."""
    query = select(SimulatorState).where(SimulatorState.name == name)
    if for_update:
        query = query.with_for_update()
    row = db.session.scalar(query)
    return dict(row.value) if row is not None else None


def put(name: str, value: dict[str, Any]) -> None:
    """Store `value` under `name` (in the caller's transaction)."""
    row = db.session.get(SimulatorState, name)
    if row is None:
        db.session.add(SimulatorState(name=name, value=value, updated_at=clock.now()))
    else:
        row.value = value
        row.updated_at = clock.now()
    db.session.flush()


def delete(name: str) -> None:
    row = db.session.get(SimulatorState, name)
    if row is not None:
        db.session.delete(row)
        db.session.flush()


def named(prefix: str, limit: int = 100) -> list[tuple[str, dict[str, Any]]]:
    """(name, value) of the settings whose name starts with `prefix`, oldest first."""
    rows = db.session.scalars(select(SimulatorState).where(SimulatorState.name.startswith(prefix, autoescape=True))
                              .order_by(SimulatorState.updated_at, SimulatorState.name).limit(limit))
    return [(row.name, dict(row.value)) for row in rows]
