"""Signals: a broadcast by name to every instance waiting for it (a BPMN signal catch event), with no
correlation key — "the market closed", "the rate changed". The platform's admins and operators send
them (`signals.send`); an instance waiting for one is found in `message_waits` under `signal:<name>`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app.engine.runner import SIGNAL_PREFIX, MessageNotCaught, jsonable
from app.services.errors import Conflict
from app.services.identity import policy
from app.services.identity.directory import Actor
from app.services.workflow.runtime import runtime
from app.services.workflow.step_runner import atomic_step, run_step
from app.services.workflow.step_store import INSTANCES, WAITS, core, load_instance


@dataclass
class SignalDelivery:
    delivered_to: list[int] = field(default_factory=list)


def waiting_for_signal(name: str) -> list[int]:
    return list(core(select(WAITS.c.instance_id).join(INSTANCES, INSTANCES.c.id == WAITS.c.instance_id)
                     .where(WAITS.c.name == SIGNAL_PREFIX + name, INSTANCES.c.status == "waiting")
                     .order_by(WAITS.c.instance_id)).scalars())


def send_signal(actor: Actor, name: str, payload: Any = None) -> SignalDelivery:
    """Deliver the signal to every instance waiting for it, each in its own step; the instances that took
    it (none is an answer too: a broadcast that reached nobody, said as such)."""
    policy.require(actor, "signals.send")
    payload = jsonable(payload)
    delivery = SignalDelivery()
    rt = runtime()
    for instance_id in waiting_for_signal(name):
        try:
            with atomic_step() as on_commit:
                instance = load_instance(instance_id)
                if instance.status != "waiting" or SIGNAL_PREFIX + name not in instance.waiting_for:
                    continue  # it moved on meanwhile
                run_step(instance, lambda wf: rt.engine.catch_signal(wf, name, payload), on_commit, actor.id)
            delivery.delivered_to.append(instance_id)
        except (MessageNotCaught, Conflict):
            continue  # not taken after all, or another step changed it at the same moment
    return delivery
