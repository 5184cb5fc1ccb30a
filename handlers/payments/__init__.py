"""The payments adapter (UnionPay-style gateway): payment orders for disbursements and collections,
each under the platform's idempotency key, settled asynchronously and reported by a signed
notification, with a status query for when the notification is late.

`PaymentGateway` is the interface (`create_order`, `query`); `HttpPaymentsClient` speaks to a
configured gateway and `SimulatedGateway` is the simulator's core (orders in an `OrderStore`,
`settle_due(now)` returning the notifications to send, injected failures, delays and duplicates).
`sign_notification` / `verify_notification` sign and check a `Notification` (HMAC-SHA256,
`handlers.callbacks`); a callback that must not be acted on raises `CallbackRejected`.
"""
from __future__ import annotations

from handlers.callbacks import CallbackRejected

from .callbacks import Notification, SignedNotification, sign_notification, verify_notification
from .client import HttpPaymentsClient
from .model import (
    CURRENCY,
    FAILURE_CODES,
    ORDER_KINDS,
    ORDER_STATUSES,
    Account,
    IdempotencyConflict,
    OrderReceipt,
    OrderStatus,
    PaymentGateway,
    PaymentOrder,
)
from .simulator import SimulatedGateway
from .store import Injection, InMemoryOrderStore, OrderStore, StoredOrder

__all__ = ["CURRENCY", "FAILURE_CODES", "ORDER_KINDS", "ORDER_STATUSES", "Account", "CallbackRejected", "HttpPaymentsClient",
           "IdempotencyConflict", "InMemoryOrderStore", "Injection", "Notification", "OrderReceipt", "OrderStatus",
           "OrderStore", "PaymentGateway", "PaymentOrder", "SignedNotification", "SimulatedGateway", "StoredOrder",
           "sign_notification", "verify_notification"]
