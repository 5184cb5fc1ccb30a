"""Collateral's API: commodity prices posted (JSON or a CSV upload) and pledges with their LTV.

The rows of a price upload are checked by the service (`app.services.collateral.price_input`),
which names each fault by its row and field in the reader's language; the schemas here describe
the shapes for the OpenAPI document.
"""
from marshmallow import Schema, fields, validate

from app.models.collateral import CROSSINGS, ZONES

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


class PledgeList(Schema):
    items = fields.List(fields.Nested(PledgeSchema))
