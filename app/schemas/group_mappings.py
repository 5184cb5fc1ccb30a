"""Schemas of the group mapping table's API (issue 17): which role is offered the user tasks a diagram
offers to a Camunda group (`camunda:candidateGroups`)."""
from marshmallow import Schema, fields, validate

MAX_GROUP = 255


class GroupMappingSchema(Schema):
    id = fields.Integer()
    group = fields.String(metadata={"description": "as the diagram writes it: management"})
    role = fields.String(metadata={"description": "the code of the role its tasks are offered to (one of `roles`)"})


class NewGroupMappingSchema(Schema):
    """Map a group (replacing an earlier mapping of it)."""

    group = fields.String(required=True, validate=validate.Length(min=1, max=MAX_GROUP),
                          metadata={"example": "management"})
    role = fields.String(required=True, validate=validate.Length(min=1, max=64),
                         metadata={"description": "one of the roles `GET /group-mappings` lists"})


class GroupMappingList(Schema):
    items = fields.List(fields.Nested(GroupMappingSchema))
    roles = fields.List(fields.String(), metadata={"description": "the roles a group may be mapped to"})
