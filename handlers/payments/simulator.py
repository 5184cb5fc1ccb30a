"""The payments simulator's core: takes orders, settles them when their time comes, and answers
queries, with the failures the platform tells it to inject.

An order settles `settle_after` after it was taken (a few seconds), or `late_by` later when it is one
of the next orders told to be late; it fails with the injected reason when it is one of the next
orders told to fail, else it succeeds. `settle_due(now)` settles what is due and returns the
notifications to send, two copies for an order told to notify twice; sending them (signed, to each
order's `notify_url`) is the caller's, and so is sending again when the platform does not answer.
The simulator moves no money and knows no bank: any well-formed order succeeds unless told otherwise.

A `collection` (the borrower pays) is different: it waits for its payer, who pays on the simulator's
page (`pay(order_id, now)` settles it then, with the injected failure if it was told to fail); the
timer never settles it on its own.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from handlers.errors import ProviderError

from .callbacks import Notification
from .model import IdempotencyConflict, OrderReceipt, OrderStatus, PaymentOrder
from .store import DEFAULT_LATE_BY, SIMULATED_WORDS, Injection, InMemoryOrderStore, OrderStore, StoredOrder

PROVIDER = "simulator"
SETTLE_AFTER = timedelta(seconds=2)
AWAITS_PAYER = timedelta(days=36500)  # a collection's settle_at: never reached; the payer settles it (`pay`)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SimulatedGateway:
    """A `PaymentGateway` in process over an `OrderStore` (in memory unless given); `clock` answers
    the time an order is taken (timezone-aware).
    """

    def __init__(self, store: OrderStore | None = None, *, clock: Callable[[], datetime] = _utc_now,
                 settle_after: timedelta = SETTLE_AFTER) -> None:
        self.store: OrderStore = store if store is not None else InMemoryOrderStore()
        self.clock = clock
        self.settle_after = settle_after

    # --- the gateway ----------------------------------------------------------------------------------

    def create_order(self, order: PaymentOrder) -> OrderReceipt:
        existing = self.store.by_key(order.idempotency_key)
        if existing is not None:
            return self._same_order(existing, order)
        now, plan = self.clock(), self.store.injection()
        late = plan.late_by if plan.late_next else timedelta(0)
        wait = AWAITS_PAYER if order.kind == "collection" else self.settle_after + late
        stored = StoredOrder(order_id="SIM-PO-" + secrets.token_hex(10).upper(), order=order, created_at=now,
                             settle_at=now + wait,
                             fail_reason=plan.fail_reason if plan.fail_next else "",
                             copies=2 if plan.twice_next else 1)
        kept = self.store.add(stored)
        if kept.order_id != stored.order_id:  # another process placed this key first
            return self._same_order(kept, order)
        self.store.set_injection(plan.taken())
        return OrderReceipt(order_id=stored.order_id)

    def query(self, order_id: str) -> OrderStatus:
        stored = self.store.get(order_id)
        if stored is None:
            raise ProviderError(f"no order {order_id}", provider=PROVIDER, status=404)
        return stored.order_status()

    def close(self, order_id: str) -> OrderStatus:
        """Close a collection its payer has not paid: it can no longer be paid (no notification: nothing moved).
        An order settled already keeps its status, which is answered; `ProviderError` 404 for an unknown order,
        409 for a disbursement or a debit (the gateway moves those on its own)."""
        stored = self.store.get(order_id)
        if stored is None:
            raise ProviderError(f"no order {order_id}", provider=PROVIDER, status=404)
        if stored.order.kind != "collection":
            raise ProviderError(f"order {order_id} is not a collection: it is not closed", provider=PROVIDER,
                                status=409)
        if stored.status == "pending":
            stored.status, stored.settled_at = "closed", self.clock()
            self.store.save(stored)
        return stored.order_status()

    def settle_due(self, now: datetime) -> list[Notification]:
        """Settle every pending order due at `now`; the notifications to send, in order."""
        notifications: list[Notification] = []
        for stored in self.store.due(now):
            notifications.extend(self._settle(stored, now))
        return notifications

    def pay(self, order_id: str, now: datetime) -> list[Notification]:
        """The payer pays a pending collection order now: it settles (succeeded, or failed with an
        injected reason) and the notifications to send are returned. `ProviderError` 404 for an
        unknown order, 409 for a disbursement or an order settled already."""
        stored = self.store.get(order_id)
        if stored is None:
            raise ProviderError(f"no order {order_id}", provider=PROVIDER, status=404)
        if stored.order.kind != "collection":
            raise ProviderError(f"order {order_id} is not a collection: its payer does not pay it here",
                                provider=PROVIDER, status=409)
        if stored.status != "pending":
            raise ProviderError(f"order {order_id} is {stored.status} already", provider=PROVIDER, status=409)
        return self._settle(stored, now)

    def _settle(self, stored: StoredOrder, now: datetime) -> list[Notification]:
        stored.status = "failed" if stored.fail_reason else "succeeded"
        stored.settled_at, stored.failure_reason = now, SIMULATED_WORDS.get(stored.fail_reason, stored.fail_reason)
        self.store.save(stored)
        order = stored.order
        notification = Notification(
            notification_id="SIM-PN-" + stored.order_id.removeprefix("SIM-PO-"), order_id=stored.order_id,
            idempotency_key=order.idempotency_key, kind=order.kind, status=stored.status, amount=order.amount,
            settled_at=now, failure_reason=stored.failure_reason, currency=order.currency,
            business_key=order.business_key, failure_code=stored.failure_code)
        return [notification] * stored.copies

    # --- failure injection ----------------------------------------------------------------------------

    def injection(self) -> Injection:
        """What the next orders will suffer."""
        return self.store.injection()

    def fail_next(self, count: int, reason: str) -> Injection:
        """The next `count` orders fail with `reason` (0 stops it): a code of `FAILURE_CODES` (the order fails
        with it, in the simulator's words) or words of one's own."""
        return self._inject(replace(self.store.injection(), fail_next=count, fail_reason=reason if count else ""))

    def delay_next(self, count: int, late_by: timedelta = DEFAULT_LATE_BY) -> Injection:
        """The next `count` orders settle, and are notified, `late_by` later than usual."""
        return self._inject(replace(self.store.injection(), late_next=count, late_by=late_by))

    def notify_twice_next(self, count: int) -> Injection:
        """The next `count` orders are notified twice."""
        return self._inject(replace(self.store.injection(), twice_next=count))

    def clear_injection(self) -> Injection:
        """The next orders succeed on time, notified once."""
        return self._inject(Injection())

    def _inject(self, injection: Injection) -> Injection:
        self.store.set_injection(injection)
        return injection

    @staticmethod
    def _same_order(stored: StoredOrder, order: PaymentOrder) -> OrderReceipt:
        if stored.order != order:
            raise IdempotencyConflict(f"the idempotency key {order.idempotency_key} was used for a different order",
                                      provider=PROVIDER, status=409)
        return OrderReceipt(order_id=stored.order_id)
