"""Messages: delivered to the instances that wait for them, or kept in the inbox until one does."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.engine.runner import MessageNotCaught, jsonable
from app.extensions import db
from app.services.clock import now
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict, NotFound
from app.services.identity import policy
from app.services.identity.directory import Actor
from app.services.workflow.runtime import runtime
from app.services.workflow.step_runner import INBOX, atomic_step, run_step
from app.services.workflow.step_store import INSTANCES, WAITS, core, load_instance


@dataclass
class Delivery:
    delivered_to: list[int] = field(default_factory=list)
    stored: bool = False  # kept in the inbox for an instance that does not wait yet
    duplicate: bool = False  # the same provider message (dedup key) arrived before


def waiting_instances(name: str, correlation_key: str) -> list[int]:
    return list(core(select(WAITS.c.instance_id).join(INSTANCES, INSTANCES.c.id == WAITS.c.instance_id)
                     .where(WAITS.c.name == name, WAITS.c.business_key == correlation_key,
                            INSTANCES.c.status == "waiting").order_by(WAITS.c.instance_id)).scalars())


def wait_key(instance_id: int, name: str) -> str | None:
    """The key a message of `name` must carry to reach this waiting instance (its business key, or the one its
    event gave it: `correlation_keys`); None when it waits for no such message under any key."""
    return core(select(WAITS.c.business_key).where(WAITS.c.instance_id == instance_id, WAITS.c.name == name)
                .limit(1)).scalar()


def post_message(actor: Actor, name: str, correlation_key: str, payload: Any, durable: bool = False,
                 dedup_key: str | None = None) -> Delivery:
    """`deliver_message` for a user (the API): the platform's admins and operators (`messages.deliver`)."""
    policy.require(actor, "messages.deliver")
    return deliver_message(name, correlation_key, payload, actor.id, durable=durable, dedup_key=dedup_key,
                           starter=actor)


def deliver_message(name: str, correlation_key: str, payload: Any, actor_id: int | None = None,
                    durable: bool = False, dedup_key: str | None = None, starter: Actor | None = None,
                    targets: list[int] | None = None) -> Delivery:
    """Deliver to every instance with this business key waiting for `name`.

    Without `durable`, a message nothing waits for starts, for the key, the process whose message start
    event takes it (as Camunda 7 correlates a message; `starter` starts it), else it is a 404. With it
    (provider callbacks), the message is stored first, so one that arrives before its instance waits is
    delivered when it does, and the same provider message sent twice (same `dedup_key`) is taken once.
    `targets`: the waiting instances chosen by the caller (`correlation`), in place of those of the key.
    """
    payload = jsonable(payload)
    delivery = Delivery()
    inbox_id = None
    if durable:
        inbox_id = _store(name, correlation_key, payload, dedup_key)
        if inbox_id is None:
            delivery.duplicate = True
            return delivery
    if targets is None:
        targets = waiting_instances(name, correlation_key)
    if not targets:
        if durable:
            delivery.stored = True
            return delivery
        if _start_on(name, correlation_key, payload, starter, delivery):
            return delivery
        raise NotFound(_l("no instance with business key %(key)s waits for message %(name)s",
                          key=repr(correlation_key), name=repr(name)))
    rt = runtime()
    for instance_id in targets:
        try:
            with atomic_step() as on_commit:
                instance = load_instance(instance_id)
                if instance.status != "waiting" or name not in instance.waiting_for:
                    continue  # it moved on meanwhile
                if inbox_id is not None and not delivery.delivered_to:
                    core(update(INBOX).where(INBOX.c.id == inbox_id).values(delivered_at=now(), instance_id=instance_id))
                run_step(instance, lambda wf: rt.engine.catch_message(wf, name, payload), on_commit, actor_id)
            delivery.delivered_to.append(instance_id)
        except MessageNotCaught:
            continue  # it waits for the name, but none of its catch events takes this one (correlation): not delivered
        except Conflict:
            continue  # another step changed it at the same moment; a later delivery of this name is the sender's
    if not delivery.delivered_to and not durable:
        raise NotFound(_l("no instance with business key %(key)s waits for message %(name)s",
                          key=repr(correlation_key), name=repr(name)))
    delivery.stored = durable and not delivery.delivered_to
    return delivery


def _start_on(name: str, correlation_key: str, payload: Any, starter: Actor | None, delivery: Delivery) -> bool:
    """Start the process whose message start event takes `name` (the first by process id, its newest
    version) for the key, the message claimed from the inbox in the start's own transaction; whether one
    started. Its start event took the message (`delivered_to`), or, when it did not after all (its
    correlation differs), the message stays in the inbox for it (`stored`)."""
    from app.services.workflow.deployment import message_start_processes
    from app.services.workflow.instances import start

    starting = message_start_processes(name)
    if not starting:
        return False
    inbox_id = _store(name, correlation_key, payload, None)
    kept = db.session.execute(select(INBOX.c.id, INBOX.c.name, INBOX.c.payload).where(INBOX.c.id == inbox_id)).one()
    try:
        instance_id = int(start(starting[0], starter, correlation_key or None, None, message=kept)["id"])  # "": none
    except BaseException:
        db.session.rollback()
        core(delete(INBOX).where(INBOX.c.id == inbox_id))  # a message from the API is not kept when it started nothing
        db.session.commit()
        raise
    taken = db.session.scalar(select(INBOX.c.instance_id).where(INBOX.c.id == inbox_id))
    db.session.commit()
    if taken == instance_id:
        delivery.delivered_to.append(instance_id)
    else:
        delivery.stored = True
    return True


def keep_message(name: str, correlation_key: str, payload: Any, dedup_key: str) -> int | None:
    """Keep a message in the inbox without delivering it (a start claims it: `outbox_delivery`); None
    when the same dedup key was kept before."""
    return _store(name, correlation_key, jsonable(payload), dedup_key)


def _store(name: str, correlation_key: str, payload: Any, dedup_key: str | None) -> int | None:
    """Keep the message in the inbox; None when the same dedup key was stored before."""
    try:
        inbox_id = core(insert(INBOX).returning(INBOX.c.id).values(
            name=name, correlation_key=correlation_key, payload=payload, dedup_key=dedup_key,
            received_at=now())).scalar_one()
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return int(inbox_id)
