"""A start's key: a form sent twice, or an API call sent again, starts one instance.

The start page's form carries a key made when the page was drawn, and the API's start takes one as
`idempotency_key` (as a borrower's online repayment does). An instance keeps the key it started with
(`process_instances.start_key`, unique per starting user), so the same user's same key again answers
the instance started first — with its state now, marked `duplicate` — however many requests race: the
unique index decides, on PostgreSQL as on SQLite. The key with another process or business key is a
conflict, never a second instance. Keys are each user's own: another user's key is simply another key.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import ProcessInstance
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict, Invalid

MAX_KEY = 100  # the column's length


class KeyUsed(Conflict):
    """The key started another instance (another process or business key): `instance_id` says which."""

    code = "start_key_used"

    def __init__(self, instance_id: int) -> None:
        super().__init__(_l("This idempotency key started another instance (%(id)s).", id=instance_id))
        self.instance_id = instance_id


def check(key: str) -> None:
    """A key is 1 to MAX_KEY characters (the API's field; a page's key is made by the page)."""
    if not key or len(key) > MAX_KEY:
        raise Invalid(_l("The start is not valid."),
                      {"idempotency_key": [_l("1 to %(most)s characters", most=MAX_KEY)]})


def earlier(user_id: int, key: str) -> ProcessInstance | None:
    """The instance this user started with this key, if any (as committed now)."""
    return db.session.scalar(select(ProcessInstance).where(
        ProcessInstance.started_by_id == user_id, ProcessInstance.start_key == key)
        .execution_options(populate_existing=True))


def answer(found: ProcessInstance, process_id: str, business_key: str | None) -> dict[str, Any]:
    """The earlier instance as `instances.start` answers a start, marked `duplicate`; a conflict when the key
    started another process or another business key."""
    if found.process_id != process_id or found.business_key != business_key:
        raise KeyUsed(found.id)
    return {"id": found.id, "process_id": found.process_id, "version": found.version, "status": found.status,
            "business_key": found.business_key, "data": found.data, "error": found.error,
            "created_at": found.created_at, "updated_at": found.updated_at, "ended_at": found.ended_at,
            "duplicate": True}
