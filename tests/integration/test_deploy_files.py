"""Deploy files (issue 17): an analyst brings a Camunda project — its diagram and the Camunda Forms files it
names — through the console's page or the API, checked together and deployed in one step.

Before, a form reached the platform only through the server's forms folder (an admin copying files) or by
drawing it again in the form editor: the console opened one BPMN file, and the API took one `.bpmn` or
`.dmn` and refused a `.form` ("only .bpmn and .dmn files ... can be deployed")."""
from __future__ import annotations

import html
import io
import json
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import FormVersion, ProcessVersion
from app.services.identity import directory as identity
from app.services.workflow import file_sets, instances
from tests.integration.test_disbursement_stage import outside, signed_in_client
from tests.integration.test_identity import set_password
from tests.integration.test_simulators import csrf_of
from tests.integration.test_start_page import START_FORM
from tests.integration.test_start_page import _browser as signed_in

TASK_FORM = {"id": "invoice-review", "type": "default", "components": [
    {"key": "approved", "label": "Approved?", "label@zh": "是否批准？", "type": "checkbox"},
    {"key": "comment", "label": "Comment", "label@zh": "意见", "type": "textarea"},
]}


def invoice(task_key: str = 'camunda:formKey="camunda-forms:app:task-form.form"') -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="t">
  <bpmn:process id="invoiceApproval" name="Invoice approval" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1" name="Invoice received" camunda:formKey="camunda-forms:app:start-form.form"/>
    <bpmn:userTask id="approve" name="Approve the invoice" camunda:candidateGroups="operator" {task_key}/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="StartEvent_1" targetRef="approve"/>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


def _project(**changed: bytes) -> dict[str, bytes]:
    files = {"invoiceApproval.bpmn": invoice(), "start-form.form": json.dumps(START_FORM).encode(),
             "task-form.form": json.dumps(TASK_FORM).encode()}
    return {name: content for name, content in (files | changed).items() if content}


@pytest.fixture
def people(ctx, tmp_path, monkeypatch):
    from flask import current_app
    monkeypatch.setitem(current_app.config, "FORMS_DIR", str(tmp_path))  # an empty forms folder
    identity.ensure_platform_admin()
    identity.create_user("ana", "PLATFORM", ["analyst"])
    identity.create_user("aud", "PLATFORM", ["auditor"])
    db.session.commit()
    return ctx


def _browser(app, username: str):
    """The page's reader and a sender of a set of files, for `username` signed in (`test_start_page._browser`)."""
    get, post = signed_in(app, username)

    def page(language: str = "en") -> str:
        return get("/processes/deploy-files", language).text

    def send(files: dict[str, bytes], action: str, language: str = "en") -> tuple[int, str]:
        status, text, _where = post("/processes/deploy-files", {
            "csrf_token": csrf_of(page(language)), "action": action,
            "files": [(io.BytesIO(content), name) for name, content in files.items()]}, language)
        return status, text
    send.browser = post.browser  # for a posting of another kind
    return page, send


def _versions() -> int:
    db.session.rollback()  # read what the served requests committed
    return db.session.scalar(select(func.count()).select_from(ProcessVersion))


def test_an_analyst_checks_then_deploys_a_camunda_project_with_its_forms_in_chinese(app, people):
    page, send = _browser(app, "ana")
    assert 'id="deploy-files"' in outside(lambda: signed_in_client(app, "ana").get("/processes").text)
    status, checked = send(_project(), "check", "zh")
    assert status == 200, checked
    assert "没有错误" in checked and "task-form.form" in checked and 'data-severity="error"' not in checked
    assert 'data-severity="warning"' in checked and '<span class="code" translate="no">camunda:formKey</span>' in checked
    assert _versions() == 0  # a check deploys nothing
    assert re.search(r'<p class="hint" id="from-modeler">在 <span translate="no">Camunda Modeler</span> 中绘图？.*'
                     r'<a href="/account/tokens">API 令牌</a>', checked)  # Deploy from the Modeler itself

    kept = re.findall(r'name="kept" value="([^"]+)"', checked)  # the checked files, carried to the deploy
    assert len(kept) == 3 and 'id="deploy-checked"' in checked

    def deploy_kept(values: list[str]) -> tuple[int, str]:
        response = send.browser.post("/processes/deploy-files", headers={"Accept-Language": "zh"}, data={
            "csrf_token": csrf_of(checked), "action": "deploy", "kept": values})
        return response.status_code, response.text
    tampered = outside(lambda: deploy_kept(["not base64", '["a.bpmn", "%%%"]']))
    assert tampered[0] == 422 and "请至少选择一个文件。" in tampered[1]  # nothing readable: nothing deployed
    assert _versions() == 0
    status, deployed = outside(lambda: deploy_kept([html.unescape(k) for k in kept]))
    assert status == 200, deployed
    assert 'data-process="invoiceApproval"' in deployed and "版本 1" in deployed
    assert _versions() == 1
    assert {f.filename for f in db.session.scalars(select(FormVersion))} >= {"start-form.json", "task-form.json",
                                                                            "invoice-review.json"}
    assert instances.start_form("invoiceApproval")["required"] == ["creditor", "amount"]


def test_a_project_missing_a_form_or_holding_a_broken_one_deploys_nothing_and_says_which(app, people, monkeypatch):
    from app.services.workflow import deployment

    checks = []
    check = deployment._check
    monkeypatch.setattr(deployment, "_check", lambda *args, **kwargs: checks.append(1) or check(*args, **kwargs))
    _page, send = _browser(app, "ana")
    status, refused = send(_project(**{"task-form.form": b""}), "deploy")
    assert status == 422 and "put task-form.form there" in refused and 'data-severity="error"' in refused, refused
    assert len(checks) == 1  # the refused deploy's findings are its own check's: the set is not checked again
    status, broken = send(_project(**{"task-form.form": b"{not json"}), "deploy")
    assert status == 422 and "task-form.form" in broken
    assert _versions() == 0 and db.session.scalar(select(func.count()).select_from(FormVersion)) == 0


@pytest.mark.parametrize(("files", "said"), [
    ({"notes.txt": b"hello"}, "notes.txt is neither a diagram"),
    ({}, "Choose at least one file."),
])
def test_files_of_another_kind_or_none_are_refused_next_to_the_field(app, people, files, said):
    _page, send = _browser(app, "ana")
    status, refused = send(files | ({"invoiceApproval.bpmn": invoice()} if files else {}), "deploy")
    assert status == 422 and said in refused and 'id="f-files-error"' in refused
    assert _versions() == 0


def test_a_camunda_8_form_is_found_by_the_id_it_holds_whatever_its_file_is_called(app, people):
    zeebe = invoice("").replace(
        b'<bpmn:userTask id="approve" name="Approve the invoice" camunda:candidateGroups="operator" />',
        b'<bpmn:userTask id="approve" name="Approve the invoice" camunda:candidateGroups="operator">'
        b'<bpmn:extensionElements><zeebe:formDefinition formId="invoice-review"/></bpmn:extensionElements>'
        b'</bpmn:userTask>').replace(b'xmlns:camunda=', b'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
                                                        b'xmlns:camunda=')
    _page, send = _browser(app, "ana")
    status, deployed = send({"invoiceApproval.bpmn": zeebe, "start-form.form": json.dumps(START_FORM).encode(),
                             "review.form": json.dumps(TASK_FORM).encode()}, "deploy")
    assert status == 200 and 'data-process="invoiceApproval"' in deployed, deployed


def test_the_api_takes_several_files_and_refuses_a_wrong_one_at_its_field(client, app, people):
    with app.app_context():
        token = identity.issue_token("ana")
    auth = {"Authorization": f"Bearer {token}"}

    def upload(files: dict[str, bytes]):
        return client.post("/api/v1/process-definitions", headers=auth, content_type="multipart/form-data",
                           data={"file": [(io.BytesIO(content), name) for name, content in files.items()]})
    refused = upload(_project(**{"notes.txt": b"x"}))
    assert refused.status_code == 422 and "notes.txt" in refused.json["error"]["fields"]["file"][0]
    missing = upload(_project(**{"start-form.form": b"", "task-form.form": b""}))
    assert missing.status_code == 422 and "invoiceApproval.bpmn" in missing.json["error"]["fields"]
    made = upload(_project())
    assert made.status_code == 201, made.json
    assert [(p["process_id"], p["version"], p["status"]) for p in made.json["processes"]] == [
        ("invoiceApproval", 1, "new")]
    forms_only = upload({"task-form.form": json.dumps(TASK_FORM | {"components": TASK_FORM["components"][:1]}).encode()})
    assert forms_only.status_code == 201, forms_only.json
    assert [(p["process_id"], p["version"]) for p in forms_only.json["processes"]] == [("invoiceApproval", 2)]


@pytest.mark.parametrize("username", ["aud"])
def test_who_may_not_deploy_gets_no_link_and_a_refusal(app, people, username):
    set_password(app, username)
    browser = outside(lambda: signed_in_client(app, username))
    catalogue = outside(lambda: browser.get("/processes").text)
    assert 'id="deploy-files"' not in catalogue
    assert outside(lambda: browser.get("/processes/deploy-files").status_code) == 403
    refused = outside(lambda: browser.post("/processes/deploy-files", content_type="multipart/form-data", data={
        "csrf_token": csrf_of(catalogue), "action": "deploy",
        "files": [(io.BytesIO(invoice()), "invoiceApproval.bpmn")]}).status_code)
    assert refused == 403 and _versions() == 0


def test_camundas_own_invoice_example_deploys_as_its_project_holds_it(people):
    """From the corpus, as its repository holds it: the diagram and the two Camunda Forms files beside its webapp,
    deployed in one step; its start form checks the data an instance starts with."""
    from tests.integration.test_corpus import CORPUS, require_corpus

    require_corpus()
    base = CORPUS / "camunda-bpm-examples" / "usertask" / "task-camunda-forms" / "src" / "main"
    files = [(path.name, path.read_bytes()) for path in (
        base / "resources" / "invoiceApproval.bpmn", base / "webapp" / "start-form.form", base / "webapp" / "task-form.form")]
    analyst = identity.principal_for("ana")
    assert [p.reason for p in file_sets.check(analyst, files) if p.severity == "error"] == []
    [deployed] = file_sets.deploy(analyst, files)
    assert (deployed.process_id, deployed.version, deployed.status) == ("camundaFormsQuickstart", 1, "new")
    assert instances.start_form("camundaFormsQuickstart")["required"] == ["creditor", "amount"]


def test_one_submission_says_everything_wrong_with_the_set(app, people):
    """A file of another kind beside a broken diagram: the field refuses the one and the check says what is wrong with
    the other, in one answer (the diagram's error appeared only once notes.txt was taken out)."""
    _page, send = _browser(app, "ana")
    status, said = send({"notes.txt": b"hello", "broken.bpmn": b"<bpmn:definitions"}, "check", "zh")
    assert status == 422 and "notes.txt" in said and 'id="f-files-error"' in said
    assert 'id="findings"' in said and 'data-severity="error"' in said and "broken.bpmn" in said, said
    assert 'id="deploy-checked"' not in said and _versions() == 0
