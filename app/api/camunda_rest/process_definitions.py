"""Process definitions as Camunda's API reads them (`GET /engine-rest/process-definition`): what an application
lists to offer its users the processes they may start, and the diagram's XML a viewer draws — for the platform's
staff, who read the catalogue (`definitions.read`). Every version is listed (the newest of each process with
`latestVersion=true`), named as Camunda names one, `<key>:<version>`."""
from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, request
from flask_babel import lazy_gettext as _l

import app.api.camunda_rest.values as v
from app.api.camunda_rest.base import bp
from app.api.camunda_rest.process_instances import MOST
from app.services.errors import NotFound
from app.services.workflow import catalogue, deployment
from app.text_input import is_whole

FILTERS = ("key", "latestVersion")


def _described(key: str, version: int, name: str | None, resource: str | None = None) -> dict[str, Any]:
    return {"id": f"{key}:{version}", "key": key, "category": None, "description": None, "name": name,
            "version": version, "resource": resource, "deploymentId": None, "diagram": None, "suspended": False,
            "tenantId": None, "versionTag": None, "historyTimeToLive": None, "startableInTasklist": True}


def _newest(key: str | None = None) -> list[dict[str, Any]]:
    return [_described(p.process_id, p.version, p.name) for p in deployment.processes_for(g.principal)
            if p.kind == "process" and (key is None or p.process_id == key)]


def _listed() -> list[dict[str, Any]]:
    """Every version of each process, by key then version, as Camunda lists definitions; the newest of each with
    `latestVersion=true`."""
    v.only_filters(*FILTERS)
    key = request.args.get("key") or None
    if v.query_flag("latestVersion"):
        return _newest(key)
    return [_described(process_id, version, name)
            for process_id, version, name in deployment.process_versions_for(g.principal, key)]


@bp.route("/process-definition")
def list_process_definitions() -> Response:
    """Every version of each process, or the newest of each with `latestVersion=true` (`key`, `firstResult`,
    `maxResults`)."""
    found = _listed()
    first = v.whole(request.args, "firstResult", 0)
    return jsonify(found[first:first + min(v.whole(request.args, "maxResults", MOST), MOST)])


@bp.route("/process-definition/count")
def count_process_definitions() -> Response:
    return jsonify({"count": len(_listed())})


@bp.route("/process-definition/key/<key>")
def get_process_definition_by_key(key: str) -> Response:
    return jsonify(_one(key, None))


@bp.route("/process-definition/<definition_id>")
def get_process_definition(definition_id: str) -> Response:
    return jsonify(_one(*_id(definition_id)))


@bp.route("/process-definition/key/<key>/xml")
def process_definition_xml_by_key(key: str) -> Response:
    return _xml(key, None)


@bp.route("/process-definition/<definition_id>/xml")
def process_definition_xml(definition_id: str) -> Response:
    return _xml(*_id(definition_id))


def _missing(key: str, version: int | None) -> NotFound:
    return NotFound(_l("No process definition %(id)s is deployed.", id=repr(key if version is None
                                                                             else f"{key}:{version}")))


def _id(definition_id: str) -> tuple[str, int]:
    key, _, number = definition_id.rpartition(":")
    if not key or not is_whole(number) or len(number) > 9:
        raise NotFound(_l("No process definition %(id)s: Loanflow names one <process id>:<version>.",
                          id=repr(definition_id)))
    return key, int(number)


def _one(key: str, version: int | None) -> dict[str, Any]:
    newest = _newest(key)
    if not newest:
        raise _missing(key, version)
    if version is None or version == newest[0]["version"]:
        return newest[0]
    if version > newest[0]["version"] or version < 1:
        raise _missing(key, version)
    resource, _source = catalogue.version_source(g.principal, key, version)
    return _described(key, version, newest[0]["name"], resource)


def _xml(key: str, version: int | None) -> Response:
    found = _one(key, version)
    resource, source = catalogue.version_source(g.principal, key, found["version"])
    return jsonify({"id": found["id"], "bpmn20Xml": source.decode("utf-8", errors="replace")})
