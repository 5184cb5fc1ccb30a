"""`processes compat` (issue 17) beyond one file: called processes and decisions found across the folder
nearest first, the driver's answers on a task it comes back to, the correlation values a real sender
knows, and `processes validate` and the deploy agreeing on every file. Each folder is written here."""
from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest

from app.engine.errors import DiagramProblem
from app.services.workflow import compat_answers, compat_index, deployment

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs_{pid}" targetNamespace="http://loanflow.local/bpmn">
"""


def process(pid: str, body: str, before: str = "") -> str:
    return HEAD.format(pid=pid) + before + f'<bpmn:process id="{pid}" isExecutable="true">{body}</bpmn:process>' \
        + "</bpmn:definitions>\n"


def chain(*elements: str) -> str:
    """start → each element (given as `<tag id=...>` without flows) → end, joined by flows f0, f1, ..."""
    ids = ["start", *[e.split('id="', 1)[1].split('"', 1)[0] for e in elements], "end"]
    nodes = ['<bpmn:startEvent id="start"/>', *elements, '<bpmn:endEvent id="end"/>']
    flows = [f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>' for i, (a, b) in enumerate(pairwise(ids))]
    return "".join(nodes + flows)


def calls(pid: str, called: str) -> str:
    return process(pid, chain(f'<bpmn:callActivity id="call" calledElement="{called}"/>'))


def user_task(task_id: str, form: str) -> str:
    return (f'<bpmn:userTask id="{task_id}"><bpmn:extensionElements><spiffworkflow:properties>'
            f'<spiffworkflow:property name="formJsonSchemaFilename" value="{form}"/>'
            '</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>')


DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs_colour" name="Colour" namespace="http://loanflow.local/dmn">
  <decision id="pick_colour" name="Pick a colour">
    <decisionTable id="table_colour" hitPolicy="UNIQUE">
      <input id="in_size" label="Size"><inputExpression id="in_size_expr" typeRef="integer"><text>size</text></inputExpression></input>
      <output id="out_colour" label="Colour" name="colour" typeRef="string"/>
      <rule id="r_any"><inputEntry id="r_any_in"><text>-</text></inputEntry><outputEntry id="r_any_out"><text>"red"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


def decides(pid: str, decision: str) -> str:
    return process(pid, chain(
        '<bpmn:scriptTask id="size"><bpmn:script>size = 3</bpmn:script></bpmn:scriptTask>',
        f'<bpmn:businessRuleTask id="decide"><bpmn:extensionElements><spiffworkflow:calledDecisionId>{decision}'
        '</spiffworkflow:calledDecisionId></bpmn:extensionElements></bpmn:businessRuleTask>',
        '<bpmn:scriptTask id="use"><bpmn:script>shown = colour.upper()</bpmn:script></bpmn:scriptTask>'))


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def run(runner, folder: Path, tmp_path: Path) -> tuple[dict[str, dict], list[str]]:
    out = tmp_path / "rows.json"
    result = runner.invoke(args=["processes", "compat", str(folder), "--json", str(out)])
    assert result.exit_code == 0, result.output
    rows = {r["process_id"]: r for r in json.loads(out.read_text())["rows"]}
    lines = result.output.splitlines()
    return rows, lines[next(i for i, line in enumerate(lines) if line.startswith("false completions: ")):]


def test_a_called_process_and_its_form_are_found_in_another_folder_of_the_tree_nearest_first(runner, tmp_path):
    root = write(tmp_path / "models", {
        "loans/caller/caller.bpmn": calls("caller", "callee"),
        "loans/callee/callee.bpmn": process("callee", chain(user_task("ask", "ask.json"))),
        "loans/callee/ask.json": json.dumps({"type": "object", "properties": {"name": {"type": "string"}}}),
        # the same id in another source tree, sorted first: a fallback only, and it would fail
        "aaa/callee_elsewhere.bpmn": process("callee", chain(
            '<bpmn:scriptTask id="boom"><bpmn:script>y = never_set</bpmn:script></bpmn:scriptTask>')),
        "loans/lost/lost.bpmn": calls("lost", "nowhere"),
    })
    rows, tail = run(runner, root, tmp_path)
    assert rows["caller"]["ran"], rows["caller"]["reason"]
    assert rows["lost"]["reason"] == "did not start: process 'lost' calls 'nowhere', which no file under models/ defines"
    assert tail[:3] == ["false completions: 0", "tracebacks: 0", "disagreements: 0"]


def test_a_called_process_in_another_source_tree_is_found_when_its_own_has_none(runner, tmp_path):
    root = write(tmp_path / "models", {
        "one/caller.bpmn": calls("caller", "shared"),
        "two/deep/shared.bpmn": process("shared", chain('<bpmn:task id="noop"/>')),
    })
    rows, _ = run(runner, root, tmp_path)
    assert rows["caller"]["ran"], rows["caller"]["reason"]


def test_a_decision_in_another_folder_is_found_and_one_no_file_defines_is_named(runner, tmp_path):
    root = write(tmp_path / "models", {
        "loans/flow/decides.bpmn": decides("decides", "pick_colour"),
        "loans/tables/colour.dmn": DMN,
        "loans/flow2/missing.bpmn": decides("missing", "pick_size"),
    })
    rows, _ = run(runner, root, tmp_path)
    assert rows["decides"]["ran"], rows["decides"]["reason"]
    assert rows["missing"]["reason"] == ("decide: the business rule task calls decision 'pick_size', which no file "
                                         "under models/ defines")


LOOP_ON_ANSWER = chain(user_task("ask", "ask.json"), '<bpmn:exclusiveGateway id="done" default="again"/>') \
    .replace('<bpmn:sequenceFlow id="f2" sourceRef="done" targetRef="end"/>',
             '<bpmn:sequenceFlow id="f2" sourceRef="done" targetRef="end"><bpmn:conditionExpression>'
             'answer == \'Yes\'</bpmn:conditionExpression></bpmn:sequenceFlow>'
             '<bpmn:sequenceFlow id="again" sourceRef="done" targetRef="ask"/>')


def test_a_task_the_instance_comes_back_to_is_answered_differently(runner, tmp_path):
    """The first answer ('x') loops back; the driver then gives the string the condition compares with."""
    root = write(tmp_path / "models", {
        "loop/loop.bpmn": process("asks_again", LOOP_ON_ANSWER),
        "loop/ask.json": json.dumps({"type": "object", "properties": {"answer": {"type": "string"}}}),
    })
    rows, _ = run(runner, root, tmp_path)
    assert rows["asks_again"]["ran"], rows["asks_again"]["reason"]
    assert rows["asks_again"]["end_events"] == ["end"]


def test_a_loop_no_answer_can_leave_says_what_kept_coming_back(runner, tmp_path):
    body = chain('<bpmn:scriptTask id="set"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>',
                 '<bpmn:manualTask id="again"/>', '<bpmn:exclusiveGateway id="gw" default="f3"/>') \
        .replace('<bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="end"/>',
                 '<bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="end"/>'
                 '<bpmn:sequenceFlow id="back" sourceRef="gw" targetRef="set">'
                 '<bpmn:conditionExpression>x == 1</bpmn:conditionExpression></bpmn:sequenceFlow>')
    root = write(tmp_path / "models", {"loop/forever.bpmn": process("forever", body)})
    rows, _ = run(runner, root, tmp_path)
    assert not rows["forever"]["ran"]
    assert rows["forever"]["reason"].startswith("no end event after 60 steps: it kept coming back; user task again "
                                                "was completed 60 times (it has no form: no answer could take another way)")


CORRELATION = """<bpmn:collaboration id="collab"><bpmn:participant id="p" processRef="{pid}"/>
  <bpmn:correlationKey name="order_key"><bpmn:correlationPropertyRef>order</bpmn:correlationPropertyRef></bpmn:correlationKey>
</bpmn:collaboration>
<bpmn:correlationProperty id="order" name="order">
  <bpmn:correlationPropertyRetrievalExpression messageRef="msg_paid"><bpmn:formalExpression>order_id</bpmn:formalExpression>
  </bpmn:correlationPropertyRetrievalExpression>
</bpmn:correlationProperty>
<bpmn:message id="msg_paid" name="paid"/>
"""


def correlated(pid: str, script: str) -> str:
    return process(pid, chain(
        f'<bpmn:scriptTask id="prepare"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>',
        '<bpmn:intermediateCatchEvent id="wait_paid"><bpmn:messageEventDefinition id="med" messageRef="msg_paid"/>'
        '</bpmn:intermediateCatchEvent>'), before=CORRELATION.format(pid=pid))


def test_a_correlated_message_carries_the_value_the_waiting_instance_holds(runner, tmp_path):
    root = write(tmp_path / "models", {
        "pay/known.bpmn": correlated("known", "order_id = 'A-1'"),
        "pay/unknown.bpmn": correlated("unknown", "note = 'nothing about the order'"),
    })
    rows, _ = run(runner, root, tmp_path)
    assert rows["known"]["ran"], rows["known"]["reason"]
    assert rows["unknown"]["reason"].startswith(
        "message 'paid' not sent: its catch event reads order_id from the payload to match it to its conversation, "
        "and neither the conversation so far nor the waiting instance holds a value for it")


@pytest.mark.parametrize("verdict", ["validate_passes", "validate_refuses"])
def test_validate_and_deploy_disagreeing_on_a_file_is_counted(runner, tmp_path, monkeypatch, verdict):
    groovy = process("greets", chain('<bpmn:scriptTask id="greet" scriptFormat="groovy"><bpmn:script>println "hi"'
                                     '</bpmn:script></bpmn:scriptTask>'))
    fine = process("fine", chain('<bpmn:task id="noop"/>'))
    root = write(tmp_path / "models", {"a/one.bpmn": groovy if verdict == "validate_passes" else fine})
    real = deployment.check_diagrams

    def check(files, forms_from="folder"):  # a `processes validate` that says the opposite of the deploy's check
        found = real(files, forms_from)
        if verdict == "validate_passes":
            return [p for p in found if p.severity != "error"]
        return [*found, DiagramProblem(files[0].filename, "noop", "refused by this test")]

    monkeypatch.setattr(deployment, "check_diagrams", check)
    rows, tail = run(runner, root, tmp_path)
    assert tail[2] == "disagreements: 1"
    row = next(iter(rows.values()))
    assert not row["ran"]
    if verdict == "validate_passes":
        assert row["disagreement"].startswith("validate passed it; the deploy refused it: diagram refused")
        assert not row["deployed"]
    else:
        assert row["disagreement"] == "validate refused it (noop: refused by this test); the deploy accepted it"
        assert row["deployed"]  # what happened, though it is not driven: validate refused it


def test_the_answers_change_from_one_visit_to_the_next():
    schema = {"type": "object", "properties": {
        "pick": {"type": "string", "enum": ["a", "b", "c"]}, "ok": {"type": "boolean"},
        "free": {"type": "string"}, "plain": {"type": "string"}}}
    hints = {"free": ["Yes", "Later"]}
    answers = [compat_answers.form_data(schema, visit, hints) for visit in range(4)]
    assert [a["pick"] for a in answers] == ["a", "b", "c", "a"]
    assert [a["ok"] for a in answers] == [True, False, True, False]
    assert [a["free"] for a in answers] == ["x", "Yes", "Later", "Yes"]
    assert {a["plain"] for a in answers} == {"x"}  # nothing in the diagram says what else to write


def test_the_strings_the_conditions_compare_are_read_from_the_diagram():
    found = compat_index.compared_strings([process("p", "").encode(), process("l", LOOP_ON_ANSWER).encode(),
                                           b"<d><conditionExpression>'No' == answer or kind == \"loan\""
                                           b"</conditionExpression></d>"])
    assert found == {"answer": ["Yes", "No"], "kind": ["loan"]}


def test_a_message_carries_the_correlation_value_its_catch_event_expects(runner, tmp_path):
    """SpiffArena's processVariableCorrelation: the receive task says which value it waits for."""
    inner = chain(
        '<bpmn:receiveTask id="wait_paid" messageRef="msg_paid"><bpmn:extensionElements>'
        '<spiffworkflow:processVariableCorrelation><spiffworkflow:propertyId>order</spiffworkflow:propertyId>'
        "<spiffworkflow:expression>'A-' + str(1)</spiffworkflow:expression></spiffworkflow:processVariableCorrelation>"
        '</bpmn:extensionElements></bpmn:receiveTask>').replace('id="start"', 'id="in_start"').replace(
        'id="end"', 'id="in_end"').replace('"start"', '"in_start"').replace('"end"', '"in_end"').replace(
        'id="f', 'id="in_f')
    # inside a subprocess, as in spiff-arena/message/message-receive.bpmn: the conversation holds no value yet
    expects = process("expects", chain(f'<bpmn:subProcess id="sub">{inner}</bpmn:subProcess>'),
                      before=CORRELATION.format(pid="expects"))
    root = write(tmp_path / "models", {"pay/expects.bpmn": expects})
    rows, _ = run(runner, root, tmp_path)
    assert rows["expects"]["ran"], rows["expects"]["reason"]


def test_a_message_only_its_sender_can_correlate_is_sent_by_the_sender_deployed_beside_it(runner, tmp_path):
    """SpiffArena keeps a conversation's ends as sibling process models: the receiver waits for a payment
    correlated by an order id only the buyer knows. The buyer, found beside it, is started with the same
    business key and its message passed on (the outbox), so both run; alone, the receiver says why not."""
    buyer = process("buyer", chain(
        '<bpmn:scriptTask id="order"><bpmn:script>order_id = "B-7"</bpmn:script></bpmn:scriptTask>',
        '<bpmn:sendTask id="pay" messageRef="msg_paid"><bpmn:extensionElements><spiffworkflow:messagePayload>'
        '{"order_id": order_id, "amount": "12.50"}</spiffworkflow:messagePayload></bpmn:extensionElements>'
        '</bpmn:sendTask>'), before=CORRELATION.format(pid="buyer"))
    seller = correlated("seller", "note = 'waiting for a payment'")
    root = write(tmp_path / "models", {"shop/buyer/buyer.bpmn": buyer, "shop/seller/seller.bpmn": seller})
    rows, _ = run(runner, root, tmp_path)
    assert rows["seller"]["ran"], rows["seller"]["reason"]
    assert rows["buyer"]["ran"], rows["buyer"]["reason"]

    alone = write(tmp_path / "alone", {"shop/seller/seller.bpmn": seller})
    rows, _ = run(runner, alone, tmp_path)
    assert rows["seller"]["reason"].startswith("message 'paid' not sent: its catch event reads order_id")


def test_a_conversations_other_ends_are_the_files_beside_it_or_its_sibling_models(tmp_path):
    sender = process("s", chain('<bpmn:sendTask id="t" messageRef="m"/>'), before='<bpmn:message id="m" name="go"/>')
    receiver = process("r", chain('<bpmn:receiveTask id="w" messageRef="m"/>'), before='<bpmn:message id="m" name="go"/>')
    root = write(tmp_path / "models", {
        "group/sender/sender.bpmn": sender, "group/receiver/receiver.bpmn": receiver,  # sibling models
        "group/other/receiver.bpmn": receiver, "group/other/another.bpmn": sender,  # a folder of several files
        "elsewhere/receiver/receiver.bpmn": receiver,  # another group
    })
    paths = sorted(root.rglob("*.bpmn"))
    index = compat_index.DiagramIndex(root, paths, [])
    assert compat_index.message_ends(sender.encode()) == ({"go": {"s"}}, {})
    assert compat_index.message_ends(receiver.encode()) == ({}, {"go": {"r"}})
    near = root / "group/sender/sender.bpmn"
    assert index.message_partners(near, {"go"}, set()) == [root / "group/other/receiver.bpmn",
                                                           root / "group/receiver/receiver.bpmn"]
    assert index.message_partners(near, set(), {"go"}) == [root / "group/other/another.bpmn"]  # it sends what one waits for
    crowded = root / "group/other/another.bpmn"  # not a model of its own: only its folder
    assert index.message_partners(crowded, {"go"}, set()) == [root / "group/other/receiver.bpmn"]


def test_a_join_waiting_for_a_path_that_went_elsewhere_is_said_so(runner, tmp_path):
    """It was "waits with nothing that can move it", a reason no group knew (two of Camunda's engine tests)."""
    body = ('<bpmn:startEvent id="start"/><bpmn:parallelGateway id="split"/><bpmn:userTask id="a"/>'
            '<bpmn:userTask id="b"/><bpmn:parallelGateway id="join"/><bpmn:endEvent id="end"/>'
            '<bpmn:endEvent id="elsewhere"/>'
            '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="split"/>'
            '<bpmn:sequenceFlow id="f1" sourceRef="split" targetRef="a"/>'
            '<bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="b"/>'
            '<bpmn:sequenceFlow id="f3" sourceRef="a" targetRef="join"/>'
            '<bpmn:sequenceFlow id="f4" sourceRef="b" targetRef="elsewhere"/>'
            '<bpmn:sequenceFlow id="f5" sourceRef="b" targetRef="join">'
            '<bpmn:conditionExpression>False</bpmn:conditionExpression></bpmn:sequenceFlow>'
            '<bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="end"/>')
    root = write(tmp_path / "models", {"stuck/join.bpmn": process("stuck", body)})
    rows, _ = run(runner, root, tmp_path)
    assert not rows["stuck"]["ran"] and rows["stuck"]["why"] == "fails"
    assert rows["stuck"]["reason"].startswith("waits at the join join for a path that can no longer reach it")
