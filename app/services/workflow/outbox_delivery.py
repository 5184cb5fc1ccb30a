"""Delivering the outbox (`outbox`): the worker, every few seconds; `flask --app wsgi eod deliver`.

Each message goes to the process instances through `deliver_message(..., durable=True,
dedup_key="outbox:<id>")`, so it is kept in the message inbox until an instance of its correlation
key waits for it, and a message delivered twice (a worker that died between delivering and marking)
is taken once.

A message with `start_process` starts that process for its correlation key instead — the loan's
`post_loan` when it is booked, its `collections` case when it falls overdue — with the payload as
the instance's data under the message's name and the payload's `parties` as the deal's
organisations; when an instance of that process is open for the key already, the message goes to it.
The message is kept in the inbox first and the start claims it there in its own transaction, so two
passes racing (two workers) start one instance.

A message a process threw (it has a sender instance) that no instance of its key waited for starts
the process whose start event is a message start event of that name (the first by process id, the
newest version), for the same key and with the sender's parties, unless an instance of that process
is open for the key already: the new instance's first step takes the message from the inbox.
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update

from app.extensions import db
from app.models import OutboxMessage
from app.services import clock
from app.services.errors import Conflict, ServiceError
from app.services.workflow import instances
from app.services.workflow.deployment import message_start_processes
from app.services.workflow.messages import deliver_message, keep_message
from app.services.workflow.queries import party_codes
from app.services.workflow.step_runner import INBOX
from app.services.workflow.step_store import INSTANCES, core

log = logging.getLogger("loanflow.outbox")


def deliver_outbox(limit: int = 500) -> int:
    """Deliver up to `limit` undelivered messages, oldest first; returns how many were delivered."""
    rows = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.name, OutboxMessage.correlation_key, OutboxMessage.payload,
               OutboxMessage.start_process, OutboxMessage.sender_instance_id)
        .where(OutboxMessage.delivered_at.is_(None)).order_by(OutboxMessage.id).limit(limit)).all()
    db.session.commit()
    delivered = 0
    for message_id, name, key, payload, start_process, sender in rows:
        try:
            if start_process and not _open_instance(start_process, key):
                _start(start_process, message_id, name, key, payload)
            else:
                deliver_message(name, key, payload, durable=True, dedup_key=f"outbox:{message_id}")
                if sender is not None:
                    _start_on_message(message_id, key, sender)
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


def _start_on_message(message_id: int, key: str, sender_instance_id: int) -> None:
    """The delivery kept the message in the inbox (no instance waited for it, now or at an earlier pass
    that stopped before marking it delivered): the process that starts on it starts with it."""
    kept = _kept(message_id)
    starting = message_start_processes(kept.name) if kept is not None else []
    if not starting or _open_instance(starting[0], key):
        return  # nothing starts on it, or the open instance takes it when it waits for it
    try:
        instances.start(starting[0], None, key, None, party_codes(sender_instance_id), message=kept)
    except Conflict:  # another deliverer started it with this message at the same moment
        db.session.rollback()


def _open_instance(process_id: str, key: str) -> bool:
    """An instance of the process for the key that has not ended (a crash after starting one
    and before marking the message delivered finds it here and does not start a second)."""
    found = core(select(INSTANCES.c.id).where(
        INSTANCES.c.process_id == process_id, INSTANCES.c.business_key == key,
        INSTANCES.c.status.not_in(instances.FINISHED)).limit(1)).scalar()
    db.session.commit()
    return found is not None


def _start(process_id: str, message_id: int, name: str, key: str, payload: Any) -> None:
    """Start the process the message names, with the message as its data. The message is kept in the
    inbox first and the start claims it there, in its own transaction: two passes racing (two workers,
    or one that died between starting and marking) start one instance."""
    keep_message(name, key, payload, f"outbox:{message_id}")
    kept = _kept(message_id)
    if kept is None:
        return  # started with it before
    data = dict(payload) if isinstance(payload, dict) else {"value": payload}
    parties = data.pop("parties", None) or {}
    try:
        instances.start(process_id, None, key, {name: data}, parties, message=kept, catch=False)
    except Conflict:  # another pass started it with this message at the same moment
        db.session.rollback()


def _kept(message_id: int) -> Any:
    """The outbox message's copy in the inbox, while no instance has taken it."""
    kept = db.session.execute(select(INBOX.c.id, INBOX.c.name, INBOX.c.payload).where(
        INBOX.c.dedup_key == f"outbox:{message_id}", INBOX.c.delivered_at.is_(None))).first()
    db.session.commit()
    return kept
