"""The diff between two versions of a process (issue 16): the elements added, removed and changed (a label,
a condition, a user task's lane), read from the files as deployed; the page lists them in the reader's
language and passes the ids of the added and changed elements to the viewer; equal or unknown versions are
refused; a decision table's versions are not compared."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.services.errors import Invalid, NotFound
from app.services.identity import directory as identity
from app.services.workflow import version_diff
from app.services.workflow.deployment import DiagramFile, deploy_and_commit
from tests.conftest import FIXTURES
from tests.integration.test_identity import set_password, sign_in

EN, ZH = {"Accept-Language": "en"}, {"Accept-Language": "zh-CN"}


def _diagram(*, review_name: str, review_zh: str, review_lane: str, condition: str, extra: bool) -> bytes:
    lanes = {"first_reviewer": ["review"], "finance": []}
    lanes[review_lane] = ["review"]
    lanes["first_reviewer" if review_lane == "finance" else "finance"] = []
    lane_xml = "".join(f'<bpmn:lane id="lane_{role}" name="{role}">'
                       + "".join(f"<bpmn:flowNodeRef>{ref}</bpmn:flowNodeRef>" for ref in refs) + "</bpmn:lane>"
                       for role, refs in lanes.items())
    middle = ('<bpmn:scriptTask id="note" name="Note the outcome"><bpmn:incoming>f_yes</bpmn:incoming>'
              '<bpmn:outgoing>f_noted</bpmn:outgoing><bpmn:script>noted = True</bpmn:script></bpmn:scriptTask>'
              '<bpmn:sequenceFlow id="f_noted" sourceRef="note" targetRef="end"/>'
              '<bpmn:sequenceFlow id="f_yes" sourceRef="gate" targetRef="note">' if extra else
              '<bpmn:endEvent id="end_early" name="Ended early"><bpmn:incoming>f_yes</bpmn:incoming></bpmn:endEvent>'
              '<bpmn:sequenceFlow id="f_yes" sourceRef="gate" targetRef="end_early">')
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs_diff_review" targetNamespace="http://loanflow.local/bpmn">
  <bpmn:process id="diff_review" name="Review to compare" isExecutable="true">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="name@zh" value="待比较的审查"/></spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:laneSet id="lanes">{lane_xml}</bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" name="{review_name}">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="name@zh" value="{review_zh}"/></spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="gate" default="f_no"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f_yes</bpmn:outgoing><bpmn:outgoing>f_no</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>{"f_noted" if extra else "f_no"}</bpmn:incoming>{"<bpmn:incoming>f_no</bpmn:incoming>" if extra else ""}</bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="review"/>
    <bpmn:sequenceFlow id="f1" sourceRef="review" targetRef="gate"/>
    {middle}<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_no" sourceRef="gate" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


V1 = _diagram(review_name="Review the file", review_zh="审查材料", review_lane="first_reviewer",
              condition="score &gt;= 600", extra=False)
V2 = _diagram(review_name="Review the whole file", review_zh="审查全部材料", review_lane="finance",
              condition="score &gt;= 650", extra=True)


@pytest.fixture
def versions(app, auth):
    """diff_review v1 and v2 (the review renamed and moved to finance's lane, the condition raised, an early
    end replaced by a script task), the credit_decision table; the analyst and an applicant sign in."""
    with app.app_context():
        identity.create_org("TRADER", ["borrower"], "Trader Co")
        identity.create_user("ana", "PLATFORM", ["analyst"])
        identity.create_user("appl", "TRADER", ["applicant"])
        deploy_and_commit([DiagramFile("diff_review.bpmn", V1)])
        deploy_and_commit([DiagramFile("diff_review.bpmn", V2)])
        deploy_and_commit([DiagramFile("credit_decision.dmn", (FIXTURES / "bpmn" / "credit_decision.dmn").read_bytes())])
        db.session.remove()
    for user in ("ana", "appl"):
        set_password(app, user)


def _changes(element: version_diff.ElementDiff) -> dict[tuple[str, str], tuple[str, str]]:
    return {(c.aspect, c.detail): (c.old, c.new) for c in element.changes}


def test_the_diff_names_what_was_added_removed_and_changed(app, versions):
    with app.app_context():
        ana = identity.principal_for("ana")
        result = version_diff.diff(ana, "diff_review", 1, 2)
        zh = version_diff.diff(ana, "diff_review", 1, 2, "zh")
        backwards = version_diff.diff(ana, "diff_review", 2, 1)
        db.session.remove()
    assert sorted(e.element_id for e in result.added) == ["f_noted", "note"]
    assert [(e.element_id, e.type, e.name) for e in result.removed] == [("end_early", "endEvent", "Ended early")]
    changed = {e.element_id: e for e in result.changed}
    assert set(changed) == {"review", "f_yes", "end"}
    review = _changes(changed["review"])
    assert review == {("name", ""): ("Review the file", "Review the whole file"),
                      ("name", "zh"): ("审查材料", "审查全部材料"), ("lane", ""): ("First reviewer", "Funder finance")}  # the roles, in words
    assert changed["review"].name == "Review the whole file"
    assert _changes(changed["f_yes"]) == {("condition", ""): ("score >= 600", "score >= 650"),
                                          ("target", ""): ("end_early", "note")}
    assert _changes(changed["end"]) == {("incoming", ""): ("f_no", "f_no, f_noted")}
    assert {e.element_id: e.name for e in zh.changed}["review"] == "审查全部材料"
    assert sorted(e.element_id for e in backwards.removed) == ["f_noted", "note"]
    assert [e.element_id for e in backwards.added] == ["end_early"]


def test_equal_unknown_and_decision_versions_are_refused(app, versions):
    with app.app_context():
        ana = identity.principal_for("ana")
        with pytest.raises(Invalid):
            version_diff.diff(ana, "diff_review", 2, 2)
        with pytest.raises(NotFound):
            version_diff.diff(ana, "diff_review", 1, 3)
        with pytest.raises(NotFound):
            version_diff.diff(ana, "no_such_process", 1, 2)
        deploy_and_commit([DiagramFile("credit_decision.dmn", (FIXTURES / "bpmn" / "credit_decision.dmn")
                                       .read_bytes().replace(b"Approve or reject", b"Approve or refuse"))])
        with pytest.raises(Invalid, match="decision table is not supported"):
            version_diff.diff(ana, "credit_decision", 1, 2)
        db.session.remove()


@pytest.mark.parametrize(("headers", "words"), [
    (EN, ("Version 1 to version 2", "Added elements (2)", "Removed elements (1)", "Changed elements (3)",
          "Review the whole file", "Ended early", "Lane", "Condition", "score &gt;= 650", "Diagram of version 2")),
    (ZH, ("版本 1 到版本 2", "新增的元素 (2)", "删除的元素 (1)", "修改的元素 (3)", "审查全部材料", "泳道", "条件",
          "版本 2 的流程图"))])
def test_the_diff_page_lists_the_changes_and_marks_them_on_the_diagram(client, versions, headers, words):
    sign_in(client, "ana")
    show = client.get("/processes/diff_review", headers=headers)
    assert 'id="diff-form"' in show.text
    assert re.search(r'<select name="from"><option value="2">2</option><option value="1" selected>', show.text)
    page = client.get("/processes/diff_review/diff?from=1&to=2", headers=headers)
    assert page.status_code == 200
    for word in words:
        assert word in page.text, word
    assert "<bpmn:" not in page.text and "<script>" not in page.text
    assert 'data-source="/processes/diff_review/versions/2/diagram"' in page.text
    markers = set(re.search(r'data-markers="([^"]*)"', page.text).group(1).split())
    assert markers == {"note:added", "f_noted:added", "review:changed", "f_yes:changed", "end:changed"}


def test_the_diff_page_refuses_equal_or_unknown_versions_and_readers_without_the_right(client, app, versions):
    sign_in(client, "ana")
    same = client.get("/processes/diff_review/diff?from=2&to=2", headers=EN)
    assert same.status_code == 400 and "Choose two different versions to compare." in same.text
    assert "请选择两个不同的版本进行比较。" in client.get("/processes/diff_review/diff?from=1&to=1", headers=ZH).text
    assert client.get("/processes/diff_review/diff?from=1&to=9", headers=EN).status_code == 404
    assert client.get("/processes/nothing/diff?from=1&to=2", headers=EN).status_code == 404
    assert client.get("/processes/diff_review/diff", headers=EN).status_code == 400
    other = app.test_client()
    sign_in(other, "appl")
    assert other.get("/processes/diff_review/diff?from=1&to=2", headers=EN).status_code == 403
