"""Camunda Modeler deploys to Loanflow and runs what it deployed (`/engine-rest`, issue 17): each request here is the
one Camunda Modeler's deploy and start-instance tools send (their `CamundaAPI`: the connection check, the multipart
deployment with the diagram and its attachments in fields of their own names, the start with typed variables).

Before, an analyst who draws in Camunda Modeler had to save the files, leave the Modeler, and upload them on the
console's Deploy files page: the Modeler's Deploy button answered "Should point to a running Camunda Engine REST
API"."""
from __future__ import annotations

import io
import json
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ProcessInstance, ProcessVersion
from app.services.identity import directory as identity
from tests.integration.test_start_page import START_FORM, folder, invoice  # noqa: F401 - the fixture

REST = "/engine-rest"
MODELER_START_FORM = "camunda-forms:app:modeler-start.form"  # attached to the deployment, not in forms/


@pytest.fixture
def tokens(folder):  # noqa: F811 - the fixture imported above
    found = {name: identity.issue_token(name) for name in ("ana", "op", "aud", "admin")}
    db.session.commit()
    return found


def _bearer(token: str, language: str = "en") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json", "Accept-Language": language}


def _deploy(client, token: str, *files: tuple[str, bytes], language: str = "en"):
    """As Camunda Modeler's deployDiagram: the deployment's name and source, duplicate filtering, and each file in a
    field named as the file."""
    form: dict = {"deployment-name": "invoice", "deployment-source": "Camunda Modeler",
                  "enable-duplicate-filtering": "true"}
    for name, content in files:
        form[name] = (io.BytesIO(content), name)
    return client.post(f"{REST}/deployment/create", data=form, content_type="multipart/form-data",
                       headers=_bearer(token, language))


def _diagram(key: str = MODELER_START_FORM) -> tuple[str, bytes]:
    found = invoice(key)
    return found.filename, found.content


def _count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_connection_check_answers_a_good_token_only(client, tokens):
    assert client.get(f"{REST}/deployment?maxResults=0", headers=_bearer(tokens["ana"])).json == []
    assert client.get(f"{REST}/version", headers=_bearer(tokens["ana"])).json == {"version": "7.21.0"}
    for headers in ({}, {"Authorization": "Basic YW5hOnNlY3JldA=="}, {"Authorization": "Bearer wrong"}):
        refused = client.get(f"{REST}/deployment?maxResults=0", headers=headers)
        assert refused.status_code == 401 and refused.json["type"] == "AuthenticationException", refused.json
    said = client.get(f"{REST}/deployment?maxResults=0", headers={"Accept-Language": "zh-CN"}).json["message"]
    assert "Bearer token" in said and "令牌" in said
    assert client.get(f"{REST}/deployment", headers=_bearer(tokens["ana"])).status_code == 400  # no listing here
    preflight = client.options(f"{REST}/deployment/create", headers={
        "Origin": "null", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization"})
    assert preflight.status_code == 204 and preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]


def test_the_session_of_a_signed_in_browser_opens_nothing_here(app, client, tokens):
    from tests.integration.test_start_page import _browser

    _get, post = _browser(app, "ana")
    from tests.integration.test_disbursement_stage import outside
    refused = outside(lambda: post.browser.get(f"{REST}/deployment?maxResults=0"))
    assert refused.status_code == 401


def test_an_analyst_deploys_a_diagram_and_its_form_from_camunda_modeler_and_runs_it(client, tokens):
    form = ("modeler-start.form", json.dumps(START_FORM).encode())
    deployed = _deploy(client, tokens["ana"], _diagram(), form)
    assert deployed.status_code == 200, deployed.json
    body = deployed.json
    assert body["name"] == "invoice" and body["source"] == "Camunda Modeler" and body["id"]
    (definition,) = body["deployedProcessDefinitions"].values()  # what the Modeler's Run button starts
    assert (definition["id"], definition["key"], definition["version"]) == ("invoiceApproval:1", "invoiceApproval", 1)
    assert body["deployedDecisionDefinitions"] is None
    again = _deploy(client, tokens["ana"], _diagram(), form)  # unchanged: the same version, still named
    assert list(again.json["deployedProcessDefinitions"]) == ["invoiceApproval:1"]
    assert _count(ProcessVersion) == 1

    started = client.post(f"{REST}/process-definition/invoiceApproval:1/start", headers=_bearer(tokens["ana"]), json={
        "businessKey": "INV-1", "variables": {"creditor": {"value": "Great Pizza", "type": "String"},
                                              "amount": {"value": "30", "type": "String"},
                                              "invoiceNumber": {"value": "C-1"}}})
    assert started.status_code == 200, started.json
    assert (started.json["definitionId"], started.json["businessKey"], started.json["ended"]) == (
        "invoiceApproval:1", "INV-1", False)
    db.session.rollback()
    instance = db.session.get(ProcessInstance, int(started.json["id"]))
    assert (instance.status, instance.data["creditor"], instance.data["amount"]) == ("waiting", "Great Pizza", "30")
    assert started.json["links"][0]["href"].endswith(f"/instances/{instance.id}")

    by_key = client.post(f"{REST}/process-definition/key/invoiceApproval/start", headers=_bearer(tokens["op"]),
                         json={"variables": {"creditor": {"value": "Acme"}, "amount": {"value": "5", "type": "string"}}})
    assert by_key.status_code == 200 and by_key.json["businessKey"] is None, by_key.json


def test_a_decision_deployed_from_camunda_modeler_is_named_as_camunda_names_one(client, tokens):
    from tests.conftest import FIXTURES

    dmn = ("credit_decision.dmn", (FIXTURES / "bpmn" / "credit_decision.dmn").read_bytes())
    deployed = _deploy(client, tokens["ana"], dmn)
    assert deployed.status_code == 200, deployed.json
    assert deployed.json["deployedProcessDefinitions"] is None
    (decision,) = deployed.json["deployedDecisionDefinitions"].values()
    assert decision["version"] == 1 and decision["id"] == f"{decision['key']}:1" and decision["resource"] == dmn[0]


def test_a_refused_deploy_says_each_finding_by_file_and_deploys_nothing(client, tokens):
    missing = _deploy(client, tokens["ana"], _diagram("modeler-task.form"), language="zh")  # no start form with it
    assert missing.status_code == 200  # a start form missing is a warning: deployed, started unchecked
    broken = _diagram()[1].replace(b'sourceRef="approve" targetRef="end"', b'sourceRef="approve" targetRef="nowhere"')
    refused = _deploy(client, tokens["ana"], ("broken.bpmn", broken), language="zh")
    assert refused.status_code == 400 and refused.json["type"] == "ParseException", refused.json
    assert list(refused.json["details"]) == ["broken.bpmn"]
    assert "nowhere" in refused.json["message"] and "broken.bpmn" in refused.json["message"]
    (error,) = [e for e in refused.json["details"]["broken.bpmn"]["errors"] if "nowhere" in e["message"]]
    assert error["mainElementId"] and error["elementIds"] == [error["mainElementId"]], error
    unread = _deploy(client, tokens["ana"], _diagram(), ("modeler-start.form", b"{not json"))
    assert unread.status_code == 400, unread.json
    assert [name for name, said in unread.json["details"].items() if said["errors"]] == ["modeler-start.form"]
    assert _count(ProcessVersion) == 1  # the first deploy only

    for token, status, kind in ((tokens["aud"], 403, "AuthorizationException"),):
        forbidden = _deploy(client, token, _diagram())
        assert forbidden.status_code == status and forbidden.json["type"] == kind, forbidden.json
    nothing = client.post(f"{REST}/deployment/create", data={"deployment-name": "x"},
                          content_type="multipart/form-data", headers=_bearer(tokens["ana"]))
    assert nothing.status_code == 400 and nothing.json["type"] == "InvalidRequestException"


def test_a_start_with_wrong_variables_or_a_wrong_definition_starts_nothing(client, tokens):
    assert _deploy(client, tokens["ana"], _diagram(), ("modeler-start.form", json.dumps(START_FORM).encode())
                   ).status_code == 200
    path = f"{REST}/process-definition/invoiceApproval:1/start"
    cases = [
        ({"variables": {"amount": {"value": "thirty", "type": "String"}, "creditor": {"value": "X"}}}, "amount"),
        ({"variables": {"creditor": {"value": 5, "type": "Integer"}, "amount": {"value": "1"}}},
         "creditor: Must be of type string"),  # a good Integer, but the start form asks text
        ({"variables": {"creditor": {"value": "5", "type": "Integer"}}}, "variables.creditor"),
        ({"variables": {"creditor": {"value": 2**40, "type": "Integer"}}}, "out of range"),
        ({"variables": {"creditor": {"value": "rO0ABXQ=", "type": "Object"}}}, "Object"),
        ({"variables": {"creditor": {"value": "{", "type": "Json"}}}, "not JSON"),
        ({"variables": {"creditor": "Great Pizza"}}, "value and type"),
        ({"variables": ["creditor"]}, "variables"),
        ({"businessKey": "K" * 129}, "businessKey"),
        ([1, 2], "JSON object"),
    ]
    for body, said in cases:
        refused = client.post(path, headers=_bearer(tokens["ana"]), json=body)
        assert refused.status_code == 400 and said in refused.json["message"], (body, refused.json)
    assert client.post(f"{REST}/process-definition/invoiceApproval:2/start", headers=_bearer(tokens["ana"]),
                       json={}).status_code == 404
    assert client.post(f"{REST}/process-definition/elsewhere/start", headers=_bearer(tokens["ana"]),
                       json={}).status_code == 404
    assert client.post(f"{REST}/process-definition/key/elsewhere/start", headers=_bearer(tokens["ana"]),
                       json={}).status_code == 404
    assert client.post(path, headers=_bearer(tokens["aud"]), json={}).status_code == 403
    assert _count(ProcessInstance) == 0

    _deploy(client, tokens["ana"], ("invoiceApproval.bpmn", _diagram()[1].replace(b"Approve the invoice", b"Approve")),
            ("modeler-start.form", json.dumps(START_FORM).encode()))
    older = client.post(path, headers=_bearer(tokens["ana"]), json={})
    assert older.status_code == 400 and "newest version" in older.json["message"], older.json
    assert _count(ProcessInstance) == 0


def test_an_analyst_makes_the_token_for_camunda_modeler_on_their_tokens_page_and_revokes_it(app, client, tokens):
    from sqlalchemy import select as select_

    from app.models import ApiToken, User
    from tests.integration.test_simulators import csrf_of
    from tests.integration.test_start_page import _browser

    get, post = _browser(app, "ana")
    page = get("/", "zh").text
    assert 'id="account-link"' in page and 'href="/account/tokens"' in page  # the header's name leads there
    page = get("/account/tokens", "zh").text
    assert "API 令牌" in page and "/engine-rest</code>" in page and "Bearer token" in page
    assert 'id="basic-hint"' in page and "<code translate=\"no\">ana</code>" in page and "密码为该令牌" in page
    before = _count(ApiToken)
    for days in ("0", "366", "ninety", "³", "３０"):  # digits str.isdigit() takes: int() refuses "³" (was a 500)
        refused = post("/account/tokens", {"csrf_token": csrf_of(page), "label": "Camunda Modeler", "days": days}, "zh")
        assert refused[0] == 422 and "1 到 365 之间的整数天数" in refused[1]
    too_long = post("/account/tokens", {"csrf_token": csrf_of(page), "label": "L" * 101, "days": "30"})
    assert too_long[0] == 422 and "At most 100 characters." in too_long[1]
    assert _count(ApiToken) == before

    made = post("/account/tokens", {"csrf_token": csrf_of(page), "label": "Camunda Modeler", "days": "30"}, "zh")
    assert made[0] == 201 and "只显示这一次" in made[1]
    token = re.search(r'<code translate="no" class="token">([^<]+)</code>', made[1]).group(1)
    assert client.get(f"{REST}/deployment?maxResults=0", headers=_bearer(token)).status_code == 200
    listed = get("/account/tokens").text
    token_id = int(re.search(r'<tr data-token-id="(\d+)">\s*<td>#\d+</td><td>Camunda Modeler</td>', listed).group(1))
    assert token not in listed  # the secret is shown once, never listed

    db.session.rollback()
    others = db.session.scalar(select_(ApiToken.id).join(User, User.id == ApiToken.user_id).where(User.username == "op"))
    assert post(f"/account/tokens/{others}/revoke", {"csrf_token": csrf_of(listed)})[0] == 404
    assert client.get(f"{REST}/deployment?maxResults=0", headers=_bearer(tokens["op"])).status_code == 200
    revoked = post(f"/account/tokens/{token_id}/revoke", {"csrf_token": csrf_of(listed)})
    assert revoked[0] == 302
    assert client.get(f"{REST}/deployment?maxResults=0", headers=_bearer(token)).status_code == 401


def test_hostile_requests_are_refused_with_a_reason_and_change_nothing(client, tokens):
    ok = _deploy(client, tokens["ana"], _diagram(), ("modeler-start.form", json.dumps(START_FORM).encode()))
    assert ok.status_code == 200
    path = f"{REST}/process-definition/invoiceApproval:1/start"
    headers = {**_bearer(tokens["ana"]), "Content-Type": "application/json"}
    deep = '{"variables": {"creditor": {"type": "Json", "value": "' + "[" * 5000 + "]" * 5000 + '"}}}'
    for raw, said in ((b"[" * 100000, "nested more than 64 levels"), (b'{"businessKey": NaN}', "NaN"),
                      (b"\xff\xfe", "UTF-8"), (b'{"businessKey": "K\\u0000"}', "NUL"),
                      (deep.encode(), "not JSON"), (b"{", "Invalid JSON body")):
        refused = client.post(path, data=raw, headers=headers)
        assert refused.status_code == 400 and said in refused.json["message"], (raw[:40], refused.json)
    doctype = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + _diagram()[1][38:]
    for files in ([("evil.bpmn", doctype)], [("tool.exe", b"MZ\x90\x00")],
                  [(f"f{i}.bpmn", _diagram()[1]) for i in range(101)]):
        refused = _deploy(client, tokens["ana"], *files)
        assert refused.status_code in (400, 413) and refused.json["message"], refused.json
    assert _count(ProcessInstance) == 0 and _count(ProcessVersion) == 1


FORM_REF = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="t"
                  exporter="Camunda Modeler" exporterVersion="5.31.0">
  <bpmn:process id="linkedForms" name="Invoice with linked forms" isExecutable="true">
    <bpmn:startEvent id="start" camunda:formRef="invoice-start" camunda:formRefBinding="latest"/>
    <bpmn:userTask id="review" name="Review" camunda:candidateGroups="operator" camunda:formRef="invoice-review"
                   camunda:formRefBinding="version" camunda:formRefVersion="3"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_camunda_7_linked_forms_are_the_forms_whose_ids_they_name(client, tokens):
    """Camunda 7.20's `camunda:formRef` (Camunda Modeler's "Camunda Forms (linked)"): before, an unknown attribute,
    said and dropped — the start took any data and the task showed no form."""
    from app.services.workflow import queries
    from tests.integration.test_deploy_files import TASK_FORM

    start_form = {**START_FORM, "id": "invoice-start"}
    deployed = _deploy(client, tokens["ana"], ("linked.bpmn", FORM_REF.encode()),
                       ("start.form", json.dumps(start_form).encode()), ("review.form", json.dumps(TASK_FORM).encode()))
    assert deployed.status_code == 200, deployed.json
    path = f"{REST}/process-definition/key/linkedForms/start"
    refused = client.post(path, headers=_bearer(tokens["op"]), json={"variables": {"creditor": {"value": "X"}}})
    assert refused.status_code == 400 and "amount" in refused.json["message"], refused.json
    started = client.post(path, headers=_bearer(tokens["op"]), json={"variables": {
        "creditor": {"value": "Great Pizza"}, "amount": {"value": "30"}}})
    assert started.status_code == 200, started.json
    operator = identity.principal_for("op")
    (task,) = queries.list_tasks(operator, 1, 10, instance_id=int(started.json["id"]))["items"]
    form = queries.task_detail(operator, task["id"])["form"]
    assert sorted(form["properties"]) == ["approved", "comment"], form

    from app.services.workflow import file_sets
    said = [(p.element_id, str(p.reason)) for p in file_sets.check(identity.principal_for("ana"), [
        ("linked.bpmn", FORM_REF.encode()), ("start.form", json.dumps(start_form).encode()),
        ("review.form", json.dumps(TASK_FORM).encode())])]
    assert any(e == "review" and "camunda:formRefVersion '3'" in r for e, r in said), said
    assert not [r for _e, r in said if "Loanflow does not know" in r], said

    missing = _deploy(client, tokens["ana"], ("linked.bpmn", FORM_REF.replace("invoice-review", "nowhere").encode()),
                      ("start.form", json.dumps(start_form).encode()))
    assert missing.status_code == 400 and "camunda:formRef 'nowhere'" in missing.json["message"], missing.json
