"""An event sub-process is refused, naming it (`app/engine/event_subprocesses.py`).

Before, SpiffWorkflow 3.2 read it as a sub-process no flow reaches, with an error start event read as a
none event: `processes validate` said ok, and an instance whose error the event sub-process was drawn
to handle completed without running it — a run reported that the diagram does not describe."""
from __future__ import annotations

import pytest

from app.engine.errors import DiagramRejected
from app.engine.lint import lint_bundle
from app.engine.parser import DiagramFile, parse_diagrams
from app.services.workflow.diagram_reasons import in_language

HANDLER = """
    <bpmn:startEvent id="start"/>
    <bpmn:subProcess id="work">
      <bpmn:startEvent id="w_start"/>
      <bpmn:endEvent id="w_fail"><bpmn:errorEventDefinition errorRef="late"/></bpmn:endEvent>
      <bpmn:sequenceFlow id="w1" sourceRef="w_start" targetRef="w_fail"/>
    </bpmn:subProcess>
    <bpmn:subProcess id="on_error" triggeredByEvent="true">
      <bpmn:startEvent id="caught"><bpmn:errorEventDefinition errorRef="late"/></bpmn:startEvent>
      <bpmn:endEvent id="handled"/>
      <bpmn:sequenceFlow id="h1" sourceRef="caught" targetRef="handled"/>
    </bpmn:subProcess>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>"""


def diagram(executable: str = "true") -> DiagramFile:
    return DiagramFile("p.bpmn", f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="t">
  <bpmn:error id="late" errorCode="LATE"/>
  <bpmn:process id="p" isExecutable="{executable}">{HANDLER}</bpmn:process>
</bpmn:definitions>""".encode())


def errors(file: DiagramFile) -> list:
    return [p for p in lint_bundle(parse_diagrams([file]), (), ()) if p.severity == "error"]


def test_an_event_sub_process_is_refused_naming_it():
    [problem] = errors(diagram())
    assert problem.element_id == "on_error" and problem.severity == "error"
    assert problem.reason.startswith("the event sub-process would never start: Loanflow does not run event "
                                     "sub-processes yet")


def test_the_refusal_is_said_in_chinese(chinese):
    [problem] = errors(diagram())
    assert in_language(problem.reason).startswith("此事件子流程永远不会启动")


def test_a_drawing_that_is_not_executable_is_not_refused_for_it():
    with pytest.raises(DiagramRejected) as refused:
        parse_diagrams([diagram("false")])
    assert [p.element_id for p in refused.value.problems] == [None]  # only: no executable process in the file
