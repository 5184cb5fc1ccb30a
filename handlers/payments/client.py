"""The payments adapter's real client: POST `{base_url}/api/orders` (the order, its idempotency key
also as `Idempotency-Key`) and POST `{base_url}/api/orders/query` (`{"order_id"}`), as UnionPay-style
gateways take both as POSTs.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from handlers.errors import ProviderError
from handlers.transport import endpoint, post_json

from .model import IdempotencyConflict, OrderReceipt, OrderStatus, PaymentOrder

PROVIDER = "payments"


class HttpPaymentsClient:
    """A `PaymentGateway` over HTTP (`Authorization: Bearer <api_key>`).

    `timeout` is in seconds per attempt, `retries` the attempts after the first one on a connection
    error, a timeout or a 5xx answer (an order is retried under the same idempotency key, so the
    gateway places it once); then `ProviderUnavailable`. A 409 answer to an order is
    `IdempotencyConflict`; another 4xx answer, or an answer that does not read, `ProviderError`.
    """

    def __init__(self, base_url: str, api_key: str, timeout: float = 5, retries: int = 2, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.orders_url = endpoint(base_url, "/api/orders")
        self.query_url = endpoint(base_url, "/api/orders/query")
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.sleep = sleep  # the backoff's wait; tests pass one that does not wait

    def create_order(self, order: PaymentOrder) -> OrderReceipt:
        try:
            answer = post_json(self.orders_url, order.to_dict(), api_key=self.api_key, provider=PROVIDER,
                               timeout=self.timeout, retries=self.retries, idempotency_key=order.idempotency_key,
                               sleep=self.sleep)
        except ProviderError as exc:
            if exc.status == 409:
                raise IdempotencyConflict(exc.message, provider=PROVIDER, status=409) from exc
            raise
        try:
            return OrderReceipt.from_dict(answer)
        except ValueError as exc:
            raise ProviderError(f"answered a receipt that does not read: {exc}", provider=PROVIDER) from exc

    def query(self, order_id: str) -> OrderStatus:
        answer = post_json(self.query_url, {"order_id": order_id}, api_key=self.api_key, provider=PROVIDER,
                           timeout=self.timeout, retries=self.retries, sleep=self.sleep)
        try:
            return OrderStatus.from_dict(answer)
        except ValueError as exc:
            raise ProviderError(f"answered an order status that does not read: {exc}", provider=PROVIDER) from exc
