"""Schemas of human tasks."""
from marshmallow import Schema, fields, validate

from app.models.task import TASK_STATES
from app.schemas.common import PageArgs, RowId, page_schema


class TaskSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    engine_task_id = fields.String()
    element_id = fields.String()
    title = fields.String()
    lane = fields.String(allow_none=True)
    state = fields.String()
    priority = fields.Integer(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    claimed_by = fields.String(allow_none=True)
    completed_by = fields.String(allow_none=True)
    created_at = fields.DateTime()
    completed_at = fields.DateTime(allow_none=True)


class TaskDetailSchema(TaskSchema):
    form = fields.Dict(allow_none=True)
    ui_form = fields.Dict(allow_none=True)
    data = fields.Dict(allow_none=True)
    properties = fields.Dict()


class TaskListArgs(PageArgs):
    instance_id = RowId()
    state = fields.String(validate=validate.OneOf(TASK_STATES))


class CompleteTaskSchema(Schema):
    data = fields.Dict(keys=fields.String(), load_default=dict)


TaskPage = page_schema(TaskSchema, "TaskPage")


class ReminderSchema(Schema):
    """A reminder sent (催办): how many people it reached, and when."""

    task_id = fields.Integer()
    recipients = fields.Integer(metadata={"description": "the task's holder, or everyone it is offered to"})
    at = fields.DateTime()
