"""Schemas of the providers' callbacks: what the e-signature provider and the payment gateway post, and
the platform's answer. The bodies are documented for providers; the route checks the signature over
the raw bytes before it reads them (`app.services.signing.callbacks`)."""
from marshmallow import Schema, fields, validate

from handlers.payments import FAILURE_CODES


class EsignCallbackSchema(Schema):
    flow_id = fields.String(required=True, metadata={"description": "the provider's signing flow"})
    business_key = fields.String(required=True, validate=validate.Length(min=1, max=128),
                                 metadata={"description": "the platform's reference the flow was created with "
                                                          "(the application's number)"})
    status = fields.String(required=True, validate=validate.OneOf(["completed", "expired", "refused"]))
    reason = fields.String(metadata={"description": "why a flow expired or was refused"})


class PaymentNotificationSchema(Schema):
    notification_id = fields.String(required=True, metadata={"description": "the same for every copy of "
                                                                           "one settlement"})
    order_id = fields.String(required=True)
    idempotency_key = fields.String(required=True)
    business_key = fields.String(required=True, validate=validate.Length(min=1, max=128),
                                 metadata={"description": "the order's business key, echoed"})
    kind = fields.String(required=True, validate=validate.OneOf(["disbursement", "collection", "debit"]))
    status = fields.String(required=True, validate=validate.OneOf(["succeeded", "failed"]))
    amount = fields.String(required=True, metadata={"example": "500000.00"})
    currency = fields.String(metadata={"example": "CNY"})
    settled_at = fields.DateTime(required=True)
    failure_reason = fields.String(metadata={"description": "the gateway's words, when the order failed"})
    failure_code = fields.String(validate=validate.OneOf(["", *FAILURE_CODES]), metadata={
        "description": "the cause of a failure, when the gateway names one (the platform says it in the reader's "
                       "language)"})


class CallbackAnswerSchema(Schema):
    accepted = fields.Boolean(metadata={"description": "true: the callback was taken (a message for its deal)"})
    duplicate = fields.Boolean(metadata={"description": "true: the same event was taken before; nothing changed"})
