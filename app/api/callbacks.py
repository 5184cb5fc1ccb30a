"""Callbacks from providers (no user, no CSRF): the e-signature provider's flow events and the payment
gateway's notifications, authenticated by their signature headers (`X-Esign-*`, `X-Pay-*`:
HMAC-SHA256 over timestamp, nonce and raw body; docs/signing.md).

200 `{"accepted": true}` for a callback taken, `{"duplicate": true}` for an event taken before (a
new nonce, nothing changes); 401 with the reason as the error's code (unsigned, malformed,
bad_signature, stale, replayed) for anything else, which changes nothing.
"""
from typing import Any

from flask import request

from app.api.json_body import Blueprint
from app.schemas.callbacks import CallbackAnswerSchema, EsignCallbackSchema, PaymentNotificationSchema
from app.services.signing import callbacks

blp = Blueprint("callbacks", __name__, description="Callbacks from the e-signature provider and the payment gateway")


def _signed(prefix: str, schema: type) -> dict[str, Any]:
    headers = [{"in": "header", "name": f"{prefix}-{name}", "required": True, "schema": {"type": "string"},
                "description": description}
               for name, description in (("Timestamp", "Unix seconds, within 5 minutes of now"),
                                         ("Nonce", "single use: 8 to 64 of A-Z a-z 0-9 - _"),
                                         ("Signature", "hex HMAC-SHA256 of timestamp, nonce and body"))]
    return {"security": [], "parameters": headers,
            "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _answer(accepted: callbacks.Accepted) -> dict[str, bool]:
    return {"duplicate": True} if accepted.duplicate else {"accepted": True}


@blp.route("/callbacks/esign", methods=["POST"])
@blp.doc(**_signed("X-Esign", EsignCallbackSchema))
@blp.response(200, CallbackAnswerSchema)
@blp.errors(401)
def esign():
    """A signing flow ended (esign_completed for its business key); signed by the provider."""
    return _answer(callbacks.receive_esign(request.headers, request.get_data(cache=True), request.remote_addr))


@blp.route("/callbacks/payments", methods=["POST"])
@blp.doc(**_signed("X-Pay", PaymentNotificationSchema))
@blp.response(200, CallbackAnswerSchema)
@blp.errors(401)
def payments():
    """A payment order settled (payment_settled for its business key); signed by the gateway."""
    return _answer(callbacks.receive_payment(request.headers, request.get_data(cache=True), request.remote_addr))
