"""Issue 17, never report what did not happen: a message an instance throws that none of its own events
catches leaves the instance as a message sent (the step's outcome, for the platform's outbox); a
signal reaches no other instance, and the history says so. Neither is kept in the state, and the
strict check warns the analyst of a message no process of the file catches."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from app.engine.lint import lint_bundle
from app.engine.parser import DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine
from tests.unit.test_runner import diagram

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
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
SEND_WITH_PAYLOAD = ('<bpmn:sendTask id="tell" messageRef="m"><bpmn:extensionElements><spiffworkflow:messagePayload>'
                     '{"amount": amount}</spiffworkflow:messagePayload></bpmn:extensionElements></bpmn:sendTask>')
THROW_SIGNAL = ('<bpmn:intermediateThrowEvent id="tell"><bpmn:signalEventDefinition signalRef="s"/>'
                "</bpmn:intermediateThrowEvent>")
RECEIVER_POOL = """
  <bpmn:process id="receiver" isExecutable="true">
    <bpmn:startEvent id="r_start"><bpmn:messageEventDefinition messageRef="m"/></bpmn:startEvent>
    <bpmn:endEvent id="r_end"/><bpmn:sequenceFlow id="r1" sourceRef="r_start" targetRef="r_end"/>
  </bpmn:process>"""


def run(content: bytes, data: dict | None = None) -> tuple[str, list, dict, list]:
    process = parse_diagrams([DiagramFile("send.bpmn", content)]).processes["sender"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, data or {}))
    return outcome.status, outcome.history, json.loads(outcome.state), outcome.sent


@pytest.mark.parametrize(("body", "payload"), [
    (SEND_TASK, {}), (THROW_MESSAGE, {}),  # a message that names no payload carries nothing
    (SEND_WITH_PAYLOAD, {"amount": "120.50"}),
])
def test_a_message_no_event_of_the_instance_caught_leaves_it_as_sent_with_its_payload(body, payload):
    status, history, state, sent = run(sender(body, RECEIVER_POOL), {"amount": "120.50"})
    assert status == "completed"
    assert ("message_sent", None, {"message": "loan_ready"}) in history
    assert sent == [("loan_ready", payload)]
    assert state["bpmn_events"] == []


def test_a_signal_no_event_of_the_instance_caught_reaches_no_one_and_the_history_says_so():
    status, history, state, sent = run(sender(THROW_SIGNAL, RECEIVER_POOL))
    assert status == "completed"
    assert ("signal_unheard", None, {"signal": "limits_changed"}) in history
    assert sent == [] and state["bpmn_events"] == []


def test_the_messages_that_start_a_process_are_those_of_its_message_start_events():
    bundle = parse_diagrams([DiagramFile("send.bpmn", sender(SEND_TASK, RECEIVER_POOL))])
    assert ProcessEngine.message_starts(bundle.processes["receiver"].spec) == {"loan_ready"}
    assert ProcessEngine.message_starts(bundle.processes["sender"].spec) == frozenset()


def test_a_message_its_own_event_catches_is_no_unheard_message():
    caught = f"""{HEAD}
  <bpmn:process id="sender" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:parallelGateway id="both"/>
    <bpmn:intermediateCatchEvent id="heard"><bpmn:messageEventDefinition messageRef="m"/></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="heard_end"/><bpmn:sequenceFlow id="h1" sourceRef="heard" targetRef="heard_end"/>
    {SEND_TASK}
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="both"/>
    <bpmn:sequenceFlow id="h0" sourceRef="both" targetRef="heard"/>
    <bpmn:sequenceFlow id="f1" sourceRef="both" targetRef="tell"/>
    <bpmn:sequenceFlow id="f2" sourceRef="tell" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>""".encode()
    status, history, _state, sent = run(caught)
    assert status == "completed"
    assert sent == [] and [kind for kind, *_ in history if kind in ("message_sent", "message_unheard")] == []
    assert [p for p in lint_bundle(parse_diagrams([DiagramFile("send.bpmn", caught)]), (), ())
            if "caught by no event" in p.reason] == []


@pytest.mark.parametrize("body", [SEND_TASK, THROW_MESSAGE])
def test_the_strict_check_warns_of_a_message_no_event_of_the_file_catches(body):
    problems = lint_bundle(parse_diagrams([DiagramFile("send.bpmn", sender(body))]), (), ())
    (warning,) = [p for p in problems if "caught by no event" in p.reason]
    assert (warning.element_id, warning.severity) == ("tell", "warning")
    assert warning.reason.startswith("the message 'loan_ready' it sends is caught by no event of this file")
    assert "another file must wait for it or start on it" in warning.reason


@pytest.mark.parametrize("body", [SEND_TASK, THROW_MESSAGE])
def test_a_message_another_pool_of_the_file_starts_on_is_not_warned(body):
    problems = lint_bundle(parse_diagrams([DiagramFile("send.bpmn", sender(body, RECEIVER_POOL))]), (), ())
    assert [p for p in problems if "caught by no event" in p.reason] == []


def test_a_process_that_calls_another_is_not_warned_the_called_one_may_catch():
    calls = sender(SEND_TASK + '<bpmn:callActivity id="helper" calledElement="receiver"/>')
    problems = lint_bundle(parse_diagrams([DiagramFile("send.bpmn", calls)]), (), ())
    assert [p for p in problems if "caught by no event" in p.reason] == []


GATEWAY_WITH_TIMER = f"""{HEAD}
  <bpmn:process id="sender" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:eventBasedGateway id="which"/>
    <bpmn:intermediateCatchEvent id="settled"><bpmn:messageEventDefinition messageRef="m"/></bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="later">
      <bpmn:timerEventDefinition><bpmn:timeDuration>"PT2M"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="ask"><bpmn:script>asked = True</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="check"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="which"/>
    <bpmn:sequenceFlow id="f2" sourceRef="which" targetRef="settled"/>
    <bpmn:sequenceFlow id="f3" sourceRef="which" targetRef="later"/>
    <bpmn:sequenceFlow id="f4" sourceRef="later" targetRef="ask"/>
    <bpmn:sequenceFlow id="f5" sourceRef="ask" targetRef="check"/>
    <bpmn:sequenceFlow id="f7" sourceRef="check" targetRef="which"/>
    <bpmn:sequenceFlow id="f6" sourceRef="settled" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


def test_a_message_a_due_timer_beat_at_an_event_based_gateway_is_received_by_no_one_and_not_sent_on():
    """The gateway's timer was due when the message came: it fires first and the gateway takes its branch
    (the disbursement's payment notice after its two-minute wait). SpiffWorkflow keeps the message among
    the events to pass on: it must not go out as the instance's own message, and the history says no one
    received it."""
    moment = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]
    engine = ProcessEngine(clock=lambda: moment[0])
    process = parse_diagrams([DiagramFile("loop.bpmn", GATEWAY_WITH_TIMER)]).processes["sender"]
    state = engine.advance(engine.new_workflow(process.spec, process.embedded, {})).state
    moment[0] += timedelta(minutes=3)  # due, not yet woken
    outcome = engine.catch_message(engine.restore(state, process.spec, process.embedded), "loan_ready", {})
    assert outcome.status == "waiting"
    assert [task.element_id for task in outcome.ready] == ["check"]  # the timer's branch
    assert outcome.sent == []
    kinds = [kind for kind, *_ in outcome.history]
    assert kinds.index("timer_fired") < kinds.index("message_unheard")
    assert "message_sent" not in kinds
    assert json.loads(outcome.state)["bpmn_events"] == []


@pytest.mark.parametrize("body", [SEND_TASK, THROW_MESSAGE, SEND_WITH_PAYLOAD])
def test_the_messages_a_process_sends_are_those_of_its_throwing_events_as_imported(body):
    bundle = parse_diagrams([DiagramFile("send.bpmn", sender(body, RECEIVER_POOL))])
    engine = ProcessEngine
    assert engine.message_throws(bundle.processes["sender"].spec, bundle.processes["sender"].embedded) == {"loan_ready"}
    assert engine.message_throws(bundle.processes["receiver"].spec, bundle.processes["receiver"].embedded) == set()
    nested = sender(f'<bpmn:subProcess id="tell"><bpmn:startEvent id="in"/>{THROW_MESSAGE.replace("tell", "inner")}'
                    '<bpmn:sequenceFlow id="i1" sourceRef="in" targetRef="inner"/></bpmn:subProcess>')
    inside = parse_diagrams([DiagramFile("send.bpmn", nested)]).processes["sender"]
    assert engine.message_throws(inside.spec, inside.embedded) == {"loan_ready"}


def test_a_start_event_that_names_no_message_starts_on_none():
    """`processes validate` and every deploy failed with `TypeError: '<' not supported between instances of
    'NoneType' and 'str'` (the names a process starts on were sorted with None among them) before the strict
    check could say the event names no message."""
    body = ('<bpmn:startEvent id="start"><bpmn:messageEventDefinition/></bpmn:startEvent>'
            '<bpmn:endEvent id="end"/><bpmn:sequenceFlow id="f" sourceRef="start" targetRef="end"/>')
    bundle = parse_diagrams([DiagramFile("d.bpmn", diagram(body))])
    assert ProcessEngine.message_starts(bundle.processes["inline"].spec) == frozenset()
    assert any("names no message" in p.reason for p in lint_bundle(bundle, [], []) if p.severity == "error")
