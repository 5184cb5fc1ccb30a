"""Schemas shared by every resource: pagination and the error shape."""
from marshmallow import Schema, fields, validate

# Row ids are 64-bit integers in both databases: a bigger number in a path or a filter is no row
# (it overflowed the driver: a 500). Pages stop where an offset still fits.
MAX_ROW_ID = 2 ** 63 - 1
MAX_PAGE = 1_000_000


def RowId(**kwargs) -> fields.Integer:  # noqa: ANN003 - a field factory, named like the fields it makes
    """A filter or body field holding the id of a row."""
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ROW_ID), **kwargs)


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class ErrorBody(Schema):
    code = fields.String(required=True, metadata={"description": "stable, for programs: not_found, task_claimed, ..."})
    message = fields.String(required=True, metadata={"description": "for people, in English"})
    field_errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), data_key="fields",
                               metadata={"description": "what is wrong with each input field, when fields are"})


class ErrorSchema(Schema):
    """The API's one error shape (app/api/errors.py), the body of every 4xx answer."""

    error = fields.Nested(ErrorBody, required=True)


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)),
        "total": fields.Integer(),
        "page": fields.Integer(),
        "per_page": fields.Integer(),
    }, name=name)
