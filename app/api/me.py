"""The caller's own inbox over the API: GET /api/v1/me/tasks."""
from marshmallow import Schema, fields, validate

from app.api.auth import current_user, require_user
from app.api.json_body import Blueprint
from app.schemas.common import PageArgs
from app.services import inbox

blp = Blueprint("me", __name__, url_prefix="/me", description="The signed-in user's work")
blp.before_request(require_user)


class MyTasksArgs(PageArgs):
    view = fields.String(load_default="mine", validate=validate.OneOf(("mine", "group")))
    process_id = fields.String()
    element_id = fields.String()
    business_key = fields.String()
    party = fields.String()
    due_before = fields.AwareDateTime()
    q = fields.String()
    sort = fields.String(load_default="due", validate=validate.OneOf(tuple(inbox.SORTS)))


class InboxTaskSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    title = fields.String()
    element_id = fields.String()
    lane = fields.String(allow_none=True)
    state = fields.String()
    priority = fields.Integer(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    business_key = fields.String(allow_none=True)
    process_id = fields.String()
    overdue = fields.Boolean()


class InboxPage(Schema):
    items = fields.List(fields.Nested(InboxTaskSchema))
    total = fields.Integer()
    total_capped = fields.Boolean(metadata={"description": (
        "true: there are more tasks than `total`, which is then 1,000 (or the end of the requested page, "
        "when that is further): the inbox stops counting there")})
    page = fields.Integer()
    per_page = fields.Integer()


@blp.route("/tasks")
@blp.arguments(MyTasksArgs(), location="query")
@blp.response(200, InboxPage)
def my_tasks(args):
    """My tasks (claimed by me) or my group's claimable tasks, filtered and sorted as in the inbox."""
    return inbox.inbox(current_user(), inbox.InboxFilters(**args))
