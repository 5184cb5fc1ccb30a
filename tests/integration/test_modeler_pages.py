"""The analyst's modeler (issue 16): `/processes/<id>/edit` opens the newest version's file, `/processes/new`
a minimal diagram; `/check` runs the deploy's strict check and ties each problem to its element (a
condition's problem to its sequence flow), in the reader's language; `/deploy` refuses what the check
refuses and changes nothing, else makes version N+1 from the previous version's file name; `/start`
starts a test instance on the newest version. For `definitions.deploy` (analyst, platform admin) only."""
from __future__ import annotations

import html
import io
import json
import re

import pytest
from sqlalchemy import func, select

from app.engine.said import said
from app.extensions import db
from app.models import Deployment, ProcessInstance, ProcessVersion
from app.services.identity import directory as identity
from app.services.workflow.deployment import DiagramFile, deploy_and_commit
from app.services.workflow.diagram_reasons import in_language
from tests.integration.test_identity import set_password, sign_in

EN, ZH = {"Accept-Language": "en"}, {"Accept-Language": "zh-CN"}


def _diagram(condition: str = "decision == 'approve'", operator: str | None = None, process_id: str = "mod_review",
             task_name: str = "Review") -> bytes:
    service = "" if operator is None else f"""
    <bpmn:serviceTask id="call" name="Call">
      <bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="name@zh" value="调用"/>
        </spiffworkflow:properties><spiffworkflow:serviceTaskOperator id="{operator}" resultVariable="r"/>
      </bpmn:extensionElements>
      <bpmn:incoming>f_yes</bpmn:incoming><bpmn:outgoing>f_called</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f_called" sourceRef="call" targetRef="approve"/>"""
    yes_target = "approve" if operator is None else "call"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs_mod" targetNamespace="http://loanflow.local/bpmn">
  <bpmn:process id="{process_id}" name="Modeler review" isExecutable="true">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="name@zh" value="建模审核"/></spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" name="{task_name}">
      <bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="name@zh" value="审核"/>
        <spiffworkflow:property name="formJsonSchemaFilename" value="review-schema.json"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="gw" name="Approved?" default="f_no">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f_yes</bpmn:outgoing><bpmn:outgoing>f_no</bpmn:outgoing>
    </bpmn:exclusiveGateway>{service}
    <bpmn:scriptTask id="approve" name="Approve"><bpmn:incoming>{'f_yes' if operator is None else 'f_called'}</bpmn:incoming>
      <bpmn:outgoing>f_end</bpmn:outgoing><bpmn:script>approved = True</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f_end</bpmn:incoming><bpmn:incoming>f_no</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="review"/>
    <bpmn:sequenceFlow id="f1" sourceRef="review" targetRef="gw"/>
    <bpmn:sequenceFlow id="f_yes" sourceRef="gw" targetRef="{yes_target}">
      <bpmn:conditionExpression>{html.escape(condition)}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_no" sourceRef="gw" targetRef="end"/>
    <bpmn:sequenceFlow id="f_end" sourceRef="approve" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


@pytest.fixture
def modeler_world(app, admin_token):
    """mod_review v1 deployed from `mod_review_file.bpmn` by the command line; an analyst, an auditor and a
    borrower's applicant with passwords."""
    with app.app_context():
        identity.create_org("TRADER", ["borrower"], "Trader Co")
        identity.create_user("ana", "PLATFORM", ["analyst"], display_name="郑分析")
        identity.create_user("audi", "PLATFORM", ["auditor"])
        identity.create_user("appl", "TRADER", ["applicant"])
        deploy_and_commit([DiagramFile("mod_review_file.bpmn", _diagram())])
        db.session.remove()
    for user in ("ana", "audi", "appl"):
        set_password(app, user)


def _csrf(client, headers=EN) -> str:
    page = client.get("/processes/mod_review/edit", headers=headers)
    assert page.status_code == 200, page.status_code
    return re.search(r'data-csrf="([^"]+)"', page.text).group(1)


def _post(client, token: str, what: str, body: bytes, headers=EN, process_id: str = "mod_review"):
    return client.post(f"/processes/{process_id}/{what}", data=body,
                       headers={**headers, "Content-Type": "application/xml", "X-CSRFToken": token})


def _versions(app, process_id: str = "mod_review") -> list[tuple[int, str, int | None]]:
    with app.app_context():
        rows = db.session.execute(
            select(ProcessVersion.version, Deployment.filename, Deployment.deployed_by_id)
            .join(Deployment, Deployment.id == ProcessVersion.deployment_id)
            .where(ProcessVersion.process_id == process_id).order_by(ProcessVersion.version)).all()
        db.session.remove()
    return [tuple(r) for r in rows]


@pytest.mark.parametrize(("headers", "words", "panel"), [
    (EN, ("Save and check", "Deploy as the next version", "Editing a copy of version 1", "Start a test instance",
          "Properties"), "Four eyes: not by whoever completed this task"),
    (ZH, ("保存并检查", "部署为下一版本", "正在编辑版本 1 的副本", "启动测试实例", "属性"), "四眼原则：不得由完成该任务的人办理")])
def test_the_edit_page_opens_the_newest_version_in_the_readers_language(client, modeler_world, headers, words,
                                                                       panel):
    sign_in(client, "ana")
    page = client.get("/processes/mod_review/edit", headers=headers)
    assert page.status_code == 200
    for word in words:
        assert word in page.text, word
    source = html.unescape(re.search(r'<textarea id="diagram-source"[^>]*>(.*?)</textarea>', page.text, re.S).group(1))
    assert source.encode() == _diagram()  # the file as deployed
    found = re.search(r'<div id="modeler-options" hidden data-options="([^"]*)">', page.text)
    options = json.loads(html.unescape(found.group(1)))
    assert options["text"]["four_eyes"] == panel  # the properties panel's labels, in the reader's language
    assert "review-schema.json" in options["options"]["forms"]
    assert options["options"]["ui_forms"] == ["review-uischema.json", "terms-uischema.json"]
    assert {"value": "mod_review", "label": "Modeler review" if headers is EN else "建模审核", "lang": None,
            "code": False} in \
        options["options"]["processes"]  # a deployed process a call activity may choose, by its name
    assert "origination.stage" in options["options"]["operators"]
    assert 'src="/static/vendor/bpmn-js/bpmn-modeler.production.min.js"' in page.text
    catalogue = client.get("/processes/mod_review", headers=headers)
    assert 'id="edit-process" href="/processes/mod_review/edit"' in catalogue.text


def test_the_check_ties_each_problem_to_its_element_in_the_readers_language(client, modeler_world):
    sign_in(client, "ana")
    token = _csrf(client)
    broken = _diagram(condition="decision == ", operator="nobody.here")
    answer = _post(client, token, "check", broken)
    assert answer.status_code == 200
    problems = answer.json["problems"]
    by_element = {p["element_id"]: p for p in problems if p["severity"] == "error"}
    # the condition's problem marks its sequence flow (the check names it gateway->target)
    assert by_element["f_yes"]["reason"].startswith("condition does not compile: ")
    assert by_element["call"]["reason"] == "service operator 'nobody.here' is not registered in handlers/"
    assert problems[0]["severity"] == "error"  # errors first
    zh = _post(client, token, "check", broken, headers=ZH).json["problems"]
    zh_by_element = {p["element_id"]: p["reason"] for p in zh if p["severity"] == "error"}
    assert zh_by_element["f_yes"].startswith("条件无法编译：")
    assert zh_by_element["call"] == "服务操作 'nobody.here' 未在 handlers/ 中注册"
    fine = _post(client, token, "check", _diagram()).json["problems"]
    assert fine and {p["severity"] for p in fine} == {"warning"}  # the fixture form lacks its labels in Chinese
    # the XML does not read: one problem for the whole diagram
    unreadable = _post(client, token, "check", b"<bpmn:definitions").json["problems"]
    assert unreadable and unreadable[0]["element_id"] is None and unreadable[0]["severity"] == "error"


def test_deploy_refuses_what_the_check_refuses_and_changes_nothing(client, app, modeler_world):
    sign_in(client, "ana")
    token = _csrf(client)
    before = _versions(app)
    two = _diagram().replace(b"</bpmn:definitions>", b'<bpmn:process id="stowaway" isExecutable="true">'
                             b'<bpmn:startEvent id="s2"/></bpmn:process></bpmn:definitions>')
    for body in (_diagram(condition="decision == "), _diagram(operator="nobody.here"), b"not xml",
                 _diagram(process_id="someone_else"), two):
        answer = _post(client, token, "deploy", body)
        assert answer.status_code == 422, body[:40]
        assert answer.json["deployed"] is False and any(p["severity"] == "error" for p in answer.json["problems"])
    assert _versions(app) == before
    assert _versions(app, "someone_else") == [] and _versions(app, "stowaway") == []
    mismatch = _post(client, token, "check", _diagram(process_id="someone_else"), headers=ZH).json["problems"][0]
    assert mismatch["element_id"] is None and "someone_else" in mismatch["reason"] and "mod_review" in mismatch["reason"]


def test_deploying_a_valid_change_makes_the_next_version_from_the_same_file(client, app, modeler_world):
    sign_in(client, "ana")
    token = _csrf(client)
    answer = _post(client, token, "deploy", _diagram(task_name="Review the deal"), headers=ZH)
    assert answer.status_code == 200
    assert (answer.json["deployed"], answer.json["version"], answer.json["status"]) == (True, 2, "new")
    assert answer.json["url"] == "/processes/mod_review?version=2" and answer.json["message"] == "已部署为版本 2。"
    with app.app_context():
        analyst = identity.principal_for("ana").id
        db.session.remove()
    assert _versions(app) == [(1, "mod_review_file.bpmn", None), (2, "mod_review_file.bpmn", analyst)]
    same = _post(client, token, "deploy", _diagram(task_name="Review the deal"))
    assert (same.json["version"], same.json["status"]) == (2, "unchanged")
    assert "Nothing changed" in same.json["message"]
    page = client.get("/processes/mod_review/edit", headers=EN)
    assert "Editing a copy of version 2" in page.text and "Review the deal" in page.text


def test_a_test_instance_starts_on_the_newest_version_under_the_typed_key(client, app, modeler_world):
    sign_in(client, "ana")
    token = _csrf(client)
    _post(client, token, "deploy", _diagram(task_name="Review the deal"))
    answer = client.post("/processes/mod_review/start", json={"business_key": "TRY-1"},
                         headers={**EN, "X-CSRFToken": token})
    assert answer.status_code == 201, answer.text
    assert (answer.json["version"], answer.json["status"]) == (2, "waiting")
    assert answer.json["message"] == f"Test instance {answer.json['instance_id']} started on version 2: waiting."
    # a link to the instance it started (the message named it alone)
    assert answer.json["url"] == f"/instances/{answer.json['instance_id']}"
    assert answer.json["link"] == f"Open instance {answer.json['instance_id']}"
    with app.app_context():
        row = db.session.get(ProcessInstance, answer.json["instance_id"])
        assert (row.version, row.business_key, row.started_by_id) == (2, "TRY-1", identity.principal_for("ana").id)
        db.session.remove()
    empty = client.post("/processes/mod_review/start", json={"business_key": "  "}, headers={**ZH, "X-CSRFToken": token})
    assert empty.status_code == 422 and empty.json["error"]["message"] == "请为测试实例输入业务编号。"
    unknown = client.post("/processes/nothing_here/start", json={"business_key": "K"}, headers={**EN, "X-CSRFToken": token})
    assert unknown.status_code == 404


@pytest.mark.parametrize("headers", [EN, ZH])
def test_a_new_process_starts_from_a_minimal_diagram_that_deploys_as_version_1(client, app, modeler_world, headers):
    sign_in(client, "ana")
    form = client.get("/processes/new", headers=headers)
    assert form.status_code == 200 and 'name="process_id"' in form.text
    taken = client.get("/processes/new", query_string={"process_id": "mod_review", "name_en": "A", "name_zh": "甲"},
                       headers=headers)
    assert taken.status_code == 422 and 'aria-invalid="true"' in taken.text
    bad = client.get("/processes/new", query_string={"process_id": "9 bad", "name_en": "", "name_zh": "甲"},
                     headers=headers)
    assert bad.status_code == 422 and bad.text.count('class="field-error"') == 2
    page = client.get("/processes/new", query_string={"process_id": "mod_fresh", "name_en": "Fresh & new",
                                                      "name_zh": "新流程"}, headers=headers)
    assert page.status_code == 200
    source = html.unescape(re.search(r'<textarea id="diagram-source"[^>]*>(.*?)</textarea>', page.text, re.S).group(1))
    assert 'name="Fresh &amp; new"' in source and 'value="新流程"' in source
    assert 'hidden>' in page.text.split('id="test-instance"')[1][:40]  # nothing to start before a deploy
    token = re.search(r'data-csrf="([^"]+)"', page.text).group(1)
    assert _post(client, token, "check", source.encode(), process_id="mod_fresh").json["problems"] == []
    deployed = _post(client, token, "deploy", source.encode(), process_id="mod_fresh")
    assert deployed.json["version"] == 1 and _versions(app, "mod_fresh")[0][1] == "mod_fresh.bpmn"


@pytest.mark.parametrize("user", ["audi", "appl"])
def test_only_those_who_may_deploy_reach_the_modeler(client, app, modeler_world, user):
    sign_in(client, "ana")
    token = _csrf(client)
    client.get("/logout")
    sign_in(client, user)
    assert client.get("/processes/mod_review/edit").status_code == 403
    assert client.get("/processes/new").status_code == 403
    assert client.get("/processes/new", query_string={"process_id": "x", "name_en": "X", "name_zh": "甲"}).status_code == 403
    page = client.get("/processes/mod_review")
    assert 'id="edit-process"' not in page.text
    own = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text)
    token = own.group(1) if own else token
    for what in ("check", "deploy"):
        assert _post(client, token, what, _diagram(task_name="Hijacked")).status_code == 403
    assert client.post("/processes/mod_review/start", json={"business_key": "K"},
                       headers={"X-CSRFToken": token}).status_code == 403
    assert len(_versions(app)) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 0
        db.session.remove()


def test_an_unknown_process_or_a_decision_has_no_modeler_page(client, modeler_world):
    sign_in(client, "ana")
    assert client.get("/processes/nothing_here/edit").status_code == 404


def test_the_checks_own_sentences_are_read_in_the_readers_language(app):
    with app.test_request_context(headers=ZH):
        assert in_language(said("form file %(form)r does not exist in forms/", form="x.json")) == \
            "表单文件 'x.json' 在 forms/ 中不存在"
        assert in_language("something SpiffWorkflow said") == "something SpiffWorkflow said"


def _camunda_file(process_id: str = "invoice_quick", extra_process: str = "") -> bytes:
    """A diagram as Camunda Modeler saves it: camunda:assignee and camunda:formData, no Loanflow property."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="t"
                  exporter="Camunda Modeler" exporterVersion="5.31.0">
  <bpmn:process id="{process_id}" name="Invoice approval" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="approve" name="Approve the invoice" camunda:assignee="ana">
      <bpmn:extensionElements><camunda:formData>
        <camunda:formField id="approved" label="Approved?" type="boolean"/>
      </camunda:formData></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
    <bpmn:sequenceFlow id="f2" sourceRef="approve" targetRef="end"/>
  </bpmn:process>{extra_process}
</bpmn:definitions>""".encode()


def _open(client, content: bytes, filename: str = "invoice.bpmn", headers=EN):
    form = client.get("/processes/new", headers=headers)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    return client.post("/processes/open", data={"csrf_token": token, "file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data", headers=headers)


@pytest.mark.parametrize(("headers", "opened"), [(EN, "Opened from a file: a new process, not deployed yet."),
                                                 (ZH, "从文件打开：新流程，尚未部署。")])
def test_a_diagram_file_drawn_in_camunda_modeler_opens_in_the_modeler_is_checked_and_deploys(
        client, app, modeler_world, headers, opened):
    """An analyst had no way in the browser to bring a diagram drawn in Camunda Modeler: the modeler opened only
    deployed versions and a new, empty process. The file opens as the process it holds, the check says what the
    import reads, the deploy makes version 1 of it — and a file opened again becomes version 2."""
    sign_in(client, "ana")
    assert 'id="open-process-file"' in client.get("/processes", headers=headers).text
    page = _open(client, _camunda_file(), headers=headers)
    assert page.status_code == 200 and opened in page.text and ">invoice.bpmn</span>" in page.text
    source = html.unescape(re.search(r'<textarea id="diagram-source"[^>]*>(.*?)</textarea>', page.text, re.S).group(1))
    assert source.encode() == _camunda_file()  # as the analyst's tool saved it
    token = re.search(r'data-csrf="([^"]+)"', page.text).group(1)
    problems = _post(client, token, "check", source.encode(), headers, process_id="invoice_quick").json["problems"]
    assert [p["severity"] for p in problems if p["element_id"] == "approve" and "camunda:assignee" in p["reason"]] \
        == ["warning"] and not [p for p in problems if p["severity"] == "error"]
    assert _post(client, token, "deploy", source.encode(), headers, process_id="invoice_quick").json["version"] == 1
    again = _open(client, _camunda_file().replace(b"Approve the invoice", b"Approve it"), headers=headers)
    assert again.status_code == 200 and ("deploying makes version 2" in again.text or "部署后成为版本 2" in again.text)


@pytest.mark.parametrize(("content", "filename", "said"), [
    (_camunda_file(extra_process='<bpmn:process id="other" isExecutable="true"/>'), "two.bpmn",
     "The file holds 2 processes (invoice_quick, other)"),
    (_camunda_file("invoice-quick"), "dashed.bpmn", "The process id &#39;invoice-quick&#39; is not one the console edits"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>', "bomb.bpmn", "DOCTYPE and ENTITY declarations"),
    (b"%PDF-1.4 not a diagram", "scan.pdf", "malformed XML: Start tag expected"),
    (b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="n"/>', "d.dmn",
     "The file holds no process"),
])
def test_a_file_the_modeler_cannot_open_is_refused_next_to_the_field_and_nothing_is_written(
        client, app, modeler_world, content, filename, said):
    sign_in(client, "ana")
    answer = _open(client, content, filename)
    assert answer.status_code == 422 and said in answer.text and 'id="f-file-error"' in answer.text
    assert [v for v in _versions(app, "invoice_quick")] == [] and len(_versions(app)) == 1


@pytest.mark.parametrize("user", ["audi", "appl"])
def test_only_those_who_may_deploy_open_a_file(client, app, modeler_world, user):
    sign_in(client, user)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)
    answer = client.post("/processes/open", data={"csrf_token": token, "file": (io.BytesIO(_camunda_file()), "i.bpmn")},
                         content_type="multipart/form-data")
    assert answer.status_code == 403 and "diagram-source" not in answer.text
    assert client.post("/processes/open", data={"csrf_token": token}).status_code == 403  # asked before the file


def test_no_file_chosen_is_said_next_to_the_field(client, modeler_world):
    sign_in(client, "ana")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/processes/new").text).group(1)
    answer = client.post("/processes/open", data={"csrf_token": token}, headers=ZH)
    assert answer.status_code == 422 and "请选择流程图文件（.bpmn）。" in answer.text


def _drawn(shapes: list[tuple[str, int]]) -> bytes:
    """`_diagram()` with a drawing: a shape for each (element, x), in that order."""
    di = "".join(f'<bpmndi:BPMNShape id="{e}_di" bpmnElement="{e}"><dc:Bounds x="{x}" y="80" width="100" height="80"/>'
                 "</bpmndi:BPMNShape>" for e, x in shapes)
    return _diagram().replace(b"</bpmn:definitions>", (
        '<bpmndi:BPMNDiagram id="d1" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
        'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"><bpmndi:BPMNPlane id="p1" bpmnElement="mod_review">'
        f"{di}</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>").encode())


def test_an_unchanged_diagram_the_modeler_writes_back_in_its_own_layout_stays_the_version_it_is(client, app,
                                                                                                modeler_world):
    """bpmn-js writes what it opened in its own layout: indented, ` />`, comments gone, its shapes in the order it
    drew them. Deployed as it was, that made a version the diff said was the same as the last."""
    sign_in(client, "ana")
    token = _csrf(client)
    drawn = _drawn([("start", 100), ("review", 200), ("end", 400)])
    assert _post(client, token, "deploy", drawn).json["status"] == "new"
    as_written = (_drawn([("end", 400), ("start", 100), ("review", 200)]).replace(b'"/>', b'" />')
                  .replace(b"\n                  ", b" ").replace(b"<bpmn:userTask", b"<!-- the task -->\n<bpmn:userTask")
                  .replace(b'<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="review"',
                           b'<bpmn:sequenceFlow targetRef="review" sourceRef="start" id="f0"'))
    same = _post(client, token, "deploy", as_written)
    assert (same.json["version"], same.json["status"]) == (2, "unchanged"), same.json
    moved = _post(client, token, "deploy", _drawn([("start", 100), ("review", 240), ("end", 400)]))
    assert (moved.json["version"], moved.json["status"]) == (3, "new")  # a shape moved is a new drawing
    renamed = _post(client, token, "deploy", as_written.replace(b'name="Review"', b'name="Check"'))
    assert (renamed.json["version"], renamed.json["status"]) == (4, "new")
    assert _versions(app)[-1][0] == 4
