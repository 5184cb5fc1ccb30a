"""Delivering the outbox: messages the end-of-day batch wrote go to the loans' process instances.

Each message goes through `deliver_message(..., durable=True, dedup_key="outbox:<id>")`: it is
kept in the message inbox until an instance waits for it, and a message delivered twice (a
worker that died between delivering and marking) is taken once.
"""
from __future__ import annotations

import logging

from sqlalchemy import select, update

from app.extensions import db
from app.models import OutboxMessage
from app.services import clock
from app.services.errors import ServiceError
from app.services.workflow.messages import deliver_message

log = logging.getLogger("loanflow.outbox")


def deliver_outbox(limit: int = 500) -> int:
    """Deliver up to `limit` undelivered messages, oldest first; returns how many were delivered."""
    rows = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.name, OutboxMessage.correlation_key, OutboxMessage.payload)
        .where(OutboxMessage.delivered_at.is_(None)).order_by(OutboxMessage.id).limit(limit)).all()
    db.session.commit()
    delivered = 0
    for message_id, name, key, payload in rows:
        try:
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
