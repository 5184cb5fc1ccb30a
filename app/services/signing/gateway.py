"""The payment gateway the platform pays through: the configured provider (`LOANFLOW_PAYMENTS_URL`,
`LOANFLOW_PAYMENTS_API_KEY`, `LOANFLOW_PAYMENTS_TIMEOUT`: `handlers.payments.HttpPaymentsClient`) or,
unset, the payments simulator in process; a test puts its own in `app.extensions["payments_provider"]`.

The simulator in process takes its orders in the caller's transaction (the step of the diagram that
placed them): an order and the platform's `Disbursement` row are kept or rolled back together, as a
retried service task then places the order again under the same idempotency key.
"""
from __future__ import annotations

from app.services import context
from app.services.simulators import payments as simulator
from handlers.payments import HttpPaymentsClient, OrderReceipt, OrderStatus, PaymentGateway, PaymentOrder


class InProcessGateway:
    """`simulators.payments`' gateway over its tables, without committing (the caller's step does)."""

    def create_order(self, order: PaymentOrder) -> OrderReceipt:
        return simulator.gateway().create_order(order)

    def query(self, order_id: str) -> OrderStatus:
        return simulator.gateway().query(order_id)

    def close(self, order_id: str) -> OrderStatus:
        return simulator.gateway().close(order_id)


def gateway() -> PaymentGateway:
    """The payment gateway this platform is configured with."""
    return context.provider("payments", lambda url, key, timeout: HttpPaymentsClient(url, key, timeout=timeout),
                            InProcessGateway)
