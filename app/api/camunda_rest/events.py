"""Messages and signals as Camunda's API sends them (`POST /engine-rest/message`, `POST /engine-rest/signal`): the
systems that correlated messages to a Camunda engine (payments, couriers, another application's events) correlate
them here by changing the address they call."""
from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify
from flask_babel import lazy_gettext as _l

import app.api.camunda_rest.process_instances as process_instances
import app.api.camunda_rest.values as v
from app.api.camunda_rest.base import bp
from app.services.errors import Invalid
from app.services.workflow import correlation, queries, signals
from app.text_input import is_whole

NOT_TAKEN = ("tenantId", "processVariablesLocal", "processVariablesToTriggeredScope", "localCorrelationKeys",
             "startMessagesOnly")


@bp.route("/message", methods=["POST"])
def correlate_message() -> Response:
    """Camunda's message correlation: `messageName`, and to choose the instance `businessKey`, `processInstanceId`,
    `correlationKeys` (variables the instance must hold); `processVariables` become the message's payload (the
    catching task's data); `all` correlates to every match, else exactly one must match; `resultEnabled` answers
    what took it (200), else 204."""
    given = v.body()
    _refuse_unknown(given)
    instance_id = given.get("processInstanceId")
    if instance_id is not None and not (isinstance(instance_id, str) and is_whole(instance_id)
                                        and len(instance_id) <= 18):
        raise Invalid(_l("The request is not valid."), {"processInstanceId": [_l("An instance's id.")]})
    found = correlation.correlate(
        g.principal, v.text(given, "messageName", required=True),
        v.variables(given.get("processVariables"), "processVariables"),
        business_key=v.text(given, "businessKey", most=128) or None,
        instance_id=int(instance_id) if instance_id is not None else None,
        match=v.variables(given.get("correlationKeys"), "correlationKeys"), all_matches=v.flag(given, "all"))
    if not v.flag(given, "resultEnabled"):
        return Response(status=204)
    with_variables = v.flag(given, "variablesInResultEnabled")
    if found.started is not None:
        return jsonify([{"resultType": "ProcessDefinition", "execution": None,
                         "processInstance": process_instances.described(found.started),
                         **_variables(process_instances.data_of(found.started), with_variables)}])
    took = {each["id"]: each for each in queries.find_instances(  # one query, however many took it
        g.principal, 0, len(found.delivered_to), ids=found.delivered_to, statuses=(*queries.RUNNING, *queries.ENDED))}
    return jsonify([{"resultType": "Execution", "processInstance": None,
                     "execution": {"id": str(each), "processInstanceId": str(each), "tenantId": None,
                                   "ended": took[each]["status"] not in queries.RUNNING},
                     **_variables(took[each]["data"] or {}, with_variables)}
                    for each in found.delivered_to if each in took])


@bp.route("/signal", methods=["POST"])
def throw_signal() -> Response:
    """Camunda's signal: `name` and its `variables` (the catching task's data), to every instance that waits for it
    and every process that starts on it; 204."""
    given = v.body()
    for name in ("executionId", "tenantId"):
        if given.get(name) is not None:
            raise Invalid(_l("Loanflow sends a signal to every instance that waits for it: %(field)s is not taken.",
                             field=name))
    signals.send_signal(g.principal, v.text(given, "name", required=True), v.variables(given.get("variables")))
    return Response(status=204)


def _refuse_unknown(given: dict[str, Any]) -> None:
    for name in NOT_TAKEN:
        if given.get(name) not in (None, False, {}):
            raise Invalid(_l("Loanflow does not take %(field)s in a message correlation: correlate by business key, "
                             "instance id or correlation keys.", field=name))


def _variables(data: dict[str, Any], wanted: bool) -> dict[str, Any]:
    return {"variables": v.typed_all(data)} if wanted else {}
