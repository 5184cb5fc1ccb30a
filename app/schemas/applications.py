"""Schemas of the applications API: a borrower's applications, their documents and timeline.

Amounts are strings with two decimals both ways ("500000.00"); organisations and products are
named by their codes. The body is checked for shape here; the product's limits, the details of
its kind and the organisations named are checked by the service, which names each wrong field.
"""
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.models.origination import APPLICATION_STATUSES, DOCUMENT_KINDS
from app.schemas.common import PageArgs, page_schema
from app.schemas.loans import AMOUNT_PATTERN

MAX_PURPOSE = 500


def _amount(**kwargs) -> fields.String:  # noqa: ANN003 - a field factory
    return fields.String(validate=validate.Regexp(AMOUNT_PATTERN, error='a string such as "500000.00"'),
                         metadata={"example": "500000.00"}, **kwargs)


class ApplicationInputSchema(Schema):
    """What a borrower's applicant drafts or changes (PATCH: the fields sent change, at least one)."""

    product = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "a product's code"})
    amount = _amount()
    term_months = fields.Integer(strict=True, validate=validate.Range(min=1, max=1200))
    purpose = fields.String(validate=validate.Length(max=MAX_PURPOSE))
    funder = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "the funder's code"})
    details = fields.Dict(keys=fields.String(), metadata={"description": (
        "per product kind: order_financing core_enterprise, order_number, order_amount, order_due_date; "
        "pledge_financing warehouse, receipt_number, goods, quantity, unit, unit_price; "
        "credit_loan id_number or credit_code")})


class ApplicationChangeSchema(ApplicationInputSchema):
    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("send at least one field to change")


class NewApplicationSchema(ApplicationInputSchema):
    product = fields.String(required=True, validate=validate.Length(min=1, max=64),
                            metadata={"description": "a product's code"})
    amount = _amount(required=True)
    term_months = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1200))
    funder = fields.String(required=True, validate=validate.Length(min=1, max=64),
                           metadata={"description": "the funder's code"})
    details = fields.Dict(keys=fields.String(), required=True)


class ApplicationListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(APPLICATION_STATUSES))
    stage = fields.String(validate=validate.Length(min=1, max=32), metadata={"description": "the deal's stage"})
    product = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "a product's code"})
    funder = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "the funder's code"})
    borrower = fields.String(validate=validate.Length(min=1, max=64),
                             metadata={"description": "the borrower's code"})
    submitted_from = fields.Date(metadata={"description": "submitted on or after (business-local date)"})
    submitted_to = fields.Date(metadata={"description": "submitted on or before (business-local date)"})
    decision = fields.String(validate=validate.OneOf(("decided", "approved", "rejected")), metadata={
        "description": "decided at all, approved (decided, not rejected) or rejected: as the dashboard counts"})
    q = fields.String(validate=validate.Length(min=1, max=100),
                      metadata={"description": "part of the application number or of the borrower's name"})


class ApplicationDocumentSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    created_at = fields.DateTime()


class TimelineEntrySchema(Schema):
    at = fields.DateTime()
    kind = fields.String(metadata={"description": "an event (drafted, submitted, stage, returned, approved, ...) "
                                                  "or answered (a party's answer), reminded (a reminder, 催办, about "
                                                  "one of its tasks), waiting: what the deal waits for now"})
    stage = fields.String(allow_none=True)
    by_party = fields.String(allow_none=True, metadata={"description": "who acted, or who is awaited"})
    text = fields.String(metadata={"description": (
        "in the reader's language: their account's, else Accept-Language's, else English")})


class RiskSummarySchema(Schema):
    score = fields.Integer()
    grade = fields.String()
    blacklisted = fields.Boolean()
    report_id = fields.String()


class ApplicationSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    product = fields.String()
    product_kind = fields.String()
    amount = fields.String(metadata={"example": "500000.00"})
    term_months = fields.Integer()
    purpose = fields.String()
    funder = fields.String()
    borrower = fields.String()
    details = fields.Dict(keys=fields.String())
    status = fields.String(metadata={"enum": list(APPLICATION_STATUSES)})
    stage = fields.String(allow_none=True)
    approved_amount = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)


class ApplicationDetailSchema(ApplicationSchema):
    documents = fields.List(fields.Nested(ApplicationDocumentSchema))
    timeline = fields.List(fields.Nested(TimelineEntrySchema))
    loan_id = fields.Integer(allow_none=True, metadata={
        "description": "the loan booked when the funds were released (null until then)"})
    risk = fields.Nested(RiskSummarySchema, allow_none=True, metadata={
        "description": "the latest risk report (null before the risk check): for the funder and the platform only"})


ApplicationPage = page_schema(ApplicationSchema, "ApplicationPage")

DOCUMENT_UPLOAD = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file", "kind"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "PDF, PNG, JPEG, XLSX, DOCX, ZIP, or UTF-8 CSV or TXT"},
                   "kind": {"type": "string", "enum": list(DOCUMENT_KINDS)}}}}}}
