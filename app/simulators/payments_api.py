"""The payment gateway simulator's machine API, as `handlers.payments.HttpPaymentsClient` speaks it:

- `POST /simulators/payments/api/orders`: a payment order (JSON, its key also as `Idempotency-Key`)
  → the receipt `{"order_id", "status": "accepted"}`; the same order under the same key again → the
  same receipt; the key with another order → 409; an order that does not read → 422.
- `POST /simulators/payments/api/orders/query`: `{"order_id"}` → the order's status; unknown → 404.
- `POST /simulators/payments/api/orders/close`: `{"order_id"}` → a collection its payer has not paid is closed
  (it can no longer be paid); the order's status — `closed`, or how it settled if the payer paid first;
  unknown → 404, not a collection → 409.
- `POST /simulators/payments/api/orders/{id}/pay`: the payer pays a pending collection order (a
  user of the payer's organisation, by bearer token or session; or the simulator's key) → the order's
  status; the notification follows from the worker. Another's order or a disbursement → 404, one
  settled already → 409.

`Authorization: Bearer <SIMULATOR_API_KEY>` or 401; a body that is not JSON is 400. Errors in the
platform's shape `{"error": {"code", "message"}}`.
"""
from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from app.api.auth import current_user, require_user
from app.api.errors import error_response, status_of
from app.services.errors import ServiceError
from app.services.simulators import payments
from app.simulators import bp
from app.simulators.api import _authorised, _body, _Refused
from app.simulators.esign_api import _simulator_key
from handlers.errors import ProviderError
from handlers.payments import IdempotencyConflict, PaymentOrder


def _order(body: Any) -> PaymentOrder:
    try:
        order = PaymentOrder.from_dict(body)
    except (ValueError, TypeError, AttributeError) as exc:
        raise _Refused(422, "invalid", f"not a payment order: {exc}") from None
    header = request.headers.get("Idempotency-Key", "").strip()
    if header and header != order.idempotency_key:
        raise _Refused(422, "invalid", "the Idempotency-Key header and the order's idempotency_key differ")
    return order


def _order_id(body: Any) -> str:
    order_id = body.get("order_id") if isinstance(body, dict) else None
    if not isinstance(order_id, str) or not order_id:
        raise _Refused(422, "invalid", "order_id is required")
    return order_id


@bp.route("/payments/api/orders", methods=["POST"])
def payments_orders() -> ResponseReturnValue:
    """Take a payment order under its idempotency key; the gateway's receipt."""
    try:
        _authorised()
        return jsonify(payments.create_order(_order(_body())).to_dict()), 200
    except _Refused as exc:
        return error_response(exc.status, exc.code, exc.message)
    except IdempotencyConflict as exc:
        return error_response(409, "conflict", exc.message)


@bp.route("/payments/api/orders/query", methods=["POST"])
def payments_query() -> ResponseReturnValue:
    """Where an order stands: pending, succeeded or failed (with the reason)."""
    try:
        _authorised()
        return jsonify(payments.query(_order_id(_body())).to_dict()), 200
    except _Refused as exc:
        return error_response(exc.status, exc.code, exc.message)
    except ProviderError as exc:
        return error_response(404 if exc.status == 404 else 422, "not_found" if exc.status == 404 else "refused",
                              exc.message)


@bp.route("/payments/api/orders/close", methods=["POST"])
def payments_close() -> ResponseReturnValue:
    """Close a collection its payer has not paid: its status (closed, or how it settled if paid first)."""
    try:
        _authorised()
        return jsonify(payments.close(_order_id(_body())).to_dict()), 200
    except _Refused as exc:
        return error_response(exc.status, exc.code, exc.message)
    except ProviderError as exc:
        return error_response(404 if exc.status == 404 else 409, "not_found" if exc.status == 404 else "conflict",
                              exc.message)


@bp.route("/payments/api/orders/<order_id>/pay", methods=["POST"])
def payments_pay(order_id: str) -> ResponseReturnValue:
    """Pay a pending collection order as its payer; its status (succeeded, or failed when told to fail)."""
    try:
        payer = None
        if not _simulator_key():
            require_user()
            payer = current_user()
        stored = payments.pay(payer, order_id)
    except ServiceError as exc:
        return error_response(status_of(exc), exc.code, exc.message)
    return jsonify(stored.order_status().to_dict()), 200


VIEWS = (payments_orders, payments_query, payments_close, payments_pay)
