"""The console's decision and form editors (issue 16): a decision table edited in the browser is
checked and deployed as the next version (with the processes that use it); a form is edited as JSON
Schema with a preview rendered by the task page's code, and saving it gives the processes that use it
new versions with it; `processes export` writes the forms as they run."""
from __future__ import annotations

import html
import json
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import FormVersion, ProcessVersion
from app.services.identity import directory as identity
from app.services.workflow.deployment import DiagramFile, deploy_and_commit
from tests.conftest import FIXTURES
from tests.integration.instance_api import open_tasks, start
from tests.integration.test_identity import set_password, sign_in

API = "/api/v1"
EN, ZH = {"Accept-Language": "en"}, {"Accept-Language": "zh-CN"}
DMN = (FIXTURES / "bpmn" / "credit_decision.dmn").read_bytes()
FORM = "review-schema.json"
LABELLED = {  # the fixture's review form with every label in both languages, and a new field
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "First review", "title@zh": "初审", "type": "object", "required": ["decision", "limit"],
    "properties": {
        "decision": {"type": "string", "enum": ["approve", "reject"], "title": "Decision", "title@zh": "审批意见",
                     "enumNames": ["Approve", "Reject"], "enumNames@zh": ["同意", "拒绝"]},
        "limit": {"type": "number", "minimum": 0, "title": "Credit limit (CNY)", "title@zh": "授信额度（元）"},
        "notes": {"type": "string", "maxLength": 2000, "title": "Notes", "title@zh": "备注"},
        "collateral_seen": {"type": "boolean", "title": "Collateral inspected", "title@zh": "已查看抵押物"},
    },
    "additionalProperties": False,
}


@pytest.fixture
def editors(app, auth):
    """credit_decision v1 and credit_routing (which uses it) v1, review_with_form v1 (the fixture's
    review form); an analyst (may deploy), an auditor-like reader (platform staff without deploy is not
    in the demo: the borrower's applicant stands for 'may not') with passwords."""
    with app.app_context():
        identity.create_org("TRADER", ["borrower"], "Trader Co")
        identity.create_user("ana", "PLATFORM", ["analyst"], display_name="郑分析")
        identity.create_user("appl", "TRADER", ["applicant"])
        deploy_and_commit([DiagramFile("credit_decision.dmn", DMN)])
        deploy_and_commit([DiagramFile(n, (FIXTURES / "bpmn" / n).read_bytes())
                           for n in ("credit_routing.bpmn", "review_with_form.bpmn")])
        db.session.remove()
    for user in ("ana", "appl"):
        set_password(app, user)


def _versions(app, process_id: str) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.max(ProcessVersion.version)).where(ProcessVersion.process_id == process_id))
        db.session.remove()
    return n or 0


def _csrf(page: str) -> str:
    found = re.search(r'data-csrf="([^"]+)"', page) or re.search(r'name="csrf_token" value="([^"]+)"', page)
    return found.group(1)


def _form_rows(app) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(FormVersion))
        db.session.remove()
    return n


# ---- decisions ----

def test_an_edited_decision_table_deploys_the_next_version_and_the_processes_using_it(client, app, editors):
    sign_in(client, "ana")
    page = client.get("/decisions/credit_decision/edit", headers=EN)
    assert page.status_code == 200
    assert 'data-source="/processes/credit_decision/versions/1/download"' in page.text
    assert "dmn-modeler.production.min.js" in page.text
    headers = {"X-CSRFToken": _csrf(page.text), "Content-Type": "application/xml", **EN}
    edited = DMN.replace(b"&gt;= 600", b"&gt;= 650").replace(b"&lt; 600", b"&lt; 650")

    checked = client.post("/decisions/credit_decision/check", data=edited, headers=headers)
    assert checked.status_code == 200 and checked.json["ok"] is True
    assert _versions(app, "credit_decision") == 1  # a check deploys nothing

    deployed = client.post("/decisions/credit_decision/deploy", data=edited, headers=headers)
    assert deployed.status_code == 200 and deployed.json["ok"] is True, deployed.json
    assert {(v["id"], v["version"]) for v in deployed.json["versions"]} == {("credit_decision", 2),
                                                                            ("credit_routing", 2)}
    assert _versions(app, "credit_decision") == 2 and _versions(app, "credit_routing") == 2
    assert client.get("/processes/credit_decision/versions/2/download").data == edited
    # the editor opens the newest version now
    assert 'versions/2/download' in client.get("/decisions/credit_decision/edit").text


@pytest.mark.parametrize(("headers", "where"), [(EN, "Rule 1, column Score"), (ZH, "规则 1，列 Score")])
def test_an_invalid_table_is_refused_with_the_rule_it_concerns_and_changes_nothing(client, app, editors,
                                                                                  headers, where):
    sign_in(client, "ana")
    page = client.get("/decisions/credit_decision/edit", headers=headers)
    post = {"X-CSRFToken": _csrf(page.text), "Content-Type": "application/xml", **headers}
    broken = DMN.replace(b"&gt;= 600", b"&gt;&gt;&gt; 600 +")

    checked = client.post("/decisions/credit_decision/check", data=broken, headers=post)
    assert checked.status_code == 200 and checked.json["ok"] is False
    problem = checked.json["problems"][0]
    assert problem["element_id"] == "rule_approve_in" and problem["rule_id"] == "rule_approve"
    assert problem["where"] == where and problem["severity"] == "error"
    assert "<input> >>> 600 +" in problem["reason"]  # the entry as written after the input

    refused = client.post("/decisions/credit_decision/deploy", data=broken, headers=post)
    assert refused.status_code == 422 and refused.json["ok"] is False
    assert refused.json["problems"][0]["element_id"] == "rule_approve_in"
    assert _versions(app, "credit_decision") == 1 and _versions(app, "credit_routing") == 1

    not_xml = client.post("/decisions/credit_decision/deploy", data=b"<definitions", headers=post)
    assert not_xml.status_code == 422 and _versions(app, "credit_decision") == 1
    # a table whose decision id changed would be another decision: refused
    renamed = DMN.replace(b'decision id="credit_decision"', b'decision id="credit_other"')
    answer = client.post("/decisions/credit_decision/deploy", data=renamed, headers=post)
    assert answer.status_code == 422 and _versions(app, "credit_other") == 0


def test_an_unchanged_table_dmn_js_writes_back_stays_the_version_it_is(client, app, editors):
    """dmn-js leaves out hitPolicy="UNIQUE" (the default) and writes its own layout: that made the next version."""
    sign_in(client, "ana")
    page = client.get("/decisions/credit_decision/edit", headers=EN)
    headers = {"X-CSRFToken": _csrf(page.text), "Content-Type": "application/xml", **EN}
    as_written = DMN.replace(b' hitPolicy="UNIQUE"', b"").replace(b"/>", b" />")
    assert as_written != DMN
    same = client.post("/decisions/credit_decision/deploy", data=as_written, headers=headers)
    assert same.status_code == 200, same.json
    assert _versions(app, "credit_decision") == 1 and _versions(app, "credit_routing") == 1
    first = client.post("/decisions/credit_decision/deploy", data=DMN.replace(b"UNIQUE", b"FIRST"), headers=headers)
    assert first.status_code == 200 and _versions(app, "credit_decision") == 2  # another hit policy is a change


@pytest.mark.parametrize(("headers", "said"), [
    (EN, "input entry '>= abc' reads abc, which none of the table's inputs reads"),
    (ZH, "输入条目 '>= abc' 读取了 abc，但决策表的各输入均未读取它")])
def test_an_entry_reading_a_name_no_input_reads_is_said(client, app, editors, headers, said):
    """`>= abc` compiles, and the check said there were no problems; it fails where the data holds no abc."""
    sign_in(client, "ana")
    page = client.get("/decisions/credit_decision/edit", headers=headers)
    post = {"X-CSRFToken": _csrf(page.text), "Content-Type": "application/xml", **headers}
    checked = client.post("/decisions/credit_decision/check", data=DMN.replace(b"&gt;= 600", b"&gt;= abc"),
                          headers=post)
    assert checked.status_code == 200
    [problem] = checked.json["problems"]
    assert problem["element_id"] == "rule_approve_in" and problem["severity"] == "warning"
    assert said in problem["reason"]
    plain = client.post("/decisions/credit_decision/check", data=DMN, headers=post)  # its own entries read nothing
    assert plain.json["problems"] == [] and plain.json["ok"] is True


def test_the_catalogue_shows_a_decision_table_with_the_viewer_and_offers_to_edit_it(client, editors):
    sign_in(client, "ana")
    page = client.get("/processes/credit_decision", headers=EN)
    assert 'id="decision-table"' in page.text and "dmn-viewer.production.min.js" in page.text
    assert 'href="/decisions/credit_decision/edit"' in page.text
    # dmn-js's own words come with the page, in the reader's language
    words = json.loads(html.unescape(re.search(r'data-words="([^"]*)"', client.get(
        "/decisions/credit_decision/edit", headers=ZH).text).group(1)))
    assert words["Hit policy:"] == "命中策略：" and words["Add rule below"] == "在下方添加规则"


# ---- forms ----

def test_the_forms_list_shows_each_form_that_runs_and_its_processes(client, editors):
    sign_in(client, "ana")
    page = client.get("/forms", headers=ZH)
    assert page.status_code == 200
    row = re.search(r'<tr data-form="review-schema.json">.*?</tr>', page.text, re.S).group(0)
    assert "已部署" in row and "Review with a form" in row and 'href="/forms/review-schema.json/edit"' in row
    ui = re.search(r'<tr data-form="review-uischema.json">.*?</tr>', page.text, re.S).group(0)
    assert "界面模式" in ui and 'href="/forms/review-schema.json/edit"' in ui
    folder_only = re.search(r'<tr data-form="terms-schema.json">.*?</tr>', page.text, re.S).group(0)
    assert "仅在表单目录中" in folder_only


@pytest.mark.parametrize(("headers", "labels", "not_json"), [
    (EN, ("Decision", "Approve", "Collateral inspected"), "Not valid JSON at line 1, column 19"),
    (ZH, ("审批意见", "同意", "已查看抵押物"), "JSON 无效（第 1 行第 19 列）：此处应是用双引号括起的属性名")])
def test_the_preview_is_the_task_pages_rendering_in_the_readers_language(client, editors, headers, labels,
                                                                         not_json):
    sign_in(client, "ana")
    page = client.get("/forms/review-schema.json/edit", headers=headers)
    assert page.status_code == 200 and 'id="ui-text"' in page.text  # its UI schema is edited beside it
    preview = client.post("/forms/review-schema.json/preview", headers=headers, data={
        "csrf_token": _csrf(page.text), "schema": json.dumps(LABELLED), "ui": '{"notes": {"ui:widget": "textarea"}}'})
    assert preview.status_code == 200
    for label in labels:
        assert label in preview.text
    assert '<textarea id="f-notes" name="notes"' in preview.text  # the UI schema's widget
    assert '<input type="checkbox" name="collateral_seen"' in preview.text and 'data-state="ok"' in preview.text

    broken = client.post("/forms/review-schema.json/preview", headers=headers,
                         data={"csrf_token": _csrf(page.text), "schema": '{"type": "object",', "ui": "{}"})
    assert broken.status_code == 200 and 'data-state="error"' in broken.text and not_json in broken.text
    assert broken.text.count(not_json) == 1  # said once, not again among the particulars


def test_a_saved_form_gives_the_processes_using_it_new_versions_and_new_instances_show_it(
        client, app, auth, editors):
    sign_in(client, "ana")
    page = client.get("/forms/review-schema.json/edit", headers=EN)
    saved = client.post("/forms/review-schema.json/edit", headers=EN, data={
        "csrf_token": _csrf(page.text), "schema": json.dumps(LABELLED), "ui": '{"notes": {"ui:widget": "textarea"}}'})
    assert saved.status_code == 302
    assert "review_with_form version 2" in client.get(saved.headers["Location"], headers=EN).text
    assert _versions(app, "review_with_form") == 2 and _versions(app, "credit_routing") == 1

    instance = start(client, auth, "review_with_form")
    task = open_tasks(client, auth, instance["id"])["first_review"]
    form = client.get(f"{API}/tasks/{task['id']}", headers=auth).json["form"]
    assert "collateral_seen" in form["properties"]

    # a later console deploy of the process keeps the form made in the browser
    with app.app_context():
        from app.services.workflow.deployment import deploy
        source = (FIXTURES / "bpmn" / "review_with_form.bpmn").read_bytes().replace(b"Book limit", b"Book the limit")
        deploy([DiagramFile("review_with_form.bpmn", source)], forms_from="deployed")
        db.session.commit()
        db.session.remove()
    assert _versions(app, "review_with_form") == 3
    instance = start(client, auth, "review_with_form")
    task = open_tasks(client, auth, instance["id"])["first_review"]
    assert "collateral_seen" in client.get(f"{API}/tasks/{task['id']}", headers=auth).json["form"]["properties"]


def test_a_form_whose_choices_come_from_the_data_is_saved_and_its_tasks_keep_them(client, app, auth, editors):
    dynamic = json.loads(json.dumps(LABELLED))
    decision = dynamic["properties"]["decision"]
    for key in ("enum", "enumNames", "enumNames@zh"):
        del decision[key]
    decision["anyOf"] = ["options_from_task_data_var:limit_options"]
    sign_in(client, "ana")
    page = client.get("/forms/review-schema.json/edit", headers=EN)
    saved = client.post("/forms/review-schema.json/edit", headers=EN, data={
        "csrf_token": _csrf(page.text), "schema": json.dumps(dynamic), "ui": "{}"})
    assert saved.status_code == 302 and _versions(app, "review_with_form") == 2

    instance = start(client, auth, "review_with_form", limit_options=[{"value": "approve", "label": "Yes"}])
    task = client.get(f"{API}/tasks/{open_tasks(client, auth, instance['id'])['first_review']['id']}",
                      headers=auth).json
    assert task["properties"]["choicesFrom"] == "limit_options"
    assert (task["form"]["properties"]["decision"]["enum"], task["form"]["properties"]["decision"]["enumNames"]) == (
        ["approve"], ["Yes"])

    for headers, said in ((EN, "The process gives the choices when the task opens."),
                          (ZH, "选项由流程在任务打开时提供。")):  # the preview: a choice, its options to come
        page = client.get("/forms/review-schema.json/edit", headers=headers)
        preview = client.post("/forms/review-schema.json/preview", headers=headers, data={
            "csrf_token": _csrf(page.text), "schema": json.dumps(dynamic), "ui": "{}"}).text
        assert '<select id="f-decision" name="decision"' in preview and said in preview
        assert "options_from_task_data_var" not in preview and "limit_options" not in preview


@pytest.mark.parametrize(("schema", "said"), [
    ('{"type": "object", "properties": {', "Not valid JSON at line 1"),
    ('["a list"]', "A form is a JSON Schema of type object"),
    ('{"type": "object", "properties": {"x": {"type": "string", "title": "X"}}, "title": "T", "title@zh": "T"}',
     "has no label in zh (title@zh)"),
    ('{"type": "object", "properties": {"x": {"type": 5}}}', "not a valid JSON Schema"),
])
def test_a_form_that_cannot_run_is_refused_with_why_and_changes_nothing(client, app, editors, schema, said):
    sign_in(client, "ana")
    page = client.get("/forms/review-schema.json/edit", headers=EN)
    before = _form_rows(app)
    refused = client.post("/forms/review-schema.json/edit", headers=EN,
                          data={"csrf_token": _csrf(page.text), "schema": schema, "ui": "{}"})
    assert refused.status_code == 422 and said in refused.text
    assert 'id="save-error"' in refused.text and schema.split(",")[0].replace('"', "&#34;") in refused.text
    assert _form_rows(app) == before and _versions(app, "review_with_form") == 1


def test_only_those_who_may_deploy_edit_and_unknown_things_are_not_found(client, app, editors):
    sign_in(client, "appl")
    for path in ("/forms", "/forms/review-schema.json/edit", "/decisions/credit_decision/edit"):
        assert client.get(path, headers=EN).status_code == 403, path
    client = app.test_client()
    sign_in(client, "ana")
    assert client.get("/decisions/no_such/edit").status_code == 404
    assert client.get("/decisions/credit_routing/edit").status_code == 404  # a process is not a table
    assert client.get("/forms/no-such.json/edit").status_code == 404
    assert client.get("/forms/review-uischema.json/edit").status_code == 404  # edited with its form


def test_export_writes_the_forms_as_they_run(client, app, runner, editors, tmp_path):
    sign_in(client, "ana")
    page = client.get("/forms/review-schema.json/edit", headers=EN)
    client.post("/forms/review-schema.json/edit", headers=EN, data={
        "csrf_token": _csrf(page.text), "schema": json.dumps(LABELLED), "ui": '{"notes": {"ui:widget": "textarea"}}'})
    out = runner.invoke(args=["processes", "export", "--out", str(tmp_path)])
    assert out.exit_code == 0, out.output
    assert json.loads((tmp_path / "forms" / FORM).read_text(encoding="utf-8")) == LABELLED
    assert (tmp_path / "review_with_form.bpmn").exists() and (tmp_path / "credit_decision.dmn").exists()


def test_saving_a_form_back_to_an_earlier_versions_content_is_refused_with_why(client, app, editors):
    """`form_versions` keeps one row per content and the newest runs: an exact revert could not run again."""
    sign_in(client, "ana")
    ui = '{"notes": {"ui:widget": "textarea"}}'
    changed = {**LABELLED, "description": "Second edit", "description@zh": "第二次修改"}
    for schema in (LABELLED, changed):
        page = client.get("/forms/review-schema.json/edit", headers=EN)
        saved = client.post("/forms/review-schema.json/edit", headers=EN,
                            data={"csrf_token": _csrf(page.text), "schema": json.dumps(schema), "ui": ui})
        assert saved.status_code == 302
    assert _versions(app, "review_with_form") == 3
    page = client.get("/forms/review-schema.json/edit", headers=ZH)
    refused = client.post("/forms/review-schema.json/edit", headers=ZH,
                          data={"csrf_token": _csrf(page.text), "schema": json.dumps(LABELLED), "ui": ui})
    assert refused.status_code == 422 and "将与它的某个早期版本完全相同" in refused.text
    assert _versions(app, "review_with_form") == 3
