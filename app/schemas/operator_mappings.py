"""Schemas of the operator mapping table's API (issue 17): which registered operator runs a Camunda
service implementation (`camunda:class`, `delegateExpression`, `expression`, an external task's topic,
a `camunda:connector`'s id, a Camunda 8 job type, or the name of a task that names no implementation)."""
from marshmallow import Schema, fields, validate

KINDS = ("class", "delegateExpression", "expression", "topic", "connector", "job", "task")
MAX_VALUE = 500
MAX_EXPRESSION = 2_000


class OperatorMappingSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(KINDS)})
    value = fields.String(metadata={"description": "as the diagram writes it: com.acme.ScoreDelegate, ${scorer}"})
    operator = fields.String(metadata={"description": "a registered operator: risk.assess"})
    parameters = fields.Dict(keys=fields.String(), values=fields.String(),
                             metadata={"description": "name -> Python expression on the task's data"})


class NewOperatorMappingSchema(Schema):
    """Map an implementation (replacing an earlier mapping of the same kind and value)."""

    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    value = fields.String(required=True, validate=validate.Length(min=1, max=MAX_VALUE),
                          metadata={"example": "com.acme.ScoreDelegate"})
    operator = fields.String(required=True, validate=validate.Length(min=1, max=255),
                             metadata={"example": "risk.assess"})
    parameters = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=100)),
                             values=fields.String(validate=validate.Length(max=MAX_EXPRESSION)), load_default=dict,
                             metadata={"example": {"amount": "amount * 2"}})


class OperatorMappingList(Schema):
    items = fields.List(fields.Nested(OperatorMappingSchema))
    operators = fields.List(fields.String(), metadata={"description": "the registered operators a mapping may name"})
