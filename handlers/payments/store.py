"""Where the payments simulator keeps its orders and what it was told to do to the next ones.

`OrderStore` is the interface: the platform backs it with a table, so the web server that takes an
order and the worker that settles it see the same orders; `InMemoryOrderStore` is the one for
tests and a single process. A `StoredOrder` is the order with the simulator's plans for it (when it
settles, whether it fails, how many notifications it sends); an `Injection` is what the next orders
will suffer: fail with a reason, settle late, or be notified twice.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from .model import FAILURE_CODES, OrderStatus, PaymentOrder

DEFAULT_LATE_BY = timedelta(minutes=10)
# The simulator's words for a failure it is told to inject by its code (`FAILURE_CODES`): it speaks both
# languages, as a gateway in China may; the platform says the code in its reader's language.
SIMULATED_WORDS = {
    "insufficient_funds": "账户余额不足 Insufficient balance in the payer's account",
    "account_frozen": "账户已冻结 The payer's account is frozen",
    "account_closed": "账户已销户 The payer's account is closed",
    "limit_exceeded": "超出单笔或当日限额 Over the account's single or daily limit",
    "declined": "银行拒绝交易 Declined by the payer's bank",
}


@dataclass
class StoredOrder:
    """An order the simulator took: it settles at `settle_at` as a failure when `fail_reason` is set
    (else a success), notified `copies` times; `status`, `settled_at` and `failure_reason` are its state.
    A `fail_reason` that is one of `FAILURE_CODES` fails it with that code and the simulator's words for it.
    """

    order_id: str
    order: PaymentOrder
    created_at: datetime
    settle_at: datetime
    fail_reason: str = ""
    copies: int = 1
    status: str = "pending"
    settled_at: datetime | None = None
    failure_reason: str = ""

    @property
    def failure_code(self) -> str:
        """The code of the cause it failed with, when it was told one (else "": its words alone)."""
        return self.fail_reason if self.status == "failed" and self.fail_reason in FAILURE_CODES else ""

    def order_status(self) -> OrderStatus:
        return OrderStatus(order_id=self.order_id, status=self.status, settled_at=self.settled_at,
                           failure_reason=self.failure_reason, failure_code=self.failure_code)


@dataclass(frozen=True)
class Injection:
    """What the next orders suffer, each counter taken by one order: `fail_next` fail with
    `fail_reason`, `late_next` settle `late_by` later than usual, `twice_next` are notified twice.
    """

    fail_next: int = 0
    fail_reason: str = ""
    late_next: int = 0
    late_by: timedelta = field(default=DEFAULT_LATE_BY)
    twice_next: int = 0

    def __post_init__(self) -> None:
        if min(self.fail_next, self.late_next, self.twice_next) < 0:
            raise ValueError("an injection's counts are zero or more")
        if self.fail_next and not self.fail_reason.strip():
            raise ValueError("failing orders need a reason")
        if self.late_by <= timedelta(0):
            raise ValueError("late_by is a positive duration")

    def taken(self) -> Injection:
        """What is left for the orders after the next one."""
        fail_next = max(0, self.fail_next - 1)
        return replace(self, fail_next=fail_next, fail_reason=self.fail_reason if fail_next else "",
                       late_next=max(0, self.late_next - 1), twice_next=max(0, self.twice_next - 1))


class OrderStore(Protocol):
    """The simulator's memory. `add` keeps the first order under an idempotency key: it returns the
    order stored under `order.order.idempotency_key`, the one given or one stored before (a table with
    a unique index on the key does this with an insert that falls back to a read).
    """

    def add(self, order: StoredOrder) -> StoredOrder: ...

    def get(self, order_id: str) -> StoredOrder | None: ...

    def by_key(self, idempotency_key: str) -> StoredOrder | None: ...

    def save(self, order: StoredOrder) -> None: ...

    def due(self, now: datetime) -> list[StoredOrder]:
        """Pending orders whose `settle_at` is at or before `now`, the earliest first."""
        ...

    def injection(self) -> Injection: ...

    def set_injection(self, injection: Injection) -> None: ...


class InMemoryOrderStore:
    """An `OrderStore` in a dict: for tests and a simulator living in one process."""

    def __init__(self) -> None:
        self._orders: dict[str, StoredOrder] = {}
        self._by_key: dict[str, str] = {}
        self._injection = Injection()

    def add(self, order: StoredOrder) -> StoredOrder:
        order_id = self._by_key.setdefault(order.order.idempotency_key, order.order_id)
        return self._orders.setdefault(order_id, order)

    def get(self, order_id: str) -> StoredOrder | None:
        return self._orders.get(order_id)

    def by_key(self, idempotency_key: str) -> StoredOrder | None:
        order_id = self._by_key.get(idempotency_key)
        return self._orders[order_id] if order_id else None

    def save(self, order: StoredOrder) -> None:
        self._orders[order.order_id] = order

    def due(self, now: datetime) -> list[StoredOrder]:
        pending = [o for o in self._orders.values() if o.status == "pending" and o.settle_at <= now]
        return sorted(pending, key=lambda o: (o.settle_at, o.created_at))

    def injection(self) -> Injection:
        return self._injection

    def set_injection(self, injection: Injection) -> None:
        self._injection = injection
