"""Element ids SpiffWorkflow keeps for its own task specs (`reserved_ids`): a diagram whose start event is
`Start` and end event `End` (as Camunda's own tests draw them) could not start ("No output task
connected") before; it runs now, each renamed element said, every reference following."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from lxml import etree

from app.engine import reserved_ids
from app.engine.runner import ProcessEngine
from tests.unit.test_runner import diagram, inline

START_TASK_END = """
    <bpmn:startEvent id="Start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" name="Review"><bpmn:incoming>f1</bpmn:incoming></bpmn:userTask>
    <bpmn:boundaryEvent id="End.BoundaryEventSplit" attachedToRef="review">
      <bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="End"/>
    <bpmn:endEvent id="late"/>
    <bpmn:sequenceFlow id="f1" sourceRef="Start" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="End"/>
    <bpmn:sequenceFlow id="f3" sourceRef="End.BoundaryEventSplit" targetRef="late"/>"""


def test_a_diagram_with_a_start_event_named_start_runs_to_its_end():
    bundle = inline(START_TASK_END)
    process = bundle.processes["inline"]
    engine = ProcessEngine()
    workflow = engine.new_workflow(process.spec, process.embedded, {})
    outcome = engine.advance(workflow)
    assert outcome.status == "waiting" and [t.element_id for t in outcome.ready] == ["review"]
    outcome = engine.complete_user_task(workflow, outcome.ready[0].engine_task_id, {})
    assert outcome.status == "completed" and outcome.end_events == ["End_2"]


def test_each_renamed_element_is_said_with_the_id_it_runs_under():
    said = {w.element_id: w.reason for w in inline(START_TASK_END).warnings
            if "keeps for itself" in w.reason}
    assert set(said) == {"Start_2", "End_2", "End.BoundaryEventSplit_2"}
    assert "'Start'" in said["Start_2"] and "'Start_2'" in said["Start_2"]


def test_references_follow_the_new_ids_in_both_tree_kinds():
    source = diagram(START_TASK_END + """
    <bpmn:exclusiveGateway id="g" default="End"/>""").replace(
        b"</bpmn:definitions>", b'<bpmndi:BPMNDiagram xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI">'
        b'<bpmndi:BPMNPlane id="p" bpmnElement="inline"><bpmndi:BPMNShape id="s" bpmnElement="Start"/>'
        b"</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>")
    for root in (etree.fromstring(source), ET.fromstring(source)):
        done = reserved_ids.renamed(root)
        assert [(old, new) for _node, old, new in done] == [
            ("Start", "Start_2"), ("End.BoundaryEventSplit", "End.BoundaryEventSplit_2"), ("End", "End_2")]
        flows = {f.get("id"): (f.get("sourceRef"), f.get("targetRef")) for f in root.iter() if f.get("sourceRef")}
        assert flows == {"f1": ("Start_2", "review"), "f2": ("review", "End_2"),
                         "f3": ("End.BoundaryEventSplit_2", "late")}
        ids = {node.get("id") for node in root.iter() if isinstance(node.tag, str)}
        assert {"Start", "End"}.isdisjoint(ids) and "inline" in ids  # the process keeps its id
        shape = next(n for n in root.iter() if isinstance(n.tag, str) and n.get("id") == "s")
        assert shape.get("bpmnElement") == "Start_2"
        gateway = next(n for n in root.iter() if isinstance(n.tag, str) and n.get("id") == "g")
        assert gateway.get("default") == "End_2"
        boundary = next(n for n in root.iter() if isinstance(n.tag, str) and n.get("id") == "End.BoundaryEventSplit_2")
        assert boundary.get("attachedToRef") == "review"


def test_a_file_without_reserved_ids_is_not_touched():
    source = diagram('<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>'
                     '<bpmn:sequenceFlow id="f" sourceRef="start" targetRef="end"/>')
    root = etree.fromstring(source)
    assert reserved_ids.renamed(root) == []
    assert etree.tostring(root) == etree.tostring(etree.fromstring(source))


def test_the_next_free_id_is_taken_when_the_first_is_the_diagrams_own():
    root = etree.fromstring(diagram('<bpmn:startEvent id="Start"/><bpmn:task id="Start_2"/>'))
    assert [new for _node, _old, new in reserved_ids.renamed(root)] == ["Start_3"]
