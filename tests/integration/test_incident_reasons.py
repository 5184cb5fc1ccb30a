"""An incident says what failed and what to do, in the reader's language (issue 17): the API, the repair
page and the instance page show the reason; the exception's text stays the incident's message, for
staff. Before, every page and answer had only the text of the exception (`NameError: name 'amount' is
not defined`)."""
from __future__ import annotations

import html
import re

from app.engine import reasons
from app.extensions import db
from app.services.identity import directory as identity
from app.services.workflow import incident_reasons
from app.services.workflow.deployment import DiagramFile, deploy_and_commit
from tests.integration.test_identity import set_password, sign_in

API = "/api/v1"
EN, ZH = {"Accept-Language": "en"}, {"Accept-Language": "zh-CN"}
DIAGRAM = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs_reasons" targetNamespace="http://loanflow.local/bpmn">
  <bpmn:process id="reasons_fee" name="Charge a fee" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="charge" name="Charge the fee">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="name@zh" value="\xe6\x94\xb6\xe5\x8f\x96\xe8\xb4\xb9\xe7\x94\xa8"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:script>fee = amount * 0.01</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="charge"/>
    <bpmn:sequenceFlow id="f1" sourceRef="charge" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def _failed_instance(app, client, auth) -> int:
    with app.app_context():
        deploy_and_commit([DiagramFile("reasons_fee.bpmn", DIAGRAM)])
        db.session.remove()
    r = client.post(f"{API}/process-instances", json={"process_id": "reasons_fee"}, headers=auth)
    assert r.status_code == 201 and r.json["status"] == "error", r.json
    return r.json["id"]


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", page))


def test_the_api_gives_the_reason_in_the_readers_language_and_keeps_the_technical_text(app, client, auth):
    instance_id = _failed_instance(app, client, auth)
    english = client.get(f"{API}/incidents", query_string={"instance_id": instance_id}, headers={**auth, **EN})
    (incident,) = english.json["items"]
    assert incident["reason"].startswith("The script at charge reads amount, which this instance has no value for")
    assert "NameError" in incident["message"] and "amount" in incident["message"]
    chinese = client.get(f"{API}/incidents", query_string={"instance_id": instance_id}, headers={**auth, **ZH})
    assert chinese.json["items"][0]["reason"].startswith("charge 处的脚本读取 amount，而该实例没有这个值")


def test_the_repair_and_instance_pages_say_what_failed_by_the_elements_name(app, client, auth):
    instance_id = _failed_instance(app, client, auth)
    with app.app_context():
        identity.create_user("adm", "PLATFORM", ["platform_admin"])
        db.session.remove()
    set_password(app, "adm")
    sign_in(client, "adm")
    repair = _text(client.get(f"/instances/{instance_id}/repair", headers=EN).text)
    assert re.search(r'A step failed<br><span class="incident-reason">The script at Charge the fee reads amount, '
                     r"which this instance has no value for", repair)  # the kind, then the reason by the element's name
    assert "NameError" in repair  # the technical text, for the platform's staff
    assert "收取费用 处的脚本读取 amount" in _text(client.get(f"/instances/{instance_id}/repair", headers=ZH).text)
    page = _text(client.get(f"/instances/{instance_id}", headers=EN).text)
    assert re.search(r'<span class="incident-reason">The script at Charge the fee reads amount', page)
    zh = _text(client.get(f"/instances/{instance_id}", headers=ZH).text)  # the incident and the history's step
    assert zh.count("收取费用 处的脚本读取 amount") >= 2 and "charge 处的" not in zh  # said by id ("stage_consent 处的服务")


def test_every_reason_the_engine_gives_has_its_text_in_both_languages(app):
    assert incident_reasons.CODES == set(reasons.TEXTS)
    params = {p: f"<{p}>" for p in ("element", "name", "decision", "expression", "error", "line", "operator",
                                    "attempts", "called", "message", "store", "problem", "item", "output")}
    for code in sorted(reasons.TEXTS):
        stored = reasons.reason(code, **params)
        with app.test_request_context(headers=EN):
            assert incident_reasons.reason_text({"reason": stored}) == stored["text"]
        with app.test_request_context(headers=ZH):
            chinese = incident_reasons.reason_text({"reason": stored})
        assert chinese != stored["text"] and re.search(r"[\u4e00-\u9fff]", chinese), code
        assert all(params[p] in chinese for p in re.findall(r"%\((\w+)\)s", reasons.TEXTS[code])), code
    assert incident_reasons.reason_text({}) is None
    assert incident_reasons.reason_text({"reason": {"code": "unknown"}}) is None
