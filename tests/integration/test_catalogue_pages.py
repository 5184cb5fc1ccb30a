"""The process catalogue pages: every process and decision with its versions, who deployed each and
from which file, the instances running and finished per version, any version's file as deployed;
for the platform's staff only (`definitions.read`)."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.services.identity import directory as identity
from app.services.workflow.deployment import DiagramFile, deploy_and_commit
from tests.conftest import FIXTURES, ROOT
from tests.integration.instance_api import start
from tests.integration.test_identity import set_password, sign_in

API = "/api/v1"
EN, ZH = {"Accept-Language": "en"}, {"Accept-Language": "zh-CN"}


def _diagram(step_name: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs_catalogue_wait" targetNamespace="http://loanflow.local/bpmn">
  <bpmn:message id="msg_go" name="catalogue_go"/>
  <bpmn:process id="catalogue_wait" name="Wait for the go-ahead" isExecutable="true">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="name@zh" value="等待放行"/></spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait_go" name="{step_name}">
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:messageEventDefinition id="med_go" messageRef="msg_go"/>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="wait_go"/>
    <bpmn:sequenceFlow id="f1" sourceRef="wait_go" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


V1, V2 = _diagram("Go-ahead given"), _diagram("Go-ahead received")


@pytest.fixture
def catalogue(app, client, auth):
    """catalogue_wait v1 (deployed by the analyst 郑分析: three instances, one cancelled) and v2 (from the
    command line: one instance), the credit_decision table; the analyst and a borrower's applicant
    have passwords."""
    with app.app_context():
        identity.create_org("TRADER", ["borrower"], "Trader Co")
        analyst = identity.create_user("ana", "PLATFORM", ["analyst"], display_name="郑分析")
        identity.create_user("appl", "TRADER", ["applicant"])
        deploy_and_commit([DiagramFile("catalogue_wait.bpmn", V1)], actor_id=analyst.id)
        deploy_and_commit([DiagramFile("credit_decision.dmn", (FIXTURES / "bpmn" / "credit_decision.dmn").read_bytes())])
        db.session.remove()
    first = [start(client, auth, "catalogue_wait")["id"] for _ in range(3)]
    assert client.post(f"{API}/process-instances/{first[0]}/cancel", headers=auth).status_code == 200
    with app.app_context():
        deploy_and_commit([DiagramFile("catalogue_wait_v2.bpmn", V2)])
        db.session.remove()
    start(client, auth, "catalogue_wait")
    for user in ("ana", "appl"):
        set_password(app, user)


def _row(page: str, attribute: str, value: str) -> str:
    found = re.search(rf'<tr {attribute}="{re.escape(value)}".*?</tr>', page, re.S)
    assert found, f"no row {attribute}={value}"
    return found.group(0)


def _cell(row: str, css: str) -> str:
    return re.search(rf'<td class="{css}">([^<]*)</td>', row).group(1)


@pytest.mark.parametrize(("headers", "name", "kind"), [(EN, "Wait for the go-ahead", "Process"),
                                                       (ZH, "等待放行", "流程")])
def test_the_list_names_each_process_in_the_readers_language_with_its_versions_and_instances(
        client, catalogue, headers, name, kind):
    sign_in(client, "ana")
    page = client.get("/processes", headers=headers)
    assert page.status_code == 200
    assert 'id="catalogue-link"' in page.text  # the header offers it
    row = _row(page.text, "data-process", "catalogue_wait")
    assert f">{name}</span></a>" in row and f"<td>{kind}</td>" in row and 'lang="en"' not in row
    assert (_cell(row, "latest"), _cell(row, "versions"), _cell(row, "running"), _cell(row, "finished")) == \
        ("2", "2", "3", "1")
    decision = _row(page.text, "data-process", "credit_decision")
    assert _cell(decision, "versions") == "1"
    # a DMN decision has its English name only: marked English on the Chinese page, not passed off as Chinese
    assert ('<span lang="en">Approve or reject by score</span>' in decision) == (headers is ZH), decision


def test_a_decision_named_in_chinese_is_listed_by_that_name_on_chinese_pages(client, app, catalogue):
    """The shipped tables said 'Route a deal by its risk report' among the Chinese process names."""
    with app.app_context():
        deploy_and_commit([DiagramFile("risk_route.dmn", (ROOT / "processes" / "risk_route.dmn").read_bytes())])
        db.session.remove()
    sign_in(client, "ana")
    zh = _row(client.get("/processes", headers=ZH).text, "data-process", "risk_route")
    assert "按风险报告分流业务" in zh and "Route a deal" not in zh
    assert "按风险报告分流业务" in client.get("/processes/risk_route", headers=ZH).text
    en = _row(client.get("/processes", headers=EN).text, "data-process", "risk_route")
    assert "Route a deal by its risk report" in en
    # the table the page shows: its name and its columns' headings in the reader's language (label@zh)
    assert 'data-source="/processes/risk_route/versions/1/diagram"' in client.get("/processes/risk_route",
                                                                                    headers=ZH).text
    zh_table = client.get("/processes/risk_route/versions/1/diagram", headers=ZH).data.decode()
    assert 'label="风险评分"' in zh_table and 'name="按风险报告分流业务"' in zh_table and 'label="Risk score"' not in zh_table
    en_table = client.get("/processes/risk_route/versions/1/diagram", headers=EN).data.decode()
    assert 'label="Risk score"' in en_table


@pytest.mark.parametrize(("headers", "words"), [
    (EN, ("Version 2", "Deployed by", "No user (command line or demo seed)", "Download", "Diagram of version 2")),
    (ZH, ("版本 2", "部署人", "无用户（命令行或演示数据）", "下载", "版本 2 的流程图"))])
def test_the_version_page_lists_versions_newest_first_with_who_where_and_instances(client, app, catalogue,
                                                                                    headers, words):
    sign_in(client, "ana")
    page = client.get("/processes/catalogue_wait", headers=headers)
    assert page.status_code == 200
    assert re.findall(r'<tr data-version="(\d+)"', page.text) == ["2", "1"]
    for word in words:
        assert word in page.text
    first, second = _row(page.text, "data-version", "1"), _row(page.text, "data-version", "2")
    assert "郑分析" in first and "catalogue_wait.bpmn" in first and "catalogue_wait_v2.bpmn" in second
    assert (_cell(first, "running"), _cell(first, "finished")) == ("2", "1")
    assert (_cell(second, "running"), _cell(second, "finished")) == ("1", "0")
    with app.app_context():
        from app.services.workflow.catalogue import process_entry
        hashes = [v.content_hash for v in process_entry(identity.principal_for("ana"), "catalogue_wait", "en").versions]
        db.session.remove()
    assert hashes[0] != hashes[1] and hashes[1][:12] in first
    assert 'data-source="/processes/catalogue_wait/versions/2/diagram"' in page.text  # the latest is drawn

    chosen = client.get("/processes/catalogue_wait?version=1", headers=headers)
    assert 'data-source="/processes/catalogue_wait/versions/1/diagram"' in chosen.text
    assert client.get("/processes/catalogue_wait?version=7", headers=headers).status_code == 404


def test_a_download_is_the_file_as_deployed(client, catalogue):
    sign_in(client, "ana")
    for version, source in ((1, V1), (2, V2)):
        r = client.get(f"/processes/catalogue_wait/versions/{version}/download")
        assert r.status_code == 200 and r.data == source
        assert r.headers["Content-Disposition"] == f"attachment; filename=catalogue_wait-v{version}.bpmn"
    dmn = client.get("/processes/credit_decision/versions/1/download")
    assert dmn.data == (FIXTURES / "bpmn" / "credit_decision.dmn").read_bytes()
    assert client.get("/processes/catalogue_wait/versions/3/download").status_code == 404


def test_the_drawn_diagram_names_each_element_in_the_readers_language(client, app, catalogue):
    """The viewer drew the file as deployed: English names in a Chinese page, where the file has Chinese ones."""
    named = V1.replace(b'<bpmn:endEvent id="end">', b'<bpmn:endEvent id="end" name="Released"><bpmn:extensionElements>'
                       b'<spiffworkflow:properties><spiffworkflow:property name="name@zh" value="\xe5\xb7\xb2\xe6\x94'
                       b'\xbe\xe8\xa1\x8c"/></spiffworkflow:properties></bpmn:extensionElements>')
    with app.app_context():
        deploy_and_commit([DiagramFile("catalogue_wait.bpmn", named.replace(b"catalogue_wait", b"catalogue_named"))])
        db.session.remove()
    sign_in(client, "ana")
    zh = client.get("/processes/catalogue_named/versions/1/diagram", headers={"Accept-Language": "zh"})
    assert zh.status_code == 200 and zh.mimetype == "application/xml"
    assert 'name="已放行"' in zh.text and 'name="Released"' not in zh.text
    assert 'name="Go-ahead given"' in zh.text  # no Chinese name: as drawn
    en = client.get("/processes/catalogue_named/versions/1/diagram", headers=EN)
    assert 'name="Released"' in en.text
    assert client.get("/processes/catalogue_wait/versions/3/diagram").status_code == 404
    table = client.get("/processes/credit_decision/versions/1/diagram")  # a decision: its table, as the file has it
    assert table.status_code == 200 and b"Approve or reject by score" in table.data


def test_a_borrower_may_not_read_the_catalogue_and_an_unknown_process_is_not_found(client, app, catalogue):
    sign_in(client, "appl")
    assert 'id="catalogue-link"' not in client.get("/", headers=EN).text
    for path in ("/processes", "/processes/catalogue_wait", "/processes/catalogue_wait/versions/1/download",
                 "/processes/catalogue_wait/versions/1/diagram"):
        assert client.get(path, headers=EN).status_code == 403, path
    client = app.test_client()
    sign_in(client, "ana")
    assert client.get("/processes/no_such_process", headers=EN).status_code == 404
    assert client.get("/processes/no_such_process/versions/1/download").status_code == 404
