"""The analyst's modeler in the browser (issue 16): the demo's analyst opens `risk_approval` from the catalogue
in the vendored bpmn-js modeler (the bpmn.io watermark visible, no CSP violation), renames the first review
and breaks the first reviewer's approval condition in our properties panel, saves and sees the error marked
on that sequence flow and listed; clicking the problem selects the flow, the fixed condition checks clean,
the deploy makes version N+1 — with every spiffworkflow property, operator, parameter and script of the
file kept — and a test instance starts on it.

On the demo server (`make run`'s processes and `seed demo`). Screenshots through `screenshot`
($LOANFLOW_E2E_SCREENSHOTS)."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_catalogue import _watch_console
from tests.e2e.test_pages_a11y import _choose_language, _sign_in, check_page


def _latest(app, process_id: str) -> tuple[int, str]:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Deployment, ProcessVersion

    with app.app_context():
        row = db.session.execute(
            select(ProcessVersion.version, Deployment.source)
            .join(Deployment, Deployment.id == ProcessVersion.deployment_id)
            .where(ProcessVersion.process_id == process_id).order_by(ProcessVersion.version.desc())).first()
        db.session.remove()
    return row.version, bytes(row.source).decode("utf-8")


def _select(page: Page, element_id: str, click: str | None = None) -> None:
    """Click an element on the canvas (a flow by its label: a straight line has no area to click), after a
    click on the empty corner that closes the previous element's context pad."""
    page.locator("#canvas").click(position={"x": 8, "y": 8})
    page.locator(f'#canvas [data-element-id="{click or element_id}"]').first.click()
    expect(page.locator("#properties-body")).to_contain_text(element_id)


def _type(page: Page, key: str, value: str) -> None:
    field = page.locator(f'#properties-body [data-key="{key}"]')
    field.fill(value)
    field.dispatch_event("change")


def _edit_signing_in_english(page: Page, demo_server) -> int:
    """The analyst opens `signing` in the modeler, in English; the version deployed before."""
    before, _ = _latest(demo_server.app, "signing")
    _sign_in(page, "analyst")
    _choose_language(page, "en", "en")
    page.goto("/processes/signing/edit")
    expect(page.locator("#canvas[data-drawn=true]")).to_be_visible()
    return before


def test_the_analyst_edits_checks_deploys_and_tries_risk_approval(demo_page, demo_server):
    page = demo_page
    errors = _watch_console(page)
    before, source_before = _latest(demo_server.app, "risk_approval")
    _sign_in(page, "analyst")  # in Chinese: the page sweep's checks (axe-core, no raw code, a phone's width)
    page.goto("/processes/risk_approval/edit")
    expect(page.locator("#canvas[data-drawn=true]")).to_be_visible()
    _select(page, "first_review")
    expect(page.locator("#properties-body")).to_contain_text("用户任务")
    problems = check_page(page, "analyst-zh-modeler")
    _select(page, "route_by_rules")  # the decision table by its Chinese name (name@zh), not its English one
    called = page.locator('#properties-body [data-key="called_decision"] option:checked')
    expect(called).to_have_text("按风险报告分流业务")
    expect(called).not_to_have_attribute("lang", "en")
    problems += check_page(page, "analyst-zh-modeler-decision")
    page.goto("/processes/new")
    problems += check_page(page, "analyst-zh-new-process")
    assert not problems, "\n".join(problems)
    _choose_language(page, "en", "en")
    page.goto("/processes/risk_approval")
    page.locator("#edit-process").click()
    page.wait_for_url("**/processes/risk_approval/edit")
    canvas = page.locator("#canvas[data-drawn=true]")
    expect(canvas.locator('[data-element-id="first_review"]')).to_be_visible()
    # the whole diagram beside the palette: the start event was under it, the top row cut off
    palette, start = canvas.locator(".djs-palette").bounding_box(), canvas.locator('[data-element-id="start"]').bounding_box()
    box = canvas.bounding_box()
    assert start["x"] >= palette["x"] + palette["width"] and start["y"] >= box["y"]
    expect(canvas.locator("a.bjs-powered-by")).to_be_visible()  # the bpmn.io watermark the licence keeps
    expect(canvas.locator(".djs-palette")).to_be_visible()  # a modeler, not the viewer

    # the label of a task, in both languages, through our panel
    _select(page, "first_review")
    expect(page.locator('#properties-body [data-key="form"]')).to_have_value("first-review.json")
    expect(page.locator('#properties-body [data-key="four_eyes"]')).to_have_value("")
    _type(page, "name", "First review of the deal")
    _type(page, "name_zh", "初审（修改）")
    expect(canvas.locator('[data-element-id="first_review"] text')).to_have_text(
        re.compile(r"First review of\s*the deal"))  # wrapped over lines

    _select(page, "route_by_rules")
    expect(page.locator('#properties-body [data-key="called_decision"]')).to_have_value("risk_route")

    # a gateway's condition with a syntax error: the check marks the flow and lists it
    _select(page, "f_first_approve", click="f_first_approve_label")
    expect(page.locator('#properties-body [data-key="condition"]')).to_have_value("decision == 'approve'")
    _type(page, "condition", "decision == ")
    page.locator("#check-button").click()
    problem = page.locator('#problems li[data-element="f_first_approve"][data-severity="error"]')
    expect(problem).to_be_visible()
    expect(problem).to_contain_text("condition does not compile")
    expect(canvas.locator('g.djs-element.djs-connection.problem-error[data-element-id="f_first_approve"]')).to_have_count(1)
    expect(page.locator("#deploy-button")).to_be_disabled()
    screenshot(page, "modeler-risk_approval-condition-error")
    # the server refuses too: a deploy now changes nothing
    refused = page.evaluate("""async () => {
        const c = document.getElementById('canvas');
        const r = await fetch(c.dataset.deploy, {method: 'POST', body: '<x/>',
          headers: {'Content-Type': 'application/xml', 'X-CSRFToken': c.dataset.csrf}});
        return r.status; }""")
    assert refused == 422 and _latest(demo_server.app, "risk_approval")[0] == before
    errors[:] = [e for e in errors if "422" not in e]  # the browser logs that refusal; it is the one asked for

    # clicking the problem selects its element; the fixed condition checks clean
    page.locator('#problems li[data-element="f_first_approve"] button').click()
    expect(page.locator('#properties-body [data-key="condition"]')).to_have_value("decision == ")
    _type(page, "condition", "decision == 'approve' and amount > 0")
    page.locator("#check-button").click()
    expect(page.locator('#problems li[data-severity="error"]')).to_have_count(0)
    expect(canvas.locator(".problem-error")).to_have_count(0)
    expect(page.locator("#deploy-button")).to_be_enabled()

    page.locator("#deploy-button").click()
    result = page.locator("#deploy-result")
    expect(result).to_be_visible()
    expect(page.locator("#modeler-status")).to_have_text(f"Deployed as version {before + 1}.")
    expect(result).to_have_text(f"Open version {before + 1} in the catalogue")
    assert result.locator("a").get_attribute("href") == f"/processes/risk_approval?version={before + 1}"
    version, source = _latest(demo_server.app, "risk_approval")
    assert version == before + 1
    assert 'name="First review of the deal"' in source and 'value="初审（修改）"' in source
    assert "decision == 'approve' and amount &gt; 0" in source
    # what the engine reads, kept through the modeler's round trip
    for kept in ('name="formJsonSchemaFilename" value="first-review.json"', 'name="separateFrom" value="first_review"',
                 'serviceTaskOperator id="origination.stage" resultVariable="application"',
                 '<spiffworkflow:parameter id="stage" type="str" value="&#39;risk_check&#39;" />',
                 "<spiffworkflow:postScript>amount = application['amount']</spiffworkflow:postScript>",
                 "<spiffworkflow:calledDecisionId>risk_route</spiffworkflow:calledDecisionId>",
                 'name="keyData" value="application_number amount term_months"', 'value="风险审批"'):
        assert kept in source, kept
    assert source.count("<spiffworkflow:property ") == source_before.count("<spiffworkflow:property ")

    # a test instance on the new version, under a typed business key
    page.fill("#business-key", "TRY-RISK-1")
    page.locator("#start-button").click()
    started = page.locator("#start-result[data-instance]")
    expect(started).to_contain_text(f"started on version {before + 1}")
    instance_id = int(started.get_attribute("data-instance"))
    from app.extensions import db
    from app.models import ProcessInstance

    with demo_server.app.app_context():
        row = db.session.get(ProcessInstance, instance_id)
        assert (row.process_id, row.version, row.business_key) == ("risk_approval", before + 1, "TRY-RISK-1")
        db.session.remove()
    screenshot(page, "modeler-risk_approval-deployed")
    page.locator("#deploy-result a").click()
    page.wait_for_url(re.compile(rf".*/processes/risk_approval\?version={before + 1}$"))
    assert not errors, errors  # a refused script, style or font would be reported here


def test_timers_service_parameters_messages_and_call_targets_are_edited_in_the_panel(demo_page, demo_server):
    """`signing`: a boundary timer's value (a bad one is an error on the event), a service task's parameters
    (changed, one added), the receive task's message (a new name makes a new message); deployed, the file
    says so. `credit_loan`'s call activity offers the deployed processes by name."""
    page = demo_page
    errors = _watch_console(page)
    before = _edit_signing_in_english(page, demo_server)

    _select(page, "expire")
    expect(page.locator('#properties-body [data-key="timer"]')).to_have_value("timeDuration")
    expect(page.locator('#properties-body [data-key="timer_value"]')).to_have_value('"P7D"')
    _type(page, "timer_value", '"P7X"')
    page.locator("#check-button").click()
    expect(page.locator('#problems li[data-element="expire"][data-severity="error"]')).to_contain_text(
        "timer value 'P7X' is not ISO 8601")
    page.locator('#problems li[data-element="expire"] button').click()
    _type(page, "timer_value", '"P10D"')

    _select(page, "start_flow")
    expect(page.locator('#properties-body [data-key="service_operator"]')).to_have_value("signing.start_flow")
    expect(page.locator('#properties-body [data-key="param-1-value"]')).to_have_value("signing['collection_account']")
    _type(page, "param-0-value", "signers or []")
    page.locator('#properties-body [data-key="param-add"]').click()
    _type(page, "param-2-id", "channel")
    _type(page, "param-2-value", "'modeler'")

    _select(page, "wait_signed")
    expect(page.locator('#properties-body [data-key="message"]')).to_have_value("esign_completed")
    expect(page.locator('#properties-body [data-key="message_variable"]')).to_have_value("esign_event")
    _type(page, "message", "esign_completed_again")

    # a user task's lane is read as its role; a lane's role is chosen by name
    _select(page, "verify_identity_borrower")
    expect(page.locator("#properties-body")).to_contain_text("Applicant")
    page.locator("#canvas").click(position={"x": 8, "y": 8})
    lane = page.locator('#canvas [data-element-id="lane_core_signer"]').first
    box = lane.bounding_box()
    assert box is not None
    lane.click(position={"x": box["width"] - 60, "y": box["height"] / 2})
    role = page.locator('#properties-body [data-key="lane_role"]')
    expect(role.locator("option:checked")).to_have_text("Core enterprise signer")
    role.select_option(label="Warehouse supervisor")

    page.locator("#check-button").click()
    expect(page.locator("#deploy-button")).to_be_enabled()
    page.locator("#deploy-button").click()
    expect(page.locator("#deploy-result")).to_contain_text(f"version {before + 1}")  # the link to it
    version, source = _latest(demo_server.app, "signing")
    assert '<bpmn:lane id="lane_core_signer" name="warehouse_supervisor">' in source
    assert version == before + 1
    assert re.search(r'<bpmn:timeDuration[^>]*>"P10D"</bpmn:timeDuration>', source)
    assert '<spiffworkflow:parameter id="signers" type="str" value="signers or []" />' in source
    assert '<spiffworkflow:parameter id="channel" type="str" value="&#39;modeler&#39;" />' in source
    assert re.search(r'<bpmn:message id="(msg_esign_completed_again)" name="esign_completed_again" />', source)
    assert 'messageRef="msg_esign_completed_again"' in source
    assert "<spiffworkflow:messageVariable>esign_event</spiffworkflow:messageVariable>" in source

    page.goto("/processes/credit_loan/edit")
    expect(page.locator("#canvas[data-drawn=true]")).to_be_visible()
    _select(page, "risk_approval")
    called = page.locator('#properties-body [data-key="called_process"]')
    expect(called).to_have_value("risk_approval")
    expect(called.locator("option:checked")).to_have_text("Risk approval")
    screenshot(page, "modeler-credit_loan-call-activity")
    assert not errors, errors


def test_a_new_process_is_drawn_checked_deployed_and_tried(demo_page, demo_server):
    page = demo_page
    errors = _watch_console(page)
    _sign_in(page, "analyst")
    _choose_language(page, "en", "en")
    page.goto("/processes")
    page.locator("#new-process").click()
    page.fill("#f-process_id", "modeler_trial")
    page.fill("#f-name_en", "Modeler trial")
    page.fill("#f-name_zh", "建模试用")
    page.locator("#new-process button").click()
    expect(page.locator("#canvas[data-drawn=true]")).to_be_visible()
    expect(page.locator("#test-instance")).to_be_hidden()
    # nothing selected: the process's own names
    expect(page.locator('#properties-body [data-key="name_zh"]')).to_have_value("建模试用")
    _type(page, "name", "Modeler trial run")
    page.locator("#check-button").click()
    expect(page.locator("#modeler-status")).to_have_text("No problems: the diagram may be deployed.")
    page.locator("#deploy-button").click()
    expect(page.locator("#modeler-status")).to_have_text("Deployed as version 1.")
    expect(page.locator("#problems-empty")).to_have_text("No problems: the diagram may be deployed.")
    version, source = _latest(demo_server.app, "modeler_trial")
    assert version == 1 and 'name="Modeler trial run"' in source
    page.fill("#business-key", "TRY-NEW-1")
    page.locator("#start-button").click()
    expect(page.locator("#start-result[data-instance]")).to_contain_text("started on version 1: completed.")
    assert not errors, errors


def test_a_message_the_process_sends_is_given_its_payload_and_says_who_receives_it(demo_page, demo_server):
    """`signing`'s stopped end becomes a message end event (bpmn-js's replace menu): the panel asks for the
    message and its payload — not a variable to receive one — and says where it goes; deployed, the file
    carries both (`docs/engine.md`, "Waiting": messages between instances)."""
    page = demo_page
    errors = _watch_console(page)
    before = _edit_signing_in_english(page, demo_server)
    _select(page, "end_stopped")
    expect(page.locator('#properties-body [data-key="message_payload"]')).to_have_count(0)  # a none end event
    page.locator('.djs-context-pad .entry[data-action="replace"]').click()
    page.locator('.djs-popup [data-id="replace-with-message-end"]').click()
    expect(page.locator('#properties-body [data-key="message_variable"]')).to_have_count(0)
    expect(page.locator("#properties-body")).to_contain_text("Who receives it")
    _type(page, "message", "signing_stopped")
    _type(page, "message_payload", "stop_reason")
    page.locator("#check-button").click()
    expect(page.locator("#deploy-button")).to_be_enabled()
    page.locator("#deploy-button").click()
    expect(page.locator("#deploy-result")).to_contain_text(f"version {before + 1}")
    _, source = _latest(demo_server.app, "signing")
    assert re.search(r'<bpmn:message id="msg_signing_stopped" name="signing_stopped" />', source)
    assert re.search(r'<bpmn:messageEventDefinition id="[^"]+" messageRef="msg_signing_stopped">\s*'
                     r"<bpmn:extensionElements>\s*<spiffworkflow:messagePayload>stop_reason"
                     r"</spiffworkflow:messagePayload>", source), source
    assert not errors, errors


def test_a_test_instance_its_start_form_refuses_says_each_field(demo_page, demo_server):
    """A Camunda start form (camunda:formData on the start event) checks the data an instance starts with; the
    modeler's test instance starts with none, and the page says which fields the form asks, not only "see the
    fields" (the refusal's fields were not shown), and where to give them: the start page, linked there."""
    from app.extensions import db
    from app.services.workflow.deployment import DiagramFile, deploy_and_commit
    from tests.integration.test_start_forms import diagram

    drawn = diagram("modeler_start_form").replace(b"</bpmn:definitions>", (  # a plane: the modeler draws it
        b'<bpmndi:BPMNDiagram id="di" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.'
        b'omg.org/spec/DD/20100524/DC"><bpmndi:BPMNPlane id="plane" bpmnElement="modeler_start_form"><bpmndi:BPMNShape '
        b'id="start_di" bpmnElement="start"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>'
        b"</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>"))
    with demo_server.app.app_context():
        deploy_and_commit([DiagramFile("modeler_start_form.bpmn", drawn)])
        db.session.remove()
    page = demo_page
    _sign_in(page, "analyst")
    _choose_language(page, "en", "en")
    page.goto("/processes/modeler_start_form/edit")
    expect(page.locator("#canvas[data-drawn=true]")).to_be_visible()
    page.fill("#business-key", "TRY-FORM-1")
    page.locator("#start-button").click()
    result = page.locator("#start-result")
    expect(result).to_contain_text("The process has a start form: start the test instance on its start page")
    expect(result).to_contain_text("amount: ")
    assert result.get_attribute("data-instance") is None
    page.locator("#start-with-form a").click()  # the page that asks for them
    page.wait_for_url("**/processes/modeler_start_form/new-instance")
    form = page.locator("#start-form")
    form.locator("[data-field=amount] input").fill("5000")
    with page.expect_navigation():
        form.get_by_role("button", name="Start").click()
    assert "/instances/" in page.url


CAMUNDA_FILE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
                  xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="t"
                  exporter="Camunda Modeler" exporterVersion="5.31.0">
  <bpmn:process id="invoice_from_camunda" name="Invoice from Camunda" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="approve" name="Approve the invoice" camunda:assignee="analyst">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="approved" label="Approved?" type="boolean"/>
      </camunda:formData></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="end"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="p" bpmnElement="invoice_from_camunda">
    <bpmndi:BPMNShape id="s_start" bpmnElement="start"><dc:Bounds x="100" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="s_approve" bpmnElement="approve"><dc:Bounds x="200" y="78" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="s_end" bpmnElement="end"><dc:Bounds x="360" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="e1" bpmnElement="f1"><di:waypoint x="136" y="118"/><di:waypoint x="200" y="118"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="e2" bpmnElement="f2"><di:waypoint x="300" y="118"/><di:waypoint x="360" y="118"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>"""


def test_a_diagram_file_drawn_in_camunda_modeler_is_opened_checked_and_deployed_in_the_browser(demo_page, demo_server,
                                                                                                tmp_path):
    """The catalogue's "Open a diagram file": the analyst's Camunda Modeler file opens in bpmn-js, the check marks
    what the import read on its element (camunda:assignee, the form generated from camunda:formData), in Chinese,
    and the deploy makes version 1 of the file's own process."""
    page = demo_page
    errors = _watch_console(page)
    path = tmp_path / "invoice.bpmn"
    path.write_text(CAMUNDA_FILE, encoding="utf-8")
    _sign_in(page, "analyst")
    page.goto("/processes")
    page.locator("#open-process-file").click()
    screenshot(page, "modeler-open-file-zh")
    page.set_input_files("#f-file", str(path))
    page.locator("#open-file button").click()
    expect(page.locator("#canvas[data-drawn=true]")).to_be_visible()
    expect(page.locator(".modeler-head")).to_contain_text("从文件打开：新流程，尚未部署。")
    page.locator("#check-button").click()
    expect(page.locator('#problems li[data-element="approve"][data-severity="warning"]').first).to_be_visible()
    expect(page.locator('#problems li[data-severity="error"]')).to_have_count(0)
    expect(page.locator("#problems")).to_contain_text("camunda:assignee 'analyst'")
    code = page.locator('#problems li[data-element="approve"] .reason span.code[translate=no]')
    expect(code.filter(has_text="camunda:assignee")).to_have_count(1)  # the diagram's own words: code
    problems = check_page(page, "modeler-open-file-checked-zh")  # the words of the findings in Chinese too
    assert problems == [], problems
    page.locator("#deploy-button").click()
    expect(page.locator("#modeler-status")).to_have_text("已部署为版本 1。")
    version, source = _latest(demo_server.app, "invoice_from_camunda")
    assert version == 1 and 'camunda:assignee="analyst"' in source  # the file as drawn, read by the import
    assert not errors, errors
