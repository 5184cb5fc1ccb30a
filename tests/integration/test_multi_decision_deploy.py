"""A DMN file with several decisions (issue 17): each decision is deployed as a version of its own, a
process deployed later calls any of them from the deployed file, and the decision editor, which
edits a whole file, deploys the file again: every decision in it gets its next version. Before, the
file was refused ("only one decision per file is supported")."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import ProcessVersion
from app.services.identity import directory as identity
from app.services.workflow.deployment import DiagramFile, deploy_and_commit
from tests.integration.test_identity import set_password, sign_in
from tests.unit.test_decisions_ends_and_reasons import GRADE, LIMIT, _calling, _dmn

API = "/api/v1"


def _versions(app, process_id: str) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.max(ProcessVersion.version)).where(ProcessVersion.process_id == process_id))
        db.session.remove()
    return n or 0


def test_each_decision_of_the_file_is_deployed_called_and_edited_with_the_file(app, client, auth):
    rules = _dmn(GRADE, LIMIT)
    with app.app_context():
        deployed = deploy_and_commit([rules])
        deploy_and_commit([DiagramFile("inline.bpmn", _calling("limit"))])  # the decisions come from the database
        identity.create_user("ana", "PLATFORM", ["analyst"])
        db.session.remove()
    assert sorted((v.process_id, v.kind, v.version, v.file) for v in deployed) == [
        ("grade", "decision", 1, "rules.dmn"), ("limit", "decision", 1, "rules.dmn")]

    r = client.post(f"{API}/process-instances", json={"process_id": "inline", "data": {"score": 720}}, headers=auth)
    assert r.status_code == 201 and r.json["status"] == "completed", r.json
    assert r.json["data"]["limit"] == 5000 and "grade" not in r.json["data"]

    set_password(app, "ana")
    sign_in(client, "ana")
    page = client.get("/decisions/limit/edit")
    assert page.status_code == 200 and 'data-source="/processes/limit/versions/1/download"' in page.text
    assert client.get("/processes/limit/versions/1/download").data == rules.content  # the whole file
    csrf = re.search(r'data-csrf="([^"]+)"', page.text) or re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    headers = {"X-CSRFToken": csrf.group(1), "Content-Type": "application/xml"}
    edited = rules.content.replace(b"<text>5000</text>", b"<text>8000</text>")
    answer = client.post("/decisions/limit/deploy", data=edited, headers=headers)
    assert answer.status_code == 200 and answer.json["ok"] is True, answer.json
    assert {(v["id"], v["version"]) for v in answer.json["versions"]} == {("grade", 2), ("limit", 2), ("inline", 2)}
    r = client.post(f"{API}/process-instances", json={"process_id": "inline", "data": {"score": 720}}, headers=auth)
    assert r.json["data"]["limit"] == 8000
    assert _versions(app, "grade") == 2
