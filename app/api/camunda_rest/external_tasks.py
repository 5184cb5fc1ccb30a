"""Camunda 7's external task workers do Loanflow's service tasks (`/engine-rest/external-task`): the tasks of topics
mapped to `camunda.external_task`, fetched, locked and answered by the clients a Camunda user already runs (Java,
JavaScript, Python), for the platform's admins and operators (`external_tasks.work`)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, g, jsonify, request
from flask_babel import lazy_gettext as _l

import app.api.camunda_rest.values as v
from app.api.camunda_rest.base import bp
from app.api.camunda_rest.process_instances import MOST
from app.services.errors import Invalid, NotFound
from app.services.workflow import external_tasks

FILTERS = ("topicName", "workerId", "locked", "notLocked", "withRetriesLeft", "noRetriesLeft", "processInstanceId",
           "activityId")


SORT_KEYS = {"id": "id", "lockExpirationTime": "lock_expires", "processInstanceId": "instance_id",
             "processDefinitionKey": "process_id"}


def _task_id(text: str) -> int:
    return v.number_id(text, _l("There is no external task %(id)s.", id=repr(text)))


@bp.route("/external-task/fetchAndLock", methods=["POST"])
def fetch_and_lock() -> Response:
    body = v.body()
    topics_given = body.get("topics") or []
    if not isinstance(topics_given, list) or not all(isinstance(t, dict) for t in topics_given):
        raise Invalid(_l("The fetch is not valid."), {"topics": [_l("A list of topics, each with its topicName.")]})
    topics = []
    for each in topics_given:
        wanted = each.get("variables")
        if wanted is not None and not (isinstance(wanted, list) and all(isinstance(name, str) for name in wanted)):
            raise Invalid(_l("The fetch is not valid."), {"topics.variables": [_l("A list of variable names.")]})
        topics.append(external_tasks.Topic(v.text(each, "topicName", required=True),
                                           external_tasks.lock_duration(each.get("lockDuration"), "lockDuration"),
                                           wanted))
    max_tasks = body.get("maxTasks", 1)
    if isinstance(max_tasks, bool) or not isinstance(max_tasks, int):
        raise Invalid(_l("The fetch is not valid."), {"maxTasks": [_l("0 to %(n)d", n=external_tasks.MAX_TASKS)]})
    wait = body.get("asyncResponseTimeout") or 0  # Camunda's long polling: up to 30 minutes (Loanflow waits 30 s at most)
    if isinstance(wait, bool) or not isinstance(wait, int) or not 0 <= wait <= 1_800_000:
        raise Invalid(_l("The fetch is not valid."), {"asyncResponseTimeout": [_l("milliseconds, 0 to 30 minutes")]})
    locked = external_tasks.fetch_and_lock(g.principal, v.text(body, "workerId", required=True), max_tasks, topics,
                                           timedelta(milliseconds=wait))
    return jsonify([{
        "id": str(found["task"].id), "topicName": found["task"].topic, "workerId": found["task"].worker_id,
        "lockExpirationTime": v.camunda_time(found["task"].lock_expires_at),
        "createTime": v.camunda_time(found["task"].created_at),
        "activityId": found["task"].element_id,
        "activityInstanceId": f"{found['task'].element_id}:{found['task'].engine_task_id}",
        "executionId": found["task"].engine_task_id,
        "processInstanceId": str(found["instance"].id), "businessKey": found["instance"].business_key,
        "processDefinitionId": f"{found['instance'].process_id}:{found['instance'].version}",
        "processDefinitionKey": found["instance"].process_id, "processDefinitionVersionTag": None,
        "retries": found["task"].retries, "errorMessage": found["task"].error_message, "errorDetails": None,
        "suspended": False, "priority": 0, "tenantId": None, "extensionProperties": {},
        "variables": {name: v.typed(value) for name, value in found["variables"].items()},
    } for found in locked])


@bp.route("/external-task/<task_id>/complete", methods=["POST"])
def complete_external(task_id: str) -> Response:
    body = v.body()
    given = {**v.variables(body.get("variables")), **v.variables(body.get("localVariables"), "localVariables")}
    external_tasks.complete(g.principal, _task_id(task_id), v.text(body, "workerId", required=True), given)
    return Response(status=204)


@bp.route("/external-task/<task_id>/bpmnError", methods=["POST"])
def bpmn_error(task_id: str) -> Response:
    body = v.body()
    external_tasks.bpmn_error(g.principal, _task_id(task_id), v.text(body, "workerId", required=True),
                              v.text(body, "errorCode", required=True), v.text(body, "errorMessage", most=4000),
                              v.variables(body.get("variables")))
    return Response(status=204)


@bp.route("/external-task/<task_id>/failure", methods=["POST"])
def failure(task_id: str) -> Response:
    body = v.body()
    retries = body.get("retries", 0)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 1000:
        raise Invalid(_l("The failure is not valid."), {"retries": [_l("0 to 1000")]})
    external_tasks.failure(g.principal, _task_id(task_id), v.text(body, "workerId", required=True),
                           v.text(body, "errorMessage", most=4000), v.text(body, "errorDetails", most=100_000) or None,
                           retries, external_tasks.lock_duration(body.get("retryTimeout", 0), "retryTimeout"))
    return Response(status=204)


@bp.route("/external-task/<task_id>/extendLock", methods=["POST"])
def extend_lock(task_id: str) -> Response:
    body = v.body()
    external_tasks.extend_lock(g.principal, _task_id(task_id), v.text(body, "workerId", required=True),
                               external_tasks.lock_duration(body.get("newDuration"), "newDuration"))
    return Response(status=204)


@bp.route("/external-task/<task_id>/unlock", methods=["POST"])
def unlock(task_id: str) -> Response:
    external_tasks.unlock(g.principal, _task_id(task_id))
    return Response(status=204)


@bp.route("/external-task/<task_id>/retries", methods=["PUT"])
def set_external_task_retries(task_id: str) -> Response:
    """A task failed for good offered again with `retries` (its incident retried); one not failed keeps them."""
    retries = v.body().get("retries")
    if isinstance(retries, bool) or not isinstance(retries, int):
        raise Invalid(_l("The request is not valid."), {"retries": [_l("0 to 1000")]})
    external_tasks.set_retries(g.principal, _task_id(task_id), retries)
    return Response(status=204)


@bp.route("/external-task/<task_id>/errorDetails")
def error_details(task_id: str) -> Response:
    """What the last failed try sent as `errorDetails`, as Camunda answers it: plain text."""
    return Response(external_tasks.error_details(g.principal, _task_id(task_id)), mimetype="text/plain")


def _one_of(yes: str, no: str) -> bool | None:
    """Camunda's pair of flags (`locked`/`notLocked`): only true filters (false is its default, no filter); true,
    false, or None when neither (or both) is true."""
    found = {True} if v.query_flag(yes) else set()
    found |= {False} if v.query_flag(no) else set()
    return found.pop() if len(found) == 1 else None


def _query() -> dict[str, Any]:
    args = request.args
    instance = args.get("processInstanceId")
    return {"topic": args.get("topicName") or None, "worker_id": args.get("workerId") or None,
            "locked": _one_of("locked", "notLocked"), "retries_left": _one_of("withRetriesLeft", "noRetriesLeft"),
            "instance_id": v.number_id(instance, _l("There is no such process instance.")) if instance else None,
            "element_id": args.get("activityId") or None}


def _listed(found: external_tasks.Listed) -> dict[str, Any]:
    task, locked = found.task, found.state == "locked"
    return {"id": str(task.id), "topicName": task.topic, "workerId": task.worker_id if locked else None,
            "lockExpirationTime": v.camunda_time(task.lock_expires_at) if locked else None,
            "createTime": v.camunda_time(task.created_at), "activityId": task.element_id,
            "activityInstanceId": f"{task.element_id}:{task.engine_task_id}", "executionId": task.engine_task_id,
            "processInstanceId": str(task.instance_id), "businessKey": found.business_key,
            "processDefinitionId": f"{found.process_id}:{found.version}", "processDefinitionKey": found.process_id,
            "processDefinitionVersionTag": None, "retries": 0 if found.state == "failed" else task.retries,
            "errorMessage": task.error_message,
            "suspended": False, "priority": 0, "tenantId": None}


@bp.route("/external-task")
def list_external_tasks() -> Response:
    """What waits for workers: `topicName`, `workerId`, `locked`/`notLocked`, `withRetriesLeft`/`noRetriesLeft`,
    `processInstanceId`, `activityId`, `firstResult`, `maxResults`; `sortBy` (`id`, `lockExpirationTime`,
    `processInstanceId`, `processDefinitionKey`) with `sortOrder`."""
    v.only_filters(*FILTERS, *v.SORTING)
    found = external_tasks.listed(g.principal, v.whole(request.args, "firstResult", 0),
                                  min(v.whole(request.args, "maxResults", MOST), MOST), v.sorting(SORT_KEYS),
                                  **_query())
    return jsonify([_listed(each) for each in found])


@bp.route("/external-task/count")
def count_external_tasks() -> Response:
    v.only_filters(*FILTERS)
    return jsonify({"count": external_tasks.count_listed(g.principal, **_query())})


@bp.route("/external-task/<task_id>")
def get_external_task(task_id: str) -> Response:
    found = external_tasks.listed(g.principal, 0, 1, task_id=_task_id(task_id))
    if not found:
        raise NotFound(_l("There is no external task %(id)s.", id=repr(task_id)))
    return jsonify(_listed(found[0]))
