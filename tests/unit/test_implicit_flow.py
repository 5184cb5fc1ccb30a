"""BPMN 2.0's implicit flow semantics (issue 17): diagrams without a start or end event, activities with
several or conditional outgoing flows, gateway flows without a condition. The import writes each out
for SpiffWorkflow (which refused them), says so naming the element, and the instance runs as BPMN
(or Camunda 7, for an exclusive gateway's conditionless flow) means."""
from __future__ import annotations

from typing import Any

import pytest
from SpiffWorkflow import TaskState

from app.engine.errors import DiagramProblem
from app.engine.lint import lint_bundle
from app.engine.parser import Bundle
from app.engine.runner import ProcessEngine, StepOutcome
from tests.unit.test_runner import inline


def _run(bundle: Bundle, data: dict[str, Any] | None = None) -> tuple[Any, StepOutcome]:
    process = bundle.processes["inline"]
    engine = ProcessEngine()
    workflow = engine.new_workflow(process.spec, process.embedded, data or {})
    return workflow, engine.advance(workflow)


def _ran(workflow) -> list[str]:
    """The diagram's elements that ran, in the order they completed (generated ones included)."""
    return [t.task_spec.bpmn_id for t in sorted(workflow.get_tasks(state=TaskState.COMPLETED),
                                                   key=lambda t: t.last_state_change) if t.task_spec.bpmn_id]


def _said(bundle: Bundle, element_id: str) -> list[str]:
    return [w.reason for w in bundle.warnings if w.element_id == element_id and w.severity == "warning"]


def _script(element_id: str, source: str | None = None) -> str:
    return (f'<bpmn:scriptTask id="{element_id}"><bpmn:script>{source or f"{element_id} = True"}</bpmn:script>'
            '</bpmn:scriptTask>')


def _flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'
    return (f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
            f'<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>')


# -- no start event, no end event -----------------------------------------------------------------

def test_a_process_without_start_and_end_events_runs_from_its_first_to_its_last_element():
    bundle = inline(_script("a") + _script("b") + _flow("f1", "a", "b"))
    workflow, outcome = _run(bundle)
    assert outcome.status == "completed", outcome.error
    assert outcome.end_events == ["ImplicitEnd_b"]
    assert [e for e in _ran(workflow) if not e.startswith("Implicit")] == ["a", "b"]
    (start,) = _said(bundle, "inline")
    assert "no start event" in start and "(a)" in start and "ImplicitStart_inline" in start
    (end,) = _said(bundle, "b")
    assert "stops at b" in end and "ImplicitEnd_b" in end and "all its paths have ended" in end


def test_several_elements_without_incoming_flow_all_start_and_the_process_ends_when_both_paths_end():
    body = '<bpmn:userTask id="review"/>' + _script("note") + _script("after") + _flow("f1", "review", "after")
    bundle = inline(body)
    workflow, outcome = _run(bundle)
    assert outcome.status == "waiting"
    assert [t.element_id for t in outcome.ready] == ["review"]
    assert "note" in _ran(workflow)  # started with the process, beside the user task
    (task,) = outcome.ready
    done = ProcessEngine().complete_user_task(workflow, task.engine_task_id, {})
    assert done.status == "completed"
    assert sorted(done.end_events) == ["ImplicitEnd_after", "ImplicitEnd_note"]
    (start,) = _said(bundle, "inline")
    assert "(review, note)" in start and "parallel gateway ImplicitStartSplit_inline" in start


def test_boundary_events_and_compensation_handlers_do_not_start_by_themselves():
    # (an event sub-process is refused before: tests/unit/test_event_subprocesses.py)
    body = ('<bpmn:userTask id="work"/>'
            '<bpmn:boundaryEvent id="late" attachedToRef="work"><bpmn:timerEventDefinition>'
            '<bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
            + _script("undo").replace('id="undo"', 'id="undo" isForCompensation="true"')
            + _script("timed_out") + _flow("f1", "late", "timed_out"))
    bundle = inline(body)
    (start,) = _said(bundle, "inline")
    assert "(work)" in start
    workflow, outcome = _run(bundle)
    assert [t.element_id for t in outcome.ready] == ["work"]
    assert not {"undo", "timed_out"} & set(_ran(workflow))
    # an end after each path's last element, none after the compensation handler
    assert {w.element_id for w in bundle.warnings if "ImplicitEnd" in w.reason} == {"work", "timed_out"}


def test_a_subprocess_without_start_and_end_events_runs_its_content():
    body = ('<bpmn:startEvent id="start"/><bpmn:subProcess id="inner">' + _script("a") + _script("b")
            + _flow("g1", "a", "b") + '</bpmn:subProcess><bpmn:endEvent id="end"/>'
            + _flow("f1", "start", "inner") + _flow("f2", "inner", "end"))
    bundle = inline(body)
    workflow, outcome = _run(bundle)
    assert outcome.status == "completed", outcome.error
    assert outcome.end_events == ["end"]
    assert {"a", "b"} <= set(_ran(workflow))
    assert any("sub-process has no start event" in r for r in _said(bundle, "inner"))
    assert any("ImplicitEnd_b" in r for r in _said(bundle, "b"))


def test_an_empty_subprocess_completes_at_once():
    body = ('<bpmn:startEvent id="start"/><bpmn:subProcess id="inner"/><bpmn:endEvent id="end"/>'
            + _flow("f1", "start", "inner") + _flow("f2", "inner", "end"))
    bundle = inline(body)
    _, outcome = _run(bundle)
    assert (outcome.status, outcome.end_events) == ("completed", ["end"])
    assert any("is empty" in r and "completes as soon as it starts" in r for r in _said(bundle, "inner"))


def test_an_empty_pool_beside_a_process_is_left_out_and_does_not_refuse_the_file():
    """Collaborations drawn in Bonita, Bizagi and Camunda's Eclipse plugin hold pools without content
    (SpiffWorkflow refused the whole file: "No start event found")."""
    from app.engine.parser import DiagramFile, parse_diagrams
    from tests.unit.test_runner import diagram
    content = diagram('<bpmn:startEvent id="start"/>' + _script("a") + _flow("f0", "start", "a")).replace(
        b"</bpmn:definitions>", b'<bpmn:process id="black_box"/></bpmn:definitions>')
    bundle = parse_diagrams([DiagramFile("inline.bpmn", content)])
    assert set(bundle.processes) == {"inline"}
    assert any("no flow elements" in r and "not executable" in r for r in _said(bundle, "black_box"))


def test_a_process_without_an_end_event_passes_the_strict_check():
    bundle = inline('<bpmn:startEvent id="start"/>' + _script("only") + _flow("f0", "start", "only"))
    assert [p for p in lint_bundle(bundle, [], []) if p.severity == "error"] == []
    _, outcome = _run(bundle)
    assert (outcome.status, outcome.end_events) == ("completed", ["ImplicitEnd_only"])


def test_a_path_that_stops_where_the_process_has_end_events_ends_at_an_end_event_the_import_names():
    """The path ends there (BPMN's implicit end, as Camunda 7 runs it); before, nothing was drawn, and an
    instance whose only path stopped there ended `completed` with no end event in its history."""
    body = ('<bpmn:startEvent id="start"/><bpmn:parallelGateway id="both"/>' + _script("note")
            + '<bpmn:endEvent id="end"/>' + _flow("f0", "start", "both") + _flow("f1", "both", "end")
            + _flow("f2", "both", "note"))
    bundle = inline(body)
    assert [p for p in lint_bundle(bundle, [], []) if p.severity == "error"] == []
    (said,) = _said(bundle, "note")
    assert said.startswith("this path stops here without an end event, though the process has end events "
                           "elsewhere: an instance whose path reaches note ends it there (the import added the end "
                           "event ImplicitEnd_note after it")
    _, outcome = _run(bundle)
    assert (outcome.status, sorted(outcome.end_events)) == ("completed", ["ImplicitEnd_note", "end"])


def test_a_gateway_without_an_outgoing_flow_is_refused_by_the_strict_check():
    """An export that lost the flow after a merging gateway (the corpus's IBM Process Designer A.2.0)
    deployed, then stopped with SpiffWorkflow's "At least one output required"."""
    body = ('<bpmn:startEvent id="start"/><bpmn:parallelGateway id="both"/><bpmn:exclusiveGateway id="merge"/>'
            '<bpmn:endEvent id="end"/>' + _flow("f0", "start", "both") + _flow("f1", "both", "end")
            + _flow("f2", "both", "merge"))
    errors = [p for p in lint_bundle(inline(body), [], []) if p.severity == "error"]
    assert [(p.element_id, "has no outgoing flow" in p.reason) for p in errors] == [("merge", True)]


# -- several outgoing flows from an activity -------------------------------------------------------

def test_an_activity_with_several_unconditioned_flows_takes_them_all():
    body = ('<bpmn:startEvent id="start"/>' + _script("a") + _script("b") + _script("c")
            + '<bpmn:endEvent id="end_b"/><bpmn:endEvent id="end_c"/>'
            + _flow("f0", "start", "a") + _flow("f1", "a", "b") + _flow("f2", "a", "c")
            + _flow("f3", "b", "end_b") + _flow("f4", "c", "end_c"))
    bundle = inline(body)
    workflow, outcome = _run(bundle)
    assert outcome.status == "completed", outcome.error
    assert sorted(outcome.end_events) == ["end_b", "end_c"]
    (said,) = _said(bundle, "a")
    assert "(f1, f2)" in said and "uncontrolled split" in said and "parallel gateway ImplicitSplit_a" in said


def test_an_activity_reached_twice_runs_twice_an_uncontrolled_merge():
    """SpiffWorkflow runs an activity once for each flow that reaches it, as BPMN means: no gateway needed."""
    body = ('<bpmn:startEvent id="start"/>' + _script("a") + _script("b") + _script("c")
            + _script("merge", "count = count + 1") + '<bpmn:endEvent id="end"/>'
            + _flow("f0", "start", "a") + _flow("f1", "a", "b") + _flow("f2", "a", "c")
            + _flow("f3", "b", "merge") + _flow("f4", "c", "merge") + _flow("f5", "merge", "end"))
    workflow, outcome = _run(inline(body), {"count": 0})
    assert outcome.status == "completed", outcome.error
    assert outcome.end_events == ["end", "end"]
    assert _ran(workflow).count("merge") == 2


@pytest.mark.parametrize(("amount", "expected"), [(5, {"small", "always"}), (500, {"large", "always"})])
def test_conditional_flows_out_of_an_activity_are_an_inclusive_split(amount, expected):
    body = ('<bpmn:startEvent id="start"/>' + _script("a") + _script("small") + _script("large") + _script("always")
            + _flow("f0", "start", "a") + _flow("f1", "a", "small", "amount &lt; 100")
            + _flow("f2", "a", "large", "amount &gt;= 100") + _flow("f3", "a", "always"))
    bundle = inline(body)
    workflow, outcome = _run(bundle, {"amount": amount})
    assert outcome.status == "completed", outcome.error
    assert {"small", "large", "always"} & set(_ran(workflow)) == expected
    (said,) = _said(bundle, "a")
    assert "with conditions" in said and "inclusive gateway ImplicitSplit_a" in said


@pytest.mark.parametrize(("amount", "expected"), [(5, "small"), (500, "other")])
def test_an_activitys_default_flow_moves_to_the_gateway_and_is_taken_only_when_no_condition_holds(amount, expected):
    body = ('<bpmn:startEvent id="start"/>' + _script("a").replace('id="a"', 'id="a" default="f2"')
            + _script("small") + _script("other")
            + _flow("f0", "start", "a") + _flow("f1", "a", "small", "amount &lt; 100") + _flow("f2", "a", "other"))
    bundle = inline(body)
    workflow, outcome = _run(bundle, {"amount": amount})
    assert outcome.status == "completed", outcome.error
    assert {"small", "other"} & set(_ran(workflow)) == {expected}
    assert any("default flow f2 only when no other is" in r for r in _said(bundle, "a"))


@pytest.mark.parametrize(("approved", "ran"), [(True, True), (False, False)])
def test_a_single_conditional_flow_out_of_an_activity_is_taken_only_when_its_condition_holds(approved, ran):
    """SpiffWorkflow took it whatever its condition said; when it does not hold, the instance stops with an
    incident naming the split, as in Camunda ("no conditional sequence flow could be selected")."""
    body = ('<bpmn:startEvent id="start"/>' + _script("a") + _script("next")
            + _flow("f0", "start", "a") + _flow("f1", "a", "next", "approved"))
    workflow, outcome = _run(inline(body), {"approved": approved})
    assert ("next" in _ran(workflow)) is ran
    assert outcome.status == ("completed" if ran else "error")
    if not ran:
        assert outcome.error["element_id"] == "a"
        assert "none of the conditions on the flows leaving a holds" in str(outcome.error)


def _merge_then_split(conditions: tuple[str | None, str | None]) -> str:
    """a splits to b and c, which both reach n (an uncontrolled merge: n runs twice); n splits to x and y."""
    return ('<bpmn:startEvent id="start"/>' + _script("a") + _script("b") + _script("c") + _script("n")
            + _script("x", "xs = xs + 1") + _script("y", "ys = ys + 1") + '<bpmn:endEvent id="end"/>'
            + _flow("f0", "start", "a") + _flow("f1", "a", "b") + _flow("f2", "a", "c") + _flow("f3", "b", "n")
            + _flow("f4", "c", "n") + _flow("f5", "n", "x", conditions[0]) + _flow("f6", "n", "y", conditions[1])
            + _flow("f7", "x", "end") + _flow("f8", "y", "end"))


@pytest.mark.parametrize("conditions", [(None, None), ("True", "xs &gt;= 0")], ids=["parallel", "inclusive"])
def test_each_token_of_an_uncontrolled_merge_goes_on_along_every_flow_of_the_split_after_it(conditions):
    """SpiffWorkflow's gateways also join: its own parallel or inclusive gateway there made one token of
    the two, and x and y ran once each."""
    workflow, outcome = _run(inline(_merge_then_split(conditions)), {"xs": 0, "ys": 0})
    assert outcome.status == "completed", outcome.error
    ran = _ran(workflow)
    assert (ran.count("n"), ran.count("x"), ran.count("y")) == (2, 2, 2)
    assert outcome.end_events == ["end"] * 4


def test_the_drawn_splits_survive_the_stored_spec_and_a_restored_state():
    from app.engine.implicit_flow import SplitOnly
    from app.engine.serializer import StateSerializer
    process = inline(_merge_then_split((None, None)).replace(_script("b"), '<bpmn:userTask id="b"/>')).processes[
        "inline"]
    serializer = StateSerializer()
    spec, embedded = serializer.load_spec(serializer.dump_spec(process.spec, process.embedded))
    assert type(spec.task_specs["ImplicitSplit_n"]) is SplitOnly
    engine = ProcessEngine()
    waiting = engine.advance(engine.new_workflow(spec, embedded, {"xs": 0, "ys": 0}))
    (task,) = waiting.ready
    restored = engine.restore(waiting.state, spec, embedded)
    done = engine.complete_user_task(restored, task.engine_task_id, {})
    assert done.status == "completed", done.error
    ran = _ran(restored)
    assert (ran.count("x"), ran.count("y")) == (2, 2)


# -- gateways' flows without a condition ----------------------------------------------------------

def _exclusive(first_condition: str) -> str:
    """An exclusive gateway whose flows, in document order: f1 (a condition), f2 (none), f3 (`True`). The
    targets are drawn so that SpiffWorkflow's own order (by y on the canvas) is the reverse."""
    return ('<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="which"/>'
            + _script("one") + _script("two") + _script("three")
            + _flow("f0", "start", "which") + _flow("f1", "which", "one", first_condition)
            + _flow("f2", "which", "two") + _flow("f3", "which", "three", "True"))


def _with_shapes(body: str, heights: dict[str, int]) -> bytes:
    from tests.unit.test_runner import diagram
    shapes = "".join(f'<bpmndi:BPMNShape id="{e}_di" bpmnElement="{e}"><dc:Bounds x="0" y="{y}" width="10" '
                     'height="10"/></bpmndi:BPMNShape>' for e, y in heights.items())
    di = ('<bpmndi:BPMNDiagram id="d1" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
          'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"><bpmndi:BPMNPlane id="p1" bpmnElement="inline">'
          f'{shapes}</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>')
    return diagram(body).replace(b"</bpmn:definitions>", di.encode() + b"</bpmn:definitions>")


@pytest.mark.parametrize(("first", "expected"), [("True", "one"), ("False", "two")])
def test_an_exclusive_gateways_flow_without_condition_is_taken_in_document_order(first, expected):
    from app.engine.parser import DiagramFile, parse_diagrams
    content = _with_shapes(_exclusive(first), {"one": 300, "two": 200, "three": 100})
    bundle = parse_diagrams([DiagramFile("inline.bpmn", content)])
    workflow, outcome = _run(bundle)
    assert outcome.status == "completed", outcome.error
    assert {"one", "two", "three"} & set(_ran(workflow)) == {expected}
    (said,) = _said(bundle, "f2")
    assert "the exclusive gateway which" in said and "condition True" in said and "document order" in said
    assert "the flows after it (f3) are never taken" in said


def test_a_second_flow_without_condition_out_of_an_exclusive_gateway_is_said_never_to_be_taken():
    body = ('<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="which"/>' + _script("one") + _script("two")
            + _flow("f0", "start", "which") + _flow("f1", "which", "one") + _flow("f2", "which", "two"))
    bundle = inline(body)
    workflow, outcome = _run(bundle)
    assert {"one", "two"} & set(_ran(workflow)) == {"one"}
    (second,) = _said(bundle, "f2")
    assert "comes after f1, which has no condition either, so it is never taken" in second


def test_an_inclusive_gateways_flow_without_condition_is_always_taken():
    body = ('<bpmn:startEvent id="start"/><bpmn:inclusiveGateway id="which"/>' + _script("one") + _script("two")
            + _flow("f0", "start", "which") + _flow("f1", "which", "one", "False") + _flow("f2", "which", "two"))
    bundle = inline(body)
    workflow, outcome = _run(bundle)
    assert outcome.status == "completed", outcome.error
    assert {"one", "two"} & set(_ran(workflow)) == {"two"}
    (said,) = _said(bundle, "f2")
    assert "inclusive gateway always takes it" in said


def test_a_gateways_default_flow_and_a_single_flow_are_left_as_they_are():
    body = ('<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="which" default="f2"/>'
            '<bpmn:exclusiveGateway id="on"/>' + _script("one") + _script("two")
            + _flow("f0", "start", "which") + _flow("f1", "which", "one", "False") + _flow("f2", "which", "on")
            + _flow("f3", "on", "two"))
    bundle = inline(body)
    assert not [w for w in bundle.warnings if w.element_id in ("f1", "f2", "f3", "which", "on")]
    workflow, outcome = _run(bundle)
    assert {"one", "two"} & set(_ran(workflow)) == {"two"}


def test_a_diagram_with_everything_drawn_is_not_changed():
    body = ('<bpmn:startEvent id="start"/>' + _script("a") + '<bpmn:endEvent id="end"/>'
            + _flow("f0", "start", "a") + _flow("f1", "a", "end"))
    assert inline(body).warnings == []


def test_every_change_is_a_warning_naming_an_element():
    bundle = inline(_script("a") + _script("b") + _script("c") + _flow("f1", "a", "b") + _flow("f2", "a", "c"))
    assert bundle.warnings and all(isinstance(w, DiagramProblem) and w.severity == "warning" and w.element_id
                                   for w in bundle.warnings)


def test_a_parallel_split_that_loops_back_without_a_join_is_refused_by_the_strict_check():
    """Each pass adds a path: SpiffWorkflow's look-ahead recursed without end, and the instance could not
    start ("maximum recursion depth exceeded"); a split whose paths join before looping back runs."""
    body = ('<bpmn:startEvent id="start"/><bpmn:manualTask id="a"/><bpmn:parallelGateway id="split"/>'
            '<bpmn:manualTask id="b"/><bpmn:endEvent id="end"/>' + _flow("f0", "start", "a") + _flow("f1", "a", "split")
            + _flow("f2", "split", "b") + _flow("f3", "split", "a") + _flow("f4", "b", "end"))
    errors = [p for p in lint_bundle(inline(body), [], []) if p.severity == "error"]
    assert [(p.element_id, p.reason[:79]) for p in errors] == [
        ("split", "the parallel split split sends a path back to before itself with no join on the")]
    implicit = ('<bpmn:startEvent id="start"/><bpmn:manualTask id="a"/><bpmn:manualTask id="b"/>'
                '<bpmn:endEvent id="end"/>' + _flow("f0", "start", "a") + _flow("f1", "a", "b") + _flow("f2", "a", "a2")
                + '<bpmn:manualTask id="a2"/>' + _flow("f3", "a2", "a") + _flow("f4", "b", "end"))
    errors = [p for p in lint_bundle(inline(implicit), [], []) if p.severity == "error"]
    assert [(p.element_id, p.reason[:59]) for p in errors] == [
        ("a", "the flows leaving a (all taken: a parallel split) sends a p")]
    joined = ('<bpmn:startEvent id="start"/><bpmn:manualTask id="a"/><bpmn:parallelGateway id="split"/>'
              '<bpmn:manualTask id="b1"/><bpmn:manualTask id="b2"/><bpmn:parallelGateway id="join"/>'
              '<bpmn:exclusiveGateway id="again" default="f8"/><bpmn:endEvent id="end"/>'
              + _flow("f0", "start", "a") + _flow("f1", "a", "split") + _flow("f2", "split", "b1")
              + _flow("f3", "split", "b2") + _flow("f4", "b1", "join") + _flow("f5", "b2", "join")
              + _flow("f6", "join", "again") + _flow("f8", "again", "end")
              + '<bpmn:sequenceFlow id="f7" sourceRef="again" targetRef="a"><bpmn:conditionExpression>loop'
                '</bpmn:conditionExpression></bpmn:sequenceFlow>')
    assert [p for p in lint_bundle(inline(joined), [], []) if p.severity == "error"] == []
