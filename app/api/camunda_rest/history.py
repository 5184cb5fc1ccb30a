"""Camunda's history API, the part an application asks once an instance may have ended
(`/engine-rest/history/process-instance`, `/history/variable-instance`): whether it completed or was cancelled,
when, and the variables it ended with — read from the instance Loanflow keeps (its history stays whole; these
answer what Camunda's history tables would)."""
from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

import app.api.camunda_rest.values as v
from app.api.camunda_rest.base import bp
from app.api.camunda_rest.process_instances import MOST, variable_filter
from app.services.errors import Invalid
from app.services.workflow import queries

STATE = {"completed": "COMPLETED", "cancelled": "EXTERNALLY_TERMINATED"}  # every other status is still ACTIVE

INSTANCE_FILTERS = ("processInstanceId", "processDefinitionKey", "processInstanceBusinessKey", "finished", "unfinished",
                    "completed", "externallyTerminated", "variables")
VARIABLE_FILTERS = ("processInstanceId", "variableName")
SORT_KEYS = {"instanceId": "id", "definitionKey": "process_id", "definitionVersion": "version",
             "businessKey": "business_key", "startTime": "started", "endTime": "ended"}


def _flag(name: str) -> bool:
    return bool(v.query_flag(name))


def _statuses() -> tuple[str, ...]:
    finished, unfinished = _flag("finished"), _flag("unfinished")
    if _flag("completed"):
        return ("completed",) if not unfinished else ()
    if _flag("externallyTerminated"):
        return ("cancelled",) if not unfinished else ()
    if finished and unfinished:
        return ()
    return queries.ENDED if finished else queries.RUNNING if unfinished else (*queries.RUNNING, *queries.ENDED)


def _ids() -> list[int] | None:
    instance = request.args.get("processInstanceId")
    return [v.number_id(instance, _l("There is no such process instance."))] if instance else None


def _found(first: int, most: int) -> list[dict[str, Any]]:
    args = request.args
    return queries.find_instances(
        g.principal, first, most, process_id=args.get("processDefinitionKey") or None,
        business_key=args.get("processInstanceBusinessKey") or None, ids=_ids(),
        where=variable_filter(args.get("variables", "")), statuses=_statuses(), order=v.sorting(SORT_KEYS))


def _described(found: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    started, ended = found["created_at"], found["ended_at"] if found["status"] in STATE else None
    return {"id": str(found["id"]), "businessKey": found["business_key"],
            "processDefinitionId": f"{found['process_id']}:{found['version']}",
            "processDefinitionKey": found["process_id"], "processDefinitionName": names.get(found["process_id"]),
            "processDefinitionVersion": found["version"], "startTime": v.camunda_time(started),
            "endTime": v.camunda_time(ended), "removalTime": None,
            "durationInMillis": int((ended - started).total_seconds() * 1000) if ended and started else None,
            "startUserId": None, "startActivityId": None, "deleteReason": None, "rootProcessInstanceId": str(found["id"]),
            "superProcessInstanceId": None, "superCaseInstanceId": None, "caseInstanceId": None, "tenantId": None,
            "state": STATE.get(found["status"], "ACTIVE")}


def _names(found: list[dict[str, Any]]) -> dict[str, str]:
    return queries.process_names(sorted({each["process_id"] for each in found}), str(get_locale() or "en"))


@bp.route("/history/process-instance")
def list_historic_process_instances() -> Response:
    """Every instance the caller may see, ended or not: `processInstanceId`, `processDefinitionKey`,
    `processInstanceBusinessKey`, `finished`, `unfinished`, `completed`, `externallyTerminated`, `variables`,
    `firstResult`, `maxResults`; `sortBy` (`instanceId`, `definitionKey`, `definitionVersion`, `businessKey`,
    `startTime`, `endTime`) with `sortOrder`."""
    v.only_filters(*INSTANCE_FILTERS, *v.SORTING)
    found = _found(v.whole(request.args, "firstResult", 0), min(v.whole(request.args, "maxResults", MOST), MOST))
    names = _names(found)
    return jsonify([_described(each, names) for each in found])


@bp.route("/history/process-instance/count")
def count_historic_process_instances() -> Response:
    v.only_filters(*INSTANCE_FILTERS)
    args = request.args
    return jsonify({"count": queries.count_instances(
        g.principal, args.get("processDefinitionKey") or None, args.get("processInstanceBusinessKey") or None,
        variable_filter(args.get("variables", "")), _statuses(), _ids())})


@bp.route("/history/process-instance/<instance_id>")
def get_historic_process_instance(instance_id: str) -> Response:
    found = v.by_id(instance_id, _l("Historic process instance with id %(id)s does not exist", id=instance_id),
                    lambda number: queries.instance_detail(g.principal, number))
    return jsonify(_described(found, _names([found])))


@bp.route("/history/variable-instance")
def list_historic_variables() -> Response:
    """The variables an instance holds (or ended with), as the caller may read them: `processInstanceId`
    (required: Loanflow reads an instance's variables one instance at a time), `variableName`."""
    v.only_filters(*VARIABLE_FILTERS)
    instance = request.args.get("processInstanceId")
    if not instance:
        raise Invalid(_l("The request is not valid."), {"processInstanceId": [_l("An instance's id.")]})
    instance_id = v.number_id(instance, _l("There is no such process instance."))
    data = queries.instance_data(g.principal, instance_id)
    wanted = request.args.get("variableName")
    return jsonify([{"id": f"{instance_id}:{name}", "name": name, **v.typed(value), "processInstanceId": str(instance_id),
                     "processDefinitionKey": None, "executionId": str(instance_id), "activityInstanceId": None,
                     "errorMessage": None, "state": "CREATED", "tenantId": None}
                    for name, value in data.items() if wanted is None or name == wanted])
