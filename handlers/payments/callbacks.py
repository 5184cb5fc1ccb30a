"""The gateway's asynchronous result (`Notification`) and how it travels: signed, to the order's
`notify_url`, checked by the platform before it acts (`handlers.callbacks`: HMAC-SHA256 over
timestamp, nonce and body; 5 minutes; single-use nonce; headers `X-Pay-Timestamp`, `X-Pay-Nonce`,
`X-Pay-Signature`).

The same settlement may be notified more than once (a gateway retries until answered; the simulator
can be told to notify twice): every copy has the same `notification_id`, only its nonce differs, so
the platform acts on the first and answers the others without acting.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from handlers.callbacks import CallbackRejected, sign_callback, verify_callback

from .model import CURRENCY, ORDER_KINDS, OrderKind, OrderStatus, check_failure, parse_time, valid_amount

SETTLED_STATUSES: tuple[str, ...] = ("succeeded", "failed")
HEADER_PREFIX = "X-Pay"  # X-Pay-Timestamp, X-Pay-Nonce, X-Pay-Signature


@dataclass(frozen=True)
class Notification:
    """An order settled: `succeeded` or `failed` (with `failure_reason`, and `failure_code` when the gateway
    names the cause: `model.FAILURE_CODES`) at `settled_at`, for the order
    placed under `idempotency_key`; `business_key` is the order's, echoed (the platform correlates by it).
    """

    notification_id: str
    order_id: str
    idempotency_key: str
    kind: OrderKind
    status: str
    amount: str
    settled_at: datetime
    failure_reason: str = ""
    currency: str = CURRENCY
    business_key: str = ""
    failure_code: str = ""

    def __post_init__(self) -> None:
        for key in ("notification_id", "order_id", "idempotency_key"):
            if not isinstance(getattr(self, key), str) or not getattr(self, key):
                raise ValueError(f"{key} is required")
        if self.kind not in ORDER_KINDS:
            raise ValueError(f"kind is one of {', '.join(ORDER_KINDS)}")
        if self.status not in SETTLED_STATUSES:
            raise ValueError(f"status is one of {', '.join(SETTLED_STATUSES)}")
        if not valid_amount(self.amount):
            raise ValueError("amount is a positive decimal string with two places")
        if not isinstance(self.settled_at, datetime) or self.settled_at.tzinfo is None:
            raise ValueError("settled_at is a time with its time zone")
        if (self.status == "failed") != bool(self.failure_reason):
            raise ValueError("failure_reason is given exactly when the order failed")
        check_failure(self.status, self.failure_reason, self.failure_code)
        if not isinstance(self.business_key, str):
            raise ValueError("business_key is a string")

    def order_status(self) -> OrderStatus:
        """What a query of the order would answer now."""
        return OrderStatus(order_id=self.order_id, status=self.status, settled_at=self.settled_at,
                           failure_reason=self.failure_reason, failure_code=self.failure_code)

    def to_dict(self) -> dict[str, Any]:
        return {"notification_id": self.notification_id, "order_id": self.order_id,
                "idempotency_key": self.idempotency_key, "kind": self.kind, "status": self.status,
                "amount": self.amount, "currency": self.currency, "settled_at": self.settled_at.isoformat(),
                "failure_reason": self.failure_reason, "failure_code": self.failure_code,
                "business_key": self.business_key}

    @classmethod
    def from_dict(cls, data: Any) -> Notification:
        if not isinstance(data, dict):
            raise ValueError("a notification is a JSON object")
        missing = [k for k in ("notification_id", "order_id", "idempotency_key", "kind", "status", "amount",
                               "settled_at") if k not in data]
        if missing:
            raise ValueError(f"{missing[0]} is required")
        settled_at = parse_time(data["settled_at"])
        if settled_at is None:
            raise ValueError("settled_at is required")
        return cls(notification_id=data["notification_id"], order_id=data["order_id"],
                   idempotency_key=data["idempotency_key"], kind=cast(OrderKind, data["kind"]),
                   status=data["status"], amount=data["amount"], settled_at=settled_at,
                   failure_reason=data.get("failure_reason") or "", currency=data.get("currency", CURRENCY),
                   business_key=data.get("business_key", ""), failure_code=data.get("failure_code") or "")


@dataclass(frozen=True)
class SignedNotification:
    """A notification ready to POST: its JSON `body` and the `headers` that authenticate it."""

    headers: dict[str, str]
    body: bytes


def sign_notification(secret: str, payload: Notification, timestamp: datetime, nonce: str) -> SignedNotification:
    """`payload` as JSON (UTF-8) with the signature headers for `timestamp` and `nonce`."""
    body = json.dumps(payload.to_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", **sign_callback(secret, body, timestamp, nonce, prefix=HEADER_PREFIX)}
    return SignedNotification(headers=headers, body=body)


def verify_notification(secret: str, headers: Mapping[str, str], body: bytes, now: datetime,
                        seen_nonce: Callable[[str], bool]) -> Notification:
    """The notification `body` carries, once `handlers.callbacks.verify_callback` accepts it;
    `CallbackRejected` when it does not, or (`malformed`) when a signed body is not a notification.
    """
    verify_callback(secret, headers, body, now, seen_nonce, prefix=HEADER_PREFIX)
    try:
        return Notification.from_dict(json.loads(body.decode("utf-8")))
    except (UnicodeDecodeError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        raise CallbackRejected("malformed", f"the body is not a payment notification: {exc}") from exc
