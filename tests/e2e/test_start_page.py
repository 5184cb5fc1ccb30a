"""The start page in a real browser and in Chinese (issue 17): an operator finds the process in the catalogue,
follows its start event's link to the start form, is told next to the field what is wrong, then starts the
instance and lands on its page, which holds what was filled in. The start page passes the sweep's checks
(axe-core, no raw code in the Chinese page, a phone's width)."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, sign_in
from tests.e2e.test_pages_a11y import check_page

INVOICE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="t">
  <bpmn:process id="invoice_intake" name="发票登记" isExecutable="true">
    <bpmn:startEvent id="received" name="收到发票">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="creditor" label="债权人" type="string">
          <camunda:validation><camunda:constraint name="required"/></camunda:validation></camunda:formField>
        <camunda:formField id="amount" label="金额" type="long">
          <camunda:validation><camunda:constraint name="required"/><camunda:constraint name="min" config="1"/>
          </camunda:validation></camunda:formField>
      </camunda:formData></bpmn:extensionElements>
    </bpmn:startEvent>
    <bpmn:userTask id="approve" name="审批发票" camunda:candidateGroups="operator"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="received" targetRef="approve"/>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_an_operator_starts_an_instance_with_its_start_form_in_chinese(world, new_page):
    from app.engine.parser import DiagramFile
    from app.extensions import db
    from app.services.workflow.deployment import deploy_and_commit

    with world.server.app.app_context():
        deploy_and_commit([DiagramFile("invoice_intake.bpmn", INVOICE.encode())])
        db.session.remove()
    operator = world.user("starter", "PLATFORM", ["operator"])
    page = new_page(locale="zh-CN")
    sign_in(page, operator, next_path="/processes/invoice_intake")
    page.locator("#start-events a.start-instance").click()
    page.wait_for_url("**/processes/invoice_intake/new-instance")
    form = page.locator("#start-form")
    expect(form.locator("[data-field=creditor] label")).to_have_text("债权人 *")
    problems = [p for p in check_page(page, "start-page-zh") if not p.endswith(": Platform")]
    assert problems == [], problems

    form.locator("[data-field=business_key] input").fill(f"INV-{world.suffix}")
    form.locator("[data-field=amount] input").fill("0")
    with page.expect_navigation():
        form.get_by_role("button", name="发起").click()
    expect(form.locator("[data-field=creditor] .field-error")).to_be_visible()
    expect(form.locator("[data-field=amount] .field-error")).to_be_visible()
    expect(form.locator("[data-field=business_key] input")).to_have_value(f"INV-{world.suffix}")  # kept
    screenshot(page, "start-page-refused-zh")

    form.locator("[data-field=creditor] input").fill("上海某食品有限公司")
    form.locator("[data-field=amount] input").fill("3000")
    with page.expect_navigation():
        form.get_by_role("button", name="发起").click()
    assert "/instances/" in page.url
    expect(page.locator("body")).to_contain_text("已发起")
    expect(page.locator("body")).to_contain_text("上海某食品有限公司")
    screenshot(page, "start-page-started-zh")


def test_an_analyst_brings_the_camunda_invoice_with_its_forms_and_tries_it_on_its_start_page(world, new_page):
    """The whole of Camunda's invoice example in the browser: the diagram and its two Camunda Forms files chosen
    together on Deploy files, checked, deployed, then an instance started with its start form."""
    import json

    from tests.integration.test_deploy_files import TASK_FORM, invoice
    from tests.integration.test_start_page import START_FORM

    files = [{"name": "invoiceApproval.bpmn", "mimeType": "application/xml", "buffer": invoice()},
             {"name": "start-form.form", "mimeType": "application/json", "buffer": json.dumps(START_FORM).encode()},
             {"name": "task-form.form", "mimeType": "application/json", "buffer": json.dumps(TASK_FORM).encode()}]
    analyst = world.user("bringer", "PLATFORM", ["analyst"])
    page = new_page(locale="zh-CN")
    sign_in(page, analyst, next_path="/processes")
    page.locator("#deploy-files").click()
    page.wait_for_url("**/processes/deploy-files")
    form = page.locator("form#deploy-files")
    form.locator("input[type=file]").set_input_files(files)
    with page.expect_navigation():
        form.get_by_role("button", name="检查", exact=True).click()
    expect(page.locator("#findings")).to_contain_text("没有错误")
    expect(page.locator("#findings")).to_contain_text("start-form.form")
    problems = [p for p in check_page(page, "deploy-files-checked-zh") if not p.endswith(": Platform")]
    assert problems == [], problems

    with page.expect_navigation():  # the files as they were checked: not chosen again
        page.locator("#deploy-checked").get_by_role("button", name="部署这些文件").click()
    deployed = page.locator("#deployed [data-process=invoiceApproval] a")
    expect(deployed).to_be_visible()
    screenshot(page, "deploy-files-deployed-zh")
    deployed.click()
    page.locator("#start-events a.start-instance").click()
    start = page.locator("#start-form")
    expect(start.locator("[data-field=creditor] label")).to_have_text("债权人 *")
    start.locator("[data-field=creditor] input").fill("Great Pizza for Everyone Inc.")
    start.locator("[data-field=amount] input").fill("30")
    with page.expect_navigation():
        start.get_by_role("button", name="发起").click()
    assert "/instances/" in page.url
    expect(page.locator("body")).to_contain_text("Great Pizza for Everyone Inc.")
