"""In-app notices: /api/v1/notices."""
from marshmallow import Schema, fields

from app.schemas.common import PageArgs


class NoticeArgs(PageArgs):
    unread = fields.Boolean(load_default=False, metadata={"description": "true: only notices not read yet"})


class NoticeSchema(Schema):
    id = fields.Integer()
    subject = fields.String(metadata={"description": "in the reader's language (Accept-Language)"})
    body = fields.String()
    template = fields.String(metadata={"description": "what the notice is about (application_approved, ...)"})
    business_key = fields.String(allow_none=True, metadata={"description": "the deal it is about, if any"})
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)
    read = fields.Boolean(metadata={"description": "read by its recipient"})


class NoticePage(Schema):
    items = fields.List(fields.Nested(NoticeSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    unread = fields.Integer(metadata={"description": "how many of my notices are not read yet"})
