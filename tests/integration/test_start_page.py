"""The start page (issue 17): a person of the platform starts an instance with the form the process's start
event asks, as Camunda's Tasklist does — here Camunda's own invoice example, whose start event names the
Camunda Forms file `start-form.form` by `camunda:formKey`.

Before, that key was said "not read" and dropped: the instance started with any data, over the API only
(`curl` with a token was the way `docs/from-camunda.md` gave), and no page started anything but the
modeler's formless test instance."""
from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Document, ProcessInstance
from app.services.identity import directory as identity
from app.services.workflow import instances
from app.services.workflow.deployment import DiagramFile, check_diagrams, deploy_and_commit
from tests.integration.test_camunda_form_lists import PDF, PNG
from tests.integration.test_disbursement_stage import outside, signed_in_client
from tests.integration.test_identity import set_password
from tests.integration.test_simulators import csrf_of

# camunda-bpm-examples usertask/task-camunda-forms/src/main/webapp/start-form.form, with its Chinese beside
START_FORM = {"components": [
    {"key": "creditor", "label": "Creditor", "label@zh": "债权人", "type": "textfield",
     "validate": {"required": True}},
    {"key": "amount", "label": "Amount", "label@zh": "金额", "type": "textfield",
     "validate": {"required": True, "pattern": "^[0-9]+$"}},
    {"description": "An invoice number in the format: C-123.", "description@zh": "发票号，格式如 C-123。",
     "key": "invoiceNumber", "label": "Invoice Number", "label@zh": "发票号", "type": "textfield",
     "validate": {"pattern": "^C-[0-9]+$"}},
], "type": "default"}
SCAN_FORM = {"type": "object", "title": "Invoice scan", "title@zh": "发票扫描件", "required": ["scan"],
             "properties": {"scan": {"type": "string", "format": "data-url", "title": "Scan", "title@zh": "扫描件",
                                     "accept": ["application/pdf"]}}}


def invoice(start_key: str = "camunda-forms:app:start-form.form", process_id: str = "invoiceApproval") -> DiagramFile:
    content = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="t">
  <bpmn:process id="{process_id}" name="Invoice approval" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" name="Invoice received" camunda:formKey="{start_key}"/>
    <bpmn:userTask id="approve" name="Approve the invoice" camunda:candidateGroups="operator"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="approve"/>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""
    return DiagramFile(f"{process_id}.bpmn", content.encode())


@pytest.fixture
def folder(ctx, tmp_path, monkeypatch):
    from flask import current_app
    monkeypatch.setitem(current_app.config, "FORMS_DIR", str(tmp_path))
    identity.ensure_platform_admin()
    identity.create_user("op", "PLATFORM", ["operator"])
    identity.create_user("ana", "PLATFORM", ["analyst"])
    identity.create_user("aud", "PLATFORM", ["auditor"])
    identity.create_org("TRADER1", ["borrower"], "Trader One")
    identity.create_user("buyer", "TRADER1", ["applicant"])
    db.session.commit()
    (tmp_path / "start-form.form").write_text(json.dumps(START_FORM), encoding="utf-8")
    (tmp_path / "scan.json").write_text(json.dumps(SCAN_FORM), encoding="utf-8")
    return tmp_path


def _browser(app, username: str):
    set_password(app, username)
    browser = outside(lambda: signed_in_client(app, username))

    def get(path: str, language: str = "en"):
        return outside(lambda: browser.get(path, headers={"Accept-Language": language}))

    def post(path: str, data: dict, language: str = "en"):
        def posted():
            response = browser.post(path, data=data, content_type="multipart/form-data",
                                    headers={"Accept-Language": language})
            return response.status_code, response.text, response.headers.get("Location")
        return outside(posted)
    post.browser = browser  # for a request of another kind
    return get, post


def _instances() -> int:
    db.session.rollback()  # read what the served requests committed
    return db.session.scalar(select(func.count()).select_from(ProcessInstance))


def test_a_start_form_key_is_read_as_the_form_the_start_data_is_checked_against(folder):
    said = [p for p in check_diagrams([invoice()]) if p.element_id == "StartEvent_1"]
    assert [(p.severity, "checked against start-form.json, a file of forms/ or one deployed with the diagram" in p.reason) for p in said
            if "camunda:formKey" in p.reason] == [("warning", True)], said
    deploy_and_commit([invoice()])
    form = instances.start_form("invoiceApproval")
    assert form["required"] == ["creditor", "amount"] and form["properties"]["amount"]["pattern"] == "^[0-9]+$"


def test_a_start_form_missing_from_the_folder_is_a_warning_and_the_process_deploys_without_a_start_page(app, folder):
    key = "camunda-forms:app:elsewhere.form"
    said = [p for p in check_diagrams([invoice(key, "noForm")]) if p.element_id == "StartEvent_1"]
    assert [p.severity for p in said if "does not exist in forms/" in p.reason] == ["warning"], said
    assert any("put elsewhere.form there" in p.reason for p in said)
    deploy_and_commit([invoice(key, "noForm")])
    assert instances.start_form("noForm") is None
    get, _post = _browser(app, "op")
    assert 'class="start-instance"' not in get("/processes/noForm").text
    assert get("/processes/noForm/new-instance").status_code == 404


def test_an_operator_starts_the_invoice_on_its_start_page_in_chinese_and_wrong_data_starts_nothing(app, folder):
    deploy_and_commit([invoice()])
    get, post = _browser(app, "op")
    catalogue = get("/processes/invoiceApproval", "zh").text
    assert 'href="/processes/invoiceApproval/new-instance"' in catalogue and "用启动表单发起实例" in catalogue
    listed = get("/processes", "zh").text  # the list says which processes have a start page
    assert listed.count('class="start-instance"') == 1
    assert 'class="start-instance" href="/processes/invoiceApproval/new-instance">发起实例</a>' in listed

    page = get("/processes/invoiceApproval/new-instance", "zh").text
    assert "发起实例" in page and "债权人 *" in page and "金额 *" in page and "发票号，格式如 C-123。" in page
    assert "Creditor" not in page

    path = "/processes/invoiceApproval/new-instance"
    status, refused, _where = post(path, {"csrf_token": csrf_of(page), "business_key": "INV-1", "creditor": "",
                                          "amount": "thirty", "invoiceNumber": "C-1"}, "zh")
    assert status == 422, refused
    assert refused.count('class="field has-error"') == 2 and 'value="thirty"' in refused  # kept, to correct
    assert _instances() == 0

    too_long = post(path, {"csrf_token": csrf_of(page), "business_key": "K" * 129, "creditor": "Great Pizza",
                           "amount": "30"}, "en")
    assert too_long[0] == 422 and "At most 128 characters." in too_long[1]
    assert _instances() == 0

    status, _body, where = post(path, {"csrf_token": csrf_of(page), "business_key": "INV-1",
                                       "creditor": "Great Pizza", "amount": "30", "invoiceNumber": "C-1"}, "zh")
    assert status == 302 and where.startswith("/instances/"), _body
    db.session.rollback()
    (instance,) = db.session.scalars(select(ProcessInstance)).all()
    assert where == f"/instances/{instance.id}"
    assert (instance.business_key, instance.status) == ("INV-1", "waiting")
    assert {k: instance.data[k] for k in ("creditor", "amount", "invoiceNumber")} == {
        "creditor": "Great Pizza", "amount": "30", "invoiceNumber": "C-1"}
    assert "已发起" in get(where, "zh").text  # the flash, in the reader's language


def test_a_file_in_the_start_form_is_kept_as_a_document_of_the_new_instance(app, folder):
    deploy_and_commit([invoice("scan.json", "scanned")])
    get, post = _browser(app, "admin")
    page = get("/processes/scanned/new-instance").text
    assert 'type="file" name="scan"' in page
    path = "/processes/scanned/new-instance"
    wrong = post(path, {"csrf_token": csrf_of(page), "scan": (io.BytesIO(PNG), "photo.png")})
    assert wrong[0] == 422 and "PNG is not accepted here" in wrong[1]
    assert _instances() == 0 and db.session.scalar(select(func.count()).select_from(Document)) == 0

    status, _body, where = post(path, {"csrf_token": csrf_of(page), "scan": (io.BytesIO(PDF), "invoice.pdf")})
    assert status == 302, _body
    db.session.rollback()
    (instance,) = db.session.scalars(select(ProcessInstance)).all()
    (document,) = db.session.scalars(select(Document)).all()
    assert (document.instance_id, document.task_id, document.filename) == (instance.id, None, "invoice.pdf")
    assert instance.data["scan"] == f"document:{document.id}"


@pytest.mark.parametrize("username", ["aud", "buyer"])
def test_who_may_not_start_instances_gets_no_link_and_a_refusal(app, folder, username):
    deploy_and_commit([invoice()])
    get, post = _browser(app, username)
    catalogue = get("/processes/invoiceApproval").text
    assert 'class="start-instance"' not in catalogue
    assert 'class="start-instance"' not in get("/processes").text
    assert get("/processes/invoiceApproval/new-instance").status_code == 403
    refused = post("/processes/invoiceApproval/new-instance", {"csrf_token": csrf_of(catalogue), "creditor": "X",
                                                               "amount": "1"})
    assert refused[0] == 403
    assert _instances() == 0


def test_an_analyst_tries_the_process_on_its_start_page_from_the_modeler(app, folder):
    """The modeler's test instance starts with no data: a process with a start form refused it, and the analyst
    (who may try what they deploy, but starts no real deal) had no way to give the data."""
    deploy_and_commit([invoice()])
    get, post = _browser(app, "ana")
    modeler = get("/processes/invoiceApproval/edit").text
    assert 'id="start-with-form"' in modeler and 'href="/processes/invoiceApproval/new-instance"' in modeler
    refused = outside(lambda: post.browser.post(
        "/processes/invoiceApproval/start", json={"business_key": "TRY-1"},
        headers={"X-CSRFToken": csrf_of(modeler)}))
    assert refused.status_code == 422 and "发起页面" in refused.json["error"]["message"], refused.json  # no language asked: Chinese
    page = get("/processes/invoiceApproval/new-instance").text
    status, _body, where = post("/processes/invoiceApproval/new-instance", {
        "csrf_token": csrf_of(page), "business_key": "TRY-1", "creditor": "Great Pizza", "amount": "30"})
    assert status == 302 and where.startswith("/instances/"), _body
    assert _instances() == 1


def test_a_process_that_does_not_exist_has_no_start_page(app, folder):
    get, _post = _browser(app, "op")
    assert get("/processes/nothing_here/new-instance").status_code == 404


NATIVE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="t">
  <bpmn:process id="terms_intake" name="Terms intake" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="formJsonSchemaFilename" value="terms-schema.json"/>
      <spiffworkflow:property name="formUiSchemaFilename" value="terms-uischema.json"/>
    </spiffworkflow:properties></bpmn:extensionElements></bpmn:startEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_a_start_form_of_loanflows_own_shows_its_fields_with_the_widgets_its_ui_schema_names(app, folder):
    """A start event names its form and UI schema as a user task does: the amount is a money field, read as
    the amount the person typed (grouping and all), not as text."""
    from tests.conftest import FIXTURES

    for name in ("terms-schema.json", "terms-uischema.json"):
        (folder / name).write_bytes((FIXTURES / "forms" / name).read_bytes())
    deploy_and_commit([DiagramFile("terms_intake.bpmn", NATIVE.encode())])
    get, post = _browser(app, "op")
    page = get("/processes/terms_intake/new-instance").text
    assert '<span class="ccy">¥</span><input id="f-agreed_amount"' in page  # the UI schema's money widget
    status, _body, where = post("/processes/terms_intake/new-instance", {
        "csrf_token": csrf_of(page), "agreed_amount": "1,234,567.80"})
    assert status == 302, _body
    db.session.rollback()
    (instance,) = db.session.scalars(select(ProcessInstance)).all()
    assert instance.data["agreed_amount"] == "1234567.80"
