"""Collateral's API: commodity prices posted (JSON or a CSV upload) and pledges with their LTV.

The rows of a price upload are checked by the service (`app.services.collateral.price_input`),
which names each fault by its row and field in the reader's language; the schemas here describe
the shapes for the OpenAPI document.
"""
from marshmallow import Schema, fields, validate

from app.models.collateral import CROSSINGS, MOVEMENTS, ZONES

PRICE_ROW = {"type": "object", "required": ["goods", "unit", "price", "as_of"], "properties": {
    "goods": {"type": "string", "maxLength": 200, "example": "Steel coil",
              "description": "matched to pledges' goods with spaces collapsed and case ignored"},
    "unit": {"type": "string", "maxLength": 20, "example": "t", "description": "the unit the price is per"},
    "price": {"type": "string", "pattern": r"^[0-9]{1,10}(\.[0-9]{1,2})?$", "example": "4200.00",
              "description": "above 0 and below 10,000,000,000, at most 2 decimals"},
    "as_of": {"type": "string", "format": "date", "description": "the price's date, today or earlier"}}}
PRICES_BODY = {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "required": ["prices"], "properties": {
        "prices": {"type": "array", "minItems": 1, "maxItems": 5000, "items": PRICE_ROW}}}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "UTF-8 CSV, header goods,unit,price,as_of; faults named `line <n>.<field>`"}}}}}}


class PriceSchema(Schema):
    goods = fields.String()
    unit = fields.String()
    price = fields.String(metadata={"example": "4200.00"})
    as_of = fields.String(metadata={"format": "date"})
    source = fields.String(metadata={"description": "api, or csv:<file name>"})


class CrossingSchema(Schema):
    application = fields.String(metadata={"description": "the deal's number (APP-YYYY-NNNN)"})
    zone = fields.String(validate=validate.OneOf(CROSSINGS), metadata={"description": "the zone entered"})
    ltv = fields.String(metadata={"example": "0.7500"})


class PricesRecordedSchema(Schema):
    accepted = fields.Integer(metadata={"description": "prices stored"})
    revalued = fields.Integer(metadata={"description": "pledges given a new valuation"})
    prices = fields.List(fields.Nested(PriceSchema))
    crossings = fields.List(fields.Nested(CrossingSchema),
                            metadata={"description": "pledges that crossed into a worse zone (told once)"})


class PledgeSchema(Schema):
    id = fields.Integer()
    application = fields.String()
    borrower = fields.String()
    loan_id = fields.Integer()
    goods = fields.String()
    unit = fields.String()
    quantity = fields.String()
    principal = fields.String(allow_none=True, metadata={"description": "outstanding at the last valuation"})
    price = fields.String(allow_none=True, metadata={"description": "the latest price of the goods per unit"})
    price_as_of = fields.String(allow_none=True)
    value = fields.String(allow_none=True, metadata={"description": "quantity × price"})
    ltv = fields.String(allow_none=True, metadata={"description": "principal / value, rounded up to 4 places"})
    zone = fields.String(allow_none=True, validate=validate.OneOf(ZONES),
                         metadata={"description": "normal, warning, margin_call or liquidation; null until valued"})
    lines = fields.Dict(keys=fields.String(), values=fields.String(),
                        metadata={"description": "the product's LTV lines: lend, warning, margin_call, liquidation"})
    valued_at = fields.DateTime(allow_none=True)


class MovementSchema(Schema):
    id = fields.Integer()
    kind = fields.String(validate=validate.OneOf(MOVEMENTS),
                         metadata={"description": "top_up (a margin call's), release (in proportion to repayment), "
                                                  "disposed"})
    quantity = fields.String()
    quantity_after = fields.String(metadata={"description": "what stays pledged after it"})
    unit = fields.String()
    principal_repaid = fields.String(allow_none=True, metadata={"description": "a release's basis"})
    note = fields.String(allow_none=True)
    at = fields.DateTime()


class MarginCallSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "margin_call or liquidation"})
    status = fields.String(metadata={"description": "open, answered, or disposal"})
    ltv = fields.String()
    deadline = fields.DateTime(allow_none=True)
    opened_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolved_ltv = fields.String(allow_none=True)


class DisposalSchema(Schema):
    id = fields.Integer()
    reason = fields.String(metadata={"description": "margin_call_expired, liquidation, overdue, ..."})
    status = fields.String(metadata={"description": "appraisal, sale, allocated, write_off, closed"})
    channel = fields.String(allow_none=True, metadata={"description": "platform_sale, third_party or auction"})
    buyer = fields.String(allow_none=True)
    appraised_value = fields.String(allow_none=True)
    price = fields.String(allow_none=True)
    costs = fields.String(allow_none=True)
    sold_on = fields.String(allow_none=True, metadata={"format": "date"})
    shortfall = fields.String(allow_none=True, metadata={"description": "owed after the net proceeds"})
    written_off = fields.String(allow_none=True)
    surplus = fields.String(allow_none=True, metadata={"description": "returned to the borrower"})
    opened_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)


class PledgeDetailSchema(PledgeSchema):
    status = fields.String(metadata={"description": "active, disposing or disposed"})
    released = fields.String(metadata={"description": "released so far"})
    releasable = fields.String(metadata={"description": "may be released now: ever pledged × principal repaid / "
                                                        "principal, less what was released"})
    may_release = fields.Boolean(metadata={"description": "whether the caller may release goods of it"})
    history = fields.List(fields.Nested(MovementSchema))
    margin_calls = fields.List(fields.Nested(MarginCallSchema))
    disposals = fields.List(fields.Nested(DisposalSchema))


class ReleaseSchema(Schema):
    quantity = fields.String(required=True, metadata={"description": "in the pledge's unit, above 0, at most 4 "
                                                                     "decimals, at most the releasable quantity"})
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class PledgeList(Schema):
    items = fields.List(fields.Nested(PledgeDetailSchema))
