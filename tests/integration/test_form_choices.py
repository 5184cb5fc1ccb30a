"""Issue 17, choices a form takes from the task's data, deployed and worked through Loanflow's own layer
on both databases: a SpiffArena form's `options_from_task_data_var:` list and a Camunda Forms select's
`valuesKey` become the task's choices when it is ready, on its page (labels, in the reader's language),
in the API and in the check of every submission; a list the data did not hold offers nothing, says so
on the page and refuses every answer."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, ProcessInstance
from app.services.errors import Invalid
from app.services.identity import directory as identity
from app.services.identity.directory import principal_for
from app.services.workflow import instances, queries, tasks
from app.services.workflow.deployment import DiagramFile, check_diagrams, deploy_and_commit
from tests.integration.test_identity import set_password, sign_in

BANKS = [{"value": "B1", "label": "华东商业银行"}, {"value": "B2", "label": "滨江小额贷款"}]
SPIFF_FORM = {"type": "object", "title": "Choose the bank", "required": ["bank"],
              "definitions": {"bank": {"type": "string", "anyOf": ["options_from_task_data_var:banks"]}},
              "properties": {"bank": {"$ref": "#/definitions/bank", "title": "Bank", "title@zh": "银行"}}}
CAMUNDA_FORM = {"components": [{"key": "term", "label": "Term", "type": "select", "valuesKey": "terms",
                                "validate": {"required": True}}]}


def diagram(form_attributes: str, body: str = "") -> DiagramFile:
    content = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="pick_bank" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:scriptTask id="offer_banks"><bpmn:script>if offer:
    banks = {json.dumps(BANKS, ensure_ascii=False)}
    terms = [{{"value": 3, "label": "3 months"}}, {{"value": 6, "label": "6 months"}}]</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="choose" name="Choose the bank" camunda:candidateGroups="first_reviewer" {form_attributes}>{body}</bpmn:userTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="offer_banks"/>
    <bpmn:sequenceFlow id="f2" sourceRef="offer_banks" targetRef="choose"/>
    <bpmn:sequenceFlow id="f3" sourceRef="choose" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""
    return DiagramFile("pick_bank.bpmn", content.encode())


SPIFF = diagram("", '<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property '
                      'name="formJsonSchemaFilename" value="choose.json"/></spiffworkflow:properties>'
                      "</bpmn:extensionElements>")
CAMUNDA = diagram('camunda:formKey="camunda-forms:app:term.form"')


@pytest.fixture
def world(app, tmp_path, monkeypatch):
    (tmp_path / "choose.json").write_text(json.dumps(SPIFF_FORM, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "term.form").write_text(json.dumps(CAMUNDA_FORM), encoding="utf-8")
    monkeypatch.setitem(app.config, "FORMS_DIR", str(tmp_path))  # the session's app gets its own back
    with app.app_context():
        identity.ensure_platform_admin()
        identity.create_org("BANK1", ["funder"], "Bank One")
        identity.create_org("TRADER1", ["borrower"], "Trader One")
        identity.create_user("rev", "BANK1", ["first_reviewer"])
        db.session.commit()
        db.session.remove()
    set_password(app, "rev")
    return app


def _start(app, offer: bool, files: list[DiagramFile]) -> tuple[int, int]:
    with app.app_context():
        assert [p for p in check_diagrams(files) if p.severity == "error"] == []
        deploy_and_commit(files)
        instance_id = instances.start_instance("pick_bank", principal_for("admin"), "LN-1", {"offer": offer},
                                               {"funder": "BANK1", "borrower": "TRADER1"})
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id))
        db.session.remove()
    return instance_id, task_id


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_the_choices_the_process_gave_are_shown_labelled_and_held_to(world, client):
    app = world
    instance_id, task_id = _start(app, True, [SPIFF])
    sign_in(client, "rev")
    page = client.get(f"/tasks/{task_id}", headers={"Accept-Language": "zh-CN"}).text
    assert '<option value="B1" >华东商业银行</option>' in page.replace("  ", " ")
    assert '<option value="B2" >滨江小额贷款</option>' in page.replace("  ", " ")
    assert "银行" in page and "options_from_task_data_var" not in page and "banks" not in page

    refused = client.post(f"/tasks/{task_id}", data={"csrf_token": _csrf(page), "bank": "B9"},
                          headers={"Accept-Language": "en"})
    assert refused.status_code == 422 and "Choose one of: 华东商业银行, 滨江小额贷款." in refused.text  # as offered
    done = client.post(f"/tasks/{task_id}", data={"csrf_token": _csrf(page), "bank": "B2"})
    assert done.status_code == 302
    with app.app_context():
        instance = db.session.get(ProcessInstance, instance_id)
        assert instance.status == "completed"
        assert db.session.get(HumanTask, task_id).data == {"bank": "B2"}
        detail = queries.task_detail(principal_for("admin"), task_id)
        assert detail["form"]["properties"]["bank"]["enum"] == ["B1", "B2"]  # the API's form, as the task had it


def test_a_list_the_process_did_not_give_offers_nothing_and_refuses_every_answer(world, client):
    app = world
    _instance_id, task_id = _start(app, False, [SPIFF])
    sign_in(client, "rev")
    page = client.get(f"/tasks/{task_id}", headers={"Accept-Language": "en"}).text
    assert "There is nothing to choose from: the process has not provided the choices for this field." in page
    zh = client.get(f"/tasks/{task_id}", headers={"Accept-Language": "zh-CN"}).text
    assert "There is nothing" not in zh and "options_from_task_data_var" not in zh
    with app.app_context():
        with pytest.raises(Invalid) as refused:
            tasks.complete_task(task_id, {"bank": "B1"}, principal_for("rev"))
        assert refused.value.fields["bank"] == [
            "There is nothing to choose from: the process has not provided the choices for this field."]
        assert db.session.get(HumanTask, task_id).state == "ready"


def test_a_camunda_forms_select_with_values_key_takes_its_numbers_from_the_data(world, client):
    app = world
    instance_id, task_id = _start(app, True, [CAMUNDA])
    sign_in(client, "rev")
    page = client.get(f"/tasks/{task_id}", headers={"Accept-Language": "en"}).text
    assert '<option value="6" >6 months</option>' in page.replace("  ", " ")
    assert client.post(f"/tasks/{task_id}", data={"csrf_token": _csrf(page), "term": "6"}).status_code == 302
    with app.app_context():
        assert db.session.get(ProcessInstance, instance_id).status == "completed"
        assert db.session.get(HumanTask, task_id).data == {"term": 6}  # the number chosen, not its text


def test_the_choices_are_those_of_when_the_task_became_ready(world):
    app = world
    _instance_id, task_id = _start(app, True, [SPIFF])
    with app.app_context():
        task = db.session.get(HumanTask, task_id)
        assert task.properties["choicesFrom"] == "banks"
        assert task.shown == {"banks": BANKS}
