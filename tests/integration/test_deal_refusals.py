"""A deal's operator that refuses says why in the reader's language: a diagram started on a business key that is no
application's (the modeller's test instance on a live process) stopped with 'no application has the number ...' in
English on the Chinese repair and instance pages."""
from __future__ import annotations

import html
import re

from app.extensions import db
from app.services.workflow.deployment import DiagramFile, deploy_and_commit
from tests.integration.instance_api import start, wake
from tests.integration.test_identity import set_password, sign_in

ZH = {"Accept-Language": "zh-CN"}
DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs_stage" targetNamespace="http://loanflow.local/bpmn">
  <bpmn:process id="stage_only" name="Stage only" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="stage_consent" name="Stage: credit consent">
      <bpmn:extensionElements>
        <spiffworkflow:properties><spiffworkflow:property name="name@zh" value="阶段：征信授权"/></spiffworkflow:properties>
        <spiffworkflow:serviceTaskOperator id="origination.stage" resultVariable="application"><spiffworkflow:parameters><spiffworkflow:parameter id="stage" type="str" value="'credit_consent'"/></spiffworkflow:parameters></spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="stage_consent"/>
    <bpmn:sequenceFlow id="f1" sourceRef="stage_consent" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


def test_a_stage_on_a_key_that_is_no_application_says_so_in_chinese(app, client, auth, clock):
    with app.app_context():
        deploy_and_commit([DiagramFile("stage_only.bpmn", DIAGRAM)])
        db.session.remove()
    inst = start(client, auth, "stage_only", business_key="TEST-1")
    for _try in range(5):  # its retries, until the incident
        clock.advance(minutes=10)
        wake(app)
    set_password(app, "admin")
    sign_in(client, "admin")
    for path in (f"/instances/{inst['id']}/repair", f"/instances/{inst['id']}"):
        page = html.unescape(re.sub(r"<[^>]+>", " ", client.get(path, headers=ZH).text))
        incident = page.split("异常事件", 1)[1]
        assert "没有编号为 'TEST-1' 的申请" in incident, incident[:600]
        assert "no application has the number" not in incident.split("origination.stage:", 1)[0], path
