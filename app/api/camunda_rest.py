"""The part of Camunda 7's REST API that Camunda Modeler and Camunda's external task workers speak (`/engine-rest`):
an analyst who draws in Camunda Modeler deploys to Loanflow and starts a test instance from its own Deploy and Run
buttons, as to a Camunda engine, and the external task workers a Camunda user runs do Loanflow's service tasks.

| Camunda Modeler asks | Loanflow answers |
|---|---|
| `GET /engine-rest/deployment?maxResults=0` (the connection check) | `[]` when the token is good; any other listing is refused (Loanflow's own API lists definitions) |
| `GET /engine-rest/version` | `{"version": "7.21.0"}`: the level of Camunda's API these routes follow, not Loanflow's version |
| `POST /engine-rest/deployment/create` (multipart: `deployment-name`, `deployment-source`, `enable-duplicate-filtering`, the diagram and its attachments, each in a field of its own name) | the files checked and deployed together as `file_sets` does (forms included; one error deploys nothing); Camunda's deployment answer with every process and decision of the set as `<id>:<version>` (unchanged ones too, so the Run button finds its process) |
| `POST /engine-rest/process-definition/{id}/start`, `/process-definition/key/{key}/start` (`businessKey`, typed `variables`) | `instances.start` on the newest version, for whoever may start on the start page (an operator, an admin, an analyst trying what they deploy); Camunda's instance answer |
| `POST /engine-rest/external-task/fetchAndLock`, `/external-task/{id}/complete`, `bpmnError`, `failure`, `extendLock`, `unlock`, `GET .../errorDetails` (Camunda's external task clients) | the tasks of topics mapped to `camunda.external_task`, worked by the workers a Camunda user already runs (`workflow.external_tasks`), for the platform's admins and operators (`external_tasks.work`) |

Only a bearer token (an API token of the user's, Modeler's "Bearer token" authentication) opens these routes: no
session cookie, so any origin may call them (Modeler calls from its own window) with no risk of a forged request.
Errors answer in Camunda's shape, `{"type", "message"}`, in the reader's language; a refused deploy lists each
finding by file (`details`, as Camunda's ParseException). Typed variables: String, Boolean, Integer, Short,
Long, Double, Date (kept as the text sent), Json (read), Null; Object, File, Bytes and Xml values are refused.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Blueprint, Response, g, jsonify, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app.api.errors import status_of
from app.api.field_messages import said
from app.api.json_body import loads
from app.services.clock import now
from app.services.errors import Forbidden, Invalid, NotFound, ServiceError, Unauthorized
from app.services.identity.directory import authenticate_token
from app.services.workflow import deployment, external_tasks, file_sets, instances, start_forms
from app.services.workflow.deployment import DeployedVersion, DiagramRefused
from app.services.workflow.diagram_reasons import in_language

bp = Blueprint("camunda_rest", __name__, url_prefix="/engine-rest")
API_LEVEL = "7.21.0"
NOT_FORM_FIELDS = frozenset({"deployment-name", "deployment-source", "enable-duplicate-filtering",
                             "deploy-changed-only", "tenant-id", "deployment-activation-time"})
EXCEPTION_TYPE = {401: "AuthenticationException", 403: "AuthorizationException", 404: "RestException"}
INTEGER_RANGE = {"Integer": 2**31, "Short": 2**15, "Long": 2**63}


@bp.before_request
def bearer_only() -> Response | None:
    """Preflights pass (CORS); everything else needs `Authorization: Bearer <token>`, never a session."""
    if request.method == "OPTIONS":
        return Response(status=204)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(_l("Camunda Modeler's deploy needs an API token of yours: choose \"Bearer token\" as its "
                              "authentication and paste a token made on your page API tokens (/account/tokens)."))
    g.principal = authenticate_token(token.strip()).principal
    return None


@bp.after_request
def any_origin(response: Response) -> Response:
    """Camunda Modeler calls from its own window, another origin; a bearer token is no cookie a page could borrow."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Accept"
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    return response


@bp.errorhandler(ServiceError)
def camunda_error(exc: ServiceError) -> tuple[Response, int]:
    status = status_of(exc)
    body: dict[str, Any] = {"type": EXCEPTION_TYPE.get(status, "InvalidRequestException"), "message": exc.message}
    if isinstance(exc, DiagramRefused):  # by file and element, as Camunda's ParseException
        body["type"], body["details"] = "ParseException", _details(exc.problems)
    if exc.fields:
        body["message"] = "\n".join([exc.message] + [f"{name}: {m}" for name, said in exc.fields.items() for m in said])
    return jsonify(body), 400 if status in (409, 422) else status


def _details(problems: list[Any]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Camunda's ParseException details: for each file, its errors and warnings, each with its element and line."""
    details: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for p in problems:
        found = details.setdefault(p.file, {"errors": [], "warnings": []})
        found["errors" if p.severity == "error" else "warnings"].append({
            "message": in_language(p.reason), "line": p.line, "column": None, "mainElementId": p.element_id,
            "elementIds": [p.element_id] if p.element_id else []})
    return details


@bp.route("/version")
def version() -> Response:
    return jsonify({"version": API_LEVEL})


@bp.route("/deployment")
def deployments() -> Response:
    if request.args.get("maxResults") != "0":
        raise Invalid(_l("Loanflow answers this only as Camunda Modeler's connection check (maxResults=0): "
                         "GET /api/v1/process-definitions lists what is deployed."))
    return jsonify([])


@bp.route("/deployment/create", methods=["POST"])
def create_deployment() -> Response:
    deployment.check_may_deploy(g.principal)
    limit = deployment.upload_limit() + 1
    files = [(upload.filename or name, upload.stream.read(limit))
             for name, upload in request.files.items(multi=True) if name not in NOT_FORM_FIELDS]
    deployed = file_sets.deploy(g.principal, files, "data")
    name = request.form.get("deployment-name", "").strip()[:255] or None
    return jsonify(_deployment(deployed, name, request.form.get("deployment-source", "").strip()[:255] or None))


def _deployment(deployed: list[DeployedVersion], name: str | None, source: str | None) -> dict[str, Any]:
    ids = [f"{d.process_id}:{d.version}" for d in deployed]
    deployment_id = hashlib.sha256(",".join(ids).encode()).hexdigest()[:16]

    def definitions(kind: str) -> dict[str, Any] | None:
        return {f"{d.process_id}:{d.version}": {
            "id": f"{d.process_id}:{d.version}", "key": d.process_id, "version": d.version, "name": None,
            "resource": d.file, "deploymentId": deployment_id, "tenantId": None, "versionTag": None,
            "suspended": False, "category": None, "description": None, "diagram": None,
            "historyTimeToLive": None, "startableInTasklist": True} for d in deployed if d.kind == kind} or None

    return {"id": deployment_id, "name": name, "source": source, "tenantId": None,
            "deploymentTime": now().isoformat(timespec="milliseconds"), "links": [],
            "deployedProcessDefinitions": definitions("process"),
            "deployedDecisionDefinitions": definitions("decision"),
            "deployedCaseDefinitions": None, "deployedDecisionRequirementsDefinitions": None}


@bp.route("/process-definition/key/<key>/start", methods=["POST"])
def start_by_key(key: str) -> Response:
    return _start(key, None)


@bp.route("/process-definition/<definition_id>/start", methods=["POST"])
def start_by_id(definition_id: str) -> Response:
    key, _, number = definition_id.rpartition(":")
    if not key or not number.isdigit():
        raise NotFound(_l("No process definition %(id)s: Loanflow names one <process id>:<version>.",
                          id=repr(definition_id)))
    return _start(key, int(number))


def _start(process_id: str, wanted: int | None) -> Response:
    principal = g.principal
    if not start_forms.may_start_on_page(principal):
        raise Forbidden(_l("Starting an instance from Camunda Modeler needs the role of a platform administrator, an "
                           "operator or a business analyst."), code="may_not_start")
    newest = instances.latest_version(process_id)
    if newest is None or (wanted is not None and wanted > newest.version):
        raise NotFound(_l("No process definition %(id)s is deployed.", id=repr(
            process_id if wanted is None else f"{process_id}:{wanted}")))
    if wanted is not None and wanted != newest.version:
        raise Invalid(_l("Loanflow starts the newest version of a process (%(newest)s), not version %(wanted)s.",
                         newest=newest.version, wanted=wanted))
    body = _body()
    business_key = body.get("businessKey")
    if business_key is not None and (not isinstance(business_key, str) or len(business_key) > 128):
        raise Invalid(_l("The start is not valid."), {"businessKey": [_l("At most 128 characters of text.")]})
    started = instances.start(process_id, principal, business_key or None, variables(body.get("variables")),
                              access_checked=True)  # asked above, as the start page asks
    return jsonify({"id": str(started["id"]), "definitionId": f"{process_id}:{started['version']}",
                    "businessKey": started["business_key"], "caseInstanceId": None, "tenantId": None,
                    "ended": started["status"] == "completed", "suspended": False,
                    "links": [{"method": "GET", "rel": "self",
                               "href": url_for("instance_pages.show", instance_id=started["id"], _external=True)}]})


def _json(raw: bytes | str) -> Any:
    """Standard JSON as the API reads it (`json_body.loads`: no NaN, no NUL, nested at most 64 deep); `Invalid`."""
    try:
        return loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except UnicodeDecodeError:
        raise Invalid(gettext("Invalid JSON body: %(reason)s.", reason=gettext("not UTF-8"))) from None
    except json.JSONDecodeError as exc:
        raise Invalid(gettext("Invalid JSON body: %(reason)s.", reason=said(exc.msg))) from None


def variables(given: Any) -> dict[str, Any]:
    """Camunda's typed variables (`{"name": {"value", "type"}}`) as the instance's data; `Invalid` by name."""
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise Invalid(_l("The start is not valid."), {"variables": [_l("An object of variables by name.")]})
    data: dict[str, Any] = {}
    errors: dict[str, list[Any]] = {}
    for name, typed in given.items():
        try:
            data[name] = _value(typed)
        except ValueError as exc:
            errors[f"variables.{name}"] = [str(exc)]
    if errors:
        raise Invalid(_l("The start is not valid."), errors)
    return data


def _value(typed: Any) -> Any:
    if not isinstance(typed, dict) or "value" not in typed and typed.get("type") != "Null":
        raise ValueError(gettext("A variable is an object with its value and type."))
    value, kind = typed.get("value"), str(typed.get("type") or "").capitalize()
    if value is None or kind == "Null":
        return None
    if not kind:  # as Camunda: the JSON value's own type
        return value
    if kind == "String" and isinstance(value, str):
        return value
    if kind == "Boolean" and isinstance(value, bool):
        return value
    if kind in INTEGER_RANGE and isinstance(value, int) and not isinstance(value, bool):
        if not -INTEGER_RANGE[kind] <= value < INTEGER_RANGE[kind]:
            raise ValueError(gettext("%(value)s is out of range for %(type)s.", value=value, type=kind))
        return value
    if kind == "Double" and isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if kind == "Date" and isinstance(value, str):
        return value
    if kind == "Json" and isinstance(value, str):
        try:
            return loads(value)
        except json.JSONDecodeError:
            raise ValueError(gettext("The Json variable's value is not JSON.")) from None
    if kind in ("Object", "File", "Bytes", "Xml"):
        raise ValueError(gettext("Loanflow does not take %(type)s variables: send the value as JSON, String or a "
                                 "number.", type=kind))
    raise ValueError(gettext("The value does not fit the type %(type)s.", type=kind))


# -- external tasks: Camunda's external task workers ------------------------------------------------------
def _camunda_time(at: Any) -> str | None:
    """A moment as Camunda's API writes one (its Java clients read `yyyy-MM-dd'T'HH:mm:ss.SSSZ`)."""
    return None if at is None else at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"


def _typed(value: Any) -> dict[str, Any]:
    """A value as Camunda types a variable."""
    if value is None:
        kind = "Null"
    elif isinstance(value, bool):
        kind = "Boolean"
    elif isinstance(value, int):
        kind = "Integer" if -2**31 <= value < 2**31 else "Long"
    elif isinstance(value, float):
        kind = "Double"
    elif isinstance(value, str):
        kind = "String"
    else:
        return {"value": json.dumps(value, ensure_ascii=False), "type": "Json", "valueInfo": {}}
    return {"value": value, "type": kind, "valueInfo": {}}


def _body() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    body = _json(raw) if raw.strip() else {}
    if not isinstance(body, dict):
        raise Invalid(_l("The request's body is a JSON object."))
    return body


def _text(body: dict[str, Any], name: str, required: bool = False, most: int = 255) -> str:
    value = body.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value) or len(value) > most:
        raise Invalid(_l("The request is not valid."), {name: [_l("1 to %(most)s characters", most=most)]})
    return value


def _task_id(text: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise NotFound(_l("There is no external task %(id)s.", id=repr(text)))
    return int(text)


@bp.route("/external-task/fetchAndLock", methods=["POST"])
def fetch_and_lock() -> Response:
    body = _body()
    topics_given = body.get("topics") or []
    if not isinstance(topics_given, list) or not all(isinstance(t, dict) for t in topics_given):
        raise Invalid(_l("The fetch is not valid."), {"topics": [_l("A list of topics, each with its topicName.")]})
    topics = []
    for each in topics_given:
        wanted = each.get("variables")
        if wanted is not None and not (isinstance(wanted, list) and all(isinstance(v, str) for v in wanted)):
            raise Invalid(_l("The fetch is not valid."), {"topics.variables": [_l("A list of variable names.")]})
        topics.append(external_tasks.Topic(_text(each, "topicName", required=True),
                                           external_tasks.lock_duration(each.get("lockDuration"), "lockDuration"),
                                           wanted))
    max_tasks = body.get("maxTasks", 1)
    if isinstance(max_tasks, bool) or not isinstance(max_tasks, int):
        raise Invalid(_l("The fetch is not valid."), {"maxTasks": [_l("0 to %(n)d", n=external_tasks.MAX_TASKS)]})
    locked = external_tasks.fetch_and_lock(g.principal, _text(body, "workerId", required=True), max_tasks, topics)
    return jsonify([{
        "id": str(found["task"].id), "topicName": found["task"].topic, "workerId": found["task"].worker_id,
        "lockExpirationTime": _camunda_time(found["task"].lock_expires_at),
        "createTime": _camunda_time(found["task"].created_at),
        "activityId": found["task"].element_id,
        "activityInstanceId": f"{found['task'].element_id}:{found['task'].engine_task_id}",
        "executionId": found["task"].engine_task_id,
        "processInstanceId": str(found["instance"].id), "businessKey": found["instance"].business_key,
        "processDefinitionId": f"{found['instance'].process_id}:{found['instance'].version}",
        "processDefinitionKey": found["instance"].process_id, "processDefinitionVersionTag": None,
        "retries": found["task"].retries, "errorMessage": found["task"].error_message, "errorDetails": None,
        "suspended": False, "priority": 0, "tenantId": None, "extensionProperties": {},
        "variables": {name: _typed(value) for name, value in found["variables"].items()},
    } for found in locked])


@bp.route("/external-task/<task_id>/complete", methods=["POST"])
def complete_external(task_id: str) -> Response:
    body = _body()
    given = {**variables(body.get("variables")), **variables(body.get("localVariables"))}
    external_tasks.complete(g.principal, _task_id(task_id), _text(body, "workerId", required=True), given)
    return Response(status=204)


@bp.route("/external-task/<task_id>/bpmnError", methods=["POST"])
def bpmn_error(task_id: str) -> Response:
    body = _body()
    external_tasks.bpmn_error(g.principal, _task_id(task_id), _text(body, "workerId", required=True),
                              _text(body, "errorCode", required=True), _text(body, "errorMessage", most=4000),
                              variables(body.get("variables")))
    return Response(status=204)


@bp.route("/external-task/<task_id>/failure", methods=["POST"])
def failure(task_id: str) -> Response:
    body = _body()
    retries = body.get("retries", 0)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 1000:
        raise Invalid(_l("The failure is not valid."), {"retries": [_l("0 to 1000")]})
    external_tasks.failure(g.principal, _task_id(task_id), _text(body, "workerId", required=True),
                           _text(body, "errorMessage", most=4000), _text(body, "errorDetails", most=100_000) or None,
                           retries, external_tasks.lock_duration(body.get("retryTimeout", 0), "retryTimeout"))
    return Response(status=204)


@bp.route("/external-task/<task_id>/extendLock", methods=["POST"])
def extend_lock(task_id: str) -> Response:
    body = _body()
    external_tasks.extend_lock(g.principal, _task_id(task_id), _text(body, "workerId", required=True),
                               external_tasks.lock_duration(body.get("newDuration"), "newDuration"))
    return Response(status=204)


@bp.route("/external-task/<task_id>/unlock", methods=["POST"])
def unlock(task_id: str) -> Response:
    external_tasks.unlock(g.principal, _task_id(task_id))
    return Response(status=204)


@bp.route("/external-task/<task_id>/errorDetails")
def error_details(task_id: str) -> Response:
    """What the last failed try sent as `errorDetails`, as Camunda answers it: plain text."""
    return Response(external_tasks.error_details(g.principal, _task_id(task_id)), mimetype="text/plain")
