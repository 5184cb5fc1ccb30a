"""Camunda Modeler's deploy and run (`/engine-rest`): its connection check, the multipart deployment of a diagram
and its attachments, the start of an instance by definition id or key with typed variables."""
from __future__ import annotations

import hashlib
from typing import Any

from flask import Response, g, jsonify, request, url_for
from flask_babel import lazy_gettext as _l

import app.api.camunda_rest.process_instances as process_instances
import app.api.camunda_rest.values as v
from app.api.camunda_rest.base import API_LEVEL, bp
from app.services.clock import now
from app.services.errors import Forbidden, Invalid, NotFound
from app.services.workflow import deployment, file_sets, instances, start_forms
from app.services.workflow.deployment import DeployedVersion
from app.text_input import is_whole

NOT_FORM_FIELDS = frozenset({"deployment-name", "deployment-source", "enable-duplicate-filtering",
                             "deploy-changed-only", "tenant-id", "deployment-activation-time"})


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
@bp.route("/process-definition/key/<key>/submit-form", methods=["POST"])  # Tasklist's start form: the same start
def start_by_key(key: str) -> Response:
    return _start(key, None)


@bp.route("/process-definition/<definition_id>/start", methods=["POST"])
@bp.route("/process-definition/<definition_id>/submit-form", methods=["POST"])
def start_by_id(definition_id: str) -> Response:
    key, _, number = definition_id.rpartition(":")
    if not key or not is_whole(number) or len(number) > 9:
        raise NotFound(_l("No process definition %(id)s: Loanflow names one <process id>:<version>.",
                          id=repr(definition_id)))
    return _start(key, int(number))


def _start(process_id: str, wanted: int | None) -> Response:
    principal = g.principal
    if not start_forms.may_start_on_page(principal):
        raise Forbidden(_l("Starting an instance over Camunda's API needs the role of a platform administrator, an "
                           "operator or a business analyst."), code="may_not_start")
    newest = instances.latest_version(process_id)
    if newest is None or (wanted is not None and wanted > newest.version):
        raise NotFound(_l("No process definition %(id)s is deployed.", id=repr(
            process_id if wanted is None else f"{process_id}:{wanted}")))
    if wanted is not None and wanted != newest.version:
        raise Invalid(_l("Loanflow starts the newest version of a process (%(newest)s), not version %(wanted)s.",
                         newest=newest.version, wanted=wanted))
    body = v.body()
    business_key = body.get("businessKey")
    if business_key is not None and (not isinstance(business_key, str) or len(business_key) > 128):
        raise Invalid(_l("The start is not valid."), {"businessKey": [_l("At most 128 characters of text.")]})
    started = instances.start(process_id, principal, business_key or None, v.variables(body.get("variables")),
                              access_checked=True)  # asked above, as the start page asks
    returned = ({"variables": v.typed_all(process_instances.data_of(int(started["id"])))}
                if v.flag(body, "withVariablesInReturn") else {})
    return jsonify({**returned, "id": str(started["id"]), "definitionId": f"{process_id}:{started['version']}",
                    "businessKey": started["business_key"], "caseInstanceId": None, "tenantId": None,
                    "ended": started["status"] == "completed", "suspended": False,
                    "links": [{"method": "GET", "rel": "self",
                               "href": url_for("instance_pages.show", instance_id=started["id"], _external=True)}]})
