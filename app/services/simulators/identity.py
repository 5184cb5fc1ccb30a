"""The identity-verification simulator's registry: the names it knows are the platform's
organisations (unified social credit code → the organisation's name); a person's ID number it does
not know accepts any name (`handlers.identity.SimulatedIdentity`)."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Organisation
from handlers.identity import SimulatedIdentity
from handlers.identity.simulator import normalized_identifier


def registered_name(identifier: str) -> str | None:
    """The name of the organisation whose credit code is `identifier`, None when none has it."""
    return db.session.scalar(select(Organisation.name).where(
        Organisation.credit_code == normalized_identifier(identifier)))


def simulator() -> SimulatedIdentity:
    """The identity simulator answering from the platform's organisations (also what
    `/simulators/identity/api/verify` runs)."""
    return SimulatedIdentity(registered_name)
