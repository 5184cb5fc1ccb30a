"""User tasks as Camunda's task API reads and works them (`/engine-rest/task`): a custom task list written for Camunda
lists the caller's open tasks, reads a task's variables and form variables, claims, releases, gives and completes
it — each as the task page does it (`tasks`: the same checks of who may, the form's checks of what is sent)."""
from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

import app.api.camunda_rest.values as v
from app.api.camunda_rest.base import bp
from app.api.camunda_rest.process_instances import MOST
from app.services.errors import Invalid, NotFound
from app.services.workflow import documents, group_mappings, queries, tasks
from app.services.workflow.uploads import PENDING_DOCUMENT, Upload

FILTERS = ("processInstanceId", "processDefinitionKey", "taskDefinitionKey", "assignee", "unassigned",
           "candidateGroup")
SORT_KEYS = {"id": "id", "created": "created", "dueDate": "due", "name": "name", "assignee": "assignee",
             "priority": "priority", "instanceId": "instance_id"}


def _language() -> str:
    return str(get_locale() or "en")


def _described(found: dict[str, Any]) -> dict[str, Any]:
    """A task as Camunda describes one."""
    return {"id": str(found["id"]), "name": found["title"], "assignee": found["claimed_by"], "owner": None,
            "created": v.camunda_time(found["created_at"]), "due": v.camunda_time(found["due_at"]),
            "followUp": None, "lastUpdated": None, "delegationState": None, "description": None,
            "executionId": found["engine_task_id"], "parentTaskId": None,
            "priority": found["priority"] if found["priority"] is not None else 50,
            "processDefinitionId": f"{found['process_id']}:{found['version']}",
            "processInstanceId": str(found["instance_id"]), "taskDefinitionKey": found["element_id"],
            "caseExecutionId": None, "caseInstanceId": None, "caseDefinitionId": None, "suspended": False,
            "formKey": None, "camundaFormRef": None, "tenantId": None}


def _query() -> dict[str, Any]:
    args = request.args
    instance = args.get("processInstanceId")
    return {"instance_id": v.number_id(instance, _l("There is no such process instance.")) if instance else None,
            "process_id": args.get("processDefinitionKey") or None,
            "element_id": args.get("taskDefinitionKey") or None, "claimed_by": args.get("assignee") or None,
            "unclaimed": bool(v.query_flag("unassigned")), "lane": _lane(args.get("candidateGroup") or None)}


def _lane(group: str | None) -> str | None:
    """A Camunda group as the diagram names it (`management`), as the role its tasks are offered to: the group
    mapping's (Group mappings), else the group's own name (a role code)."""
    return None if group is None else group_mappings.for_import().get(group, group)


@bp.route("/task")
def list_user_tasks() -> Response:
    """The caller's open tasks: `processInstanceId`, `processDefinitionKey`, `taskDefinitionKey`, `assignee`,
    `unassigned`, `candidateGroup` (a lane's role), `firstResult`, `maxResults`; `sortBy` (`id`, `created`,
    `dueDate`, `name`, `assignee`, `priority`, `instanceId`) with `sortOrder`."""
    v.only_filters(*FILTERS, *v.SORTING)
    found = queries.open_tasks(g.principal, v.whole(request.args, "firstResult", 0),
                               min(v.whole(request.args, "maxResults", MOST), MOST), _language(),
                               v.sorting(SORT_KEYS), **_query())
    return jsonify([_described(each) for each in found])


@bp.route("/task/count")
def count_user_tasks() -> Response:
    v.only_filters(*FILTERS)
    return jsonify({"count": queries.count_open_tasks(g.principal, **_query())})


def _open(task_id: str) -> dict[str, Any]:
    missing = _l("No matching task with id %(id)s.", id=task_id)
    found = queries.open_tasks(g.principal, 0, 1, _language(), task_id=v.number_id(task_id, missing))
    if not found:
        raise NotFound(missing)
    return found[0]


@bp.route("/task/<task_id>")
def get_user_task(task_id: str) -> Response:
    return jsonify(_described(_open(task_id)))


@bp.route("/task/<task_id>/variables")
def user_task_variables(task_id: str) -> Response:
    """The task's instance's variables as the caller may read them."""
    return jsonify(v.typed_all(queries.instance_data(g.principal, _open(task_id)["instance_id"])))


@bp.route("/task/<task_id>/form-variables")
def user_task_form_variables(task_id: str) -> Response:
    """The fields of the task's form, each with the value the task shows it with (its default otherwise)."""
    detail = queries.task_detail(g.principal, int(_open(task_id)["id"]), _language())
    data = {**(detail.get("shown") or {}), **(detail.get("data") or {})}
    fields = ((detail.get("form") or {}).get("properties") or {})
    return jsonify({name: v.typed(data.get(name, spec.get("default") if isinstance(spec, dict) else None))
                    for name, spec in fields.items()})


@bp.route("/task/<task_id>/claim", methods=["POST"])
def claim_user_task(task_id: str) -> Response:
    """Claim for oneself (`userId` is the caller's user name); to give a task to another, `/assignee`."""
    found = _open(task_id)
    user = v.text(v.body(), "userId", required=True, most=80)
    if user != g.principal.username:
        raise Invalid(_l("A task is claimed by the person who will work on it (%(user)s is not you): a team lead "
                         "gives it to another with POST /task/{id}/assignee.", user=user))
    tasks.claim_task(int(found["id"]), g.principal)
    return Response(status=204)


@bp.route("/task/<task_id>/unclaim", methods=["POST"])
def unclaim_user_task(task_id: str) -> Response:
    tasks.unclaim_task(int(_open(task_id)["id"]), g.principal)
    return Response(status=204)


@bp.route("/task/<task_id>/assignee", methods=["POST"])
def assign_user_task(task_id: str) -> Response:
    """A team lead gives the task to `userId` (who holds its lane's role), as the inbox's Assign does."""
    found = _open(task_id)
    tasks.assign_task(int(found["id"]), v.text(v.body(), "userId", required=True, most=80), g.principal)
    return Response(status=204)


@bp.route("/task/<task_id>/complete", methods=["POST"])
@bp.route("/task/<task_id>/submit-form", methods=["POST"])  # Tasklist's form: the same completion
def complete_user_task(task_id: str) -> Response:
    """Complete with `variables` as the form's answers (checked by its form as the task page checks them), a File
    variable answering a file field (kept as a document of the instance, as an upload on the page); 204, or the
    instance's variables after the step with `withVariablesInReturn`."""
    given = v.body()
    found = _open(task_id)
    sent, others = v.files(given.get("variables"))
    data = v.variables(others)
    fields = (queries.task_detail(g.principal, int(found["id"])).get("form") or {}).get("properties") or {}
    uploads = []
    for name, (filename, content) in sent.items():
        try:
            documents.sniff(content, filename)
        except ValueError as exc:  # a type the platform keeps no document of
            raise Invalid(str(exc), {f"variables.{name}": [str(exc)]}) from None
        several = isinstance(fields.get(name), dict) and fields[name].get("type") == "array"  # a file picker's list
        uploads.append(Upload(f"{name}.0" if several else name, filename, content))
        data[name] = [PENDING_DOCUMENT] if several else PENDING_DOCUMENT
    tasks.complete_task(int(found["id"]), data, g.principal, uploads)
    if not v.flag(given, "withVariablesInReturn"):
        return Response(status=204)
    return jsonify(v.typed_all(queries.instance_data(g.principal, found["instance_id"])))
