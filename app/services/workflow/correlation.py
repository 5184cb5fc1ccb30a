"""A message correlated as Camunda 7 correlates one (`POST /engine-rest/message`): to the waiting instances chosen by
business key, instance id and the values of their variables (`correlationKeys`) — exactly one unless all are asked
for — or, when none waits and no instance was named, to a new instance of the process whose message start event
takes it. Delivery itself is `messages.deliver_message`'s, step by step, so two correlations racing for one waiting
instance deliver once."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app.services.context import lazy_gettext as _l
from app.services.errors import Invalid, NotFound
from app.services.identity import policy
from app.services.identity.directory import Actor
from app.services.workflow import messages
from app.services.workflow.step_store import INSTANCES, WAITS, core

MOST_WAITING = 10_000  # instances one correlation chooses among; more is a signal's work


class CorrelationMismatch(Invalid):
    """No waiting instance, or more than one, matches a correlation that wants exactly one."""

    camunda_type = "MismatchingMessageCorrelationException"


@dataclass
class Correlation:
    delivered_to: list[int] = field(default_factory=list)  # waiting instances that took the message
    started: int | None = None  # the instance its message start event started


def correlate(actor: Actor, name: str, payload: dict[str, Any], business_key: str | None = None,
              instance_id: int | None = None, match: dict[str, Any] | None = None,
              all_matches: bool = False) -> Correlation:
    """Deliver `name` with `payload` as Camunda correlates: see the module."""
    policy.require(actor, "messages.deliver")
    waiting = _waiting(name, business_key, instance_id, match or {})
    if len(waiting) > 1 and not all_matches:
        raise CorrelationMismatch(_l("Cannot correlate message %(name)s: %(count)d instances wait for it with these "
                                     "keys; name one (processInstanceId, businessKey, correlationKeys) or correlate "
                                     "to all.", name=repr(name), count=len(waiting)))
    if not waiting and (instance_id is not None or match):
        raise CorrelationMismatch(_l("Cannot correlate message %(name)s: no instance waits for it with these keys.",
                                     name=repr(name)))
    try:
        delivery = messages.deliver_message(name, business_key or "", payload, actor.id, starter=actor,
                                            targets=waiting)
    except NotFound:
        raise CorrelationMismatch(_l("Cannot correlate message %(name)s: no instance waits for it with these keys, "
                                     "and no process starts on it.", name=repr(name))) from None
    if not waiting:  # a message start event took it
        return Correlation(started=delivery.delivered_to[0] if delivery.delivered_to else None)
    return Correlation(delivered_to=delivery.delivered_to)


def _waiting(name: str, business_key: str | None, instance_id: int | None, match: dict[str, Any]) -> list[int]:
    """The waiting instances that wait for `name` and match the keys given, by id."""
    columns = (WAITS.c.instance_id, INSTANCES.c.data) if match else (WAITS.c.instance_id,)  # the data to match it
    query = (select(*columns).join(INSTANCES, INSTANCES.c.id == WAITS.c.instance_id)
             .where(WAITS.c.name == name, INSTANCES.c.status == "waiting"))
    if business_key:
        query = query.where(WAITS.c.business_key == business_key)
    if instance_id is not None:
        query = query.where(WAITS.c.instance_id == instance_id)
    rows = core(query.order_by(WAITS.c.instance_id).limit(MOST_WAITING + 1)).all()
    if len(rows) > MOST_WAITING:  # never a part of them said as all
        raise Invalid(_l("More than %(most)s instances wait for message %(name)s: correlate by business key or "
                         "instance, or send a signal to all of them.", most=f"{MOST_WAITING:,}", name=repr(name)))
    found = {row[0]: row[1] if match else None for row in rows}  # an instance may wait for it at two events
    return [found_id for found_id, data in found.items()
            if all(isinstance(data, dict) and key in data and _same(data[key], value) for key, value in match.items())]


def _same(held: Any, given: Any) -> bool:
    """Equal as the variables' values (True is not 1)."""
    return held == given and isinstance(held, bool) == isinstance(given, bool)
