"""Human tasks: list, read (with the form), claim, unclaim, complete."""
import base64
import binascii
from typing import Any
from urllib.parse import unquote

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from app.api.auth import current_user, require_user
from app.api.json_body import Blueprint
from app.schemas.tasks import CompleteTaskSchema, ReminderSchema, TaskDetailSchema, TaskListArgs, TaskPage
from app.services.errors import Invalid
from app.services.notices import reminders
from app.services.workflow import documents, queries, tasks
from app.services.workflow.uploads import PENDING_DOCUMENT, Upload

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


@blp.route("/<int:task_id>/remind", methods=["POST"])
@blp.response(200, ReminderSchema)
@blp.errors(403, 404, 409)
def remind(task_id):
    """催办: remind the task's holder (or, unclaimed, everyone it is offered to) that it waits; the platform's
    operators, a team lead for their organisation's tasks. 409 `reminded_recently` within the hour of the last."""
    return reminders.remind(task_id, current_user())


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
    """Complete the task with its form's `data`. A file field (`format: data-url`) takes the file as a
    data URL (`data:application/pdf;name=certificate.pdf;base64,...`), a field of several files a list of
    them: each is kept as the task's upload."""
    data = args["data"]
    uploads = _uploads(queries.task_detail(current_user(), task_id).get("form") or {}, data)
    tasks.complete_task(task_id, data, current_user(), uploads)
    return queries.task_detail(current_user(), task_id)


BAD_DATA_URL = _l("Must be a file as a base64 data URL (data:<type>;name=<file name>;base64,<content>).")


def _uploads(form: dict[str, Any], data: dict[str, Any], prefix: str = "") -> list[Upload]:
    """The form's file fields given as data URLs, decoded (their values become pending documents): one data
    URL for a file field, a list of them for a field of several files (`items.format: data-url`), in the rows
    of a table too (`items.0.invoice`)."""
    uploads = []
    for name, spec in (form.get("properties") or {}).items():
        value, field = data.get(name), f"{prefix}{name}"
        if not isinstance(spec, dict):
            continue
        found = spec.get("items")
        items: dict[str, Any] = found if isinstance(found, dict) else {}
        if spec.get("format") == "data-url" and isinstance(value, str):
            uploads.append(_decoded(field, field, value))
            data[name] = PENDING_DOCUMENT
        elif spec.get("type") == "array" and items.get("format") == "data-url" and isinstance(value, list):
            for index, each in enumerate(value):
                if not isinstance(each, str):
                    raise Invalid(BAD_DATA_URL, fields={field: [BAD_DATA_URL]})
                uploads.append(_decoded(f"{field}.{index}", field, each))
            data[name] = [PENDING_DOCUMENT] * len(value)
        elif isinstance(items.get("properties"), dict) and isinstance(value, list):  # a table's rows
            for index, row in enumerate(value):
                if isinstance(row, dict):
                    uploads += _uploads(items, row, f"{field}.{index}.")
    return uploads


def _decoded(field: str, name: str, value: str) -> Upload:
    """The file a data URL carries, for the field `field` (its errors said on the form's field `name`)."""
    header, comma, encoded = value.partition(",")
    parts = header.split(";")
    if not (comma and parts[0].startswith("data:") and parts[-1] == "base64"):
        raise Invalid(BAD_DATA_URL, fields={name: [BAD_DATA_URL]})
    filename = next((unquote(p[5:]) for p in parts[1:-1] if p.startswith("name=")), "") or name
    try:
        content = base64.b64decode(encoded, validate=True)
        documents.sniff(content, filename)
    except (binascii.Error, ValueError) as exc:
        problem = BAD_DATA_URL if isinstance(exc, binascii.Error) or not content else str(exc)
        raise Invalid(problem, fields={name: [problem]}) from None
    return Upload(field, filename, content)


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
