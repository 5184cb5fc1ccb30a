"""Callbacks from the e-signature and payment providers: checked, then turned into workflow messages.

Each provider signs its callbacks (`handlers.callbacks`: HMAC-SHA256 over timestamp, nonce and body
with the secret in ESIGN_CALLBACK_SECRET / PAYMENTS_CALLBACK_SECRET; `X-Esign-*` or `X-Pay-*`
headers). A callback is accepted when it is signed, untampered, within 5 minutes of the services'
clock and its nonce is new: the nonce is taken in `callback_nonces` (its unique (provider, nonce)
index refuses the same nonce twice, even from two requests at once). Anything else raises
`CallbackRefused` (401, its code the reason), changes nothing (the nonce is rolled back with
everything else) and is logged (a warning and an audit entry `callback_refused`).

An accepted callback becomes a durable message (`workflow.messages.deliver_message`) correlated by
the deal's business key the callback carries, deduplicated by the provider's event id: the same
event sent again under a new nonce is a duplicate, answered without changing anything.

- e-signature: a flow ended (`handlers.esign.FlowEvent`) → `esign_completed`, event id
  `<flow_id>:<status>` (a completed flow: `<flow_id>:completed`), payload the event.
- payments: an order settled (`handlers.payments.callbacks.Notification`) → `payment_settled`,
  event id the `notification_id`, payload the notification. A `collection` order's (a borrower's
  online repayment) or a `debit`'s (the auto-debit `post_loan` placed) is not a message:
  `online_repayments.settle` books it in the ledger once.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import CallbackNonce
from app.services import context
from app.services.clock import now
from app.services.context import lazy_gettext as _l
from app.services.errors import Unauthorized
from app.services.identity.audit import audit
from app.services.signing import deals, online_repayments
from app.services.workflow.messages import deliver_message
from handlers.callbacks import CallbackRejected
from handlers.esign import FlowEvent
from handlers.esign.callbacks import verify_callback as verify_esign
from handlers.payments.callbacks import verify_notification
from handlers.payments.model import FROM_BORROWER

log = logging.getLogger("loanflow.callbacks")

ESIGN, PAYMENTS = "esign", "payments"
MESSAGE_NAMES = {ESIGN: "esign_completed", PAYMENTS: "payment_settled"}
REPAYMENT = "repayment_settled"  # what an accepted collection notification became (booked, not a message)
SECRETS = {ESIGN: "ESIGN_CALLBACK_SECRET", PAYMENTS: "PAYMENTS_CALLBACK_SECRET"}


class CallbackRefused(Unauthorized):
    """A callback the platform does not act on; `code` is the reason (`handlers.callbacks.REJECTION_REASONS`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(_l("The callback is refused: it is unsigned, tampered, stale or replayed."), code=reason)
        self.reason = reason


@dataclass(frozen=True)
class Accepted:
    """What an accepted callback became: the message `name` for `business_key`; `duplicate` when the
    same event was accepted before (nothing was done this time)."""

    name: str
    business_key: str
    event_id: str
    duplicate: bool


@dataclass(frozen=True)
class _Event:
    business_key: str
    event_id: str
    payload: dict[str, Any]


Reader = Callable[[str, Mapping[str, str], bytes, datetime, Callable[[str], bool]], _Event]


def receive_esign(headers: Mapping[str, str], body: bytes, remote_addr: str | None) -> Accepted:
    """An e-signature flow's end, from the provider: `esign_completed` for its business key."""
    return _receive(ESIGN, _read_esign, headers, body, remote_addr)


def receive_payment(headers: Mapping[str, str], body: bytes, remote_addr: str | None) -> Accepted:
    """A payment order's settlement, from the gateway: `payment_settled` for its business key."""
    return _receive(PAYMENTS, _read_payment, headers, body, remote_addr)


def _read_esign(secret: str, headers: Mapping[str, str], body: bytes, at: datetime,
                seen_nonce: Callable[[str], bool]) -> _Event:
    verify_esign(secret, headers, body, at, seen_nonce)
    try:
        event = FlowEvent.from_dict(json.loads(body.decode("utf-8")))
    except (UnicodeDecodeError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        raise CallbackRejected("malformed", f"the body is not a flow event: {exc}") from exc
    return _Event(event.business_key, f"{event.flow_id}:{event.status}", event.to_dict())


def _read_payment(secret: str, headers: Mapping[str, str], body: bytes, at: datetime,
                  seen_nonce: Callable[[str], bool]) -> _Event:
    notification = verify_notification(secret, headers, body, at, seen_nonce)
    if not notification.business_key:
        raise CallbackRejected("malformed", "the notification carries no business_key")
    return _Event(notification.business_key, notification.notification_id, notification.to_dict())


def _receive(provider: str, read: Reader, headers: Mapping[str, str], body: bytes,
             remote_addr: str | None) -> Accepted:
    def seen_nonce(nonce: str) -> bool:
        """Take the nonce in the request's transaction: committed with the message, rolled back with a refusal."""
        try:
            db.session.execute(insert(CallbackNonce).values(provider=provider, nonce=nonce, received_at=now()))
        except IntegrityError:
            return True
        return False

    try:
        event = read(context.config(SECRETS[provider]), headers, body, now(), seen_nonce)
    except CallbackRejected as exc:
        db.session.rollback()
        _refuse(provider, exc, remote_addr)
    name = MESSAGE_NAMES[provider]
    if len(event.business_key) > 128 or len(event.event_id) > 255:  # the inbox's columns
        db.session.rollback()
        _refuse(provider, CallbackRejected("malformed", "the business key or event id is too long"), remote_addr)
    if provider == ESIGN and _another_flow(event, remote_addr):
        return Accepted(name, event.business_key, event.event_id, False)
    if provider == PAYMENTS and event.payload.get("kind") in FROM_BORROWER:
        return _collection(event)
    delivery = deliver_message(name, event.business_key, event.payload, durable=True, dedup_key=event.event_id)
    if delivery.duplicate:
        log.info("callback from %s: %s for %s is a duplicate of %s", provider, name, event.business_key,
                 event.event_id)
    return Accepted(name, event.business_key, event.event_id, delivery.duplicate)


def _collection(event: _Event) -> Accepted:
    """A borrower's online repayment settled: booked in the ledger once, in this transaction (with the nonce)."""
    try:
        outcome = online_repayments.settle(event.payload)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    duplicate = bool(outcome.get("duplicate"))
    if duplicate:
        log.info("callback from payments: collection %s for %s is a duplicate", event.event_id, event.business_key)
    return Accepted(REPAYMENT, event.business_key, event.event_id, duplicate)


def _another_flow(event: _Event, remote_addr: str | None) -> bool:
    """Whether the e-signature event is about a flow other than the one the deal's contract was sent
    in (an earlier or orphaned flow of the same deal): taken (its nonce kept, so the provider stops
    sending it), logged, and never delivered, so it neither completes nor ends the deal's signing."""
    flow_id = str(event.payload.get("flow_id") or "")
    current = deals.contract_flow(event.business_key)
    if current is None or current == flow_id:
        return False
    log.warning("callback from esign: flow %s is not the flow %s of %s; nothing done", flow_id, current,
                event.business_key)
    audit("callback_ignored", None, event.business_key, remote_addr, provider=ESIGN, flow=flow_id, current_flow=current)
    db.session.commit()
    return True


def _refuse(provider: str, exc: CallbackRejected, remote_addr: str | None) -> NoReturn:
    log.warning("callback from %s refused: %s (%s) from %s", provider, exc.reason, exc.message, remote_addr,
                extra={"provider": provider, "reason": exc.reason, "remote_addr": remote_addr})
    audit("callback_refused", None, provider, remote_addr, reason=exc.reason)
    db.session.commit()
    raise CallbackRefused(exc.reason)
