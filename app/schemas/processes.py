"""Schemas of process definitions and instances."""
from marshmallow import Schema, fields, validate

from app.models.process import INSTANCE_STATUSES
from app.schemas.common import PageArgs, page_schema
from app.schemas.tasks import TaskSchema


class DeployedVersionSchema(Schema):
    process_id = fields.String()
    kind = fields.String()
    version = fields.Integer()
    status = fields.String()
    file = fields.String()
    warnings = fields.List(fields.Dict())


class DeploymentResultSchema(Schema):
    processes = fields.List(fields.Nested(DeployedVersionSchema))


class ProcessDefinitionSchema(Schema):
    process_id = fields.String()
    kind = fields.String()
    version = fields.Integer()
    name = fields.String(allow_none=True)
    running = fields.Integer()
    deployed_at = fields.DateTime()


class StartInstanceSchema(Schema):
    process_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    business_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=128))
    data = fields.Dict(keys=fields.String(), load_default=dict)
    parties = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)


class InstanceSchema(Schema):
    id = fields.Integer()
    process_id = fields.String()
    version = fields.Integer()
    status = fields.String()
    business_key = fields.String(allow_none=True)
    data = fields.Dict()
    error = fields.Dict(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)


class InstanceDetailSchema(InstanceSchema):
    parties = fields.Dict(keys=fields.String(), values=fields.String())
    tasks = fields.List(fields.Nested(TaskSchema))


class InstanceListArgs(PageArgs):
    process_id = fields.String()
    status = fields.String(validate=validate.OneOf(INSTANCE_STATUSES))
    business_key = fields.String()


class EventSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    element_id = fields.String(allow_none=True)
    at = fields.DateTime()
    actor = fields.String(allow_none=True)
    details = fields.Dict()


InstancePage = page_schema(InstanceSchema, "InstancePage")
EventPage = page_schema(EventSchema, "EventPage")
