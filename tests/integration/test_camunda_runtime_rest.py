"""The applications a Camunda 7 user wrote against Camunda's REST API work here by changing the address they call
(`/engine-rest`, issue 17): message correlation (`POST /message`: by business key, instance id, correlation keys,
one or all, a message start), signals (`POST /signal`), the runtime's instances (`/process-instance`: listed,
filtered by variables, read, cancelled) and user tasks (`/task`: listed, claimed, completed with the form's checks),
with an API token as bearer or as Basic authentication's password.

Before, `/engine-rest` spoke only to Camunda Modeler and external task workers: the shop that correlated
`parcelDelivered` to its Camunda engine, or the task list written for Camunda, had nothing to call."""
from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import HumanTask, InstanceEvent, ProcessInstance
from app.services.identity import directory as identity
from app.services.workflow.deployment import DiagramFile, deploy_and_commit
from tests.integration.test_disbursement_stage import outside
from tests.integration.test_money_races import race_posts

REST = "/engine-rest"
HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="t">"""
SHIPPING = HEAD + """
  <bpmn:message id="m_delivered" name="parcelDelivered"/>
  <bpmn:process id="shipping" name="Ship the order" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="pack" name="Pack the order" camunda:candidateGroups="operator">
      <bpmn:extensionElements>
        <camunda:formData><camunda:formField id="weight" label="Weight (g)" type="long"/></camunda:formData>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:intermediateCatchEvent id="delivered"><bpmn:messageEventDefinition messageRef="m_delivered"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:exclusiveGateway id="signed_q" default="to_unsigned"/>
    <bpmn:endEvent id="signed_end"/>
    <bpmn:endEvent id="unsigned_end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="pack"/>
    <bpmn:sequenceFlow id="f2" sourceRef="pack" targetRef="delivered"/>
    <bpmn:sequenceFlow id="f3" sourceRef="delivered" targetRef="signed_q"/>
    <bpmn:sequenceFlow id="to_signed" sourceRef="signed_q" targetRef="signed_end">
      <bpmn:conditionExpression>${signedBy != null}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_unsigned" sourceRef="signed_q" targetRef="unsigned_end"/>
  </bpmn:process>
</bpmn:definitions>"""
RETURNS = HEAD + """
  <bpmn:message id="m_return" name="returnReceived"/>
  <bpmn:signal id="s_recall" name="productRecall"/>
  <bpmn:process id="returns" name="Take a return" isExecutable="true">
    <bpmn:startEvent id="returned"><bpmn:messageEventDefinition messageRef="m_return"/></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="recalled"><bpmn:signalEventDefinition signalRef="s_recall"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="r1" sourceRef="returned" targetRef="recalled"/>
    <bpmn:sequenceFlow id="r2" sourceRef="recalled" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def tokens(ctx):
    admin_token = identity.ensure_platform_admin()
    identity.create_user("op", "PLATFORM", ["operator"])
    identity.create_user("op2", "PLATFORM", ["operator"])
    identity.create_user("aud", "PLATFORM", ["auditor"])
    db.session.commit()
    deploy_and_commit([DiagramFile("shipping.bpmn", SHIPPING.encode()), DiagramFile("returns.bpmn", RETURNS.encode())])
    found = {"admin": admin_token, **{name: identity.issue_token(name) for name in ("op", "op2", "aud")}}
    db.session.commit()
    return found


def _bearer(token: str, language: str = "en") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept-Language": language}


def _instance(instance_id: int | str) -> ProcessInstance:
    db.session.rollback()
    return db.session.get(ProcessInstance, int(instance_id), populate_existing=True)


def _count(model, *where) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _shipment(client, token: str, key: str, **data) -> str:
    """A shipment started over Camunda's API and packed: it waits for `parcelDelivered`."""
    started = client.post(f"{REST}/process-definition/key/shipping/start", headers=_bearer(token), json={
        "businessKey": key, "variables": {name: {"value": value} for name, value in data.items()}})
    assert started.status_code == 200, started.json
    (task,) = client.get(f"{REST}/task?processInstanceId={started.json['id']}", headers=_bearer(token)).json
    packed = client.post(f"{REST}/task/{task['id']}/complete", headers=_bearer(token),
                         json={"variables": {"weight": {"value": 800, "type": "Long"}}})
    assert packed.status_code == 204, packed.json
    assert _instance(started.json["id"]).status == "waiting"
    return started.json["id"]


def test_a_message_correlates_by_business_key_and_its_variables_reach_the_instance(client, tokens):
    first = _shipment(client, tokens["op"], "ORD-1")
    correlated = client.post(f"{REST}/message", headers=_bearer(tokens["op"]), json={
        "messageName": "parcelDelivered", "businessKey": "ORD-1", "resultEnabled": True,
        "variablesInResultEnabled": True, "processVariables": {"signedBy": {"value": "Li Na", "type": "String"}}})
    assert correlated.status_code == 200, correlated.json
    (result,) = correlated.json
    assert (result["resultType"], result["execution"]["processInstanceId"], result["processInstance"]) == (
        "Execution", first, None)
    assert result["variables"]["signedBy"] == {"value": "Li Na", "type": "String", "valueInfo": {}}
    assert result["execution"]["ended"] is True
    instance = _instance(first)
    assert (instance.status, instance.data["signedBy"]) == ("completed", "Li Na")
    assert _count(InstanceEvent, InstanceEvent.instance_id == int(first), InstanceEvent.element_id == "signed_end") == 1

    again = client.post(f"{REST}/message", headers=_bearer(tokens["op"]), json={
        "messageName": "parcelDelivered", "businessKey": "ORD-1"})
    assert again.status_code == 400 and again.json["type"] == "MismatchingMessageCorrelationException", again.json


SIGNED = {"signedBy": {"value": "Chen", "type": "String"}}


def test_a_message_that_matches_several_instances_goes_to_none_unless_all_are_asked_for(client, tokens):
    east = _shipment(client, tokens["op"], "ORD-2", region="east")
    west = _shipment(client, tokens["op"], "ORD-3", region="west")
    both = outside(lambda: client.post(f"{REST}/message", headers=_bearer(tokens["op"], "zh-CN"),
                                       json={"messageName": "parcelDelivered"}))  # a request's language of its own
    assert both.status_code == 400 and both.json["type"] == "MismatchingMessageCorrelationException", both.json
    assert "2" in both.json["message"] and "实例" in both.json["message"], both.json
    assert (_instance(east).status, _instance(west).status) == ("waiting", "waiting")  # nothing delivered

    by_variable = client.post(f"{REST}/message", headers=_bearer(tokens["op"]), json={
        "messageName": "parcelDelivered", "correlationKeys": {"region": {"value": "west", "type": "String"}},
        "processVariables": SIGNED})
    assert by_variable.status_code == 204, by_variable.json
    assert (_instance(east).status, _instance(west).status) == ("waiting", "completed")

    by_id = client.post(f"{REST}/message", headers=_bearer(tokens["op"]), json={
        "messageName": "parcelDelivered", "processInstanceId": west, "resultEnabled": True})
    assert by_id.status_code == 400, by_id.json  # it no longer waits
    third = _shipment(client, tokens["op"], "ORD-4")
    everyone = client.post(f"{REST}/message", headers=_bearer(tokens["op"]), json={
        "messageName": "parcelDelivered", "all": True, "resultEnabled": True, "processVariables": SIGNED})
    assert sorted(r["execution"]["processInstanceId"] for r in everyone.json) == sorted([east, third])


def test_a_message_nothing_waits_for_starts_the_process_that_starts_on_it_or_nothing(client, tokens):
    started = client.post(f"{REST}/message", headers=_bearer(tokens["op"]), json={
        "messageName": "returnReceived", "businessKey": "RET-1", "resultEnabled": True,
        "processVariables": {"reason": {"value": "damaged"}}})
    assert started.status_code == 200, started.json
    (result,) = started.json
    assert result["resultType"] == "ProcessDefinition" and result["execution"] is None
    assert (result["processInstance"]["definitionId"], result["processInstance"]["businessKey"]) == (
        "returns:1", "RET-1")
    started_instance = _instance(result["processInstance"]["id"])
    assert (started_instance.status, started_instance.data.get("reason")) == ("waiting", "damaged")

    keyless = client.post(f"{REST}/message", headers=_bearer(tokens["op"]), json={
        "messageName": "returnReceived", "resultEnabled": True}).json[0]["processInstance"]
    assert keyless["businessKey"] is None and _instance(keyless["id"]).business_key is None  # not ""
    before = _count(ProcessInstance)
    for body in ({"messageName": "nobodyListens", "businessKey": "X"},
                 {"messageName": "returnReceived", "processInstanceId": "999999"},
                 {"messageName": "returnReceived", "correlationKeys": {"reason": {"value": "lost"}}}):
        refused = client.post(f"{REST}/message", headers=_bearer(tokens["op"]), json=body)
        assert refused.status_code == 400 and refused.json["type"] == "MismatchingMessageCorrelationException", body
    assert _count(ProcessInstance) == before


def test_wrong_correlations_and_callers_are_refused_and_change_nothing(client, tokens):
    waiting = _shipment(client, tokens["op"], "ORD-5")
    for body in ({}, {"messageName": 7}, {"messageName": "parcelDelivered", "processInstanceId": "x1"},
                 {"messageName": "parcelDelivered", "businessKey": "ORD-5", "all": "yes"},
                 {"messageName": "parcelDelivered", "businessKey": "ORD-5", "tenantId": "t1"},
                 {"messageName": "parcelDelivered", "businessKey": "ORD-5",
                  "processVariables": {"file": {"value": "AAAA", "type": "Bytes"}}},
                 {"messageName": "parcelDelivered", "businessKey": "ORD-5", "processVariables": [1]}):
        refused = client.post(f"{REST}/message", headers=_bearer(tokens["op"]), json=body)
        assert refused.status_code == 400 and refused.json["message"], (body, refused.json)
    refused = client.post(f"{REST}/message", headers=_bearer(tokens["aud"]), json={
        "messageName": "parcelDelivered", "businessKey": "ORD-5"})
    assert refused.status_code == 403 and refused.json["type"] == "AuthorizationException", refused.json
    assert _instance(waiting).status == "waiting"


def test_a_signal_reaches_every_instance_waiting_for_it(client, tokens):
    ids = [client.post(f"{REST}/message", headers=_bearer(tokens["op"]), json={
        "messageName": "returnReceived", "businessKey": f"RET-{n}", "resultEnabled": True}).json[0]
        ["processInstance"]["id"] for n in range(2)]
    assert client.post(f"{REST}/signal", headers=_bearer(tokens["aud"]), json={"name": "productRecall"}).status_code == 403
    assert client.post(f"{REST}/signal", headers=_bearer(tokens["op"]),
                       json={"name": "productRecall", "executionId": "3"}).status_code == 400
    assert [_instance(i).status for i in ids] == ["waiting", "waiting"]
    sent = client.post(f"{REST}/signal", headers=_bearer(tokens["op"]),
                       json={"name": "productRecall", "variables": {"batch": {"value": "B-7"}}})
    assert sent.status_code == 204, sent.json
    assert [(_instance(i).status, _instance(i).data.get("batch")) for i in ids] == [("completed", "B-7")] * 2


def test_a_task_list_written_for_camunda_lists_claims_and_completes_with_the_forms_checks(client, tokens):
    started = client.post(f"{REST}/process-definition/key/shipping/start", headers=_bearer(tokens["op"]),
                          json={"businessKey": "ORD-9"}).json
    listed = client.get(f"{REST}/task?processDefinitionKey=shipping&candidateGroup=operator",
                        headers=_bearer(tokens["op"])).json
    (task,) = listed
    assert (task["name"], task["taskDefinitionKey"], task["processInstanceId"], task["assignee"],
            task["processDefinitionId"]) == ("Pack the order", "pack", started["id"], None, "shipping:1")
    assert client.get(f"{REST}/task/count?processInstanceId={started['id']}", headers=_bearer(tokens["op"])).json == {
        "count": 1}
    assert client.get(f"{REST}/task/{task['id']}/form-variables", headers=_bearer(tokens["op"])).json == {
        "weight": {"value": None, "type": "Null", "valueInfo": {}}}
    assert client.get(f"{REST}/task?assignee=op", headers=_bearer(tokens["op"])).json == []
    from app.services.workflow import group_mappings

    group_mappings.set_mapping("shipping-clerks", "operator")  # Camunda's group name, mapped to the role
    db.session.commit()
    assert [t["id"] for t in client.get(f"{REST}/task?candidateGroup=shipping-clerks",
                                        headers=_bearer(tokens["op"])).json] == [task["id"]]
    assert client.get(f"{REST}/task?candidateGroup=auditor", headers=_bearer(tokens["op"])).json == []

    other = client.post(f"{REST}/task/{task['id']}/claim", headers=_bearer(tokens["op"]), json={"userId": "op2"})
    assert other.status_code == 400 and "assignee" in other.json["message"], other.json
    assert client.post(f"{REST}/task/{task['id']}/claim", headers=_bearer(tokens["op"]),
                       json={"userId": "op"}).status_code == 204
    assert client.get(f"{REST}/task/{task['id']}", headers=_bearer(tokens["op"])).json["assignee"] == "op"
    taken = client.post(f"{REST}/task/{task['id']}/complete", headers=_bearer(tokens["op2"]), json={
        "variables": {"weight": {"value": 5, "type": "Long"}}})
    assert taken.status_code == 400, taken.json  # op holds it
    wrong = client.post(f"{REST}/task/{task['id']}/complete", headers=_bearer(tokens["op"]), json={
        "variables": {"weight": {"value": "heavy", "type": "String"}}})
    assert wrong.status_code == 400 and "weight" in wrong.json["message"], wrong.json
    assert db.session.get(HumanTask, int(task["id"]), populate_existing=True).state == "claimed"
    done = client.post(f"{REST}/task/{task['id']}/complete", headers=_bearer(tokens["op"]), json={
        "variables": {"weight": {"value": 640, "type": "Long"}}, "withVariablesInReturn": True})
    assert done.status_code == 200 and done.json["weight"] == {"value": 640, "type": "Integer", "valueInfo": {}}
    assert client.get(f"{REST}/task/{task['id']}", headers=_bearer(tokens["op"])).status_code == 404
    assert _instance(started["id"]).status == "waiting"


def test_an_auditor_reads_but_never_works_a_task_or_ends_an_instance(client, tokens):
    waiting = _shipment(client, tokens["op"], "ORD-10")
    started = client.post(f"{REST}/process-definition/key/shipping/start", headers=_bearer(tokens["op"]),
                          json={"businessKey": "ORD-11"}).json
    (task,) = client.get(f"{REST}/task?processInstanceId={started['id']}", headers=_bearer(tokens["op"])).json
    for path, body in ((f"/task/{task['id']}/claim", {"userId": "aud"}), (f"/task/{task['id']}/complete", {})):
        refused = client.post(REST + path, headers=_bearer(tokens["aud"]), json=body)
        assert refused.status_code in (403, 404), (path, refused.json)
    assert client.delete(f"{REST}/process-instance/{waiting}", headers=_bearer(tokens["aud"])).status_code in (403, 404)
    assert _instance(waiting).status == "waiting"
    assert _count(HumanTask, HumanTask.id == int(task["id"]), HumanTask.state == "ready") == 1


def test_running_instances_are_listed_filtered_by_variables_read_and_cancelled(client, tokens):
    small = _shipment(client, tokens["op"], "ORD-20", region="east", value=90)
    large = _shipment(client, tokens["op"], "ORD-21", region="east", value=1200)
    _shipment(client, tokens["op"], "ORD-22", region="west", value=1500)

    def ids(query: str) -> list[str]:
        found = client.get(f"{REST}/process-instance?{query}", headers=_bearer(tokens["op"]))
        assert found.status_code == 200, found.json
        return [each["id"] for each in found.json]

    assert ids("processDefinitionKey=shipping&variables=region_eq_east") == [small, large]
    assert ids("variables=region_eq_east,value_gt_100") == [large]
    assert ids("variables=region_like_e%25") == [small, large]
    assert ids("businessKey=ORD-21") == [large]
    assert ids("processDefinitionKey=shipping&firstResult=1&maxResults=1") == [large]
    assert client.get(f"{REST}/process-instance/count?variables=value_gteq_1200",
                      headers=_bearer(tokens["op"])).json == {"count": 2}
    bad = client.get(f"{REST}/process-instance?variables=region_is_east", headers=_bearer(tokens["op"]))
    assert bad.status_code == 400, bad.json

    read = client.get(f"{REST}/process-instance/{large}", headers=_bearer(tokens["op"])).json
    assert (read["businessKey"], read["definitionId"], read["ended"]) == ("ORD-21", "shipping:1", False)
    variables = client.get(f"{REST}/process-instance/{large}/variables", headers=_bearer(tokens["op"])).json
    assert variables["value"] == {"value": 1200, "type": "Integer", "valueInfo": {}}
    assert client.get(f"{REST}/process-instance/{large}/variables/region", headers=_bearer(tokens["op"])).json[
        "value"] == "east"
    assert client.get(f"{REST}/process-instance/{large}/variables/nope", headers=_bearer(tokens["op"])).status_code == 404

    assert client.delete(f"{REST}/process-instance/{large}?deleteReason=customer%20withdrew",
                         headers=_bearer(tokens["op"])).status_code == 204
    assert _instance(large).status == "cancelled"
    assert client.get(f"{REST}/process-instance/{large}", headers=_bearer(tokens["op"])).status_code == 404
    assert client.delete(f"{REST}/process-instance/{large}", headers=_bearer(tokens["op"])).status_code == 404
    assert large not in ids("processDefinitionKey=shipping")


def test_basic_authentication_takes_an_api_token_as_its_password_never_the_account_password(app, client, tokens):
    from tests.integration.test_identity import set_password

    set_password(app, "op")

    def basic(user: str, password: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}

    assert client.get(f"{REST}/version", headers=basic("op", tokens["op"])).status_code == 200
    for headers in (basic("op2", tokens["op"]), basic("op", "correct horse battery staple"), basic("op", ""),
                    {"Authorization": "Basic not-base64!"}, {"Authorization": "Basic " + base64.b64encode(
                        b"\xff:\xfe").decode()}):
        refused = client.get(f"{REST}/task", headers=headers)
        assert refused.status_code == 401 and refused.json["type"] == "AuthenticationException", headers
        assert "WWW-Authenticate" not in refused.headers  # a browser is never asked for, so never keeps, Basic's
    # a form of another site posts as a browser would, with Basic credentials it kept: refused, nothing sent
    posted = client.post(f"{REST}/signal", headers=basic("op", tokens["op"]), data="{\"name\": \"productRecall\"}",
                         content_type="text/plain")
    assert posted.status_code == 401, posted.json
    sent = client.post(f"{REST}/signal", headers=basic("op", tokens["op"]), json={"name": "productRecall"})
    assert sent.status_code == 204, sent.json


def test_two_correlations_racing_for_one_waiting_instance_deliver_once(app, served, tokens):
    with app.test_client() as local:
        waiting = _shipment(local, tokens["op"], "ORD-30")
    body = json.dumps({"messageName": "parcelDelivered", "businessKey": "ORD-30",
                       "processVariables": {"signedBy": {"value": "Wang"}}}).encode()
    headers = {**_bearer(tokens["op"]), "Content-Type": "application/json"}
    answers = race_posts(served, [(f"{REST}/message", headers, body)] * 4, read=lambda r: r.read())
    assert sorted(status for status, _ in answers) == [204, 400, 400, 400], answers
    assert _instance(waiting).status == "completed"
    assert _count(InstanceEvent, InstanceEvent.instance_id == int(waiting), InstanceEvent.element_id == "signed_end") == 1


def test_camundas_own_python_engine_client_starts_correlates_and_reads_over_http(app, served, tokens):
    """camunda-external-task-client-python3's EngineClient, as a Camunda user's Python application runs it, with
    Basic authentication (the token as its password) against the served app."""
    from camunda.client.engine_client import EngineClient

    engine = EngineClient(f"{served}/engine-rest", config={"auth_basic": {"username": "op", "password": tokens["op"]}})
    started = engine.start_process("shipping", {"region": "north"}, business_key="ORD-40")
    assert started["businessKey"] == "ORD-40"
    assert [each["id"] for each in engine.get_process_instance("shipping", ["region_eq_north"])] == [started["id"]]
    with app.test_client() as local:
        (task,) = local.get(f"{REST}/task?processInstanceId={started['id']}", headers=_bearer(tokens["op"])).json
        assert local.post(f"{REST}/task/{task['id']}/complete", headers=_bearer(tokens["op"]), json={
            "variables": {"weight": {"value": 10}}}).status_code == 204
    (result,) = engine.correlate_message("parcelDelivered", business_key="ORD-40", process_variables={"signedBy": "Zhao"})
    assert result["execution"]["processInstanceId"] == started["id"]
    assert _instance(started["id"]).status == "completed"


def test_a_task_is_released_by_its_holder_and_given_to_another_by_an_admin_only(client, tokens):
    started = client.post(f"{REST}/process-definition/key/shipping/start", headers=_bearer(tokens["op"]),
                          json={"businessKey": "ORD-50"}).json
    (task,) = client.get(f"{REST}/task?processInstanceId={started['id']}", headers=_bearer(tokens["op"])).json
    path = f"{REST}/task/{task['id']}"
    assert client.post(f"{path}/claim", headers=_bearer(tokens["op"]), json={"userId": "op"}).status_code == 204
    assert client.post(f"{path}/unclaim", headers=_bearer(tokens["op2"])).status_code == 400  # not op2's
    assert client.post(f"{path}/unclaim", headers=_bearer(tokens["op"])).status_code == 204
    assert client.get(f"{REST}/task?unassigned=true&processInstanceId={started['id']}",
                      headers=_bearer(tokens["op"])).json[0]["id"] == task["id"]
    refused = client.post(f"{path}/assignee", headers=_bearer(tokens["op"]), json={"userId": "op2"})
    assert refused.status_code == 403, refused.json
    given = client.post(f"{path}/assignee", headers=_bearer(tokens["admin"]), json={"userId": "op2"})
    assert given.status_code == 204, given.json
    assert client.get(path, headers=_bearer(tokens["op2"])).json["assignee"] == "op2"
    assert client.get(f"{REST}/task?assignee=op2", headers=_bearer(tokens["op2"])).json[0]["id"] == task["id"]


def test_hostile_ids_bodies_and_queries_are_refused_with_a_reason_and_change_nothing(client, tokens):
    waiting = _shipment(client, tokens["op"], "ORD-60")
    headers = _bearer(tokens["op"])
    for path in ("/process-instance/²", "/process-instance/１", "/process-instance/1e3", "/process-instance/-1",
                 "/process-instance/" + "9" * 30, "/task/²", "/task/../task", "/task/1%00",
                 f"/process-instance/{waiting}/variables/%C3%28"):
        found = client.get(REST + path, headers=headers)
        assert found.status_code in (400, 404) and found.json["message"], (path, found.status_code, found.text[:80])
    for query in ("firstResult=-1", "maxResults=²", "maxResults=99999999999", "variables=a_eq", "variables=_eq_1",
                  "processInstanceIds=1,x"):
        refused = client.get(f"{REST}/process-instance?{query}", headers=headers)
        assert refused.status_code in (400, 404) and refused.json["message"], (query, refused.json)
    assert len(client.get(f"{REST}/process-instance?maxResults=5000", headers=headers).json) == 1  # capped, no error
    for path in ("/task?processInstanceBusinessKey=ORD-1", "/process-instance?suspended=true",
                 "/history/process-instance?startedBy=op", "/external-task?tenantIdIn=t1"):
        ignored = client.get(REST + path, headers=headers)  # a filter ignored would answer more than was asked
        assert ignored.status_code == 400 and path.split("?")[1].split("=")[0] in ignored.json["message"], path
    assert client.get(f"{REST}/task?withoutTenantId=true", headers=headers).status_code == 200  # no tenants here
    for raw in (b"[" * 5000 + b"]" * 5000, b'{"messageName": NaN}', b'{"messageName": "\\u0000"}', b"\xff\xfe",
                b'{"messageName": "parcelDelivered", "businessKey": "ORD-60", "processInstanceId": "\xc2\xb2"}',
                b'{"messageName": "parcelDelivered", "businessKey": "' + b"K" * 200 + b'"}'):
        refused = client.post(f"{REST}/message", headers={**headers, "Content-Type": "application/json"}, data=raw)
        assert refused.status_code == 400 and refused.json["message"], raw[:40]
    for path in ("/external-task/²/unlock", "/external-task/１/complete", "/task/²/claim"):  # int() refused "²": a 500
        refused = client.post(REST + path, headers=headers, json={"workerId": "w", "userId": "op"})
        assert refused.status_code == 404 and refused.json["type"] == "RestException", (path, refused.status_code)
    for method, path in (("GET", "/history/activity-instance"), ("PUT", "/process-instance/1/variables/x"),
                         ("POST", "/job/1/retries"), ("DELETE", "/task/1")):
        unknown = client.open(REST + path, method=method, headers=headers)
        assert unknown.status_code == 404 and "docs/from-camunda.md" in unknown.json["message"], (method, path)
    assert client.get(f"{REST}/task?processInstanceId={waiting}", headers=headers).json == []  # it waits for the message
    assert _instance(waiting).status == "waiting"


def test_an_application_lists_the_processes_and_reads_a_diagram_as_camunda_names_them(client, tokens):
    listed = client.get(f"{REST}/process-definition", headers=_bearer(tokens["op"])).json
    assert sorted((d["id"], d["key"], d["name"]) for d in listed) == [
        ("returns:1", "returns", "Take a return"), ("shipping:1", "shipping", "Ship the order")]
    assert [d["id"] for d in client.get(f"{REST}/process-definition?key=shipping", headers=_bearer(tokens["op"])).json] \
        == ["shipping:1"]
    assert client.get(f"{REST}/process-definition/count", headers=_bearer(tokens["op"])).json == {"count": 2}
    changed = SHIPPING.replace('name="Pack the order"', 'name="Pack and weigh the order"')
    deploy_and_commit([DiagramFile("shipping.bpmn", changed.encode())])
    newest = client.get(f"{REST}/process-definition/key/shipping", headers=_bearer(tokens["op"])).json
    assert (newest["id"], newest["version"]) == ("shipping:2", 2)

    def ids(query: str) -> list[str]:
        return [d["id"] for d in client.get(f"{REST}/process-definition?{query}", headers=_bearer(tokens["op"])).json]

    assert ids("") == ["returns:1", "shipping:1", "shipping:2"]  # every version, as Camunda lists them (was newest)
    assert ids("latestVersion=true") == ["returns:1", "shipping:2"] and ids("key=shipping&maxResults=1") == [
        "shipping:1"]
    for query, count in (("", 3), ("?latestVersion=true", 2), ("?key=shipping", 2)):
        assert client.get(f"{REST}/process-definition/count{query}", headers=_bearer(tokens["op"])).json == {
            "count": count}, query
    first = client.get(f"{REST}/process-definition/shipping:1", headers=_bearer(tokens["op"])).json
    assert (first["id"], first["resource"]) == ("shipping:1", "shipping.bpmn")
    xml = client.get(f"{REST}/process-definition/shipping:1/xml", headers=_bearer(tokens["op"])).json
    assert xml["id"] == "shipping:1" and 'name="Pack the order"' in xml["bpmn20Xml"]
    assert "Pack and weigh" in client.get(f"{REST}/process-definition/key/shipping/xml",
                                          headers=_bearer(tokens["op"])).json["bpmn20Xml"]
    for path in ("/process-definition/shipping:3", "/process-definition/shipping:0", "/process-definition/shipping:²",
                 "/process-definition/key/nope", "/process-definition/nope:1/xml", "/process-definition/shipping"):
        missing = client.get(REST + path, headers=_bearer(tokens["op"]))
        assert missing.status_code == 404 and missing.json["type"] == "RestException", path
    identity.create_org("TRADER1", ["borrower"], "Trader One")
    identity.create_user("buyer", "TRADER1", ["applicant"])
    db.session.commit()
    borrower = identity.issue_token("buyer")
    db.session.commit()
    for path in ("/process-definition", "/process-definition/key/shipping/xml"):
        refused = client.get(REST + path, headers=_bearer(borrower))
        assert refused.status_code == 403 and refused.json["type"] == "AuthorizationException", path


RECEIPT_FORM = {"id": "receipt", "components": [
    {"key": "receipt", "label": "Signed receipt", "type": "filepicker", "accept": ".pdf", "validate": {"required": True}}]}
RECEIPT = HEAD + """
  <bpmn:process id="receiptCheck" name="Check the receipt" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="upload" name="Upload the receipt" camunda:candidateGroups="operator"
                   camunda:formKey="camunda-forms:app:receipt.form"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="upload"/>
    <bpmn:sequenceFlow id="f2" sourceRef="upload" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_a_file_variable_answers_a_task_forms_file_field_and_is_kept_as_a_document(client, tokens, tmp_path,
                                                                                     monkeypatch):
    from flask import current_app

    from app.models import Document

    monkeypatch.setitem(current_app.config, "FORMS_DIR", str(tmp_path))
    (tmp_path / "receipt.form").write_text(json.dumps(RECEIPT_FORM), encoding="utf-8")
    deploy_and_commit([DiagramFile("receipt.bpmn", RECEIPT.encode())])
    started = client.post(f"{REST}/process-definition/key/receiptCheck/start", headers=_bearer(tokens["op"]),
                          json={"businessKey": "RCPT-1"}).json
    (task,) = client.get(f"{REST}/task?processInstanceId={started['id']}", headers=_bearer(tokens["op"])).json
    path = f"{REST}/task/{task['id']}/complete"

    def file(content: bytes, name: str = "receipt.pdf") -> dict:
        return {"variables": {"receipt": {"type": "File", "value": base64.b64encode(content).decode(),
                                          "valueInfo": {"filename": name, "mimetype": "application/pdf"}}}}

    for body in (file(b"MZ\x90\x00 a program", "receipt.pdf"), file(b"", "receipt.pdf"),
                 {"variables": {"receipt": {"type": "File", "value": "not base64!"}}},
                 {"variables": {"receipt": {"type": "String", "value": "document:1"}}}, {}):
        refused = client.post(path, headers=_bearer(tokens["op"]), json=body)
        assert refused.status_code == 400 and refused.json["message"], (body, refused.json)
    assert _count(Document) == 0 and _instance(started["id"]).status == "waiting"
    done = client.post(path, headers=_bearer(tokens["op"]), json=file(PDF))
    assert done.status_code == 204, done.json
    (kept,) = db.session.scalars(select(Document)).all()
    assert (kept.filename, kept.instance_id) == ("receipt.pdf", int(started["id"]))
    instance = _instance(started["id"])
    assert (instance.status, instance.data["receipt"]) == ("completed", [f"document:{kept.id}"])  # a picker: a list


def test_the_history_says_whether_an_instance_completed_or_was_cancelled_and_what_it_ended_with(client, tokens):
    done = _shipment(client, tokens["op"], "ORD-70", region="east")
    client.post(f"{REST}/message", headers=_bearer(tokens["op"]), json={
        "messageName": "parcelDelivered", "businessKey": "ORD-70", "processVariables": SIGNED})
    cancelled = _shipment(client, tokens["op"], "ORD-71", region="east")
    client.delete(f"{REST}/process-instance/{cancelled}", headers=_bearer(tokens["op"]))
    active = _shipment(client, tokens["op"], "ORD-72", region="west")

    def states(query: str = "") -> list[tuple[str, str]]:
        found = client.get(f"{REST}/history/process-instance?{query}", headers=_bearer(tokens["op"], "zh-CN"))
        assert found.status_code == 200, found.json
        return [(each["id"], each["state"]) for each in found.json]

    assert states() == [(done, "COMPLETED"), (cancelled, "EXTERNALLY_TERMINATED"), (active, "ACTIVE")]
    assert states("finished=true") == [(done, "COMPLETED"), (cancelled, "EXTERNALLY_TERMINATED")]
    assert states("unfinished=true") == [(active, "ACTIVE")] and states("completed=true") == [(done, "COMPLETED")]
    assert states("processInstanceBusinessKey=ORD-71") == [(cancelled, "EXTERNALLY_TERMINATED")]
    assert states("variables=region_eq_east&finished=true") == [(done, "COMPLETED"), (cancelled, "EXTERNALLY_TERMINATED")]
    assert client.get(f"{REST}/history/process-instance/count?finished=true",
                      headers=_bearer(tokens["op"])).json == {"count": 2}
    one = client.get(f"{REST}/history/process-instance/{done}", headers=_bearer(tokens["op"])).json
    assert (one["processDefinitionKey"], one["processDefinitionVersion"], one["businessKey"]) == ("shipping", 1, "ORD-70")
    assert one["endTime"] and one["startTime"] and one["durationInMillis"] >= 0
    assert client.get(f"{REST}/history/process-instance/{active}", headers=_bearer(tokens["op"])).json["endTime"] is None
    ended_with = client.get(f"{REST}/history/variable-instance?processInstanceId={done}",
                            headers=_bearer(tokens["op"])).json
    assert {v["name"]: v["value"] for v in ended_with}["signedBy"] == "Chen"
    assert [v["value"] for v in client.get(f"{REST}/history/variable-instance?processInstanceId={done}&variableName="
                                           "region", headers=_bearer(tokens["op"])).json] == ["east"]
    for path in ("/history/variable-instance", "/history/process-instance/²", "/history/process-instance?finished=1"):
        assert client.get(REST + path, headers=_bearer(tokens["op"])).status_code in (400, 404), path
    identity.create_org("TRADER2", ["borrower"], "Trader Two")
    identity.create_user("buyer2", "TRADER2", ["applicant"])
    db.session.commit()
    outsider = identity.issue_token("buyer2")
    db.session.commit()
    assert client.get(f"{REST}/history/process-instance", headers=_bearer(outsider)).json == []
    assert client.get(f"{REST}/history/process-instance/{done}", headers=_bearer(outsider)).status_code == 404
    assert client.get(f"{REST}/history/variable-instance?processInstanceId={done}",
                      headers=_bearer(outsider)).status_code == 404


def test_tasklists_submit_form_starts_and_completes_as_start_and_complete_do(client, tokens):
    started = client.post(f"{REST}/process-definition/key/shipping/submit-form", headers=_bearer(tokens["op"]), json={
        "businessKey": "ORD-80", "variables": {"region": {"value": "south"}}, "withVariablesInReturn": True})
    assert started.status_code == 200, started.json
    assert started.json["variables"]["region"] == {"value": "south", "type": "String", "valueInfo": {}}
    (task,) = client.get(f"{REST}/task?processInstanceId={started.json['id']}", headers=_bearer(tokens["op"])).json
    wrong = client.post(f"{REST}/task/{task['id']}/submit-form", headers=_bearer(tokens["op"]),
                        json={"variables": {"weight": {"value": "light"}}})
    assert wrong.status_code == 400 and "weight" in wrong.json["message"]
    done = client.post(f"{REST}/task/{task['id']}/submit-form", headers=_bearer(tokens["op"]),
                       json={"variables": {"weight": {"value": 300}}})
    assert done.status_code == 204 and _instance(started.json["id"]).data["weight"] == 300
    refused = client.post(f"{REST}/process-definition/shipping:1/submit-form", headers=_bearer(tokens["aud"]), json={})
    assert refused.status_code == 403 and "Camunda" in refused.json["message"]


def test_pycamunda_a_full_client_of_camundas_rest_api_drives_a_shipment_end_to_end(app, served, tokens):
    """pycamunda (a dev dependency), as a Camunda user's application uses it, against the served app: it reads every
    answer into its own data classes (each field Camunda answers, its moments in Camunda's format), so an answer
    missing a field or shaped otherwise fails here."""
    import requests
    from pycamunda import message, processdef, processinst, signal, task

    url = f"{served}/engine-rest"
    session = requests.Session()
    session.auth = ("op", tokens["op"])  # Basic, with the token as its password

    def call(request, **kwargs):
        request.session = session
        return request(**kwargs)

    start = processdef.StartInstance(url, key="shipping", business_key="ORD-90", with_variables_in_return=True)
    start.add_variable("region", "north")
    started = call(start)
    assert (started.business_key, started.definition_id, started.variables["region"].value) == (
        "ORD-90", "shipping:1", "north")
    (pack,) = call(task.GetList(url, process_instance_id=started.id_))
    assert (pack.name, pack.task_definition_key, pack.assignee, pack.created.tzinfo is not None) == (
        "Pack the order", "pack", None, True)
    call(task.Claim(url, id_=pack.id_, user_id="op"))
    assert call(task.Get(url, id_=pack.id_)).assignee == "op"
    complete = task.Complete(url, id_=pack.id_)
    complete.add_variable("weight", 420, "Long")
    call(complete)
    listed = call(processinst.GetList(url, process_definition_key="shipping", variables="region_eq_north"))
    assert [each.id_ for each in listed] == [started.id_]

    correlate = message.CorrelateSingle(url, message_name="parcelDelivered", business_key="ORD-90",
                                        result_enabled=True)
    correlate.add_process_variable("signedBy", "Sun", "String")
    (result,) = call(correlate)
    assert result.result_type == message.ResultType.execution and result.execution.process_instance_id == started.id_
    assert _instance(started.id_).status == "completed"

    returned = message.CorrelateSingle(url, message_name="returnReceived", business_key="RET-90", result_enabled=True)
    (opened,) = call(returned)
    assert opened.result_type == message.ResultType.process_definition
    call(signal.EventAll(url, name="productRecall"))
    assert _instance(opened.process_instance.id_).status == "completed"

    second = call(processdef.StartInstance(url, key="shipping", business_key="ORD-91"))
    call(processinst.Delete(url, id_=second.id_))
    assert _instance(second.id_).status == "cancelled"


def test_two_people_claiming_or_completing_one_task_at_the_same_moment_one_wins(app, served, tokens):
    with app.test_client() as local:
        started = local.post(f"{REST}/process-definition/key/shipping/start", headers=_bearer(tokens["op"]),
                             json={"businessKey": "ORD-95"}).json
        (task,) = local.get(f"{REST}/task?processInstanceId={started['id']}", headers=_bearer(tokens["op"])).json
    path = f"{REST}/task/{task['id']}"
    claims = [(f"{path}/claim", {**_bearer(tokens[user]), "Content-Type": "application/json"},
               json.dumps({"userId": user}).encode()) for user in ("op", "op2") * 2]
    answers = race_posts(served, claims, read=lambda r: r.read())
    assert sorted(status for status, _ in answers).count(204) == 2, answers  # the winner twice: its second is a no-op
    db.session.rollback()
    holder = db.session.get(HumanTask, int(task["id"]), populate_existing=True)
    winner = "op" if holder.claimed_by_id == identity.principal_for("op").id else "op2"
    assert all(status == 204 for (status, _), (_p, headers, _b) in zip(answers, claims, strict=True)
               if headers["Authorization"].endswith(tokens[winner]))
    assert all(status == 400 for (status, _), (_p, headers, _b) in zip(answers, claims, strict=True)
               if not headers["Authorization"].endswith(tokens[winner]))
    body = json.dumps({"variables": {"weight": {"value": 5}}}).encode()
    completes = [(f"{path}/complete", {**_bearer(tokens[winner]), "Content-Type": "application/json"}, body)] * 4
    answers = race_posts(served, completes, read=lambda r: r.read())
    assert sorted(status for status, _ in answers).count(204) == 1, answers
    assert _count(InstanceEvent, InstanceEvent.instance_id == int(started["id"]), InstanceEvent.kind == "task_completed",
                  InstanceEvent.element_id == "pack") == 1


def test_a_correlation_to_more_instances_than_it_reads_is_refused_not_delivered_to_some(client, tokens, monkeypatch):
    from app.services.workflow import correlation

    monkeypatch.setattr(correlation, "MOST_WAITING", 1)
    first, second = _shipment(client, tokens["op"], "ORD-100"), _shipment(client, tokens["op"], "ORD-101")
    refused = client.post(f"{REST}/message", headers=_bearer(tokens["op"]), json={
        "messageName": "parcelDelivered", "all": True, "processVariables": SIGNED})
    assert refused.status_code == 400 and "signal" in refused.json["message"], refused.json
    assert (_instance(first).status, _instance(second).status) == ("waiting", "waiting")


def test_lists_come_in_the_order_asked_and_counts_agree_with_them(client, tokens):
    headers = _bearer(tokens["op"])
    waiting = {key: _shipment(client, tokens["op"], key, region=region)
               for key, region in (("ORD-B", "east"), ("ORD-A", "west"), ("ORD-C", "east"))}
    packing = [client.post(f"{REST}/process-definition/key/shipping/start", headers=headers,
                           json={"businessKey": key}).json["id"] for key in ("ORD-E", "ORD-D")]

    def keys(path: str) -> list[str]:
        found = client.get(REST + path, headers=headers)
        assert found.status_code == 200, (path, found.json)
        return [each["businessKey"] for each in found.json]

    assert keys("/process-instance?sortBy=businessKey&sortOrder=asc") == ["ORD-A", "ORD-B", "ORD-C", "ORD-D", "ORD-E"]
    assert keys("/process-instance?sortBy=businessKey&sortOrder=desc&firstResult=1&maxResults=2") == ["ORD-D", "ORD-C"]
    assert keys("/process-instance?sortBy=instanceId&sortOrder=desc") == ["ORD-D", "ORD-E", "ORD-C", "ORD-A", "ORD-B"]
    assert keys("/process-instance") == ["ORD-B", "ORD-A", "ORD-C", "ORD-E", "ORD-D"]  # oldest first when not asked
    assert keys("/process-instance?variables=region_eq_east&sortBy=businessKey&sortOrder=desc") == ["ORD-C", "ORD-B"]
    assert keys("/process-instance?variables=region_eq_east&sortBy=businessKey&sortOrder=desc&firstResult=1") == [
        "ORD-B"]
    assert keys("/history/process-instance?sortBy=businessKey&sortOrder=desc&maxResults=3") == ["ORD-E", "ORD-D",
                                                                                                "ORD-C"]
    assert keys("/history/process-instance?sortBy=startTime&sortOrder=asc") == ["ORD-B", "ORD-A", "ORD-C", "ORD-E",
                                                                             "ORD-D"]  # the same moment: by id
    ids = ",".join((waiting["ORD-A"], waiting["ORD-C"]))
    assert client.get(f"{REST}/process-instance/count?processInstanceIds={ids}", headers=headers).json == {"count": 2}
    assert client.get(f"{REST}/history/process-instance/count?processInstanceId={waiting['ORD-A']}",
                      headers=headers).json == {"count": 1}  # the count read every instance: 5

    claimed = client.get(f"{REST}/task?processInstanceId={packing[1]}", headers=headers).json[0]["id"]
    assert client.post(f"{REST}/task/{claimed}/claim", headers=headers, json={"userId": "op"}).status_code == 204
    tasks = client.get(f"{REST}/task?sortBy=instanceId&sortOrder=desc", headers=headers).json
    assert [each["processInstanceId"] for each in tasks] == [packing[1], packing[0]]
    by_assignee = client.get(f"{REST}/task?sortBy=assignee&sortOrder=asc", headers=headers).json
    assert [each["assignee"] for each in by_assignee] == ["op", None]  # the unclaimed last, either way
    by_assignee = client.get(f"{REST}/task?sortBy=assignee&sortOrder=desc", headers=headers).json
    assert [each["assignee"] for each in by_assignee] == ["op", None]

    for query, named in (("sortBy=businessKey", "sortOrder"), ("sortOrder=asc", "sortBy"),
                         ("sortBy=definitionName&sortOrder=asc", "sortBy"), ("sortBy=businessKey&sortOrder=up",
                                                                               "sortOrder")):
        refused = client.get(f"{REST}/process-instance?{query}", headers=headers)
        assert refused.status_code == 400 and named in refused.json["message"] + json.dumps(refused.json), query
    said = outside(lambda: client.get(f"{REST}/process-instance?sortBy=definitionName&sortOrder=asc",
                                      headers=_bearer(tokens["op"], "zh-CN")))
    assert "排序" in said.json["message"] and "instanceId" in said.json["message"]
    assert client.get(f"{REST}/process-instance/count?sortBy=businessKey&sortOrder=asc",
                      headers=headers).status_code == 400  # a count has no order
