"""Incidents as Camunda's API lists them (`GET /engine-rest/incident`): the instances stopped on a failure that a
monitoring tool written for Camunda counts and shows — for the platform's staff who read incidents
(`incidents.read`). A failed external task is retried with `PUT /external-task/{id}/retries`; any incident on the
instance's **Repair** page or `POST /api/v1/incidents/{id}/retry`."""
from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, request
from flask_babel import lazy_gettext as _l

import app.api.camunda_rest.values as v
from app.api.camunda_rest.base import bp
from app.api.camunda_rest.process_instances import MOST
from app.services.errors import NotFound
from app.services.workflow import incidents, ordering, queries

FILTERS = ("processInstanceId", "activityId", "incidentType")
SORT_KEYS = {"incidentId": "id", "incidentTimestamp": "created_at", "activityId": "element_id",
             "processInstanceId": "instance_id"}
TYPES = {"external_task_failed": "failedExternalTask"}  # every other failure is a step's: Camunda's failed job


def _described(found: dict[str, Any], definitions: dict[int, str]) -> dict[str, Any]:
    return {"id": str(found["id"]), "processDefinitionId": definitions.get(found["instance_id"]),
            "processInstanceId": str(found["instance_id"]), "executionId": None,
            "incidentTimestamp": v.camunda_time(found["created_at"]),
            "incidentType": TYPES.get(found["kind"], "failedJob"), "activityId": found["element_id"],
            "failedActivityId": found["element_id"], "causeIncidentId": str(found["id"]),
            "rootCauseIncidentId": str(found["id"]), "configuration": None,
            "incidentMessage": str(found["reason"] or found["message"]), "tenantId": None, "jobDefinitionId": None,
            "annotation": None}


def _definitions(found: list[dict[str, Any]]) -> dict[int, str]:
    """Each incident's instance as `<process id>:<version>`, in one query."""
    ids = sorted({each["instance_id"] for each in found})
    shown = queries.find_instances(g.principal, 0, len(ids), ids=ids,
                                   statuses=(*queries.RUNNING, *queries.ENDED)) if ids else []
    return {each["id"]: f"{each['process_id']}:{each['version']}" for each in shown}


def _open(instance: str | None) -> list[dict[str, Any]]:
    """The open incidents, newest first, of an instance if one is named; at most a thousand."""
    instance_id = v.number_id(instance, _l("There is no such process instance.")) if instance else None
    return incidents.list_incidents(g.principal, 1, MOST, state="open", instance_id=instance_id)["items"]


def _chosen(*sorting: str) -> list[dict[str, Any]]:
    v.only_filters(*FILTERS, *sorting)
    args = request.args
    element, kind = args.get("activityId"), args.get("incidentType")
    return [each for each in _open(args.get("processInstanceId"))
            if (element is None or each["element_id"] == element)
            and (kind is None or TYPES.get(each["kind"], "failedJob") == kind)]


@bp.route("/incident")
def list_incidents() -> Response:
    """The open incidents: `processInstanceId`, `activityId`, `incidentType` (`failedJob`, `failedExternalTask`),
    `firstResult`, `maxResults`; `sortBy` (`incidentId`, `incidentTimestamp`, `activityId`, `processInstanceId`)
    with `sortOrder` (newest first when not asked)."""
    first = v.whole(request.args, "firstResult", 0)
    chosen = _chosen(*v.SORTING)
    order = v.sorting(SORT_KEYS)
    found = (ordering.sort_rows(chosen, order) if order else chosen)[
        first:first + min(v.whole(request.args, "maxResults", MOST), MOST)]
    definitions = _definitions(found)
    return jsonify([_described(each, definitions) for each in found])


@bp.route("/incident/count")
def count_incidents() -> Response:
    return jsonify({"count": len(_chosen())})


@bp.route("/incident/<incident_id>")
def get_incident(incident_id: str) -> Response:
    missing = _l("Incident with id %(id)s does not exist", id=incident_id)
    found = v.by_id(incident_id, missing, lambda number: incidents.incident_for(g.principal, number))
    if found["state"] != "open":
        raise NotFound(missing)  # Camunda's runtime keeps only the open ones
    return jsonify(_described(found, _definitions([found])))
