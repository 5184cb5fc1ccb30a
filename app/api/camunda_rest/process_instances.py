"""Process instances as Camunda's runtime API reads them (`/engine-rest/process-instance`): the instances not yet
ended that the caller may see, their variables as the caller may read them, and their cancellation (DELETE), as the
console cancels one (`instances.cancel`)."""
from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Response, g, jsonify, request, url_for
from flask_babel import lazy_gettext as _l

import app.api.camunda_rest.values as v
from app.api.camunda_rest.base import bp
from app.services.errors import Invalid, NotFound
from app.services.workflow import instances, queries

MOST = 1000  # instances in one answer (Camunda's maxResults; Loanflow's own API pages)
OPERATORS = ("eq", "neq", "gt", "gteq", "lt", "lteq", "like")

FILTERS = ("processDefinitionKey", "businessKey", "processInstanceIds", "variables")
SORT_KEYS = {"instanceId": "id", "definitionKey": "process_id", "businessKey": "business_key"}


def described(instance_id: int) -> dict[str, Any]:
    """An instance as Camunda describes one."""
    return _described(queries.instance_detail(g.principal, instance_id))


def data_of(instance_id: int) -> dict[str, Any]:
    return queries.instance_data(g.principal, instance_id)


def _described(found: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(found["id"]), "definitionId": f"{found['process_id']}:{found['version']}",
            "businessKey": found["business_key"], "caseInstanceId": None, "tenantId": None,
            "ended": found["status"] not in queries.RUNNING, "suspended": False,
            "links": [{"method": "GET", "rel": "self",
                       "href": url_for("instance_pages.show", instance_id=found["id"], _external=True)}]}


def _running(instance_id: str) -> dict[str, Any]:
    missing = _l("Process instance with id %(id)s does not exist", id=instance_id)
    found = v.by_id(instance_id, missing, lambda number: queries.instance_detail(g.principal, number))
    if found["status"] not in queries.RUNNING:
        raise NotFound(missing)
    return found


@bp.route("/process-instance")
def list_process_instances() -> Response:
    """`processDefinitionKey`, `businessKey`, `processInstanceIds` (comma-separated), `variables`
    (`name_operator_value`, comma-separated), `firstResult`, `maxResults`; `sortBy` (`instanceId`, `definitionKey`,
    `businessKey`) with `sortOrder`."""
    v.only_filters(*FILTERS, *v.SORTING)
    args = request.args
    found = queries.find_instances(
        g.principal, v.whole(args, "firstResult", 0), min(v.whole(args, "maxResults", MOST), MOST),
        process_id=args.get("processDefinitionKey") or None, business_key=args.get("businessKey") or None,
        ids=_ids(), where=variable_filter(args.get("variables", "")), order=v.sorting(SORT_KEYS))
    return jsonify([_described(each) for each in found])


@bp.route("/process-instance/count")
def count_process_instances() -> Response:
    v.only_filters(*FILTERS)
    args = request.args
    return jsonify({"count": queries.count_instances(g.principal, args.get("processDefinitionKey") or None,
                                                   args.get("businessKey") or None,
                                                   variable_filter(args.get("variables", "")), ids=_ids())})


def _ids() -> list[int] | None:
    """`processInstanceIds`, comma-separated."""
    ids = request.args.get("processInstanceIds")
    return [v.number_id(each, _l("There is no such process instance.")) for each in ids.split(",")] if ids else None


@bp.route("/process-instance/<instance_id>")
def get_process_instance(instance_id: str) -> Response:
    return jsonify(_described(_running(instance_id)))


@bp.route("/process-instance/<instance_id>/variables")
def process_instance_variables(instance_id: str) -> Response:
    found = _running(instance_id)
    return jsonify(v.typed_all(found["data"] or {}))


@bp.route("/process-instance/<instance_id>/variables/<name>")
def process_instance_variable(instance_id: str, name: str) -> Response:
    data = _running(instance_id)["data"] or {}
    if name not in data:
        raise NotFound(_l("Cannot find process instance variable with name %(name)s.", name=name))
    return jsonify(v.typed(data[name]))


@bp.route("/process-instance/<instance_id>", methods=["DELETE"])
def delete_process_instance(instance_id: str) -> Response:
    """Camunda's delete of a running instance is Loanflow's cancellation: the instance ends, its history stays."""
    found = _running(instance_id)
    instances.cancel_instance(found["id"], g.principal, request.args.get("deleteReason", "")[:500] or None)
    return Response(status=204)


def variable_filter(given: str) -> Callable[[dict[str, Any]], bool] | None:
    """Camunda's `variables` filter (`amount_gt_100,status_eq_open`): every condition holds on the data."""
    if not given:
        return None
    conditions = []
    for each in given.split(","):
        parts = each.split("_")
        if len(parts) < 3 or parts[-2] not in OPERATORS or not parts[0]:
            raise Invalid(_l("The request is not valid."), {"variables": [_l(
                "Each filter is name_operator_value, the operator one of eq, neq, gt, gteq, lt, lteq, like.")]})
        conditions.append(("_".join(parts[:-2]), parts[-2], parts[-1]))
    return lambda data: all(_holds(data, name, op, value) for name, op, value in conditions)


def _holds(data: dict[str, Any], name: str, op: str, given: str) -> bool:
    if name not in data:
        return False
    held = data[name]
    if op == "like":
        return isinstance(held, str) and _like(held, given)
    compared = _comparable(held, given)
    if compared is None:
        return op == "neq"
    left, right = compared
    return {"eq": left == right, "neq": left != right, "gt": left > right, "gteq": left >= right,
            "lt": left < right, "lteq": left <= right}[op]


def _comparable(held: Any, given: str) -> tuple[Any, Any] | None:
    """The held value and the filter's text as values of one kind (a number, a truth, a text); None if they differ."""
    if isinstance(held, bool):
        return (held, given == "true") if given in ("true", "false") else None
    if isinstance(held, int | float | Decimal):
        try:
            return Decimal(str(held)), Decimal(given)
        except InvalidOperation:
            return None
    if isinstance(held, str):
        return held, given
    return None


def _like(held: str, pattern: str) -> bool:
    """SQL's LIKE as Camunda reads it: % any run of characters."""
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("%")), held, re.S) is not None
