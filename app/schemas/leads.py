"""Schemas of acquisition's API: a lead as a channel posts it, and as a channel or the platform reads it.

A channel reads its own lead's `id`, `number`, `status` (new, qualified, dropped, registered) and,
once dropped, the `reason`; the platform's operators read every field. The checks of the
credit code's and ID number's check digits, the mobile number and the product are the service's
(422 naming the field).
"""
from marshmallow import Schema, fields, validate

from app.models.origination import LEAD_STATUSES
from app.schemas.common import PageArgs, page_schema
from app.schemas.loans import Money

_IDENTIFIER = {"pattern": "^[0-9A-Za-z]{18}$"}


class NewLeadSchema(Schema):
    company_name = fields.String(required=True, validate=validate.Length(min=1, max=200),
                                 metadata={"description": "the company (or the person) wanting to borrow"})
    credit_code = fields.String(validate=validate.Length(equal=18), allow_none=True,
                                metadata={"description": "unified social credit code (check digit checked); "
                                                         "this or id_number", **_IDENTIFIER})
    id_number = fields.String(validate=validate.Length(equal=18), allow_none=True,
                              metadata={"description": "18-character resident ID number (check digit checked)",
                                        **_IDENTIFIER})
    contact_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    mobile = fields.String(required=True, validate=validate.Length(min=11, max=20),
                           metadata={"description": "a mainland mobile number", "example": "13800138000"})
    email = fields.String(validate=validate.Length(min=3, max=254), allow_none=True)
    product_code = fields.String(validate=validate.Length(min=1, max=64), allow_none=True,
                                 metadata={"description": "an offered product's code"})
    amount = Money(allow_none=True, metadata={"type": "string", "pattern": r"^[0-9]{1,13}(\.[0-9]{1,2})?$",
                                               "description": "the amount wanted", "example": "500000.00"})
    external_ref = fields.String(validate=validate.Length(min=1, max=128), allow_none=True,
                                 metadata={"description": "the channel's own reference: the same one again "
                                                          "answers the lead made first (200)"})


class LeadRefSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    status = fields.String()


class OrganisationRefSchema(Schema):
    code = fields.String()
    name = fields.String()


class LeadSchema(Schema):
    """A lead: what its channel reads (the first seven fields); the platform reads the rest too."""

    id = fields.Integer(required=True)
    number = fields.String(required=True, metadata={"example": "LEAD-2026-0001"})
    status = fields.String(required=True, validate=validate.OneOf(LEAD_STATUSES))
    external_ref = fields.String(allow_none=True)
    reason = fields.String(allow_none=True, metadata={"description": "why it was dropped"})
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    company_name = fields.String()
    credit_code = fields.String(allow_none=True)
    id_number = fields.String(allow_none=True)
    contact_name = fields.String()
    mobile = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    product_code = fields.String(allow_none=True)
    product_name = fields.String(allow_none=True)
    amount = Money(allow_none=True)
    channel = fields.String(allow_none=True, metadata={"description": "the channel's code; null: entered by an operator"})
    channel_name = fields.String(allow_none=True)
    duplicate = fields.Boolean(metadata={"description": "an earlier lead or a registered organisation has its "
                                                        "credit code or ID number"})
    duplicate_of = fields.Nested(LeadRefSchema, allow_none=True)
    organisation = fields.Nested(OrganisationRefSchema, allow_none=True)
    registered_before = fields.Boolean()
    open_task_id = fields.Integer(allow_none=True, metadata={"description": "the qualify task, while open"})


class LeadListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(LEAD_STATUSES))


LeadPage = page_schema(LeadSchema, "LeadPage")
