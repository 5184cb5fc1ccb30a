"""The caller's own inbox and API tokens: /api/v1/me/tasks, /api/v1/me/tokens."""
from marshmallow import Schema, fields, validate

from app.api.auth import current_token, current_user, require_user
from app.api.json_body import Blueprint
from app.schemas.common import PageArgs
from app.schemas.users import IssuedTokenSchema, NewTokenSchema, TokenPage, TokenSchema
from app.services.identity import user_admin
from app.services.workflow import inbox

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


@blp.route("/tokens")
@blp.arguments(PageArgs(), location="query")
@blp.response(200, TokenPage)
def my_tokens(args):
    """My API tokens, newest first: label, expiry, last use, revocation (never the tokens themselves)."""
    return user_admin.own_tokens(current_user(), args["page"], args["per_page"])


@blp.route("/tokens", methods=["POST"])
@blp.arguments(NewTokenSchema(), required=False)  # every field has a default: no body at all is fine
@blp.response(201, IssuedTokenSchema)
@blp.errors(409)
def create_token(args):
    """A new API token for me, shown in this answer only. A token made with a bearer token expires
    no later than that token, so a token cannot prolong itself."""
    use = current_token()
    return user_admin.issue_own_token(current_user(), args["days"], args["label"], use.expires_at if use else None)


@blp.route("/tokens/<int:token_id>", methods=["DELETE"])
@blp.response(200, TokenSchema)
@blp.errors(404)
def revoke_token(token_id):
    """Revoke one of my tokens (another's token id is 404): it answers 401 from the next request on."""
    return user_admin.revoke_token(token_id, current_user(), owner_id=current_user().id)
