"""Schemas of the products API: the ledger's terms plus origination's kind, advance ratio,
loan-to-value lines and required documents. Amounts, rates and ratios are strings."""
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.lending.terms import Amortization
from app.models.origination import DOCUMENT_KINDS, PRODUCT_KINDS
from app.schemas.loans import AMOUNT_PATTERN

RATIO_PATTERN = r"^(0(\.[0-9]{1,4})?|1(\.0{1,4})?)$"
RATE_PATTERN = r"^[0-9]{1,3}(\.[0-9]{1,6})?$"
AMORTIZATIONS = tuple(a.value for a in Amortization)


class StrictBoolean(fields.Boolean):
    """true or false, and nothing that reads like one ("yes", 1)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ValidationError("true or false")
        return value


def _ratio(**kwargs) -> fields.String:  # noqa: ANN003 - a field factory
    kwargs["metadata"] = {"example": "0.80", **kwargs.get("metadata", {})}
    return fields.String(validate=validate.Regexp(RATIO_PATTERN, error='a ratio above 0, at most 1, such as "0.80"'),
                         **kwargs)


class LtvSchema(Schema):
    """A pledge's loan-to-value lines, increasing."""

    lend = _ratio(required=True)
    warning = _ratio(required=True)
    margin_call = _ratio(required=True)
    liquidation = _ratio(required=True)


class ProductSchema(Schema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String(allow_none=True, metadata={"description": "the name English pages show (else `name`)"})
    kind = fields.String(metadata={"enum": list(PRODUCT_KINDS)})
    currency = fields.String()
    active = fields.Boolean()
    annual_rate = fields.String(metadata={"example": "12"})
    min_amount = fields.String()
    max_amount = fields.String()
    min_term = fields.Integer()
    max_term = fields.Integer()
    amortization = fields.String()
    interest_method = fields.String()
    early_repayment_fee_percent = fields.String(metadata={"description": "the fee on principal prepaid, a % of it"})
    overdue_grace_days = fields.Integer(metadata={"description": "days after a due date before a bill is overdue"})
    penalty_rate_multiplier = fields.String(metadata={
        "description": "penalty interest on overdue principal: the loan's rate times this"})
    frequency = fields.String()
    advance_ratio = fields.String(allow_none=True)
    order_grace_days = fields.Integer(allow_none=True, metadata={
        "description": "order financing: the days a loan may end after its order is due"})
    ltv = fields.Dict(keys=fields.String(), values=fields.String(), allow_none=True)
    documents = fields.List(fields.String())
    application_process = fields.String(allow_none=True)


_DOCUMENTS = fields.List(fields.String(validate=validate.OneOf(DOCUMENT_KINDS)),
                         metadata={"description": "the document kinds required before submitting"})


_GRACE = fields.Integer(strict=True, validate=validate.Range(min=0, max=365), metadata={
    "description": "order financing: the days a loan may end after its order is due (30 unless set)"})


class NewProductSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    name_en = fields.String(validate=validate.Length(min=1, max=200), metadata={"description": "its English name"})
    kind = fields.String(required=True, validate=validate.OneOf(PRODUCT_KINDS))
    annual_rate = fields.String(required=True, validate=validate.Regexp(RATE_PATTERN), metadata={"example": "12"})
    min_amount = fields.String(required=True, validate=validate.Regexp(AMOUNT_PATTERN))
    max_amount = fields.String(required=True, validate=validate.Regexp(AMOUNT_PATTERN))
    min_term = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1200))
    max_term = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1200))
    advance_ratio = _ratio(metadata={"description": "order financing: the most lent against the order's value"})
    order_grace_days = _GRACE
    ltv = fields.Nested(LtvSchema, metadata={"description": "pledge financing: the loan-to-value lines"})
    documents = _DOCUMENTS
    overdue_grace_days = fields.Integer(strict=True, validate=validate.Range(min=0, max=365))
    early_repayment_fee_percent = fields.String(validate=validate.Regexp(RATE_PATTERN))
    amortization = fields.String(validate=validate.OneOf(AMORTIZATIONS), metadata={
        "description": "how its loans are repaid: equal_instalments (等额本息), equal_principal (等额本金), "
                       "interest_only (先息后本), bullet (到期一次还本付息)"})
    penalty_rate_multiplier = fields.String(validate=validate.Regexp(RATE_PATTERN), metadata={
        "description": "penalty interest on overdue principal: the loan's rate times this (1.5 unless set)"})


class ProductChangeSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    name_en = fields.String(validate=validate.Length(min=1, max=200))
    active = StrictBoolean()
    advance_ratio = _ratio()
    order_grace_days = _GRACE
    ltv = fields.Nested(LtvSchema)
    documents = _DOCUMENTS

    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("send at least one field to change")
