"""Schemas of messages and incidents."""
from marshmallow import Schema, fields, validate

from app.schemas.common import PageArgs, RowId, page_schema


class MessageSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    correlation_key = fields.String(required=True, validate=validate.Length(min=1, max=128))
    payload = fields.Raw(load_default=None, allow_none=True)
    durable = fields.Boolean(load_default=False)
    dedup_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255))


class DeliverySchema(Schema):
    delivered_to = fields.List(fields.Integer())
    stored = fields.Boolean()
    duplicate = fields.Boolean()


class SignalSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=248))
    payload = fields.Dict(load_default=None, allow_none=True)


class SignalDeliverySchema(Schema):
    delivered_to = fields.List(fields.Integer(), metadata={"description": "the waiting instances that took it"})
    started = fields.List(fields.Integer(), metadata={
        "description": "the instances it started: one per process whose newest version has a signal start event "
                       "for it"})


class IncidentSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    element_id = fields.String(allow_none=True)
    kind = fields.String()
    message = fields.String()
    reason = fields.String(allow_none=True, metadata={"description": "what failed and what to do, in the reader's "
                                                      "language; the message is the technical text"})
    attempts = fields.Integer(allow_none=True)
    last_attempt_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    state = fields.String()


class IncidentListArgs(PageArgs):
    state = fields.String(validate=validate.OneOf(("open", "resolved")))
    instance_id = RowId()


IncidentPage = page_schema(IncidentSchema, "IncidentPage")
