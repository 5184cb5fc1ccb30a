"""The outbox: messages written in a business transaction (the batch's, a payment's, a stage's), delivered afterwards.

`enqueue` writes one in the caller's transaction; a message whose dedup key exists already is
not written again. `deliver_outbox` (the worker, every few seconds; `flask --app wsgi eod deliver`)
hands each to the process instances: through `deliver_message(..., durable=True,
dedup_key="outbox:<id>")`, so it is kept in the message inbox until an instance waits for it, and
a message delivered twice (a worker that died between delivering and marking) is taken once.

A message with `start_process` starts that process for its correlation key instead — the loan's
`post_loan` when it is booked, its `collections` case when it falls overdue — with the payload as
the instance's data under the message's name and the payload's `parties` as the deal's
organisations; when an instance of that process is open for the key already, the message goes to it.
"""
from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import OutboxMessage
from app.services import clock
from app.services.context import business_tz
from app.services.errors import ServiceError
from app.services.workflow import instances
from app.services.workflow.messages import deliver_message
from app.services.workflow.step_store import INSTANCES, core

log = logging.getLogger("loanflow.outbox")


def enqueue(name: str, correlation_key: str, payload: dict[str, Any], dedup_key: str, *,
            loan_id: int | None = None, start_process: str | None = None,
            business_date: date | None = None) -> bool:
    """Write a message in the caller's transaction (no commit); False when its dedup key was written before."""
    try:  # the dedup key is unique: a message written before is refused by the database
        with db.session.begin_nested():
            db.session.execute(insert(OutboxMessage).values(
                name=name, correlation_key=correlation_key, loan_id=loan_id, payload=payload,
                dedup_key=dedup_key, start_process=start_process, created_at=clock.now(),
                business_date=business_date or clock.now().astimezone(business_tz()).date()))
    except IntegrityError:  # written by another transaction at the same moment
        return False
    return True


def deliver_outbox(limit: int = 500) -> int:
    """Deliver up to `limit` undelivered messages, oldest first; returns how many were delivered."""
    rows = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.name, OutboxMessage.correlation_key, OutboxMessage.payload,
               OutboxMessage.start_process)
        .where(OutboxMessage.delivered_at.is_(None)).order_by(OutboxMessage.id).limit(limit)).all()
    db.session.commit()
    delivered = 0
    for message_id, name, key, payload, start_process in rows:
        try:
            if start_process and not _open_instance(start_process, key):
                _start(start_process, name, key, payload)
            else:
                deliver_message(name, key, payload, durable=True, dedup_key=f"outbox:{message_id}")
        except ServiceError as exc:  # left undelivered: the next pass tries again
            db.session.rollback()
            log.warning("outbox message %s (%s to %s) not delivered: %s", message_id, name, key, exc.message)
            continue
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id,
                                                       OutboxMessage.delivered_at.is_(None))
                           .values(delivered_at=clock.now()))
        db.session.commit()
        delivered += 1
    return delivered


def _open_instance(process_id: str, key: str) -> bool:
    """An instance of the process for the key that has not ended (a crash after starting one
    and before marking the message delivered finds it here and does not start a second)."""
    found = core(select(INSTANCES.c.id).where(
        INSTANCES.c.process_id == process_id, INSTANCES.c.business_key == key,
        INSTANCES.c.status.not_in(instances.FINISHED)).limit(1)).scalar()
    db.session.commit()
    return found is not None


def _start(process_id: str, name: str, key: str, payload: Any) -> None:
    data = dict(payload) if isinstance(payload, dict) else {"value": payload}
    parties = data.pop("parties", None) or {}
    instances.start(process_id, None, key, {name: data}, parties)

