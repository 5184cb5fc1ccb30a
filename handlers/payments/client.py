"""The payments adapter's real client: POST `{base_url}/api/orders` (the order, its idempotency key
also as `Idempotency-Key`), POST `{base_url}/api/orders/query` and POST `{base_url}/api/orders/close`
(`{"order_id"}`), as UnionPay-style gateways take them as POSTs.
"""
from __future__ import annotations

from handlers.errors import ProviderError
from handlers.transport import JsonClient

from .model import IdempotencyConflict, OrderReceipt, OrderStatus, PaymentOrder

PROVIDER = "payments"


class HttpPaymentsClient(JsonClient):
    """A `PaymentGateway` over HTTP (`Authorization: Bearer <api_key>`).

    `timeout` is in seconds per attempt, `retries` the attempts after the first one on a connection
    error, a timeout or a 5xx answer (an order is retried under the same idempotency key, so the
    gateway places it once); then `ProviderUnavailable`. A 409 answer to an order is
    `IdempotencyConflict`; another 4xx answer, or an answer that does not read, `ProviderError`.
    """

    provider = PROVIDER

    def create_order(self, order: PaymentOrder) -> OrderReceipt:
        try:
            answer = self.post("/api/orders", order.to_dict(), idempotency_key=order.idempotency_key)
        except ProviderError as exc:
            if exc.status == 409:
                raise IdempotencyConflict(exc.message, provider=PROVIDER, status=409) from exc
            raise
        receipt: OrderReceipt = self.read(answer, OrderReceipt.from_dict, "a receipt")
        return receipt

    def close(self, order_id: str) -> OrderStatus:
        status: OrderStatus = self.read(self.post("/api/orders/close", {"order_id": order_id}), OrderStatus.from_dict,
                                        "an order status")
        return status

    def query(self, order_id: str) -> OrderStatus:
        status: OrderStatus = self.read(self.post("/api/orders/query", {"order_id": order_id}), OrderStatus.from_dict,
                                        "an order status")
        return status
