"""What a diagram names and does not hold (`app/engine/references.py`), found by mutating real diagrams:
each case below made SpiffWorkflow drop a flow without a word (and the instance then completed having
run half its diagram: a false completion) or fail with an exception that named nothing to fix."""
from __future__ import annotations

import pytest

from app.engine.errors import DiagramRejected
from app.engine.parser import DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine
from tests.unit.test_runner import diagram

CHAIN = """
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" name="Review"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>"""


def _refused(*files: DiagramFile) -> list:
    with pytest.raises(DiagramRejected) as caught:
        parse_diagrams(list(files))
    return caught.value.problems


def _one(body: str) -> DiagramFile:
    return DiagramFile("d.bpmn", diagram(body))


def test_the_chain_itself_waits_at_its_task():
    process = parse_diagrams([_one(CHAIN)]).processes["inline"]
    outcome = ProcessEngine().advance(ProcessEngine().new_workflow(process.spec, process.embedded, {}))
    assert outcome.status == "waiting"


def test_a_flow_from_an_element_the_process_lacks_is_refused_not_dropped():
    """The start event's id changed (`StartEvent_1` -> `R-1/PT1S`) and its flow still came from
    `StartEvent_1`: SpiffWorkflow never saw the flow, and the instance completed at once."""
    body = CHAIN.replace('<bpmn:startEvent id="start">', '<bpmn:startEvent id="renamed">')
    (problem,) = _refused(_one(body))
    assert problem.element_id == "f1"
    assert problem.reason.startswith("the sequence flow comes from 'start', which no element of the process inline "
                                     "has: it would be lost")


def test_a_flow_to_an_element_the_process_lacks_is_said_so():
    """SpiffWorkflow said "When looking for a task spec, we found two items, perhaps a form has the same ID?"."""
    body = CHAIN.replace('targetRef="end"', 'targetRef="gone"')
    problems = _refused(_one(body))
    assert [(p.element_id, p.reason[:49]) for p in problems] == [
        ("f2", "the sequence flow goes to 'gone', which no elemen")]


def test_a_flow_without_its_ends_is_refused():
    body = CHAIN.replace(' sourceRef="review"', "")
    (problem,) = _refused(_one(body))
    assert (problem.element_id, problem.reason) == (
        "f2", "the sequence flow has no sourceRef: the file does not say where it comes from; draw it again between "
              "two elements")


def test_an_outgoing_flow_lost_from_the_file_is_refused_and_a_stale_reference_is_a_warning():
    lost = CHAIN.replace('<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>', "")
    problems = _refused(_one(lost))
    assert [p.element_id for p in problems] == ["review"]
    assert "names the outgoing flow 'f2', which the process does not have, and no other flow leaves it" in \
        problems[0].reason
    # a reference to a flow that is not there, beside the flows that are: SpiffArena's own files carry some
    stale = CHAIN.replace("<bpmn:incoming>f1</bpmn:incoming>", "<bpmn:incoming>f1</bpmn:incoming>"
                                                               "<bpmn:incoming>f0</bpmn:incoming>")
    bundle = parse_diagrams([_one(stale)])
    assert [w.reason[:56] for w in bundle.warnings if w.element_id == "review"] == [
        "the user task names the incoming flow 'f0', which the pr"]


def test_two_flow_elements_with_one_id_are_refused():
    body = CHAIN.replace('<bpmn:endEvent id="end">', '<bpmn:endEvent id="review">').replace(
        'targetRef="end"', 'targetRef="review"')
    problems = _refused(_one(body))
    assert problems[0].element_id == "review"
    assert problems[0].reason.startswith("2 elements of the file have the id 'review' (end event, user task): only "
                                         "one of them would be read")


def test_a_shape_whose_position_is_not_a_number_is_refused_naming_its_element():
    """SpiffWorkflow sorts outgoing flows by their targets' height: `float('abc')` failed."""
    content = diagram(CHAIN).replace(b"</bpmn:definitions>", b"""
  <bpmndi:BPMNDiagram xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
                      xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" id="di">
    <bpmndi:BPMNPlane id="plane" bpmnElement="inline">
      <bpmndi:BPMNShape id="review_di" bpmnElement="review"><dc:Bounds x="10" y="abc" width="1" height="1"/></bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>""")
    (problem,) = _refused(DiagramFile("d.bpmn", content))
    assert (problem.element_id, problem.reason) == (
        "review", "the drawing places the element at y='abc', which is not a number: the file is damaged; open it "
                  "in the modeler and save it again")


WAITS_FOR = """
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:messageEventDefinition messageRef="{ref}"/></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end"/>"""
def test_a_message_its_file_does_not_define_is_refused():
    """SpiffWorkflow failed with its own TypeError (`raise_validation_exception() got an unexpected
    keyword argument 'node'`): its reader of SpiffArena's extensions looks a message up in the event's file."""
    (problem,) = _refused(_one(WAITS_FOR.format(ref="Message_paid")))
    assert (problem.element_id, problem.reason) == (
        "wait", "the intermediate catch event names the message 'Message_paid', which its file does not define: "
                "define it once in the file (a <message> element), or choose one that is")


@pytest.mark.parametrize("definitions", [
    "",  # defined nowhere
    '<bpmn:signal id="Signal_stop" name="stop"/><bpmn:signal id="Signal_stop" name="halt"/>',  # twice
])
def test_a_signal_its_file_does_not_define_once_is_refused(definitions):
    body = WAITS_FOR.replace('<bpmn:messageEventDefinition messageRef="{ref}"/>',
                             '<bpmn:signalEventDefinition signalRef="Signal_stop"/>')
    content = diagram(body).replace(b"</bpmn:definitions>", definitions.encode() + b"</bpmn:definitions>")
    (problem,) = _refused(DiagramFile("d.bpmn", content))
    said = "defines 2 times" if definitions else "does not define"
    assert (problem.element_id, problem.reason) == (
        "wait", f"the intermediate catch event names the signal 'Signal_stop', which its file {said}: define it "
                "once in the file (a <signal> element), or choose one that is")
    once = content.replace(b'<bpmn:signal id="Signal_stop" name="halt"/>', b"")
    if definitions:
        assert set(parse_diagrams([DiagramFile("d.bpmn", once)]).processes) == {"inline"}


def test_what_spiffworkflow_could_not_read_inside_an_element_is_said_in_words():
    """A service task's parameter without its `type` failed as "KeyError('type')"."""
    body = CHAIN.replace('<bpmn:userTask id="review" name="Review">', '<bpmn:serviceTask id="review">'
                         '<bpmn:extensionElements><spiffworkflow:serviceTaskOperator id="http/GetRequest">'
                         '<spiffworkflow:parameters><spiffworkflow:parameter id="url" value="1"/>'
                         '</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>'
                         ).replace("</bpmn:userTask>", "</bpmn:serviceTask>")
    (problem,) = _refused(_one(body))
    assert (problem.element_id, problem.reason) == (
        "review", "SpiffWorkflow could not read the element: it (or an element inside it) lacks the attribute "
                  "'type', which SpiffWorkflow needs; complete it in the modeler")


def test_a_flow_into_a_start_event_or_out_of_an_end_event_is_refused():
    """A flow swapped end for end (`review -> start`) left the start event without a way on: the instance
    ended `completed` at once, its task never run."""
    into_start = CHAIN.replace('<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>',
                               '<bpmn:sequenceFlow id="f1" sourceRef="review" targetRef="start"/>')
    problems = _refused(_one(into_start))
    assert ("f1", "the sequence flow goes to the start event 'start': a start event begins its (sub)process and "
                  "takes no incoming flow; draw the flow to the element after it") in [
        (p.element_id, p.reason) for p in problems]
    out_of_end = CHAIN.replace("</bpmn:endEvent>", "</bpmn:endEvent>"
                               '<bpmn:sequenceFlow id="f3" sourceRef="end" targetRef="review"/>')
    (problem,) = _refused(_one(out_of_end))
    assert problem.element_id == "f3" and problem.reason.startswith(
        "the sequence flow comes from the end event 'end': an end event ends its path and has no outgoing flow")


@pytest.mark.parametrize(("marker", "what"), [
    ('<bpmn:multiInstanceLoopCharacteristics isSequential="true"><bpmn:loopCardinality>2</bpmn:loopCardinality>'
     '</bpmn:multiInstanceLoopCharacteristics>', "multi-instance"),
    ("<bpmn:standardLoopCharacteristics/>", "loop"),
])
def test_a_repeat_marker_on_a_gateway_is_refused(marker, what):
    """A sequential multi-instance marker on a parallel gateway passed the check, then every deploy failed
    with `TypeError: Object of type SequentialMultiInstanceTask is not JSON serializable`."""
    body = CHAIN.replace('<bpmn:userTask id="review" name="Review">', '<bpmn:parallelGateway id="review">').replace(
        "</bpmn:userTask>", marker + "</bpmn:parallelGateway>")
    (problem,) = _refused(_one(body))
    assert (problem.element_id, problem.reason) == (
        "review", f"the parallel gateway carries a {what} marker: only an activity (a task, a sub-process, a call "
                  "activity) runs several times, and an event sub-process runs when its event comes; move the marker "
                  "to an activity, or remove it")


def test_a_loop_marker_on_an_event_sub_process_is_refused():
    """SpiffWorkflow failed with "AttributeError: 'StandardLoopTask' object has no attribute 'spec'"."""
    body = CHAIN + ('<bpmn:subProcess id="on_error" triggeredByEvent="true"><bpmn:startEvent id="caught"/>'
                    "<bpmn:standardLoopCharacteristics/></bpmn:subProcess>")
    (problem,) = _refused(_one(body))
    assert problem.element_id == "on_error"
    assert problem.reason.startswith("the event sub-process carries a loop marker")


@pytest.mark.parametrize(("attached", "said"), [
    ('attachedToRef="start"', "is attached to the start event 'start'"),
    ('attachedToRef="nowhere"', "is attached to 'nowhere', which no element of its (sub)process is"),
    ("", "is attached to nothing (it has no attachedToRef)"),
])
def test_a_boundary_event_on_what_is_no_activity_is_refused(attached, said):
    """On a start event, the instance stopped with "Split at start.BoundaryEventSplit was not reached"."""
    body = CHAIN + (f'<bpmn:boundaryEvent id="late" {attached}><bpmn:timerEventDefinition><bpmn:timeDuration>'
                    '"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>')
    (problem,) = _refused(_one(body))
    assert (problem.element_id, problem.reason) == (
        "late", f"the boundary event {said}: a boundary event sits on an activity (a task, a sub-process, a call "
                "activity) and fires while it runs; attach it to one")


def test_an_event_based_gateway_leads_only_to_what_it_can_wait_for():
    """Followed by an end event (or by nothing), the instance waited at it for ever."""
    body = CHAIN.replace('<bpmn:userTask id="review" name="Review">', '<bpmn:eventBasedGateway id="review">').replace(
        "</bpmn:userTask>", "</bpmn:eventBasedGateway>")
    (problem,) = _refused(_one(body))
    assert (problem.element_id, problem.reason) == (
        "f2", "the sequence flow goes from the event-based gateway 'review' to the end event 'end': an event-based "
              "gateway waits for the first of the events after it (a message, a timer, a signal or a receive task); "
              "draw one of those there")
    alone = body.replace('<bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>', "").replace(
        "<bpmn:outgoing>f2</bpmn:outgoing>", "")
    assert [p.element_id for p in _refused(_one(alone))] == ["review"]


def test_two_repeat_markers_on_one_task_are_refused():
    """A multi-instance and a loop marker on one task: the instance failed with RecursionError."""
    body = CHAIN.replace("</bpmn:userTask>", '<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>2'
                         '</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>'
                         "<bpmn:standardLoopCharacteristics/></bpmn:userTask>")
    (problem,) = _refused(_one(body))
    assert (problem.element_id, problem.reason) == (
        "review", "the user task carries 2 repeat markers (a multi-instance marker and a loop marker): an activity "
                  "repeats in one way; keep one of them")


@pytest.mark.parametrize("element", ["message", "signal"])
def test_a_message_or_signal_without_a_name_is_refused(element):
    """Its waits were written with no name: `IntegrityError` on message_waits.name at the instance's start."""
    definition = "messageEventDefinition messageRef" if element == "message" else "signalEventDefinition signalRef"
    body = WAITS_FOR.replace('<bpmn:messageEventDefinition messageRef="{ref}"/>', f'<bpmn:{definition}="M"/>')
    content = diagram(body).replace(b"</bpmn:definitions>", f'<bpmn:{element} id="M"/></bpmn:definitions>'.encode())
    (problem,) = _refused(DiagramFile("d.bpmn", content))
    assert (problem.element_id, problem.reason) == (
        "M", f"the {element} 'M' has no name: a {element} is sent and caught by its name; give it one")
