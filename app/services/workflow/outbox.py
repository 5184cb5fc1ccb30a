"""The outbox: messages written in a business transaction, delivered afterwards (`outbox_delivery`).

Its writers: a step whose process threw a message no event of its own caught (`step_runner`, for the
instances of the same business key), the end-of-day batch, a payment, a stage that books a loan or
asks for collateral to be sold. `enqueue` writes one in the caller's transaction, so the message
exists exactly when what sent it does; a message whose dedup key exists already is not written again.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import OutboxMessage
from app.services import clock
from app.services.context import business_tz


def enqueue(name: str, correlation_key: str, payload: Any, dedup_key: str, *,
            loan_id: int | None = None, start_process: str | None = None,
            business_date: date | None = None, sender_instance_id: int | None = None) -> bool:
    """Write a message in the caller's transaction (no commit); False when its dedup key was written before.

    `start_process`: the process it starts for its correlation key (the ledger's messages);
    `sender_instance_id`: the instance whose process threw it (a BPMN message), whose parties a process
    it starts takes."""
    try:  # the dedup key is unique: a message written before is refused by the database
        with db.session.begin_nested():
            db.session.execute(insert(OutboxMessage).values(
                name=name, correlation_key=correlation_key, loan_id=loan_id, payload=payload,
                dedup_key=dedup_key, start_process=start_process, sender_instance_id=sender_instance_id,
                created_at=clock.now(), business_date=business_date or clock.now().astimezone(business_tz()).date()))
    except IntegrityError:  # written by another transaction at the same moment
        return False
    return True
