"""The operator mapping table (issue 17): an admin maps a Camunda service implementation to a
registered operator — on the page, with the command line — and a diagram naming it then deploys and
its instances call that operator; unmapped, the deploy is refused naming the task and where to map it.

Before it, a Camunda service task (`camunda:class`, ...) was refused by the parser ("A Service Task
must have an operator") whatever anyone did."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import OperatorMapping, ProcessInstance
from app.services.errors import Forbidden, Invalid, ServiceError
from app.services.identity import directory as identity
from app.services.identity.directory import principal_for
from app.services.workflow import deployment, instances, operator_mappings
from app.services.workflow.deployment import DiagramFile
from app.services.workflow.operators import HandlerRegistry
from tests.integration.test_group_mappings import _csrf, admin_opens_in_english, two_admins_post

CAMUNDA_DIAGRAM = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="http://example.com">
  <bpmn:process id="camunda_scoring" name="Scoring" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="score" name="Score" camunda:class="com.acme.ScoreDelegate" camunda:resultVariable="result">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:inputParameter name="doubled">${amount * 2}</camunda:inputParameter>
          <camunda:outputParameter name="approved">${result.score > 600}</camunda:outputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="score"/>
    <bpmn:sequenceFlow id="f2" sourceRef="score" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
FILES = [DiagramFile("camunda_scoring.bpmn", CAMUNDA_DIAGRAM)]
OPERATOR = "test.score"


@contextmanager
def scoring_operator(app, calls: list):
    """The app's operators plus `test.score`, which records its parameters and answers a score."""
    runtime = app.extensions["loanflow_runtime"]
    before = runtime.handlers
    widened = HandlerRegistry()
    for name in before.operators():
        widened.register(name)(lambda params, ctx, op=name: before.call(op, params, ctx))

    @widened.register(OPERATOR)
    def score(params, ctx):
        calls.append(params)
        return {"score": 700}

    runtime.handlers = widened
    try:
        yield
    finally:
        runtime.handlers = before


@pytest.fixture
def scoring(app):
    calls: list = []
    with scoring_operator(app, calls):
        yield calls


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(OperatorMapping))


def test_an_unmapped_class_is_refused_at_deploy_then_deploys_once_mapped_and_runs_its_operator(ctx, scoring,
                                                                                              admin_token):
    with pytest.raises(ServiceError) as refused:
        deployment.deploy_and_commit(FILES)
    reasons = [m for ms in refused.value.fields.values() for m in ms]
    assert any("com.acme.ScoreDelegate" in r and "mapped to no operator" in r for r in reasons), reasons

    admin = principal_for("admin")
    operator_mappings.map_operator(admin, "class", "com.acme.ScoreDelegate", OPERATOR, {"amount": "doubled"})
    said = [p for p in deployment.check_diagrams(FILES) if p.element_id == "score"]
    assert [p.severity for p in said] == ["warning", "warning"]  # the operator, the input and output mappings
    assert "camunda:class 'com.acme.ScoreDelegate' -> operator 'test.score'" in said[0].reason
    (deployed,) = deployment.deploy_and_commit(FILES)
    assert deployed.process_id == "camunda_scoring"

    started = instances.start("camunda_scoring", admin, business_key="C-1", data={"amount": 21})
    instance = db.session.get(ProcessInstance, started["id"])
    assert instance.status == "completed"
    assert scoring == [{"amount": 42}]  # the input mapping ran before the operator, its parameter after it
    data = instance.data
    assert data["result"] == {"score": 700} and data["approved"] is True


BIZAGI_DIAGRAM = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="http://e.com">
  <bpmn:process id="onboarding" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="score" name="Get credit score"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="score"/>
    <bpmn:sequenceFlow id="f2" sourceRef="score" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_service_task_that_names_no_implementation_is_mapped_by_its_name_from_the_command_line(
        app, runner, ctx, scoring, admin_token):
    files = [DiagramFile("onboarding.bpmn", BIZAGI_DIAGRAM)]
    with pytest.raises(ServiceError) as refused:  # before: the parser's "A Service Task must have an operator"
        deployment.deploy_and_commit(files)
    reasons = [m for ms in refused.value.fields.values() for m in ms]
    assert any("map-operator task 'Get credit score' OPERATOR" in r for r in reasons), reasons
    result = runner.invoke(args=["processes", "map-operator", "task", "Get credit score", OPERATOR,
                                 "--param", "amount=amount"])
    assert result.exit_code == 0, result.output
    (deployed,) = deployment.deploy_and_commit(files)
    started = instances.start("onboarding", principal_for("admin"), business_key="B-1", data={"amount": 5})
    assert db.session.get(ProcessInstance, started["id"]).status == "completed"
    assert scoring == [{"amount": 5}]


def test_a_mapping_names_a_registered_operator_and_a_parameter_that_compiles(ctx, admin_token):
    admin = principal_for("admin")
    with pytest.raises(Invalid) as caught:
        operator_mappings.map_operator(admin, "class", "com.acme.X", "no.such_operator")
    assert "operator_name" in caught.value.fields
    with pytest.raises(Invalid) as caught:
        operator_mappings.map_operator(admin, "bean", "x", "notify.send")
    assert "kind" in caught.value.fields
    with pytest.raises(Invalid) as caught:
        operator_mappings.map_operator(admin, "topic", "score", "notify.send", {"a": "import os"})
    assert "parameters" in caught.value.fields
    assert _count() == 0


def test_mapping_again_replaces_and_only_the_platform_admin_maps(ctx, admin_token):
    admin = principal_for("admin")
    operator_mappings.map_operator(admin, "topic", "score", "notify.send")
    operator_mappings.map_operator(admin, "topic", "score", "risk.assess")
    assert [(m.kind, m.value, m.operator) for m in operator_mappings.mappings()] == [("topic", "score", "risk.assess")]
    identity.create_user("op1", "PLATFORM", ["operator"])
    db.session.commit()
    with pytest.raises(Forbidden):
        operator_mappings.map_operator(principal_for("op1"), "class", "x", "notify.send")
    with pytest.raises(Forbidden):
        operator_mappings.list_mappings(principal_for("op1"))


def test_the_command_line_maps_and_lists(app, runner, admin_token):
    result = runner.invoke(args=["processes", "map-operator", "delegateExpression", "${scorer}", "risk.assess",
                                 "--param", "amount=amount"])
    assert result.exit_code == 0, result.output
    assert "delegateExpression ${scorer} -> risk.assess" in result.output
    listed = runner.invoke(args=["processes", "mappings"])
    assert listed.output.splitlines() == ['delegateExpression\t${scorer}\trisk.assess\t{"amount": "amount"}']
    refused = runner.invoke(args=["processes", "map-operator", "class", "X", "no.such"])
    assert refused.exit_code == 1 and "registered operators:" in refused.output
    removed = runner.invoke(args=["processes", "unmap-operator", "delegateExpression", "${scorer}"])
    assert removed.exit_code == 0 and "removed" in removed.output
    assert runner.invoke(args=["processes", "mappings"]).output == ""
    assert runner.invoke(args=["processes", "unmap-operator", "delegateExpression", "${scorer}"]).exit_code == 1


def test_the_page_lists_adds_and_removes_in_both_languages(app, client, admin_token):
    page = admin_opens_in_english(app, client, "/admin/operator-mappings/", "operator-mappings-link")
    assert page.status_code == 200 and "No mappings yet." in page.text
    assert '<option value="risk.assess"' in page.text  # the registered operators to choose from
    assert '<option value="task">Name of a task that names no implementation</option>' in page.text  # every kind
    assert '<option value="job">Camunda 8 job type (zeebe:taskDefinition)</option>' in page.text
    added = client.post("/admin/operator-mappings/", data={
        "csrf_token": _csrf(page.text), "kind": "class", "value": "com.acme.ScoreDelegate",
        "operator_name": "risk.assess", "parameters": "amount = amount * 2\n"})
    assert added.status_code == 200 and "com.acme.ScoreDelegate" in added.text
    with app.app_context():
        (row,) = db.session.scalars(select(OperatorMapping)).all()
        assert (row.kind, row.operator, row.parameters) == ("class", "risk.assess", {"amount": "amount * 2"})
        row_id = row.id
    bad = client.post("/admin/operator-mappings/", data={"csrf_token": _csrf(page.text), "kind": "class",
                                                         "value": "Y", "operator_name": "nope"})
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    assert "Operator: Choose a registered operator." in bad.text and "operator_name" not in bad.text.replace(
        'name="operator_name"', "")
    named = client.post("/admin/operator-mappings/", data={"csrf_token": _csrf(page.text), "kind": "class",
                                                           "value": "Y", "operator_name": "risk.assess",
                                                           "parameters": "this is not\n"})
    assert named.status_code == 422 and "Parameters: " in named.text and "parameters:" not in named.text
    removed = client.post(f"/admin/operator-mappings/{row_id}/remove", data={"csrf_token": _csrf(page.text)})
    assert removed.status_code == 200 and "No mappings yet." in removed.text
    client.post("/language", data={"csrf_token": _csrf(page.text), "locale": "zh"})
    zh = client.get("/admin/operator-mappings/")
    assert "操作符映射" in zh.text and "尚无映射。" in zh.text
    assert "未指明实现的任务的名称" in zh.text and "Camunda 8 作业类型" in zh.text  # each kind said in Chinese


API = "/api/v1/operator-mappings"


def test_the_api_lists_maps_and_removes(app, client, auth):
    assert client.get(API, headers=auth).json == {"items": [], "operators": client.get(API, headers=auth).json[
        "operators"]}
    made = client.post(API, headers=auth, json={"kind": "topic", "value": "score", "operator": "risk.assess",
                                                "parameters": {"amount": "amount"}})
    assert made.status_code == 200, made.json
    assert {k: made.json[k] for k in ("kind", "value", "operator", "parameters")} == {
        "kind": "topic", "value": "score", "operator": "risk.assess", "parameters": {"amount": "amount"}}
    listed = client.get(API, headers=auth).json
    assert [m["value"] for m in listed["items"]] == ["score"] and "risk.assess" in listed["operators"]
    refused = client.post(API, headers=auth, json={"kind": "class", "value": "X", "operator": "no.such"})
    assert refused.status_code == 422 and "operator_name" in refused.json["error"]["fields"]
    assert client.delete(f"{API}/{made.json['id']}", headers=auth).status_code == 204
    assert client.delete(f"{API}/{made.json['id']}", headers=auth).status_code == 404
    assert client.delete(f"{API}/{2 ** 31}", headers=auth).status_code == 404  # past a 32-bit id: no row, no overflow
    assert client.get(API, headers=auth).json["items"] == []


@pytest.mark.parametrize("round_", range(3))
def test_two_admins_mapping_one_new_implementation_at_once_over_http_leave_one_row(app, served, round_):
    value = f"com.acme.Score{round_}"
    statuses = two_admins_post(app, served, API, [{"kind": "class", "value": value, "operator": "risk.assess"},
                                                  {"kind": "class", "value": value, "operator": "notify.send"}])
    assert statuses == [200, 200]  # before: one of them a 500 (the unique key) on PostgreSQL
    with app.app_context():
        rows = db.session.scalars(select(OperatorMapping).where(OperatorMapping.value == value)).all()
        assert len(rows) == 1 and rows[0].operator in ("risk.assess", "notify.send")
        db.session.remove()


def test_the_same_file_deployed_again_after_its_mapping_changed_is_a_new_version_calling_the_new_operator(
        ctx, scoring, admin_token):
    admin = principal_for("admin")
    operator_mappings.map_operator(admin, "class", "com.acme.ScoreDelegate", "notify.send")
    (first,) = deployment.deploy_and_commit(FILES)
    (again,) = deployment.deploy_and_commit(FILES)
    assert (first.status, again.status, again.version) == ("new", "unchanged", first.version)
    operator_mappings.map_operator(admin, "class", "com.acme.ScoreDelegate", OPERATOR, {"amount": "doubled"})
    (remapped,) = deployment.deploy_and_commit(FILES)  # before: "unchanged", still calling notify.send
    assert (remapped.status, remapped.version) == ("new", first.version + 1)
    instances.start("camunda_scoring", admin, business_key="C-2", data={"amount": 1})
    assert scoring == [{"amount": 2}]
