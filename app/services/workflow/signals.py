"""Signals: a broadcast by name to every instance waiting for it (a BPMN signal catch event), with no
correlation key — "the market closed", "the rate changed" — and a new instance of every process whose
newest version has a signal start event for it (as Camunda 7 starts them). The platform's admins and
operators send them (`signals.send`); an instance waiting for one is found in `message_waits` under
`signal:<name>`."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app.engine.runner import SIGNAL_PREFIX, MessageNotCaught, ProcessEngine, StepOutcome, jsonable
from app.services.errors import Conflict, ServiceError
from app.services.identity import policy
from app.services.identity.directory import Actor
from app.services.workflow.deployment import signal_start_processes
from app.services.workflow.instances import StartAt, start
from app.services.workflow.runtime import runtime
from app.services.workflow.step_runner import atomic_step, run_step
from app.services.workflow.step_store import INSTANCES, WAITS, core, load_instance

log = logging.getLogger("loanflow.signals")


@dataclass
class SignalDelivery:
    delivered_to: list[int] = field(default_factory=list)  # waiting instances that took it
    started: list[int] = field(default_factory=list)  # instances its signal start events started


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
    for process_id, element_id in signal_start_processes(name):  # after the waiting ones: not sent to itself
        event = StartAt(_starts_at(element_id, name, payload), element_id, {"signal": name, "start_event": element_id})
        try:
            delivery.started.append(int(start(process_id, actor, event=event)["id"]))
        except ServiceError as exc:  # that process cannot start: the others still do, and it is not listed
            log.warning("signal %s started no instance of %s: %s", name, process_id, exc.message)
    return delivery


def _starts_at(element_id: str, name: str, payload: Any) -> Callable[[ProcessEngine, Any], StepOutcome]:
    """The step that starts a new instance at its signal start event `element_id`, which takes the signal."""
    return lambda engine, workflow: engine.start_on_signal(workflow, element_id, name, payload)
