"""Camunda start forms (issue 17): the fields of a none start event's `camunda:formData` check the data an
instance is started with — through the service, over the API, in the reader's language — before anything is
written; a message start event is not checked; `processes compat` starts such a process with data its start
form accepts, as it completes a task with data from the task's form.

Before, a start event's formData (and formKey) was dropped without a word: the instance started with any
data, and a condition reading a start field failed later as "no value"."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ProcessInstance
from app.services.errors import Invalid
from app.services.identity.directory import principal_for
from app.services.workflow import instances, messages
from app.services.workflow.deployment import DiagramFile, check_diagrams, deploy_and_commit
from tests.integration.test_compat_driver import run, write

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
START_FORM = """<bpmn:extensionElements><camunda:formData>
  <camunda:formField id="amount" label="Amount" type="long">
    <camunda:validation><camunda:constraint name="required"/><camunda:constraint name="min" config="1"/>
    </camunda:validation></camunda:formField>
  <camunda:formField id="channel" label="Channel" type="enum">
    <camunda:value id="web" name="Web"/><camunda:value id="branch" name="Branch"/></camunda:formField>
</camunda:formData></bpmn:extensionElements>"""


def diagram(process_id: str = "camunda_intake") -> bytes:
    """A none start event with a start form, a message start event beside it, and a gateway on a start field."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="{CAMUNDA}"
                  id="defs" targetNamespace="t">
  <bpmn:message id="m_lead" name="lead_arrived"/>
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="start" name="Request entered" camunda:formKey="embedded:app:forms/start.html">{START_FORM}
    </bpmn:startEvent>
    <bpmn:startEvent id="by_message"><bpmn:messageEventDefinition messageRef="m_lead"/></bpmn:startEvent>
    <bpmn:exclusiveGateway id="big" default="small_way"/>
    <bpmn:endEvent id="large"/>
    <bpmn:endEvent id="small"/>
    <bpmn:endEvent id="lead"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="big"/>
    <bpmn:sequenceFlow id="large_way" sourceRef="big" targetRef="large">
      <bpmn:conditionExpression>${{amount &gt; 1000}}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="small_way" sourceRef="big" targetRef="small"/>
    <bpmn:sequenceFlow id="f2" sourceRef="by_message" targetRef="lead"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


@pytest.fixture
def deployed(ctx, admin_token):
    deploy_and_commit([DiagramFile("camunda_intake.bpmn", diagram())])
    return ctx


def _instances() -> int:
    return db.session.scalar(select(func.count()).select_from(ProcessInstance))


def test_the_start_form_is_said_at_validate_with_the_form_key_it_does_not_read(ctx):
    said = {p.reason for p in check_diagrams([DiagramFile("camunda_intake.bpmn", diagram())]) if p.element_id == "start"}
    assert any("checked against the form camunda_intake.start.generated.json" in r and "(amount, channel)" in r
               for r in said), said
    assert any("camunda:formKey 'embedded:app:forms/start.html' on the start event is not used: its camunda:formData "
               "is the start form" in r for r in said)


def test_data_that_does_not_fit_the_start_form_starts_nothing_and_says_each_field(deployed):
    admin = principal_for("admin")
    with pytest.raises(Invalid) as refused:
        instances.start("camunda_intake", admin, data={"amount": 0, "channel": "fax"})
    assert refused.value.code == "start_data_invalid"
    assert set(refused.value.fields) == {"amount", "channel"}
    db.session.rollback()
    with pytest.raises(Invalid) as missing:
        instances.start("camunda_intake", admin)
    assert set(missing.value.fields) == {"amount"}
    db.session.rollback()
    assert _instances() == 0

    started = instances.start("camunda_intake", admin, data={"amount": 5000, "channel": "web"})
    assert started["status"] == "completed" and started["data"]["amount"] == 5000


def test_a_message_start_is_not_checked_against_the_start_form(deployed):
    assert instances.start_form("camunda_intake")["required"] == ["amount"]
    delivered = messages.deliver_message("lead_arrived", "K-1", {}, starter=principal_for("admin"))
    assert len(delivered.delivered_to) == 1  # the message start event took it, with no start data
    (instance,) = db.session.scalars(select(ProcessInstance)).all()
    assert instance.status == "completed" and "amount" not in instance.data


def test_the_api_refuses_start_data_that_does_not_fit_in_the_readers_language(app, client, auth):
    with app.app_context():
        deploy_and_commit([DiagramFile("camunda_intake.bpmn", diagram())])
    body = {"process_id": "camunda_intake", "data": {"amount": "lots"}}
    refused = client.post("/api/v1/process-instances", headers={**auth, "Accept-Language": "zh-CN"}, json=body)
    assert refused.status_code == 422, refused.json
    assert refused.json["error"]["code"] == "start_data_invalid"
    assert "amount" in refused.json["error"]["fields"]
    assert "启动" in refused.json["error"]["message"]
    with app.app_context():
        assert _instances() == 0
    made = client.post("/api/v1/process-instances", headers=auth, json={"process_id": "camunda_intake",
                                                                "data": {"amount": 10}})
    assert made.status_code == 201, made.json
    assert made.json["status"] == "completed"


def test_compat_starts_the_process_with_data_its_start_form_accepts(runner, tmp_path: Path):
    root = write(tmp_path / "models", {"intake/intake.bpmn": diagram("compat_intake").decode()})
    rows, summary = run(runner, root, tmp_path)
    row = rows["compat_intake"]
    assert row["ran"], row["reason"]  # before: "reads amount, which this instance has no value for"
    assert "ran 1 of 1 executable processes" in summary[-1]
