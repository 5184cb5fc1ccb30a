"""A boundary event on a sub-process starts its path with what the sub-process set (`app/engine/boundary_data.py`).

Before, the path after the event started from the data the sub-process started with: a script after an
error boundary event that read a variable the sub-process had set failed ("which this instance has no
value for"), where Camunda 7 — whose variables live in the process's scope — runs it."""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent

from app.engine.boundary_data import SeesItsSubProcess
from app.engine.parser import DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine

BODY = """
    <bpmn:startEvent id="start"/>
    <bpmn:subProcess id="work">
      <bpmn:startEvent id="w_start"/>
      <bpmn:scriptTask id="w_set"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
      <bpmn:parallelGateway id="w_split"/>
      <bpmn:userTask id="w_wait"/>
      <bpmn:scriptTask id="w_other"><bpmn:script>other = 2</bpmn:script></bpmn:scriptTask>
      <bpmn:userTask id="w_other_wait"/>
      <bpmn:endEvent id="w_fail"><bpmn:errorEventDefinition errorRef="late"/></bpmn:endEvent>
      <bpmn:endEvent id="w_other_end"/>
      <bpmn:sequenceFlow id="w1" sourceRef="w_start" targetRef="w_set"/>
      <bpmn:sequenceFlow id="w2" sourceRef="w_set" targetRef="w_split"/>
      <bpmn:sequenceFlow id="w3" sourceRef="w_split" targetRef="w_wait"/>
      <bpmn:sequenceFlow id="w4" sourceRef="w_wait" targetRef="w_fail"/>
      <bpmn:sequenceFlow id="w5" sourceRef="w_split" targetRef="w_other"/>
      <bpmn:sequenceFlow id="w6" sourceRef="w_other" targetRef="w_other_wait"/>
      <bpmn:sequenceFlow id="w7" sourceRef="w_other_wait" targetRef="w_other_end"/>
    </bpmn:subProcess>
    <bpmn:boundaryEvent id="failed" attachedToRef="work"><bpmn:errorEventDefinition/></bpmn:boundaryEvent>
    <bpmn:scriptTask id="after"><bpmn:script>y = x + other + z</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"/><bpmn:endEvent id="end_failed"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <bpmn:sequenceFlow id="f3" sourceRef="failed" targetRef="after"/>
    <bpmn:sequenceFlow id="f4" sourceRef="after" targetRef="end_failed"/>"""


def bundle(body: str = BODY):
    return parse_diagrams([DiagramFile("p.bpmn", f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs" targetNamespace="t">
  <bpmn:error id="late" errorCode="LATE"/>
  <bpmn:process id="p" isExecutable="true">{body}</bpmn:process>
</bpmn:definitions>""".encode())])


def test_the_path_after_an_error_boundary_event_sees_every_live_branch_of_the_sub_process():
    process = bundle().processes["p"]
    eng = ProcessEngine()
    workflow = eng.new_workflow(process.spec, process.embedded, {"a": 0})
    outcome = eng.advance(workflow)
    [wait] = [t for t in outcome.ready if t.element_id == "w_wait"]
    done = eng.complete_user_task(workflow, wait.engine_task_id, {"z": 5})
    assert done.status == "completed", done.error
    assert done.end_events == ["end_failed"]
    # x before the split, other on the branch still waiting, z from the form that led to the error
    assert done.data["y"] == 1 + 2 + 5 and done.data["a"] == 0


def test_only_boundary_events_of_embedded_sub_processes_are_given_it():
    spec = bundle().processes["p"].spec
    assert type(spec.task_specs["failed"]) is SeesItsSubProcess
    on_a_task = """
    <bpmn:startEvent id="start"/><bpmn:userTask id="task"/><bpmn:endEvent id="end"/><bpmn:endEvent id="end2"/>
    <bpmn:boundaryEvent id="failed" attachedToRef="task"><bpmn:errorEventDefinition/></bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task"/>
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end"/>
    <bpmn:sequenceFlow id="f3" sourceRef="failed" targetRef="end2"/>"""
    assert type(bundle(on_a_task).processes["p"].spec.task_specs["failed"]) is BoundaryEvent
