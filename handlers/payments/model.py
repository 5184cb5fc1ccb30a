"""The payments adapter's provider-neutral contract: a payment order (`PaymentOrder` between two
`Account`s), the gateway's receipt (`OrderReceipt`), an order's state (`OrderStatus`) and who takes
orders (`PaymentGateway`). The asynchronous result is `handlers.payments.callbacks.Notification`.

Every record travels as a JSON object (`to_dict` / `from_dict`, the same shape on the wire, in the
simulator's API and in a deal's instance data); `from_dict` raises ValueError on a shape it cannot
read. Amounts are decimal strings in yuan with exactly two places ("500000.00"); times are ISO 8601
with their offset.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, cast

from handlers.errors import ProviderError

OrderKind = Literal["disbursement", "collection", "debit"]
# funds to the borrower; funds from them (they pay); funds taken from them under their signed authorisation
ORDER_KINDS: tuple[str, ...] = ("disbursement", "collection", "debit")
FROM_BORROWER: tuple[str, ...] = ("collection", "debit")  # the platform books these as repayments
ORDER_STATUSES: tuple[str, ...] = ("pending", "succeeded", "failed", "closed")  # closed: never paid, now unpayable
CURRENCY = "CNY"
# Why an order failed, in a word every platform reads (`failure_code`), beside the gateway's own words
# (`failure_reason`, in whatever language the gateway speaks); "" when the gateway names no such cause.
FAILURE_CODES: tuple[str, ...] = ("insufficient_funds", "account_frozen", "account_closed", "limit_exceeded",
                                  "declined")
_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,14})\.[0-9]{2}")


def check_failure(status: str, failure_reason: str, failure_code: str) -> None:
    """A failed order says why: its words, and a code of FAILURE_CODES when it has one."""
    if status == "failed" and not failure_reason:
        raise ValueError("a failed order has a failure_reason")
    if failure_code and (status != "failed" or failure_code not in FAILURE_CODES):
        raise ValueError(f"failure_code is given only when the order failed, one of {', '.join(FAILURE_CODES)}")


def valid_amount(value: str) -> bool:
    """True for a positive decimal string with exactly two places ("0.01" up to 15 whole digits)."""
    return isinstance(value, str) and _AMOUNT.fullmatch(value) is not None and value != "0.00"


class IdempotencyConflict(ProviderError):
    """An order was placed again under an idempotency key already used for a different order."""


@dataclass(frozen=True)
class Account:
    """A bank account: its holder's `name`, the account `number` and the `bank` (name or code)."""

    name: str
    number: str
    bank: str

    def __post_init__(self) -> None:
        for key in ("name", "number", "bank"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"an account's {key} is required")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "number": self.number, "bank": self.bank}

    @classmethod
    def from_dict(cls, data: Any) -> Account:
        if not isinstance(data, dict):
            raise ValueError("an account is a JSON object")
        return cls(name=data.get("name", ""), number=data.get("number", ""), bank=data.get("bank", ""))


@dataclass(frozen=True)
class PaymentOrder:
    """Move `amount` from `payer` to `payee`: a `disbursement` (the funder pays the borrower) or a
    `collection` (the borrower pays). `idempotency_key` is the platform's own key: the same key
    places the same order once. The gateway reports the result to `notify_url`, echoing `business_key`
    (the platform's reference for the deal, such as the application's number) in its notification.
    """

    kind: OrderKind
    idempotency_key: str
    amount: str
    payer: Account
    payee: Account
    notify_url: str
    memo: str = ""
    currency: str = CURRENCY
    business_key: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ORDER_KINDS:
            raise ValueError(f"kind is one of {', '.join(ORDER_KINDS)}")
        if not isinstance(self.idempotency_key, str) or not 1 <= len(self.idempotency_key.strip()) <= 128:
            raise ValueError("idempotency_key is 1 to 128 characters")
        if not valid_amount(self.amount):
            raise ValueError("amount is a positive decimal string with two places, such as 500000.00")
        if self.currency != CURRENCY:
            raise ValueError(f"currency is {CURRENCY}")
        if not isinstance(self.payer, Account) or not isinstance(self.payee, Account):
            raise ValueError("payer and payee are accounts")
        if not isinstance(self.notify_url, str) or not self.notify_url.startswith(("http://", "https://")):
            raise ValueError("notify_url is an http(s) URL")
        if not isinstance(self.memo, str):
            raise ValueError("memo is a string")
        if not isinstance(self.business_key, str):
            raise ValueError("business_key is a string")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "idempotency_key": self.idempotency_key, "amount": self.amount,
                "currency": self.currency, "payer": self.payer.to_dict(), "payee": self.payee.to_dict(),
                "memo": self.memo, "notify_url": self.notify_url, "business_key": self.business_key}

    @classmethod
    def from_dict(cls, data: Any) -> PaymentOrder:
        if not isinstance(data, dict):
            raise ValueError("a payment order is a JSON object")
        missing = [k for k in ("kind", "idempotency_key", "amount", "payer", "payee", "notify_url") if k not in data]
        if missing:
            raise ValueError(f"{missing[0]} is required")
        return cls(kind=cast(OrderKind, data["kind"]), idempotency_key=data["idempotency_key"],
                   amount=data["amount"], payer=Account.from_dict(data["payer"]),
                   payee=Account.from_dict(data["payee"]), notify_url=data["notify_url"],
                   memo=data.get("memo", ""), currency=data.get("currency", CURRENCY),
                   business_key=data.get("business_key", ""))


@dataclass(frozen=True)
class OrderReceipt:
    """The gateway took the order: its `order_id`; the result comes later (notification or query)."""

    order_id: str
    status: str = "accepted"

    def __post_init__(self) -> None:
        if not isinstance(self.order_id, str) or not self.order_id:
            raise ValueError("order_id is required")
        if self.status != "accepted":
            raise ValueError("a receipt's status is accepted")

    def to_dict(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "status": self.status}

    @classmethod
    def from_dict(cls, data: Any) -> OrderReceipt:
        if not isinstance(data, dict):
            raise ValueError("a receipt is a JSON object")
        return cls(order_id=data.get("order_id", ""), status=data.get("status", ""))


@dataclass(frozen=True)
class OrderStatus:
    """Where an order stands: `pending`, `succeeded` (with `settled_at`), `failed` (with `settled_at`, the
    gateway's `failure_reason` and, when it names one, its `failure_code`) or `closed` (a collection its payer never
    paid, closed at `settled_at`: it can no longer be paid).
    """

    order_id: str
    status: str
    settled_at: datetime | None = None
    failure_reason: str = ""
    failure_code: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.order_id, str) or not self.order_id:
            raise ValueError("order_id is required")
        if self.status not in ORDER_STATUSES:
            raise ValueError(f"status is one of {', '.join(ORDER_STATUSES)}")
        if (self.status == "pending") != (self.settled_at is None):
            raise ValueError("settled_at is given exactly when the order is settled")
        if self.settled_at is not None and self.settled_at.tzinfo is None:
            raise ValueError("settled_at carries its time zone")
        check_failure(self.status, self.failure_reason, self.failure_code)

    def to_dict(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "status": self.status,
                "settled_at": self.settled_at.isoformat() if self.settled_at else None,
                "failure_reason": self.failure_reason, "failure_code": self.failure_code}

    @classmethod
    def from_dict(cls, data: Any) -> OrderStatus:
        if not isinstance(data, dict):
            raise ValueError("an order status is a JSON object")
        return cls(order_id=data.get("order_id", ""), status=data.get("status", ""),
                   settled_at=parse_time(data.get("settled_at")), failure_reason=data.get("failure_reason") or "",
                   failure_code=data.get("failure_code") or "")


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time with its offset, or None for None; ValueError otherwise."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("a time is an ISO 8601 string")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("a time carries its offset")
    return moment


class PaymentGateway(Protocol):
    """Anything that takes payment orders: `SimulatedGateway`, `HttpPaymentsClient`, a test's fake.

    `create_order` with a key already used returns that order's receipt when the order is the same and
    raises `IdempotencyConflict` when it differs. `close` closes a collection its payer has not paid (as
    gateways' "close order"): it answers the order's status — `closed`, or how it settled when the payer paid
    first (its notification follows as for any order). `query` raises `ProviderError` for an order the
    gateway does not know; both raise `ProviderUnavailable` when the gateway cannot be reached.
    """

    def create_order(self, order: PaymentOrder) -> OrderReceipt: ...

    def query(self, order_id: str) -> OrderStatus: ...

    def close(self, order_id: str) -> OrderStatus: ...
