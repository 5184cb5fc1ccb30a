"""Human tasks: list, read (with the form), claim, unclaim, complete."""
from marshmallow import Schema, fields, validate

from app.api.auth import current_user, require_user
from app.api.json_body import Blueprint
from app.schemas.tasks import CompleteTaskSchema, TaskDetailSchema, TaskListArgs, TaskPage
from app.services.workflow import queries, tasks

blp = Blueprint("tasks", __name__, url_prefix="/tasks", description="User tasks waiting for people")
blp.before_request(require_user)


@blp.route("")
@blp.arguments(TaskListArgs(), location="query")
@blp.response(200, TaskPage)
def list_tasks(args):
    return queries.list_tasks(current_user(), **args)


@blp.route("/<int:task_id>")
@blp.response(200, TaskDetailSchema)
@blp.errors(404)
def get_task(task_id):
    return queries.task_detail(current_user(), task_id)


@blp.route("/<int:task_id>/claim", methods=["POST"])
@blp.response(200, TaskDetailSchema)
@blp.errors(403, 404, 409)
def claim(task_id):
    tasks.claim_task(task_id, current_user())
    return queries.task_detail(current_user(), task_id)


@blp.route("/<int:task_id>/unclaim", methods=["POST"])
@blp.response(200, TaskDetailSchema)
@blp.errors(403, 404, 409)
def unclaim(task_id):
    tasks.unclaim_task(task_id, current_user())
    return queries.task_detail(current_user(), task_id)


@blp.route("/<int:task_id>/complete", methods=["POST"])
@blp.arguments(CompleteTaskSchema(), required=False)  # no body: complete with no data (a task without a form)
@blp.response(200, TaskDetailSchema)
@blp.errors(403, 404, 409)
def complete(args, task_id):
    tasks.complete_task(task_id, args["data"], current_user())
    return queries.task_detail(current_user(), task_id)


class AssignSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))


@blp.route("/<int:task_id>/assign", methods=["POST"])
@blp.arguments(AssignSchema())
@blp.response(200, TaskDetailSchema)
@blp.errors(403, 404, 409)
def assign(args, task_id):
    """A team lead assigns an open task of their organisation (platform admins anywhere)."""
    tasks.assign_task(task_id, args["username"], current_user())
    return queries.task_detail(current_user(), task_id)
