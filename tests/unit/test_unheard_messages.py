"""Issue 17, never report what did not happen: a message or signal an instance throws that none of its
own events catches reaches no one in Loanflow (it passes none between instances). The instance's
history says so, the state does not keep it, and the strict check warns the analyst before deploy."""
from __future__ import annotations

import json

import pytest

from app.engine.lint import lint_bundle
from app.engine.parser import DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:message id="m" name="loan_ready"/><bpmn:signal id="s" name="limits_changed"/>"""


def sender(body: str, extra: str = "") -> bytes:
    return f"""{HEAD}
  <bpmn:process id="sender" isExecutable="true">
    <bpmn:startEvent id="start"/>{body}
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="tell"/>
    <bpmn:sequenceFlow id="f2" sourceRef="tell" targetRef="end"/>
  </bpmn:process>{extra}
</bpmn:definitions>""".encode()


SEND_TASK = '<bpmn:sendTask id="tell" messageRef="m"/>'
THROW_MESSAGE = ('<bpmn:intermediateThrowEvent id="tell"><bpmn:messageEventDefinition messageRef="m"/>'
                 "</bpmn:intermediateThrowEvent>")
THROW_SIGNAL = ('<bpmn:intermediateThrowEvent id="tell"><bpmn:signalEventDefinition signalRef="s"/>'
                "</bpmn:intermediateThrowEvent>")
RECEIVER_POOL = """
  <bpmn:process id="receiver" isExecutable="true">
    <bpmn:startEvent id="r_start"><bpmn:messageEventDefinition messageRef="m"/></bpmn:startEvent>
    <bpmn:endEvent id="r_end"/><bpmn:sequenceFlow id="r1" sourceRef="r_start" targetRef="r_end"/>
  </bpmn:process>"""


def run(content: bytes) -> tuple[str, list, dict]:
    process = parse_diagrams([DiagramFile("send.bpmn", content)]).processes["sender"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {}))
    return outcome.status, outcome.history, json.loads(outcome.state)


@pytest.mark.parametrize(("body", "said"), [
    (SEND_TASK, ("message_unheard", None, {"message": "loan_ready"})),
    (THROW_MESSAGE, ("message_unheard", None, {"message": "loan_ready"})),
    (THROW_SIGNAL, ("signal_unheard", None, {"signal": "limits_changed"})),
])
def test_what_no_event_of_the_instance_caught_is_in_its_history_and_not_kept(body, said):
    status, history, state = run(sender(body, RECEIVER_POOL))  # another pool's start event is another instance
    assert status == "completed"
    assert said in history
    assert state["bpmn_events"] == []


def test_a_message_its_own_event_catches_is_no_unheard_message():
    caught = f"""{HEAD}
  <bpmn:process id="sender" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:subProcess id="listener" triggeredByEvent="true">
      <bpmn:startEvent id="heard" isInterrupting="false"><bpmn:messageEventDefinition messageRef="m"/></bpmn:startEvent>
      <bpmn:endEvent id="heard_end"/><bpmn:sequenceFlow id="h1" sourceRef="heard" targetRef="heard_end"/>
    </bpmn:subProcess>
    {SEND_TASK}
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="tell"/>
    <bpmn:sequenceFlow id="f2" sourceRef="tell" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>""".encode()
    status, history, _state = run(caught)
    assert status == "completed"
    assert [kind for kind, *_ in history if kind.endswith("_unheard")] == []
    assert [p for p in lint_bundle(parse_diagrams([DiagramFile("send.bpmn", caught)]), (), ())
            if "caught by no event" in p.reason] == []


@pytest.mark.parametrize("body", [SEND_TASK, THROW_MESSAGE])
def test_the_strict_check_warns_of_a_message_no_event_of_the_process_catches(body):
    problems = lint_bundle(parse_diagrams([DiagramFile("send.bpmn", sender(body, RECEIVER_POOL))]), (), ())
    (warning,) = [p for p in problems if "caught by no event" in p.reason]
    assert (warning.element_id, warning.severity) == ("tell", "warning")
    assert warning.reason.startswith("the message 'loan_ready' it sends is caught by no event of this process")
    assert "POST /api/v1/messages" in warning.reason


def test_a_process_that_calls_another_is_not_warned_the_called_one_may_catch():
    calls = sender(SEND_TASK + '<bpmn:callActivity id="helper" calledElement="receiver"/>')
    problems = lint_bundle(parse_diagrams([DiagramFile("send.bpmn", calls)]), (), ())
    assert [p for p in problems if "caught by no event" in p.reason] == []
