"""Repair over the API: a cancel's reason, a retry's note, moving instances to another version."""
from marshmallow import Schema, fields, validate

from app.schemas.common import RowId

REASON = validate.Length(max=1000)
FILTER_STATUSES = ("running", "waiting")


class CancelSchema(Schema):
    """The body of a cancel: optional (a caller that sends none cancels without a reason)."""

    reason = fields.String(load_default=None, validate=REASON, metadata={"description": "why, for the history"})


class RetrySchema(Schema):
    note = fields.String(load_default=None, validate=REASON,
                         metadata={"description": "why, or what was fixed, for the history"})


class MigrationPreviewArgs(Schema):
    to_version = fields.Integer(required=True, validate=validate.Range(min=1, max=2 ** 31 - 1))


class MigrateArgs(MigrationPreviewArgs):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class ElementMoveSchema(Schema):
    element_id = fields.String(required=True)
    name = fields.String(required=True, metadata={"description": "in the reader's language"})
    state = fields.String(required=True, metadata={"description": "ready, waiting, started or error"})
    user_task = fields.Boolean(required=True)
    changed = fields.Boolean(required=True, metadata={"description": "the target's element differs"})
    reason = fields.String(allow_none=True, metadata={"description": "why it cannot move; null: it can"})


class MigrationPreviewSchema(Schema):
    instance_id = RowId(required=True)
    business_key = fields.String(allow_none=True)
    process_id = fields.String(required=True)
    status = fields.String(required=True)
    from_version = fields.Integer(required=True)
    to_version = fields.Integer(required=True)
    movable = fields.Boolean(required=True)
    elements = fields.List(fields.Nested(ElementMoveSchema), required=True)
    reasons = fields.List(fields.String(), required=True, metadata={"description": "why it cannot move"})


class BulkMigrationSchema(Schema):
    process_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    from_version = fields.Integer(required=True, validate=validate.Range(min=1, max=2 ** 31 - 1))
    to_version = fields.Integer(required=True, validate=validate.Range(min=1, max=2 ** 31 - 1))
    preview = fields.Boolean(load_default=True, metadata={"description": "true: list only; false: move"})
    reason = fields.String(load_default=None, validate=REASON, metadata={"description": "required to move"})
    status = fields.String(load_default=None, validate=validate.OneOf(FILTER_STATUSES))
    element_id = fields.String(load_default=None, validate=validate.Length(min=1, max=255),
                               metadata={"description": "an element the instance is in"})
    business_key = fields.String(load_default=None, validate=validate.Length(min=1, max=128),
                                 metadata={"description": "the start of the business key"})


class BulkResultSchema(Schema):
    instance_id = RowId(required=True)
    business_key = fields.String(allow_none=True)
    migrated = fields.Boolean(required=True)
    reason = fields.String(allow_none=True)


class BulkMigrationAnswer(Schema):
    preview = fields.Boolean(required=True)
    instances = fields.List(fields.Nested(MigrationPreviewSchema), required=True,
                            metadata={"description": "the preview: each matching instance"})
    results = fields.List(fields.Nested(BulkResultSchema), required=True,
                          metadata={"description": "when moved: what became of each"})
