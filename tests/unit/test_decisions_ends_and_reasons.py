"""Issue 17: every decision of a multi-decision DMN file is callable; a process without an end event
ends at an end event the import draws after its last element (BPMN's implicit end; it was refused
before, and ended `completed` having reached no end before that); a failed step carries a reason a
person can act on, beside the technical text. Each test failed before its change: the DMN file was
refused ("only one decision per file"), a decision that is no table was accepted and failed at run
time, the process without an end event passed the strict check, and an incident had only the
exception's text."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.engine.errors import DiagramRejected
from app.engine.lint import lint_bundle
from app.engine.parser import DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine, StepOutcome
from tests.unit.test_runner import diagram, inline, script_chain

DMN_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def _table(decision_id: str, output: str, rules: list[tuple[str, str]], extra: str = "") -> str:
    rows = "".join(f'<rule id="{decision_id}_r{n}"><inputEntry id="{decision_id}_i{n}"><text>{entry}</text></inputEntry>'
                   f'<outputEntry id="{decision_id}_o{n}"><text>{value}</text></outputEntry></rule>'
                   for n, (entry, value) in enumerate(rules))
    return (f'<decision id="{decision_id}" name="{decision_id} table">{extra}'
            f'<decisionTable id="{decision_id}_table"><input id="{decision_id}_in"><inputExpression id="{decision_id}_ie">'
            f'<text>score</text></inputExpression></input><output id="{decision_id}_out" name="{output}"/>{rows}'
            f'</decisionTable></decision>')


def _dmn(*decisions: str) -> DiagramFile:
    body = "".join(decisions)
    return DiagramFile("rules.dmn", f'<?xml version="1.0" encoding="UTF-8"?><definitions xmlns="{DMN_NS}" '
                                    f'id="defs_rules" name="Rules" namespace="http://loanflow.local/dmn">'
                                    f'<inputData id="score_input" name="score"/>{body}</definitions>'.encode())


GRADE = _table("grade", "grade", [("&gt;= 600", '"A"'), ("&lt; 600", '"B"')])
LIMIT = _table("limit", "limit", [("&gt;= 700", "5000"), ("600 &lt;= ? &lt; 700", "1000")])


def _calling(decision_id: str, then: str = "") -> bytes:
    return diagram(f"""
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="decide"><bpmn:extensionElements>
      <spiffworkflow:calledDecisionId>{decision_id}</spiffworkflow:calledDecisionId></bpmn:extensionElements>
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:scriptTask id="use"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{then or 'pass'}</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="decide"/>
    <bpmn:sequenceFlow id="f1" sourceRef="decide" targetRef="use"/>
    <bpmn:sequenceFlow id="f2" sourceRef="use" targetRef="end"/>""")


def _run(content: bytes, data: dict[str, Any], dmn: DiagramFile | None = None, **engine: Any) -> StepOutcome:
    bundle = parse_diagrams([DiagramFile("inline.bpmn", content)], context_dmn=[dmn] if dmn else [])
    process = bundle.processes["inline"]
    runner = ProcessEngine(**engine)
    return runner.advance(runner.new_workflow(process.spec, process.embedded, data))


# -- multi-decision DMN -------------------------------------------------------------------------

def test_every_decision_of_a_multi_decision_file_is_a_decision_of_its_own():
    bundle = parse_diagrams([_dmn(GRADE, LIMIT)])
    assert sorted(bundle.decisions) == ["grade", "limit"]
    assert {d.file.filename for d in bundle.decisions.values()} == {"rules.dmn"}
    assert bundle.decisions["limit"].name == "limit table"
    assert bundle.decisions["grade"].file.content == _dmn(GRADE, LIMIT).content  # the file itself is deployed


@pytest.mark.parametrize(("decision_id", "score", "expected"), [
    ("grade", 650, {"grade": "A"}), ("limit", 650, {"limit": 1000}), ("limit", 720, {"limit": 5000})])
def test_a_business_rule_task_calls_any_decision_of_the_file(decision_id, score, expected):
    outcome = _run(_calling(decision_id), {"score": score}, _dmn(GRADE, LIMIT))
    assert outcome.status == "completed", outcome.error
    assert {k: outcome.data[k] for k in expected} == expected
    assert not {"grade", "limit"} - set(expected) & set(outcome.data)  # only the called decision ran


def test_a_decision_that_is_no_table_is_refused_at_parse_not_at_run_time():
    literal = '<decision id="fee" name="Fee"><literalExpression id="le"><text>score * 2</text></literalExpression></decision>'
    with pytest.raises(DiagramRejected) as caught:
        parse_diagrams([_dmn(literal)])
    (problem,) = caught.value.problems
    assert problem.element_id == "fee" and "a literalExpression, not a decision table" in problem.reason


# -- a process without an end event ------------------------------------------------------------

NO_END = """
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="only"><bpmn:incoming>f0</bpmn:incoming><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="only"/>"""


def test_a_process_without_an_end_event_ends_at_a_generated_end_event_after_its_last_element():
    """BPMN's implicit end (issue 17, implicit flow semantics): the strict check refused the process; the
    import now draws an end event after its last element and says so, and `completed` names that end."""
    bundle = inline(NO_END)
    assert [p for p in lint_bundle(bundle, [], []) if p.severity == "error"] == []
    assert any(w.element_id == "only" and "ImplicitEnd_only" in w.reason for w in bundle.warnings)
    process = bundle.processes["inline"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {}))
    assert (outcome.status, outcome.end_events) == ("completed", ["ImplicitEnd_only"])


def test_an_end_inside_a_subprocess_does_not_end_the_process_around_it():
    body = NO_END.replace('<bpmn:scriptTask id="only"><bpmn:incoming>f0</bpmn:incoming><bpmn:script>x = 1</bpmn:script>'
                          '</bpmn:scriptTask>',
                          '<bpmn:subProcess id="only"><bpmn:incoming>f0</bpmn:incoming>'
                          '<bpmn:startEvent id="s2"><bpmn:outgoing>g0</bpmn:outgoing></bpmn:startEvent>'
                          '<bpmn:endEvent id="e2"><bpmn:incoming>g0</bpmn:incoming></bpmn:endEvent>'
                          '<bpmn:sequenceFlow id="g0" sourceRef="s2" targetRef="e2"/></bpmn:subProcess>')
    assert 'id="e2"' in body
    bundle = inline(body)
    assert [w.element_id for w in bundle.warnings] == ["only"]  # the end after the subprocess, none inside it
    process = bundle.processes["inline"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {}))
    assert (outcome.status, outcome.end_events) == ("completed", ["ImplicitEnd_only"])  # the process's own end
    assert not [p for p in lint_bundle(inline(script_chain(("s1", "x = 1"))), [], []) if p.severity == "error"]


# -- reasons a person can act on -----------------------------------------------------------------

def _reason(outcome: StepOutcome) -> dict[str, Any]:
    assert outcome.status == "error", outcome
    return outcome.error["reason"]


def test_a_script_reading_a_variable_the_instance_lacks_names_it():
    engine = ProcessEngine()
    process = inline(script_chain(("s1", "fee = amount * rate"))).processes["inline"]
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {"rate": 2}))
    reason = _reason(outcome)
    assert reason["code"] == "missing_variable" and reason["params"] == {"element": "s1", "name": "amount"}
    assert reason["text"].startswith("The script at s1 reads amount, which this instance has no value for")
    assert "NameError" in outcome.error["message"]  # the technical text stays, for staff


def test_a_script_using_an_empty_value_says_so_with_its_line():
    process = inline(script_chain(("s1", "a = 1\nfee = amount + 1"))).processes["inline"]
    engine = ProcessEngine()
    reason = _reason(engine.advance(engine.new_workflow(process.spec, process.embedded, {"amount": None})))
    assert reason["code"] == "empty_value" and reason["params"]["line"] == "2"
    assert "NoneType" in reason["params"]["error"]


GATEWAY = """
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="gw" default="f2"><bpmn:incoming>f0</bpmn:incoming>
      <bpmn:outgoing>f1</bpmn:outgoing><bpmn:outgoing>f2</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="big"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="small"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="gw"/>
    <bpmn:sequenceFlow id="f1" sourceRef="gw" targetRef="big"><bpmn:conditionExpression>amount &gt; 5</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f2" sourceRef="gw" targetRef="small"/>"""


@pytest.mark.parametrize(("data", "code", "said"), [
    ({}, "condition_missing_variable", "reads amount, which this instance has no value for"),
    ({"amount": None}, "condition_failed", "'>' not supported between instances of 'NoneType' and 'int'"),
])
def test_a_condition_that_raised_says_which_and_why(data, code, said):
    process = inline(GATEWAY).processes["inline"]
    engine = ProcessEngine()
    reason = _reason(engine.advance(engine.new_workflow(process.spec, process.embedded, data)))
    assert reason["code"] == code and reason["params"]["expression"] == "amount > 5"
    assert reason["params"]["element"] == "gw" and said in reason["text"]


@pytest.mark.parametrize("kind", ["exclusiveGateway", "inclusiveGateway"])
def test_a_gateway_whose_conditions_all_fail_without_a_default_says_so_in_words(kind):
    """SpiffWorkflow's "No conditions satisfied for gw." reached the incident as it was."""
    body = (GATEWAY.replace(' default="f2"', "").replace("exclusiveGateway", kind)
            .replace('targetRef="small"/>', 'targetRef="small"><bpmn:conditionExpression>amount &lt; 0'
                                           '</bpmn:conditionExpression></bpmn:sequenceFlow>'))
    process = inline(body).processes["inline"]
    engine = ProcessEngine()
    reason = _reason(engine.advance(engine.new_workflow(process.spec, process.embedded, {"amount": 3})))
    assert reason["code"] == "no_condition_holds" and reason["params"] == {"element": "gw"}
    assert reason["text"].startswith("None of the conditions on the flows leaving gw holds for this instance's data")


def test_a_decision_that_matched_no_rule_is_named_where_its_output_is_read():
    outcome = _run(_calling("limit", then="offer = limit * 2"), {"score": 100}, _dmn(GRADE, LIMIT))
    reason = _reason(outcome)
    assert reason["code"] == "missing_decision_output"
    assert reason["params"] == {"element": "use", "name": "limit", "decision": "limit"}


SERVICE = """
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="svc"><bpmn:extensionElements><spiffworkflow:serviceTaskOperator id="risk/score"/>
      </bpmn:extensionElements><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="svc"/>
    <bpmn:sequenceFlow id="f1" sourceRef="svc" targetRef="end"/>"""


def test_a_service_without_handlers_names_the_operator():
    process = inline(SERVICE).processes["inline"]
    engine = ProcessEngine()
    reason = _reason(engine.advance(engine.new_workflow(process.spec, process.embedded, {})))
    assert reason["code"] == "no_operator" and reason["params"] == {"element": "svc", "operator": "risk/score"}


def test_a_service_that_kept_failing_says_how_often_and_why():
    def down(operator: str, params: dict, context: dict) -> dict:
        raise ConnectionError("risk engine down")

    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    process = inline(SERVICE).processes["inline"]
    engine = ProcessEngine(call_service=down, clock=lambda: now[0])
    workflow = engine.new_workflow(process.spec, process.embedded, {})
    outcome = engine.advance(workflow)
    while outcome.status == "waiting" and outcome.due_at is not None:
        now[0] = outcome.due_at + timedelta(seconds=1)
        outcome = engine.wake(workflow)
    reason = _reason(outcome)
    assert reason["code"] == "service_failed"
    assert reason["params"] == {"element": "svc", "operator": "risk/score", "attempts": "3",
                                "error": "ConnectionError: risk engine down"}


def test_a_called_process_that_is_missing_is_named():
    body = """
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:callActivity id="call" calledElement="elsewhere"><bpmn:incoming>f0</bpmn:incoming>
      <bpmn:outgoing>f1</bpmn:outgoing></bpmn:callActivity>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="call"/>
    <bpmn:sequenceFlow id="f1" sourceRef="call" targetRef="end"/>"""
    process = inline(body).processes["inline"]
    engine = ProcessEngine()
    reason = _reason(engine.advance(engine.new_workflow(process.spec, process.embedded, {})))
    assert reason["code"] == "called_process_missing"
    assert reason["params"] == {"element": "call", "called": "elsewhere"}


CORRELATED = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs_inline" targetNamespace="http://loanflow.local/bpmn">
  <bpmn:collaboration id="c"><bpmn:participant id="p" processRef="inline"/>
    <bpmn:correlationKey name="order"><bpmn:correlationPropertyRef>order_no</bpmn:correlationPropertyRef></bpmn:correlationKey>
  </bpmn:collaboration>
  <bpmn:correlationProperty id="order_no" name="Order">
    <bpmn:correlationPropertyRetrievalExpression messageRef="reply"><bpmn:messagePath>order_no</bpmn:messagePath>
    </bpmn:correlationPropertyRetrievalExpression></bpmn:correlationProperty>
  <bpmn:message id="ask" name="ask"/>
  <bpmn:message id="reply" name="reply"/>
  <bpmn:process id="inline" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:messageEventDefinition id="m1" messageRef="ask"><bpmn:extensionElements>
        <spiffworkflow:messageVariable>asked</spiffworkflow:messageVariable></bpmn:extensionElements>
      </bpmn:messageEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:sendTask id="answer" messageRef="reply"><bpmn:extensionElements>
      <spiffworkflow:messagePayload>asked</spiffworkflow:messagePayload></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:sendTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f1" sourceRef="wait" targetRef="answer"/>
    <bpmn:sequenceFlow id="f2" sourceRef="answer" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_a_message_without_what_the_process_reads_from_it_says_what_to_send():
    process = parse_diagrams([DiagramFile("inline.bpmn", CORRELATED)]).processes["inline"]
    engine = ProcessEngine()
    workflow = engine.new_workflow(process.spec, process.embedded, {})
    assert engine.advance(workflow).messages == ["ask"]
    reason = _reason(engine.catch_message(workflow, "ask", {}))
    assert reason["code"] == "message_payload" and reason["params"] == {"message": "ask", "name": "order_no"}
    again = engine.new_workflow(process.spec, process.embedded, {})
    engine.advance(again)
    assert engine.catch_message(again, "ask", {"order_no": 7}).status == "completed"


def test_a_reason_that_cannot_be_said_never_fails_the_step(monkeypatch):
    def broken(*args: Any) -> None:
        raise RuntimeError("the classifier fell over")

    monkeypatch.setattr("app.engine.reasons.of_failure", broken)
    process = inline(script_chain(("s1", "fee = amount"))).processes["inline"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {}))
    assert outcome.status == "error" and "NameError" in outcome.error["message"] and "reason" not in outcome.error


SEND_ASKED = """
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sendTask id="tell" messageRef="m"><bpmn:extensionElements><spiffworkflow:messagePayload>
      {"amount": amount}</spiffworkflow:messagePayload></bpmn:extensionElements>
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing></bpmn:sendTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="tell"/>
    <bpmn:sequenceFlow id="f1" sourceRef="tell" targetRef="end"/>"""


@pytest.mark.parametrize(("data", "code", "said"), [
    ({}, "expression_missing_variable", "reads amount, which this instance has no value for: set it before tell is "
                                        "reached"),
    ({"amount": 1}, None, None),
])
def test_an_expression_that_is_no_gateways_condition_is_not_called_one(data, code, said):
    """A message's payload (an operator's parameter, a loop's test) that reads what the instance lacks was
    "the condition ... set it before the gateway is reached", at a send task with no gateway near."""
    body = diagram(SEND_ASKED).replace(b"</bpmn:process>", b'</bpmn:process><bpmn:message id="m" name="m"/>')
    process = parse_diagrams([DiagramFile("inline.bpmn", body)]).processes["inline"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, data))
    if code is None:
        assert outcome.status == "completed"
        return
    reason = _reason(outcome)
    assert reason["code"] == code and reason["params"]["element"] == "tell"
    assert said in reason["text"] and "condition" not in reason["text"] and "gateway" not in reason["text"]


WAITS_ON_ITS_OWN_VALUES = """
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:messageEventDefinition id="md" messageRef="m"><bpmn:extensionElements>
        <spiffworkflow:processVariableCorrelation><spiffworkflow:propertyId>p1</spiffworkflow:propertyId>
          <spiffworkflow:expression>order_no</spiffworkflow:expression></spiffworkflow:processVariableCorrelation>
      </bpmn:extensionElements></bpmn:messageEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f1" sourceRef="wait" targetRef="end"/>"""


def test_a_wait_whose_own_correlation_value_is_missing_names_the_event():
    """SpiffWorkflow evaluates a catch event's process-variable correlation as the event starts to wait,
    outside any task's run: no task is in ERROR, and the incident named no element ("? reads order_no")."""
    body = diagram(WAITS_ON_ITS_OWN_VALUES).replace(
        b"<bpmn:process ", b'<bpmn:collaboration id="c"><bpmn:participant id="p" processRef="inline"/>'
                           b'<bpmn:correlationKey name="k"><bpmn:correlationPropertyRef>p1</bpmn:correlationPropertyRef>'
                           b'</bpmn:correlationKey></bpmn:collaboration><bpmn:process ').replace(
        b"</bpmn:process>", b'</bpmn:process><bpmn:message id="m" name="m"/>')
    process = parse_diagrams([DiagramFile("inline.bpmn", body)]).processes["inline"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {}))
    reason = _reason(outcome)
    assert outcome.error["element_id"] == "wait" and reason["params"] == {"element": "wait", "name": "order_no"}
    assert reason["text"].startswith("wait reads order_no, which this instance has no value for")
    assert outcome.error["engine_task_id"] is None  # nothing failed that a retry could run again
    waiting = engine.advance(engine.new_workflow(process.spec, process.embedded, {"order_no": 7}))
    assert waiting.status == "waiting"


SPLIT_AFTER_A_TASK = """
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="work"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>pass</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="big"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="small"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f1" sourceRef="work" targetRef="big"><bpmn:conditionExpression>amount &gt; 5</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="small"><bpmn:conditionExpression>amount &lt; 0</bpmn:conditionExpression></bpmn:sequenceFlow>"""


def test_a_fault_the_engine_says_in_its_own_words_keeps_them_as_its_reason():
    """No reason code knows "none of the conditions on the flows leaving work holds" (the import's split
    after a task): the incident had only its technical text, English for every reader; now the sentence
    is its reason, kept as its template and parameters for the reader's language."""
    process = inline(SPLIT_AFTER_A_TASK).processes["inline"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {"amount": 3}))
    reason = _reason(outcome)
    assert reason["code"] == "said" and reason["text"] == outcome.error["message"]
    assert reason["text"].startswith("none of the conditions on the flows leaving work holds")
    assert reason["said"]["said"].startswith("none of the conditions on the flows leaving %(element)s holds")
    assert reason["said"]["params"] == {"element": "work"}
