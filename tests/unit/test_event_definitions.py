"""Link events (issue 17): SpiffWorkflow 3.2 does not read them. A link event ran as a none event, so the
path after its catch event never ran and the instance "completed" without it. Links now run as the flow
they stand for. (Compensation events: tests/unit/test_compensation.py.)"""
from __future__ import annotations

import pytest

from app.engine.errors import DiagramRejected
from app.engine.parser import DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine
from tests.unit.test_implicit_flow import _flow, _ran, _run, _said, _script
from tests.unit.test_runner import diagram, inline


def _link(element_id: str, kind: str, name: str) -> str:
    return (f'<bpmn:intermediate{kind}Event id="{element_id}"><bpmn:linkEventDefinition name="{name}"/>'
            f'</bpmn:intermediate{kind}Event>')


def _refusals(body: str) -> list[tuple[str | None, str]]:
    with pytest.raises(DiagramRejected) as rejected:
        inline(body)
    return [(p.element_id, p.reason) for p in rejected.value.problems]


def test_a_link_throw_event_jumps_to_its_catch_event_and_the_path_after_it_runs():
    body = ('<bpmn:startEvent id="start"/>' + _script("before") + _link("go", "Throw", "page2")
            + _link("arrive", "Catch", "page2") + _script("after") + '<bpmn:endEvent id="end"/>'
            + _flow("f1", "start", "before") + _flow("f2", "before", "go")
            + _flow("f3", "arrive", "after") + _flow("f4", "after", "end"))
    bundle = inline(body)
    workflow, outcome = _run(bundle)
    assert outcome.status == "completed", outcome.error
    assert outcome.end_events == ["end"]
    assert _ran(workflow).index("before") < _ran(workflow).index("after")
    (said,) = _said(bundle, "go")
    assert "arrive" in said and "'page2'" in said and "sequence flow" in said


def test_two_link_throw_events_may_jump_to_one_catch_event():
    body = ('<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="which" default="f3"/>'
            + _link("left", "Throw", "join") + _link("right", "Throw", "join") + _link("joined", "Catch", "join")
            + '<bpmn:userTask id="after"/><bpmn:endEvent id="end"/>'
            + _flow("f1", "start", "which") + _flow("f2", "which", "left", "go_left")
            + _flow("f3", "which", "right") + _flow("f4", "joined", "after") + _flow("f5", "after", "end"))
    for go_left in (True, False):
        workflow, outcome = _run(inline(body), {"go_left": go_left})
        assert [t.element_id for t in outcome.ready] == ["after"]
        done = ProcessEngine().complete_user_task(workflow, outcome.ready[0].engine_task_id, {})
        assert done.status == "completed" and done.end_events == ["end"]
        assert ("left" if go_left else "right") in _ran(workflow)


def test_a_link_throw_event_without_its_catch_event_is_refused_naming_it():
    body = ('<bpmn:startEvent id="start"/>' + _link("go", "Throw", "nowhere") + '<bpmn:endEvent id="end"/>'
            + _flow("f1", "start", "go"))
    ((element, reason),) = _refusals(body)
    assert element == "go" and "'nowhere'" in reason and "no link catch event" in reason


def test_a_link_catch_event_nothing_jumps_to_and_a_name_caught_twice_are_refused():
    lonely = ('<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>' + _link("island", "Catch", "p")
              + _script("after") + _flow("f1", "start", "end") + _flow("f2", "island", "after"))
    ((element, reason),) = _refusals(lonely)
    assert element == "island" and "never run" in reason
    twice = ('<bpmn:startEvent id="start"/>' + _link("go", "Throw", "p") + _link("c1", "Catch", "p")
             + _link("c2", "Catch", "p") + '<bpmn:endEvent id="end"/>' + _flow("f1", "start", "go")
             + _flow("f2", "c1", "end") + _flow("f3", "c2", "end"))
    ((element, reason),) = _refusals(twice)
    assert element == "c2" and "c1, c2" in reason and "share the name" in reason


def test_a_link_does_not_jump_out_of_its_subprocess():
    body = ('<bpmn:startEvent id="start"/><bpmn:subProcess id="inner"><bpmn:startEvent id="s2"/>'
            + _link("go", "Throw", "out") + _flow("g1", "s2", "go") + '</bpmn:subProcess>'
            + _link("arrive", "Catch", "out") + '<bpmn:endEvent id="end"/>'
            + _flow("f1", "start", "inner") + _flow("f2", "arrive", "end"))
    assert {element for element, _ in _refusals(body)} == {"go", "arrive"}


def test_events_of_a_process_that_is_not_executable_are_left_alone():
    """A pool drawn for the picture (isExecutable="false") is not read: the file says it has no executable
    process, not that its compensation or links would not run."""
    body = ('<bpmn:startEvent id="start"/><bpmn:userTask id="work"/><bpmn:endEvent id="end"/>'
            '<bpmn:boundaryEvent id="undo_it" attachedToRef="work"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>'
            + _link("go", "Throw", "nowhere") + _flow("f1", "start", "work") + _flow("f2", "work", "end"))
    drawing = diagram(body).replace(b'isExecutable="true"', b'isExecutable="false"')
    with pytest.raises(DiagramRejected) as rejected:
        parse_diagrams([DiagramFile("drawing.bpmn", drawing)])
    assert [p.reason for p in rejected.value.problems] == [
        'no executable process in this file (no process, or isExecutable="false" on every one)']


def test_a_link_event_without_an_id_gets_one_and_the_change_is_said():
    """An element without an id, which SpiffWorkflow would skip, gets one as an id-less flow does (no flow
    can reach it: here a link throw event nothing leads to, so its jump never happens)."""
    body = ('<bpmn:startEvent id="start"/><bpmn:intermediateThrowEvent><bpmn:linkEventDefinition name="p"/>'
            '</bpmn:intermediateThrowEvent>' + _link("arrive", "Catch", "p") + '<bpmn:endEvent id="end"/>'
            + _flow("f1", "arrive", "end"))
    said = [w.reason for w in inline(body).warnings if "had no id" in w.reason]
    assert said == ["the intermediate throw event had no id (no flow can reach it); the import gave it id "
                    "IntermediateThrowEvent_5"]  # named by its line
