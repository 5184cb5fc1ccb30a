"""A diagram drawn for Camunda 8 (Zeebe), deployed and worked through Loanflow's own layer (issue 17).

Before, Camunda 8's `zeebe:` elements were read where Camunda 7 had an attribute of the same name only: a
task's group (`zeebe:assignmentDefinition`) offered it to no one, a linked form (`formId`, the id inside a
`.form` file) was looked for under a file name, a script task's FEEL (`zeebe:script`) made "a script task
without a script", a call activity's process (`zeebe:calledElement`) made SpiffWorkflow's "No calledElement
attribute", and a message's correlation key (`zeebe:subscription`) was dropped in silence, so a message
reached its instance by business key, whatever key it was sent with."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import current_app

from app.extensions import db
from app.models import HumanTask, ProcessInstance
from app.services.errors import Invalid, NotFound
from app.services.identity import directory as identity
from app.services.identity.directory import principal_for
from app.services.workflow import inbox, instances, messages, tasks
from app.services.workflow.deployment import DiagramFile, check_diagrams, deploy_and_commit
from app.services.workflow.inbox import InboxFilters

LOAN_REVIEW_FORM = {"id": "loan-review", "type": "default", "components": [
    {"type": "number", "key": "amount", "label": "Amount", "validate": {"required": True}},
    {"type": "radio", "key": "decision", "label": "Decision",
     "values": [{"label": "Approve", "value": "approve"}, {"label": "Reject", "value": "reject"}]}]}

ZEEBE_LOAN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs" targetNamespace="t">
  <bpmn:message id="Paid" name="payment-received">
    <bpmn:extensionElements><zeebe:subscription correlationKey="=orderId"/></bpmn:extensionElements>
  </bpmn:message>
  <bpmn:process id="c8_loan" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="review" name="Review the loan">
      <bpmn:extensionElements>
        <zeebe:userTask/>
        <zeebe:assignmentDefinition candidateGroups="first_reviewer"/>
        <zeebe:priorityDefinition priority="80"/>
        <zeebe:formDefinition formId="loan-review"/>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:scriptTask id="grade" name="Grade the risk">
      <bpmn:extensionElements>
        <zeebe:script expression="=if amount &gt; 1000 then &quot;high&quot; else &quot;low&quot;" resultVariable="risk"/>
      </bpmn:extensionElements>
    </bpmn:scriptTask>
    <bpmn:callActivity id="note" name="Note the risk">
      <bpmn:extensionElements><zeebe:calledElement processId="c8_note" propagateAllChildVariables="false"/>
        <zeebe:ioMapping><zeebe:output source="=note" target="riskNote"/></zeebe:ioMapping>
      </bpmn:extensionElements>
    </bpmn:callActivity>
    <bpmn:intermediateCatchEvent id="wait_paid" name="Payment received">
      <bpmn:messageEventDefinition messageRef="Paid"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="grade"/>
    <bpmn:sequenceFlow id="f3" sourceRef="grade" targetRef="note"/>
    <bpmn:sequenceFlow id="f4" sourceRef="note" targetRef="wait_paid"/>
    <bpmn:sequenceFlow id="f5" sourceRef="wait_paid" targetRef="end"/>
  </bpmn:process>
  <bpmn:process id="c8_note" isExecutable="true">
    <bpmn:startEvent id="note_start"/>
    <bpmn:scriptTask id="noted" name="Noted">
      <bpmn:extensionElements><zeebe:script expression="=risk + &quot;-noted&quot;" resultVariable="note"/>
      </bpmn:extensionElements>
    </bpmn:scriptTask>
    <bpmn:endEvent id="note_end"/>
    <bpmn:sequenceFlow id="n1" sourceRef="note_start" targetRef="noted"/>
    <bpmn:sequenceFlow id="n2" sourceRef="noted" targetRef="note_end"/>
  </bpmn:process>
</bpmn:definitions>"""


def _world(forms: Path) -> None:
    """The bank, the trader and a first reviewer; the review form in `forms` under a name of its own (a linked
    Camunda 8 form is found by the id it holds, whatever its file is called). In an app context."""
    (forms / "review.form").write_text(json.dumps(LOAN_REVIEW_FORM), encoding="utf-8")
    identity.ensure_platform_admin()
    identity.create_org("BANK1", ["funder"], "Bank One")
    identity.create_org("TRADER1", ["borrower"], "Trader One")
    identity.create_user("rev", "BANK1", ["first_reviewer"])
    db.session.commit()


def _reviewed(business_key: str, data: dict, amount: int) -> int:
    """A c8_loan instance started with `data` whose review is done (it waits for its payment message); its id."""
    instance_id = instances.start_instance("c8_loan", principal_for("admin"), business_key, data,
                                           {"funder": "BANK1", "borrower": "TRADER1"})
    (row,) = inbox.inbox(principal_for("rev"), InboxFilters(view="group"))["items"]
    tasks.complete_task(row["id"], {"amount": amount}, principal_for("rev"))
    return instance_id


@pytest.fixture
def people(ctx, tmp_path, monkeypatch):
    monkeypatch.setitem(current_app.config, "FORMS_DIR", str(tmp_path))
    _world(tmp_path)
    return ctx


def test_a_camunda_8_loan_is_worked_as_drawn_its_message_found_by_its_correlation_key(people):
    diagram = DiagramFile("c8_loan.bpmn", ZEEBE_LOAN.encode())
    said = check_diagrams([diagram])
    assert [p.reason for p in said if p.severity == "error"] == []
    assert any("propagateAllChildVariables" in p.reason and p.element_id == "note" for p in said)
    assert any(p.reason.startswith("zeebe:subscription correlationKey '=orderId'") for p in said)
    deploy_and_commit([diagram])
    instance_id = instances.start_instance("c8_loan", principal_for("admin"), "LOAN-1", {"orderId": 42},
                                           {"funder": "BANK1", "borrower": "TRADER1"})
    (row,) = inbox.inbox(principal_for("rev"), InboxFilters(view="group"))["items"]
    assert (row["element_id"], row["lane"], row["priority"]) == ("review", "first_reviewer", 1)
    task = db.session.get(HumanTask, row["id"])
    form, _ui = tasks.task_form(task)
    assert form["required"] == ["amount"] and form["properties"]["decision"]["enumNames"] == ["Approve", "Reject"]
    with pytest.raises(Invalid):
        tasks.complete_task(task.id, {"decision": "approve"}, principal_for("rev"))  # amount is required
    db.session.rollback()
    tasks.complete_task(task.id, {"amount": 500, "decision": "approve"}, principal_for("rev"))
    instance = db.session.get(ProcessInstance, instance_id)
    assert instance.status == "waiting" and (instance.data["risk"], instance.data["riskNote"]) == ("low", "low-noted")
    assert "note" not in instance.data  # propagateAllChildVariables="false": only the call's outputs came back
    assert messages.wait_key(instance_id, "payment-received") == "42"
    with pytest.raises(NotFound):  # its business key is not the key the diagram correlates by
        messages.deliver_message("payment-received", "LOAN-1", {"paid": 500})
    db.session.rollback()
    assert messages.deliver_message("payment-received", "42", {"paid": 500}).delivered_to == [instance_id]
    instance = db.session.get(ProcessInstance, instance_id)
    assert instance.status == "completed" and instance.data["paid"] == 500


def test_a_message_sent_before_its_instance_waits_is_kept_and_taken_under_the_correlation_key(people):
    deploy_and_commit([DiagramFile("c8_loan.bpmn", ZEEBE_LOAN.encode())])
    messages.deliver_message("payment-received", "7", {"paid": 1}, durable=True, dedup_key="pay-7")
    db.session.commit()
    instance = db.session.get(ProcessInstance, _reviewed("LOAN-7", {"orderId": "7"}, 5000))
    assert instance.status == "completed" and instance.data["paid"] == 1 and instance.data["risk"] == "high"


def test_a_correlation_key_nothing_set_stops_the_instance_at_its_event_naming_what_it_reads(people):
    deploy_and_commit([DiagramFile("c8_loan.bpmn", ZEEBE_LOAN.encode())])
    instance = db.session.get(ProcessInstance, _reviewed("LOAN-9", {}, 10))
    assert instance.status == "error" and instance.error["element_id"] == "wait_paid"
    assert instance.error["reason"]["params"]["name"] == "orderId"


def test_a_camunda_8_call_choosing_its_process_at_run_time_is_refused_naming_it(people):
    chosen = ZEEBE_LOAN.replace('processId="c8_note"', 'processId="=which"')
    (problem,) = [p for p in check_diagrams([DiagramFile("c8_loan.bpmn", chosen.encode())]) if p.severity == "error"]
    assert problem.element_id == "note" and "chooses the process it calls at run time" in problem.reason


def test_two_messages_racing_under_one_correlation_key_one_is_taken_the_other_kept(app, served, tmp_path,
                                                                                    monkeypatch):
    """Two payment callbacks for order 42 at the same moment against the served app: the instance waiting under
    that key takes one, once; the other is kept in the message inbox (durable), never delivered twice."""
    from tests.integration.test_money_races import race_posts

    monkeypatch.setitem(app.config, "FORMS_DIR", str(tmp_path))
    with app.app_context():
        _world(tmp_path)
        deploy_and_commit([DiagramFile("c8_loan.bpmn", ZEEBE_LOAN.encode())])
        instance_id = _reviewed("LOAN-42", {"orderId": 42}, 500)
        assert messages.wait_key(instance_id, "payment-received") == "42"
        token = identity.issue_token("admin")
        db.session.commit()
        db.session.remove()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    answers = race_posts(served, [("/api/v1/messages", headers, json.dumps(
        {"name": "payment-received", "correlation_key": "42", "payload": {"paid": paid}, "durable": True,
         "dedup_key": f"pay-{paid}"}).encode()) for paid in (1, 2)])
    assert sorted(status for status, _ in answers) == [200, 200], answers
    assert sorted((a["delivered_to"], a["stored"]) for _, a in answers) == [([], True), ([instance_id], False)]
    with app.app_context():
        instance = db.session.get(ProcessInstance, instance_id)
        winner = next(paid for (_, a), paid in zip(answers, (1, 2), strict=True) if a["delivered_to"])
        assert instance.status == "completed" and instance.data["paid"] == winner
        db.session.remove()


def test_the_instance_page_tells_the_platforms_staff_the_key_a_message_awaits(app, client, tmp_path, monkeypatch):
    """The staff's page listed the names of the messages awaited; a sender then assumed the business key."""
    from tests.integration.test_identity import set_password, sign_in

    monkeypatch.setitem(app.config, "FORMS_DIR", str(tmp_path))
    with app.app_context():
        _world(tmp_path)
        deploy_and_commit([DiagramFile("c8_loan.bpmn", ZEEBE_LOAN.encode())])
        instance_id = _reviewed("LOAN-5", {"orderId": "ORD-5"}, 5)
        db.session.remove()
    set_password(app, "admin")
    sign_in(client, "admin")
    for language, said_key in (("en", "correlation key"), ("zh", "关联键")):
        page = client.get(f"/instances/{instance_id}", headers={"Accept-Language": language}).text
        assert ('<code translate="no" class="message-name">payment-received</code> '
                f'({said_key} <code translate="no" class="message-key">ORD-5</code>)') in page
