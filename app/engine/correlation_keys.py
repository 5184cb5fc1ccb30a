"""The key a message finds its waiting instance by, when the diagram says it (Camunda 8's subscriptions).

Loanflow delivers a message to the instances of its correlation key that wait for its name
(`messages.deliver_message`); by default an instance's key is its business key. Camunda 8 says instead,
on the message, which of the instance's values a sender correlates by (`zeebe:subscription
correlationKey="=orderId"`): the import writes that expression on each event and receive task that
catches the message, as the `correlationKey` property (`zeebe_elements`). When such an event starts to
wait, `subscribe` evaluates the expression once on its data, as Camunda 8 opens a subscription, and keeps
the value with the task; `keys` gives the waits' keys, which the platform writes beside the message's name
(`step_store`), so that the message is delivered with that value as its key. A key that cannot be read
(an incident saying what the expression reads), or that is no text or whole number, or longer than a business
key may be, stops the instance with an incident naming the event.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import EventBasedGateway

from app.engine.errors import InstanceFault
from app.engine.said import said

PROPERTY = "correlationKey"  # the Python expression of the key, on a catching event's spec
MAX_LENGTH = 128  # as long as a business key (`message_waits.business_key`, the API's `correlation_key`)
_KEPT = "correlation_keys"  # in a waiting task's internal data: message name -> the key it was given


def _expression(spec: Any) -> str | None:
    found = ((getattr(spec, "extensions", None) or {}).get("properties") or {}).get(PROPERTY)
    return found if isinstance(found, str) and found.strip() else None


def _catches(task: Any) -> list[tuple[str, Any]]:
    """(message name, the spec that says its key) of each message a waiting task catches: its own event,
    or the events an event-based gateway waits for."""
    spec = task.task_spec
    specs = list(spec.outputs) if isinstance(spec, EventBasedGateway) else [spec]
    found = []
    for each in specs:
        definition = getattr(each, "event_definition", None)
        if isinstance(definition, MessageEventDefinition):
            found.append((definition.name, each))
    return found


def _key(value: Any, name: str, expression: str, element: str) -> str:
    if isinstance(value, int | Decimal | float) and not isinstance(value, bool) and math.isfinite(value) \
            and value == int(value):
        value = str(int(value))
    if isinstance(value, str) and value:
        if len(value) > MAX_LENGTH:
            raise InstanceFault(said("the correlation key of message %(name)r, %(expression)s, is %(length)d "
                                     "characters long here: a key has at most %(most)d", name=name,
                                     expression=expression, length=len(value), most=MAX_LENGTH), element)
        return value
    raise InstanceFault(said("the correlation key of message %(name)r, %(expression)s, is %(value)r here: a key is a "
                             "text or a whole number; set it before the event waits", name=name, expression=expression,
                             value=value), element)


def subscribe(tasks: list[Any], evaluate: Callable[[Any, str], Any]) -> None:
    """Give each waiting task's messages the key its event says, once (`evaluate(task, expression)`)."""
    for task in tasks:
        kept = task.internal_data.get(_KEPT) or {}
        for name, spec in _catches(task):
            expression = _expression(spec)
            if expression is None or name in kept:
                continue
            # a key that cannot be read fails the step as any expression does: an incident saying what it reads
            kept[name] = _key(evaluate(task, expression), name, expression, str(spec.bpmn_id))
        if kept:
            task.internal_data[_KEPT] = kept


def keys(tasks: list[Any]) -> dict[str, str]:
    """Message name -> key, for the messages the waiting tasks were given a key for."""
    found: dict[str, str] = {}
    for task in tasks:
        found.update(task.internal_data.get(_KEPT) or {})
    return found


__all__ = ["PROPERTY", "keys", "subscribe"]
