"""Camunda 7 attributes nothing else reads (`app/engine/camunda_process.py`) are said, never dropped in silence;
Camunda's relative dates (`dateTime().plusDays(2)`, `app/engine/camunda_dates.py`) are the durations they mean.

Before, `camunda:followUpDate`, `candidateStarterGroups`, `dueDate`, `priority` and
`initiator` were ignored without a word, and a timer's `${dateTime().plusDays(1).toDate()}` was refused."""
from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import DurationTimerEventDefinition

from app.engine.camunda_dates import offset
from app.engine.camunda_user_tasks import camunda_priority
from app.engine.parser import DiagramFile, parse_diagrams

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"


def diagram(process: str = "", start: str = "", task: str = "", boundary: str = "", timer: str = "") -> DiagramFile:
    catch = (f'<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDate>{timer}'
             f'</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>') if timer else ""
    flows = ('<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>'
             '<bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="work"/>') if timer else \
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>'
    content = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="{CAMUNDA}"
                  id="defs" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true" {process}>
    <bpmn:startEvent id="start" {start}/>{catch}
    <bpmn:manualTask id="work" {task}/>
    <bpmn:boundaryEvent id="failed" attachedToRef="work"><bpmn:errorEventDefinition errorRef="E" {boundary}/>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="end"/><bpmn:endEvent id="end2"/>
    {flows}
    <bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="end"/>
    <bpmn:sequenceFlow id="f4" sourceRef="failed" targetRef="end2"/>
  </bpmn:process>
  <bpmn:error id="E" errorCode="FAILED"/>
</bpmn:definitions>"""
    return DiagramFile("p.bpmn", content.encode())


def said(file: DiagramFile) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for warning in parse_diagrams([file]).warnings:
        found.setdefault(warning.element_id or "", []).append(warning.reason)
    return found


def test_an_attribute_left_on_an_element_that_does_not_read_it_is_said_not_dropped():
    """A modeler keeps a task's attributes when its type changes: a manual task that was a user task keeps its
    assignee, which Camunda 7 ignores there; before, the import dropped it without a word (it reads an
    assignee on user tasks only). A script task's resultVariable, which Camunda 7 does keep, has no meaning
    for a Python script: said too."""
    warnings = said(diagram(task='camunda:assignee="anna" camunda:class="com.acme.X"'))
    assert "camunda:assignee 'anna' on the manual task is not read: it has a meaning only on a user task, and " \
           "Camunda 7 ignores it here too" in warnings["work"]
    assert any(w.startswith("camunda:class 'com.acme.X' on the manual task is not read: it has a meaning only on a "
                            "business rule task / message event definition / send task / service task")
               for w in warnings["work"])
    script = DiagramFile("s.bpmn", diagram().content.replace(
        b'<bpmn:manualTask id="work" />', b'<bpmn:scriptTask id="work" camunda:resultVariable="total">'
        b'<bpmn:script>total = 1</bpmn:script></bpmn:scriptTask>'))
    assert said(script)["work"] == ["camunda:resultVariable 'total' on the script task is not read: a Python script "
                                    "returns no value; assign the variable in the script itself"]
    assert "work" not in said(diagram(start='camunda:formKey="embedded:app:forms/start.html"'))  # read where it means


def test_an_attribute_with_a_meaning_loanflow_does_not_carry_is_said_naming_its_element():
    warnings = said(diagram(process='camunda:candidateStarterGroups="sales"', task='camunda:followUpDate="P1D" '
                            'camunda:fooBar="x"', boundary='camunda:errorCodeVariable="the code"'))
    assert warnings["p"] == ["camunda:candidateStarterGroups 'sales' on the process is not read: who may start a "
                             "process is Loanflow's access policy (the roles and the products that offer it), not the "
                             "diagram's"]
    assert "camunda:followUpDate 'P1D' on the manual task is not read: Loanflow's tasks have a due time, not a " \
           "follow-up date" in warnings["work"]
    assert "camunda:fooBar 'x' on the manual task is not read: Loanflow does not know it" in warnings["work"]
    assert warnings["failed"] == ["camunda:errorCodeVariable 'the code' on the error event definition is not read: a "
                                  "caught error's code is kept only by an error boundary event, in a variable named as "
                                  "Python names one"]
    # named by its event: the definition has no id (a variable name is read: tests/unit/test_caught_errors.py)


def test_camundas_own_machinery_and_what_loanflow_does_anyway_say_nothing():
    quiet = diagram(process='camunda:historyTimeToLive="P180D" camunda:versionTag="1.0"',
                    task='camunda:asyncBefore="true" camunda:exclusive="false"')
    assert said(quiet) == {}


@pytest.mark.parametrize(("expression", "duration"), [
    ("${dateTime().plusDays(2).toDate()}", "P2D"), ("#{dateTime().plusHours(1).plusMinutes(30).toDate()}", "PT1H30M"),
    ("${dateTime().plusWeeks(1).plusDays(1)}", "P8D"), ("${dateTime().plusMonths(1).plusSeconds(5).toDate()}", "P1MT5S"),
    ("${dateTime().minusDays(1).toDate()}", None), ("${dateTime().plusMillis(5).toDate()}", None), ("P2D", None),
    ("${deadline}", None),
])
def test_a_camunda_relative_date_is_the_duration_it_adds_to_now(expression, duration):
    assert offset(expression) == duration


def test_a_timers_relative_date_is_a_duration_from_when_it_starts():
    bundle = parse_diagrams([diagram(timer="${dateTime().plusDays(1).toDate()}")])
    (change,) = [w.reason for w in bundle.warnings if w.element_id == "wait"]
    assert change == ("the timer timeDate '${dateTime().plusDays(1).toDate()}' is a moment P1D after the timer starts "
                      "(Camunda's dateTime()); the import runs it as the timeDuration 'P1D'")
    definition = bundle.processes["p"].spec.task_specs["wait"].event_definition
    assert isinstance(definition, DurationTimerEventDefinition) and definition.expression == "'P1D'"


@pytest.mark.parametrize(("camunda", "loanflow"), [(100, 1), (80, 1), (79, 2), (60, 2), (50, 3), (40, 3), (39, 4),
                                                  (20, 4), (19, 5), (0, 5), (-5, 5)])
def test_camundas_priority_is_banded_into_loanflows_one_to_five(camunda, loanflow):
    assert camunda_priority(camunda) == loanflow


def test_an_extension_element_nothing_reads_is_said_too():
    retry = ('><bpmn:extensionElements><camunda:failedJobRetryTimeCycle>R5/PT5M</camunda:failedJobRetryTimeCycle>'
             '<camunda:properties><camunda:property name="owner" value="ops"/></camunda:properties>'
             '</bpmn:extensionElements></bpmn:manualTask')
    file = diagram(task="x=''")
    file = DiagramFile(file.filename, file.content.replace(b"x=''/", retry.encode()))
    warnings = said(file)["work"]
    assert warnings == ["the extension camunda:failedJobRetryTimeCycle is not read: only a service task's call is "
                        "tried again here; when this element fails, that is an incident at once"]
    # camunda:properties are an application's metadata: nothing to say


def test_an_extension_element_where_it_means_nothing_is_said_not_dropped():
    """A signal's camunda:in (Camunda 7 passes those variables to the instances the signal reaches) and a
    formData on a manual task were dropped without a word (the import reads them on call activities, user
    tasks and start events only)."""
    form = ('<bpmn:extensionElements><camunda:formData><camunda:formField id="a" type="long"/></camunda:formData>'
            '</bpmn:extensionElements>')
    file = diagram()
    content = file.content.replace(b'<bpmn:manualTask id="work" />', f'<bpmn:manualTask id="work">{form}'
                                   f'</bpmn:manualTask>'.encode())
    assert said(DiagramFile("p.bpmn", content))["work"] == [
        "the extension camunda:formData on the manual task is not read: it has a meaning only on a start event / "
        "user task"]
    signal = content.replace(b'<bpmn:endEvent id="end"/>', b'<bpmn:endEvent id="end"><bpmn:signalEventDefinition '
                             b'id="sent" signalRef="S"><bpmn:extensionElements><camunda:in source="a" target="a"/>'
                             b'</bpmn:extensionElements></bpmn:signalEventDefinition></bpmn:endEvent>').replace(
        b'<bpmn:error id="E"', b'<bpmn:signal id="S" name="done"/><bpmn:error id="E"')
    assert said(DiagramFile("p.bpmn", signal))["sent"] == [
        "the extension camunda:in on the signal is not read: a signal a process throws carries no variables to the "
        "instances it reaches here; send what they need in a message's payload"]
