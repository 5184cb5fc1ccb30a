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


class TimerStartSchema(Schema):
    element_id = fields.String()
    next_at = fields.DateTime(allow_none=True, metadata={"description": "null: it starts no more"})
    remaining = fields.Integer(metadata={"description": "starts left counting the next; -1: no end"})
    interval_seconds = fields.Float(allow_none=True, metadata={"description": "null: one start only, or a cron"})
    cron = fields.String(allow_none=True, metadata={
        "description": "a Quartz cron of uneven gaps (UTC): each start at its next match; null otherwise"})
    started = fields.Integer(metadata={"description": "instances it has started"})
    last_instance_id = fields.Integer(allow_none=True)


class ProcessDefinitionSchema(Schema):
    process_id = fields.String()
    kind = fields.String()
    version = fields.Integer()
    name = fields.String(allow_none=True)
    running = fields.Integer()
    deployed_at = fields.DateTime()
    timer_starts = fields.List(fields.Nested(TimerStartSchema), metadata={
        "description": "the newest version's timer start events: when each next starts an instance"})


class StartInstanceSchema(Schema):
    process_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    business_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=128))
    data = fields.Dict(keys=fields.String(), load_default=dict)
    parties = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)
    # the same key again (from the same user) answers the instance it started first (200), never a second one
    idempotency_key = fields.String(load_default=None, validate=validate.Length(min=1, max=100))


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


class ChainBreakSchema(Schema):
    event_id = fields.Integer(allow_none=True, metadata={"description": "the first event that breaks the chain "
                                                                        "(null: the latest events are missing)"})
    problem = fields.String(metadata={"description": "altered, out_of_place, unchained or head_missing"})
    message = fields.String()


class ChainSchema(Schema):
    """Whether the instance's history is as it was written (its events' hash chain holds)."""

    intact = fields.Boolean()
    checked = fields.Integer(metadata={"description": "events with a hash, checked"})
    unchained = fields.Integer(metadata={"description": "events written before the chain existed, not covered"})
    broken = fields.Nested(ChainBreakSchema, allow_none=True)


InstancePage = page_schema(InstanceSchema, "InstancePage")
EventPage = Schema.from_dict({
    **page_schema(EventSchema, "EventPageItems")._declared_fields,
    "chain": fields.Nested(ChainSchema, allow_none=True,
                           metadata={"description": "the history chain's verdict, for platform staff (else null)"}),
}, name="EventPage")
