"""The tamper-evident history: each instance event's hash chained to the event before it, and its check.

Every event written to `instance_events` carries `hash`, the SHA-256 of a canonical serialisation
(sorted-key JSON, the time in UTC ISO with microseconds) of its instance id, kind, element id,
actor id, time, details and `prev_hash` — the hash of the same instance's event before it (None
for the first). The instance row keeps the head (`process_instances.last_event_hash`), written
by the same versioned UPDATE as the rest of a step, so a step costs no extra query and two steps
cannot both extend one head (`step_store`). Events written before the chain existed have no hash:
an instance's chain starts at its first event with one, and the older ones are counted, not checked.

`verify` walks the events in id order and names the first that breaks the chain: its content no
longer gives its hash (changed in place), it does not follow the event before it (one was
deleted, inserted or moved before it), it has no hash after the chain began, or the instance's
head is not its last event (the latest were deleted). The hash has no secret: someone able to
rewrite every later hash and the head can forge a consistent history; what it catches is an edit
of rows that leaves the rest as it was.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from itertools import groupby
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import InstanceEvent, ProcessInstance
from app.services.context import lazy_gettext as _l

PROBLEMS = {
    "altered": _l("The event's content no longer matches its hash: it was changed after it was written."),
    "out_of_place": _l("The event does not follow the event before it: an event was deleted, inserted or "
                       "moved before it."),
    "unchained": _l("The event has no hash although the history's chain had begun: it was inserted or its hash "
                    "removed."),
    "head_missing": _l("The instance's latest events are missing: its last recorded hash is not its last "
                       "event's."),
}


def _plain(value: Any) -> Any:
    """A JSON value as it reads back from either database: keys as texts, tuples as lists, and a
    whole float as an integer (PostgreSQL's JSONB gives 1e20 back as 100000000000000000000)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if type(value) is float and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def _utc(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(event: Mapping[str, Any], prev_hash: str | None) -> str:
    """The SHA-256 (hex) of an event's content (a row of `instance_events` or the values of one)
    after the event whose hash is `prev_hash`."""
    body = {"instance_id": event["instance_id"], "kind": event["kind"], "element_id": event["element_id"],
            "actor_id": event["actor_id"], "at": _utc(event["at"]), "details": _plain(event["details"] or {}),
            "prev": prev_hash}
    return sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def chain(events: list[dict[str, Any]], head: str | None) -> str | None:
    """Give each event (values about to be inserted, in order) its `prev_hash` and `hash` after
    `head`, the instance's last event hash; the new head."""
    for event in events:
        event["prev_hash"] = head
        event["hash"] = head = event_hash(event, head)
    return head


@dataclass(frozen=True)
class Verdict:
    """Whether one instance's history chain holds; if not, the first event that breaks it."""

    instance_id: int
    checked: int  # events with a hash, checked
    unchained: int  # events written before the chain existed, not covered
    event_id: int | None = None  # the first broken event (None when intact, or the head is wrong)
    problem: str | None = None  # a key of PROBLEMS

    @property
    def intact(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        """The verdict as the API shows it (the message in the reader's language)."""
        broken = None if self.intact else {"event_id": self.event_id, "problem": self.problem,
                                            "message": str(PROBLEMS[self.problem or ""])}
        return {"intact": self.intact, "checked": self.checked, "unchained": self.unchained, "broken": broken}


_COLUMNS = (InstanceEvent.id, InstanceEvent.instance_id, InstanceEvent.kind, InstanceEvent.element_id,
            InstanceEvent.actor_id, InstanceEvent.at, InstanceEvent.details, InstanceEvent.hash,
            InstanceEvent.prev_hash)


def _check(instance_id: int, head: str | None, events: Iterator[Any]) -> Verdict:
    checked = unchained = 0
    prev: str | None = None
    started = False
    for event in events:
        row = event._mapping
        if event.hash is None:
            if started:
                return Verdict(instance_id, checked, unchained, event.id, "unchained")
            unchained += 1
            continue
        started = True
        if event.prev_hash != prev:
            return Verdict(instance_id, checked, unchained, event.id, "out_of_place")
        if event_hash(row, prev) != event.hash:
            return Verdict(instance_id, checked, unchained, event.id, "altered")
        checked += 1
        prev = event.hash
    if prev != head:
        return Verdict(instance_id, checked, unchained, None, "head_missing")
    return Verdict(instance_id, checked, unchained)


def verify(instance_id: int | None = None) -> list[Verdict]:
    """The verdict of every instance (in id order), or of one; [] when that one does not exist.
    Reads the events in one streamed query."""
    heads = select(ProcessInstance.id, ProcessInstance.last_event_hash).order_by(ProcessInstance.id)
    events = select(*_COLUMNS).order_by(InstanceEvent.instance_id, InstanceEvent.id)
    if instance_id is not None:
        heads = heads.where(ProcessInstance.id == instance_id)
        events = events.where(InstanceEvent.instance_id == instance_id)
    head_of: dict[int, str | None] = {row.id: row.last_event_hash for row in db.session.execute(heads)}
    verdicts: dict[int, Verdict] = {}
    for owner, rows in groupby(db.session.execute(events.execution_options(yield_per=1000)),
                               key=lambda r: r.instance_id):
        if owner in head_of:
            verdicts[owner] = _check(owner, head_of[owner], rows)
    return [verdicts.get(i) or _check(i, head, iter(())) for i, head in head_of.items()]


def verdict_of(instance_id: int) -> Verdict:
    """One instance's verdict (the instance exists: the caller has read it)."""
    found = verify(instance_id)
    return found[0] if found else Verdict(instance_id, 0, 0)
