"""A Camunda-style diagram (issue 17) deployed and worked through Loanflow's own layer: candidateGroups puts
its task in that role's inbox, formData is the form it shows and checks (a generated form version, exported
as it runs), an assignee gets the task claimed for them; a group that is no role is refused at deploy."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, InstanceEvent, ProcessInstance, ProcessVersion
from app.services.errors import Invalid
from app.services.identity import directory as identity
from app.services.identity.directory import principal_for
from app.services.workflow import deployment, inbox, instances, tasks
from app.services.workflow.deployment import DiagramFile, check_diagrams, deploy_and_commit
from app.services.workflow.inbox import InboxFilters

FORM_DATA = """<bpmn:extensionElements><camunda:formData>
  <camunda:formField id="amount" label="Amount" type="long">
    <camunda:validation><camunda:constraint name="required"/><camunda:constraint name="min" config="1"/>
    </camunda:validation></camunda:formField>
  <camunda:formField id="decision" label="Decision" type="enum">
    <camunda:value id="approve" name="Approve"/><camunda:value id="reject" name="Reject"/></camunda:formField>
  <camunda:formField id="checked" label="Checked" type="boolean" defaultValue="false"/>
</camunda:formData></bpmn:extensionElements>"""


def camunda_file(attributes: str, process_id: str = "camunda_review") -> DiagramFile:
    content = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="t">
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="review" name="Review the request" {attributes}>{FORM_DATA}</bpmn:userTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""
    return DiagramFile(f"{process_id}.bpmn", content.encode())


@pytest.fixture
def people(ctx):
    identity.ensure_platform_admin()
    identity.create_org("BANK1", ["funder"], "Bank One")
    identity.create_org("BANK2", ["funder"], "Bank Two")
    identity.create_org("TRADER1", ["borrower"], "Trader One")
    identity.create_user("rev", "BANK1", ["first_reviewer"])
    identity.create_user("anna", "BANK1", ["first_reviewer"])
    identity.create_user("other", "BANK2", ["first_reviewer"])
    identity.create_user("fin", "BANK1", ["finance"])
    db.session.commit()
    return ctx


def _start(process_id: str = "camunda_review", data: dict | None = None) -> int:
    return instances.start_instance(process_id, principal_for("admin"), "LN-1", data,
                                    {"funder": "BANK1", "borrower": "TRADER1"})


def _group_rows(username: str) -> list[dict]:
    return inbox.inbox(principal_for(username), InboxFilters(view="group"))["items"]


def test_the_task_reaches_its_roles_inbox_with_the_generated_form_and_checks_submissions(people):
    said = check_diagrams([camunda_file('camunda:candidateGroups="first_reviewer"')])
    assert [p.severity for p in said if p.element_id == "review" and "candidateGroups" in p.reason] == ["warning"]
    deploy_and_commit([camunda_file('camunda:candidateGroups="first_reviewer"')])
    instance_id = _start()

    rows = _group_rows("rev")
    assert [(r["element_id"], r["lane"]) for r in rows] == [("review", "first_reviewer")]
    assert _group_rows("fin") == [] and _group_rows("other") == []  # another role; another funder

    task = db.session.get(HumanTask, rows[0]["id"])
    form, _ui = tasks.task_form(task)
    assert form["properties"]["amount"] == {"type": "integer", "title": "Amount", "minimum": 1}
    assert form["properties"]["decision"]["enum"] == ["approve", "reject"]
    assert form["required"] == ["amount"]

    reviewer = principal_for("rev")
    with pytest.raises(Invalid) as refused:
        tasks.complete_task(task.id, {"amount": 0, "decision": "maybe"}, reviewer)
    assert set(refused.value.fields) == {"amount", "decision"}
    db.session.rollback()
    tasks.complete_task(task.id, {"amount": 5, "decision": "approve", "checked": True}, reviewer)
    assert db.session.get(ProcessInstance, instance_id).status == "completed"


def test_the_generated_form_is_a_form_version_of_the_process_and_is_exported_as_it_runs(people):
    deploy_and_commit([camunda_file('camunda:candidateGroups="first_reviewer"')])
    version = db.session.scalar(select(ProcessVersion).where(ProcessVersion.process_id == "camunda_review"))
    assert list(version.forms) == ["camunda_review.review.generated.json"]
    exported = dict(deployment.export_forms())
    assert b'"amount"' in exported["camunda_review.review.generated.json"]


def test_an_assignee_gets_the_task_claimed_for_them(people):
    deploy_and_commit([camunda_file('camunda:candidateGroups="first_reviewer" camunda:assignee="anna"')])
    _start()
    mine = inbox.inbox(principal_for("anna"), InboxFilters(view="mine"))["items"]
    assert [r["element_id"] for r in mine] == ["review"]
    assert _group_rows("rev") == []  # claimed: no longer offered


def test_an_assignee_from_the_data_by_juel(people):
    deploy_and_commit([camunda_file('camunda:candidateGroups="first_reviewer" camunda:assignee="${approver}"')])
    _start(data={"approver": "anna"})
    mine = inbox.inbox(principal_for("anna"), InboxFilters(view="mine"))["items"]
    assert [r["element_id"] for r in mine] == ["review"]


def test_an_assignee_of_another_organisation_or_unknown_leaves_the_task_offered_and_says_so(people):
    results = deploy_and_commit([camunda_file('camunda:candidateGroups="first_reviewer" camunda:assignee="nobody"')])
    assert any("'nobody'" in w["reason"] and "no user here" in w["reason"] for w in results[0].warnings)
    instance_id = _start()
    assert [r["element_id"] for r in _group_rows("rev")] == ["review"]
    ready = db.session.scalar(select(InstanceEvent).where(InstanceEvent.instance_id == instance_id,
                                                          InstanceEvent.kind == "task_ready"))
    assert ready.details["assignee_not_found"] == "nobody"

    deploy_and_commit([camunda_file('camunda:candidateGroups="first_reviewer" camunda:assignee="other"',
                                    process_id="camunda_other")])
    _start("camunda_other")
    assert inbox.inbox(principal_for("other"), InboxFilters(view="mine"))["items"] == []


def test_a_group_that_is_no_role_is_refused_at_deploy_naming_the_task(people):
    found = [p for p in check_diagrams([camunda_file('camunda:candidateGroups="accounting"')])
             if p.severity == "error"]
    assert [(p.element_id, "'accounting'" in p.reason and "no role" in p.reason) for p in found] == [
        ("review", True)]
    with pytest.raises(Invalid):
        deploy_and_commit([camunda_file('camunda:candidateGroups="accounting"')])


INVOICE_FORM = {"components": [
    {"type": "text", "text": "Check the invoice against the order."},
    {"key": "amount", "label": "Amount", "type": "textfield", "validate": {"required": True, "pattern": "^[0-9]+$"}},
    {"key": "decision", "label": "Decision", "type": "select",
     "values": [{"label": "Approve", "value": "approve"}, {"label": "Reject", "value": "reject"}]},
    {"type": "group", "components": [{"key": "checked", "label": "Checked", "type": "checkbox"}]},
], "type": "default"}


def camunda_forms_file(form_key: str) -> DiagramFile:
    content = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="t">
  <bpmn:process id="camunda_forms" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="approve" name="Approve the invoice" camunda:candidateGroups="first_reviewer"
                   camunda:formKey="{form_key}"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""
    return DiagramFile("camunda_forms.bpmn", content.encode())


@pytest.fixture
def forms_folder(people, tmp_path, monkeypatch):
    monkeypatch.setitem(current_app.config, "FORMS_DIR", str(tmp_path))
    return tmp_path


def test_a_camunda_forms_file_is_the_form_the_task_shows_and_checks(forms_folder):
    (forms_folder / "invoice.form").write_text(json.dumps(INVOICE_FORM), encoding="utf-8")
    said = check_diagrams([camunda_forms_file("camunda-forms:app:invoice.form")])
    assert [(p.file, p.severity) for p in said if "the Camunda form file 'invoice.form' is the form invoice.json"
            in p.reason] == [("invoice.form", "warning")]
    deploy_and_commit([camunda_forms_file("camunda-forms:app:invoice.form")])
    instance_id = _start("camunda_forms")
    task = db.session.get(HumanTask, _group_rows("rev")[0]["id"])
    form, _ui = tasks.task_form(task)
    assert form["properties"]["amount"] == {"type": "string", "title": "Amount", "pattern": "^[0-9]+$"}
    assert form["properties"]["decision"]["enumNames"] == ["Approve", "Reject"]
    assert form["properties"]["checked"] == {"type": "boolean", "title": "Checked"}  # from inside its group
    assert form["required"] == ["amount"]
    _refuses_a_wrong_answer_then_completes(task, instance_id)
    assert b'"pattern"' in dict(deployment.export_forms())["invoice.json"]  # the form that ran


def _refuses_a_wrong_answer_then_completes(task: HumanTask, instance_id: int) -> None:
    """The invoice form checks a submission: a wrong amount and decision are refused, a right one completes."""
    reviewer = principal_for("rev")
    with pytest.raises(Invalid) as refused:
        tasks.complete_task(task.id, {"amount": "12a", "decision": "maybe"}, reviewer)
    assert set(refused.value.fields) == {"amount", "decision"}
    db.session.rollback()
    tasks.complete_task(task.id, {"amount": "12", "decision": "approve", "checked": True}, reviewer)
    assert db.session.get(ProcessInstance, instance_id).status == "completed"


def test_a_camunda_forms_file_that_cannot_be_shown_refuses_the_deploy_naming_it(forms_folder):
    dynamic = {"components": [{"key": "warehouse", "label": "Warehouse", "type": "select",
                               "valuesExpression": "=depots.warehouses"},  # a path: no variable's list
                              {"key": "scan", "label": "Scan", "type": "filepicker", "accept": ".doc"}]}
    (forms_folder / "pick.form").write_text(json.dumps(dynamic), encoding="utf-8")
    errors = [p for p in check_diagrams([camunda_forms_file("camunda-forms:deployment:pick.form")])
              if p.severity == "error"]
    assert [p.file for p in errors] == ["pick.form"]
    assert "'warehouse'" in errors[0].reason and "depots.warehouses" in errors[0].reason
    assert "'scan'" in errors[0].reason and "takes only files Loanflow does not keep (.doc)" in errors[0].reason
    with pytest.raises(Invalid):
        deploy_and_commit([camunda_forms_file("camunda-forms:deployment:pick.form")])


INVOICE_HTML = """
<form role="form">
  <label for="amount">Amount</label>
  <input id="amount" cam-variable-name="amount" cam-variable-type="String" pattern="^[0-9]+$" required>
  <select cam-variable-name="decision" cam-variable-type="String">
    <option value="approve">Approve</option><option value="reject">Reject</option>
  </select>
  <input type="checkbox" cam-variable-name="checked" cam-variable-type="Boolean">
</form>"""


def test_an_embedded_html_form_of_camunda_7_is_the_form_the_task_shows_and_checks(forms_folder):
    """`camunda:formKey="embedded:app:forms/invoice.html"`: Tasklist's embedded form, whose inputs declare the
    variables they set, is read into the JSON Schema form the inbox shows and every submission is checked
    against (it was refused: "form file 'invoice.json' ... does not exist in forms/")."""
    (forms_folder / "invoice.html").write_text(INVOICE_HTML, encoding="utf-8")
    key = "embedded:app:forms/invoice.html"
    said = check_diagrams([camunda_forms_file(key)])
    assert not [p for p in said if p.severity == "error"]
    assert [p.file for p in said if "is the form invoice.json" in p.reason] == ["invoice.html"]
    deploy_and_commit([camunda_forms_file(key)])
    instance_id = _start("camunda_forms")
    task = db.session.get(HumanTask, _group_rows("rev")[0]["id"])
    form, _ui = tasks.task_form(task)
    assert form["properties"]["amount"] == {"type": "string", "title": "Amount", "pattern": "^[0-9]+$"}
    assert form["properties"]["decision"]["enum"] == ["approve", "reject"]
    assert form["properties"]["checked"] == {"type": "boolean", "title": "checked"}
    assert form["required"] == ["amount"]
    _refuses_a_wrong_answer_then_completes(task, instance_id)


@pytest.mark.parametrize(("key", "put"), [("camunda-forms:app:task-form.form", "task-form.form"),
                                          ("embedded:app:forms/task-form.html", "task-form.html"),
                                          ("app:task-form.jsf", "task-form.json")])
def test_a_form_key_whose_file_is_missing_says_which_file_to_put_in_forms(forms_folder, key, put):
    """Camunda's invoice example keeps task-form.form beside the diagram: the refusal named only task-form.json,
    the JSON Schema, as if Loanflow read no Camunda form; it names the file the key names, which forms/ reads."""
    (error,) = [p for p in check_diagrams([camunda_forms_file(key)]) if p.severity == "error"]
    assert f"does not exist in forms/: put {put} there" in error.reason
    (forms_folder / put).write_text(INVOICE_HTML if put.endswith(".html") else json.dumps(
        {"type": "default", "components": [{"type": "textfield", "key": "amount", "label": "Amount"}]}
        if put.endswith(".form") else {"type": "object", "properties": {"amount": {"type": "string"}}}),
        encoding="utf-8")
    assert not [p for p in check_diagrams([camunda_forms_file(key)]) if p.severity == "error"]


def test_an_embedded_html_form_asking_for_what_the_inbox_cannot_refuses_the_deploy_naming_it(forms_folder):
    (forms_folder / "due.html").write_text('<input cam-variable-name="doc" cam-variable-type="Json">', encoding="utf-8")
    errors = [p for p in check_diagrams([camunda_forms_file("embedded:app:due.html")]) if p.severity == "error"]
    assert [p.file for p in errors] == ["due.html"] and "'doc' sets a value of type Json" in errors[0].reason
    with pytest.raises(Invalid):
        deploy_and_commit([camunda_forms_file("embedded:app:due.html")])


@pytest.mark.parametrize(("attributes", "data", "due_in", "priority"), [
    ('camunda:dueDate="${dateTime().plusDays(2).toDate()}" camunda:priority="80"', {}, timedelta(days=2), 1),
    ('camunda:dueDate="PT4H" camunda:priority="50"', {}, timedelta(hours=4), 3),
    ('camunda:dueDate="${deadline}" camunda:priority="${urgency}"', {"deadline": "P1D", "urgency": 65},
     timedelta(days=1), 2),
])
def test_a_camunda_due_date_and_priority_reach_the_inbox(people, attributes, data, due_in, priority):
    """camunda:dueDate and camunda:priority were dropped in silence: the task had no due time and the
    inbox's default priority. Camunda's priority (50 normal, higher more urgent) is banded into 1-5."""
    deploy_and_commit([camunda_file(f'camunda:candidateGroups="first_reviewer" {attributes}')])
    _start(data=data)
    (row,) = _group_rows("rev")
    task = db.session.get(HumanTask, row["id"])
    assert task.priority == priority
    assert task.due_at is not None and abs(_aware(task.due_at) - (_aware(task.created_at) + due_in)) < timedelta(seconds=1)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_the_initiator_is_who_started_the_instance_never_what_the_caller_says(people):
    """camunda:initiator on the start event: the instance's data names who started it (the engine's to say)."""
    file = camunda_file('camunda:candidateGroups="first_reviewer"')
    file = DiagramFile(file.filename, file.content.replace(b'<bpmn:startEvent id="start"/>',
                                                           b'<bpmn:startEvent id="start" camunda:initiator="starter"/>'))
    said = check_diagrams([file])
    assert any(p.element_id == "start" and p.reason.startswith("camunda:initiator 'starter'") for p in said)
    deploy_and_commit([file])
    instance_id = _start(data={"starter": "someone else"})
    assert db.session.get(ProcessInstance, instance_id).data["starter"] == "admin"
    unattended = instances.start_instance("camunda_review", None, "LN-2", {"starter": "forged"},
                                          {"funder": "BANK1", "borrower": "TRADER1"})
    assert db.session.get(ProcessInstance, unattended).data["starter"] is None


def test_candidate_users_are_offered_the_task_and_no_one_else(people):
    """`camunda:candidateUsers="anna, fin"` was refused ("offers the task to several people"); each named user
    is offered it now, whatever their role, and no one else is (not anna's colleague of her role, not another
    organisation, not the platform's operators)."""
    from app.services.errors import Conflict, Forbidden, NotFound

    identity.create_user("op", "PLATFORM", ["operator"])
    db.session.commit()
    deploy_and_commit([camunda_file('camunda:candidateUsers="anna, fin, ghost"')])
    instance_id = _start()
    for user in ("anna", "fin"):
        assert [(r["element_id"], r["lane"]) for r in _group_rows(user)] == [("review", "candidate_users")], user
    for user in ("rev", "other", "op"):
        assert _group_rows(user) == [], user
    [task_id] = [r["id"] for r in _group_rows("anna")]
    with pytest.raises((Forbidden, NotFound)):
        tasks.claim_task(task_id, principal_for("rev"))
    tasks.claim_task(task_id, principal_for("fin"))
    db.session.commit()
    with pytest.raises(Conflict):
        tasks.claim_task(task_id, principal_for("anna"))
    assert _group_rows("anna") == []  # claimed: no longer offered
    ready = db.session.scalar(select(InstanceEvent).where(InstanceEvent.instance_id == instance_id,
                                                          InstanceEvent.kind == "task_ready"))
    assert ready.details["candidates"] == ["anna", "fin"] and ready.details["candidates_not_found"] == ["ghost"]


def test_candidate_users_from_the_data_and_none_of_them_a_user(people):
    identity.create_user("op", "PLATFORM", ["operator"])
    db.session.commit()
    deploy_and_commit([camunda_file('camunda:candidateUsers="${reviewers}"')])
    _start(data={"reviewers": "anna, rev"})
    assert [r["lane"] for r in _group_rows("rev")] == ["candidate_users"] and _group_rows("fin") == []
    # no name is a user here: the task is not offered to no one, but to the platform, as a task without a lane
    other = _start(data={"reviewers": ["ghost"]})
    assert [r["instance_id"] for r in _group_rows("op")] == [other]
    ready = db.session.scalar(select(InstanceEvent).where(InstanceEvent.instance_id == other,
                                                          InstanceEvent.kind == "task_ready"))
    assert ready.details["candidates"] == [] and ready.details["candidates_not_found"] == ["ghost"]


@pytest.mark.parametrize("round_", range(3))
def test_two_candidates_claiming_at_once_over_http_one_gets_the_task(app, served, round_):
    """A task offered to anna and fin by name: both claim it at the same moment against the served app; one
    has it, the other is told it is taken (409), and it is claimed once."""
    from tests.integration.test_money_races import race_posts

    with app.app_context():
        identity.ensure_platform_admin()
        identity.create_org("BANK1", ["funder"], "Bank One")
        identity.create_org("TRADER1", ["borrower"], "Trader One")
        identity.create_user("anna", "BANK1", ["first_reviewer"])
        identity.create_user("fin", "BANK1", ["finance"])
        db.session.commit()
        deploy_and_commit([camunda_file('camunda:candidateUsers="anna, fin"')])
        _start()
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.element_id == "review"))
        tokens = [identity.issue_token("anna"), identity.issue_token("fin")]
        db.session.commit()
        db.session.remove()
    answers = race_posts(served, [(f"/api/v1/tasks/{task_id}/claim", {"Authorization": f"Bearer {token}"}, b"")
                                  for token in tokens])
    assert sorted(status for status, _body in answers) == [200, 409], answers
    with app.app_context():
        task = db.session.get(HumanTask, task_id)
        winner = [name for (status, _b), name in zip(answers, ("anna", "fin"), strict=True) if status == 200]
        assert task.state == "claimed" and task.claimed_by_id == principal_for(winner[0]).id
        db.session.remove()


def test_a_group_chosen_by_the_data_offers_the_task_to_that_role_or_to_the_platform(people):
    """`camunda:candidateGroups="${approverGroup}"` was refused; the group is read when the task is ready: a role,
    a group the mapping table maps to one, or else the platform's (said in the history), never no one's."""
    from app.services.workflow import group_mappings

    identity.create_user("op", "PLATFORM", ["operator"])
    group_mappings.set_mapping("accounting", "finance", None)
    db.session.commit()
    deploy_and_commit([camunda_file('camunda:candidateGroups="${approverGroup}"')])
    _start(data={"approverGroup": "first_reviewer"})
    assert [r["lane"] for r in _group_rows("rev")] == ["first_reviewer"] and _group_rows("fin") == []
    assert _group_rows("other") == []  # the role of the deal's funder only
    mapped = _start(data={"approverGroup": "accounting"})
    assert [r["instance_id"] for r in _group_rows("fin")] == [mapped]
    nobody = _start(data={"approverGroup": "marketing"})
    assert [r["instance_id"] for r in _group_rows("op")] == [nobody]
    ready = db.session.scalar(select(InstanceEvent).where(InstanceEvent.instance_id == nobody,
                                                          InstanceEvent.kind == "task_ready"))
    assert ready.details["candidate_groups_no_role"] == ["marketing"] and ready.details["lane"] is None


FLOWABLE_LEAVE = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowable="http://flowable.org/bpmn"
             targetNamespace="http://www.flowable.org/processdef">
  <process id="leave_flowable" name="请假审批" isExecutable="true">
    <startEvent id="start" flowable:initiator="applicant"/>
    <userTask id="deptApprove" name="部门审批" flowable:candidateGroups="first_reviewer">
      <extensionElements>
        <flowable:formProperty id="deptApprove" name="审批结果" type="enum" required="true">
          <flowable:value id="pass" name="同意"/><flowable:value id="reject" name="驳回"/>
        </flowable:formProperty>
        <flowable:formProperty id="days" name="天数" type="long" required="true"/>
      </extensionElements>
    </userTask>
    <exclusiveGateway id="decide"/>
    <endEvent id="approved"/>
    <endEvent id="rejected"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="deptApprove"/>
    <sequenceFlow id="f2" sourceRef="deptApprove" targetRef="decide"/>
    <sequenceFlow id="f3" sourceRef="decide" targetRef="approved">
      <conditionExpression>${deptApprove == 'pass' &amp;&amp; days &lt;= 3}</conditionExpression></sequenceFlow>
    <sequenceFlow id="f4" sourceRef="decide" targetRef="rejected">
      <conditionExpression>${deptApprove != 'pass' || days &gt; 3}</conditionExpression></sequenceFlow>
  </process>
</definitions>"""


def test_a_flowable_diagram_is_worked_as_drawn_its_group_s_inbox_its_form_properties_its_gateway(people):
    """Deployed from a Flowable modeler's `.bpmn20.xml`: before, every `flowable:` attribute was read by nothing —
    the task was the platform's, its form asked nothing, and the gateway stopped for want of `deptApprove`."""
    diagram = DiagramFile("leave.bpmn20.xml", FLOWABLE_LEAVE.encode())
    said = [p.reason for p in check_diagrams([diagram])]
    assert any(s.startswith("the file's Flowable extensions are read as Camunda 7's") for s in said)
    assert not [p for p in check_diagrams([diagram]) if p.severity == "error"]
    deploy_and_commit([diagram])
    instance_id = instances.start_instance("leave_flowable", principal_for("admin"), "LEAVE-1", None,
                                           {"funder": "BANK1", "borrower": "TRADER1"})
    (row,) = _group_rows("rev")
    assert (row["element_id"], row["lane"]) == ("deptApprove", "first_reviewer") and _group_rows("fin") == []
    task = db.session.get(HumanTask, row["id"])
    form, _ui = tasks.task_form(task)
    assert form["properties"]["deptApprove"]["enumNames"] == ["同意", "驳回"] and form["required"] == [
        "deptApprove", "days"]
    with pytest.raises(Invalid):
        tasks.complete_task(task.id, {"deptApprove": "pass"}, principal_for("rev"))  # days is required
    db.session.rollback()
    tasks.complete_task(task.id, {"deptApprove": "pass", "days": 2}, principal_for("rev"))
    instance = db.session.get(ProcessInstance, instance_id)
    assert instance.status == "completed" and instance.data["applicant"] == "admin"  # flowable:initiator
    ended = db.session.scalars(select(InstanceEvent).where(InstanceEvent.instance_id == instance_id,
                                                           InstanceEvent.kind == "completed")).one()
    assert "approved" in json.dumps(ended.details)
