"""A caught error's code and message kept where the diagram says (`app/engine/caught_errors.py`).

Before, Camunda 7's `camunda:errorCodeVariable` and `errorMessageVariable` were said and not read: a
catch-all error event gave the path after it no way to know which error it caught."""
from __future__ import annotations

from SpiffWorkflow.spiff.specs.event_definitions import ErrorEventDefinition

from app.engine.caught_errors import ErrorKeptInData
from app.engine.parser import DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine
from app.engine.serializer import StateSerializer

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"


def bundle(body: str):
    content = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="{CAMUNDA}"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="t">
  <bpmn:error id="late" errorCode="LATE"/>
  <bpmn:error id="lost" errorCode="LOST"/>
  <bpmn:escalation id="up" escalationCode="MANAGER"/>
  <bpmn:process id="p" isExecutable="true">{body}</bpmn:process>
</bpmn:definitions>"""
    return parse_diagrams([DiagramFile("p.bpmn", content.encode())])


def thrower(throws: str, catch: str) -> str:
    """A sub-process that throws the error `throws`, with a boundary error event whose definition is `catch`."""
    holder, definition = catch.rsplit("<bpmn:errorEventDefinition", 1) if "extensionElements" in catch else ("", catch)
    definition = definition if definition.startswith("<") else "<bpmn:errorEventDefinition" + definition
    return f"""
    <bpmn:startEvent id="start"/>
    <bpmn:subProcess id="work">
      <bpmn:startEvent id="w_start"/>
      <bpmn:endEvent id="w_fail"><bpmn:errorEventDefinition errorRef="{throws}"/></bpmn:endEvent>
      <bpmn:sequenceFlow id="w1" sourceRef="w_start" targetRef="w_fail"/>
    </bpmn:subProcess>
    <bpmn:boundaryEvent id="h_start" attachedToRef="work">{holder}{definition}</bpmn:boundaryEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:endEvent id="h_end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <bpmn:sequenceFlow id="h1" sourceRef="h_start" targetRef="h_end"/>"""


def run(found) -> dict:
    process = found.processes["p"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {}))
    assert outcome.status == "completed", outcome.error
    return outcome.data


def test_a_catch_all_boundary_event_keeps_the_code_camunda_names():
    found = bundle(thrower("late", '<bpmn:errorEventDefinition camunda:errorCodeVariable="failure"/>'))
    assert run(found)["failure"] == "LATE"
    [warning] = [w.reason for w in found.warnings if w.element_id == "h_start"]
    assert warning == "camunda:errorCodeVariable: the caught error's code is kept in the variable failure"


def test_loanflows_own_extension_element_says_the_same():
    catch = ('<bpmn:extensionElements><spiffworkflow:errorCodeVariable>failure</spiffworkflow:errorCodeVariable>'
             '<spiffworkflow:errorMessageVariable>why</spiffworkflow:errorMessageVariable></bpmn:extensionElements>'
             '<bpmn:errorEventDefinition errorRef="late"/>')
    data = run(bundle(thrower("late", catch)))
    assert data["failure"] == "LATE" and data["why"] is None  # the diagram's own error has no message


def test_an_event_that_names_its_error_still_catches_only_that_code():
    found = bundle(thrower("lost", '<bpmn:errorEventDefinition errorRef="late" camunda:errorCodeVariable="x"/>'))
    process = found.processes["p"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {}))
    # LOST is not LATE: nothing catches it, and the sub-process ends there (as Camunda 7 ends an unhandled
    # error's path); the boundary event does not run
    assert outcome.status == "completed" and outcome.end_events == ["end"]
    assert "x" not in outcome.data


def test_the_definition_is_installed_only_where_a_variable_is_named_and_survives_the_stored_spec():
    found = bundle(thrower("late", '<bpmn:errorEventDefinition camunda:errorCodeVariable="failure"/>'))
    process = found.processes["p"]
    assert type(process.spec.task_specs["h_start"].event_definition) is ErrorKeptInData
    serializer = StateSerializer()
    spec, _embedded = serializer.load_spec(serializer.dump_spec(process.spec, process.embedded))
    assert type(spec.task_specs["h_start"].event_definition) is ErrorKeptInData
    plain = bundle(thrower("late", '<bpmn:errorEventDefinition/>')).processes["p"]
    assert type(plain.spec.task_specs["h_start"].event_definition) is ErrorEventDefinition


def test_a_name_that_is_no_variable_name_is_said_not_read():
    found = bundle(thrower("late", '<bpmn:errorEventDefinition camunda:errorCodeVariable="1st code"/>'))
    [warning] = [w.reason for w in found.warnings if w.element_id == "h_start"]
    assert warning.startswith("camunda:errorCodeVariable '1st code' on the error event definition is not read")
    assert "failure" not in run(found)


def test_an_escalation_boundary_event_keeps_the_caught_escalation_code():
    body = """
    <bpmn:startEvent id="start"/>
    <bpmn:subProcess id="work">
      <bpmn:startEvent id="w_start"/>
      <bpmn:endEvent id="w_up"><bpmn:escalationEventDefinition escalationRef="up"/></bpmn:endEvent>
      <bpmn:sequenceFlow id="w1" sourceRef="w_start" targetRef="w_up"/>
    </bpmn:subProcess>
    <bpmn:boundaryEvent id="raised" attachedToRef="work">
      <bpmn:escalationEventDefinition camunda:escalationCodeVariable="level"/></bpmn:boundaryEvent>
    <bpmn:endEvent id="end"/><bpmn:endEvent id="raised_end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <bpmn:sequenceFlow id="f3" sourceRef="raised" targetRef="raised_end"/>"""
    found = bundle(body)
    assert run(found)["level"] == "MANAGER"
    [warning] = [w.reason for w in found.warnings if w.element_id == "raised"]
    assert warning == "camunda:escalationCodeVariable: the caught escalation's code is kept in the variable level"


def bundle_with_message(body: str, message: str = "Not enough stock"):
    content = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="{CAMUNDA}" id="defs"
                  targetNamespace="t">
  <bpmn:error id="late" errorCode="LATE" camunda:errorMessage="{message}"/>
  <bpmn:error id="lost" errorCode="LOST"/>
  <bpmn:process id="p" isExecutable="true">{body}</bpmn:process>
</bpmn:definitions>"""
    return parse_diagrams([DiagramFile("p.bpmn", content.encode())])


def test_camunda_error_message_of_an_error_end_event_is_the_message_a_boundary_event_keeps():
    # Before, camunda:errorMessage was said and not read: errorMessageVariable held None for every error
    # the diagram threw
    found = bundle_with_message(thrower("late", '<bpmn:errorEventDefinition camunda:errorCodeVariable="code" '
                                                'camunda:errorMessageVariable="why"/>'))
    data = run(found)
    assert (data["code"], data["why"]) == ("LATE", "Not enough stock")
    [said] = [w.reason for w in found.warnings if w.element_id == "late"]
    assert "'Not enough stock'" in said and "errorMessageVariable" in said


def test_an_error_thrown_with_a_message_is_caught_as_any_error_of_its_code_after_a_save_and_load():
    for catch, caught in (('<bpmn:errorEventDefinition errorRef="late"/>', True),
                          ('<bpmn:errorEventDefinition/>', True), ('<bpmn:errorEventDefinition errorRef="lost"/>', False)):
        found = bundle_with_message(thrower("late", catch))
        process = found.processes["p"]
        serializer = StateSerializer()
        spec, embedded = serializer.load_spec(serializer.dump_spec(process.spec, process.embedded))
        engine = ProcessEngine()
        outcome = engine.advance(engine.new_workflow(spec, embedded, {}))
        assert (outcome.status == "completed" and outcome.end_events == ["h_end"]) is caught, outcome


def test_an_error_message_written_as_an_expression_is_said_not_read():
    found = bundle_with_message(thrower("late", '<bpmn:errorEventDefinition camunda:errorMessageVariable="why"/>'),
                                message="${reason}")
    assert run(found)["why"] is None
    [said] = [w.reason for w in found.warnings if w.element_id == "late"]
    assert "not read" in said and "expression" in said
