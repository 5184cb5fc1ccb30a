"""The notify simulator's side of the platform: messages it receives over HTTP
(`POST /simulators/notify/api/messages`) recorded as notifications, and the outbox page's list.

The simulator decides as a gateway would (`handlers.notify.SimulatedNotify`: a mainland mobile
number, an e-mail address, a body) and every message it delivers is a row of `notifications` with
provider `simulator`, whether the platform called it in process (`sending`) or over HTTP (here).
A request repeated with the same `Idempotency-Key` is answered with the first receipt and recorded
once. The outbox is those rows, SMS and e-mail, newest first, for platform staff.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Notification
from app.services import clock
from app.services.identity import policy
from app.services.identity.directory import Principal
from app.services.notices.sending import SIMULATOR
from handlers.notify import Notification as Message
from handlers.notify import SendResult, SimulatedNotify

RECEIVED = "received"  # the template column of a message the simulator received: no platform template
KEY_PREFIX = "simulator:"  # apart from the platform's own keys, so calling oneself over HTTP never collides
MAX_KEY = 200 - len(KEY_PREFIX)
OUTBOX_CHANNELS = ("sms", "email")


def _stored(key: str) -> SendResult | None:
    row = db.session.scalar(select(Notification).where(Notification.idempotency_key == key))
    if row is None or not row.provider_message_id:
        return None
    return SendResult(provider_message_id=row.provider_message_id, status="delivered")


def receive(message: Message, idempotency_key: str | None = None) -> SendResult:
    """Deliver `message` as the simulator does and record it; the receipt.

    Raises `handlers.errors.ProviderError` for a message the simulator refuses (nothing recorded).
    With `idempotency_key` (at most 190 characters are kept), a repeated request answers the
    first receipt and records nothing more.
    """
    key = KEY_PREFIX + idempotency_key[:MAX_KEY] if idempotency_key else None
    if key is not None and (earlier := _stored(key)) is not None:
        return earlier
    result = SimulatedNotify().send(message)
    row = Notification(channel=message.channel, recipient=message.to[:254], template=RECEIVED, params={},
                       subject=message.subject[:200], body=message.body, provider=SIMULATOR,
                       provider_message_id=result.provider_message_id, status="sent", idempotency_key=key,
                       created_at=clock.now())
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:  # the same key, recorded by a request that ran at the same time
        earlier = _stored(key) if key is not None else None
        if earlier is None:
            raise
        return earlier
    db.session.commit()
    return result


def outbox(principal: Principal, page: int = 1, per_page: int = 20, channel: str | None = None) -> dict[str, Any]:
    """What the notify simulator delivered (SMS and e-mail), newest first; platform staff only."""
    policy.require(principal, "notices.outbox")
    channels = (channel,) if channel in OUTBOX_CHANNELS else OUTBOX_CHANNELS
    condition = Notification.channel.in_(channels) & (Notification.provider == SIMULATOR)
    total = db.session.scalar(select(func.count()).select_from(Notification).where(condition)) or 0
    rows = list(db.session.scalars(select(Notification).where(condition).order_by(Notification.id.desc())
                                   .offset((page - 1) * per_page).limit(per_page)))
    return {"items": rows, "total": total, "page": page, "per_page": per_page}


def may_read_outbox(principal: Principal) -> bool:
    """Whether the simulators' pages offer the outbox to this user."""
    return policy.allowed(principal, "notices.outbox")
