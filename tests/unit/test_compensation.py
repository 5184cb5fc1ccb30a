"""Compensation (issue 17): SpiffWorkflow 3.2 has none — its parser failed on a compensation boundary event,
and Loanflow refused every compensation event. Now a compensation throw event runs the handlers of what its
(sub)process completed, the last completed first, each completion once; a sub-process is compensated by its
compensation event sub-process or, without one, by compensating what it completed inside."""
from __future__ import annotations

import pytest

from app.engine.compensation import MAX_DRAWN
from app.engine.errors import DiagramRejected
from app.engine.runner import ProcessEngine
from app.engine.serializer import StateSerializer
from tests.unit.test_implicit_flow import _flow, _ran, _run, _said, _script
from tests.unit.test_runner import inline

_THROW = '<bpmn:intermediateThrowEvent id="{id}"><bpmn:compensateEventDefinition{ref}/></bpmn:intermediateThrowEvent>'


def _logged(element_id: str) -> str:
    return _script(element_id, f"log = log + ['{element_id}']")


def _undone_by(activity: str, handler: str | None = None, *, handler_xml: str | None = None) -> str:
    """A compensation boundary event on `activity`, joined to its handler (a script logging its own id)."""
    handler = handler or f"undo_{activity}"
    xml = handler_xml or _logged(handler)
    return (f'<bpmn:boundaryEvent id="{activity}_comp" attachedToRef="{activity}"><bpmn:compensateEventDefinition/>'
            '</bpmn:boundaryEvent>' + xml.replace(f'id="{handler}"', f'id="{handler}" isForCompensation="true"', 1)
            + f'<bpmn:association id="{activity}_assoc" sourceRef="{activity}_comp" targetRef="{handler}"/>')


def _throw(element_id: str, activity: str | None = None) -> str:
    return _THROW.format(id=element_id, ref=f' activityRef="{activity}"' if activity else "")


def _chain(*ids: str) -> str:
    return "".join(_flow(f"f_{a}_{b}", a, b) for a, b in zip(ids, ids[1:], strict=False))


def _log(body: str, data: dict | None = None) -> tuple[list[str], object]:
    bundle = inline(body)
    workflow, outcome = _run(bundle, {"log": [], **(data or {})})
    assert outcome.status == "completed", outcome.error
    return workflow.last_task.data["log"], outcome


def test_a_compensation_throw_event_undoes_what_completed_the_last_first_then_goes_on():
    body = ('<bpmn:startEvent id="start"/>' + _logged("reserve") + _undone_by("reserve") + _logged("charge")
            + _undone_by("charge") + _throw("undo") + _logged("after") + '<bpmn:endEvent id="end"/>'
            + _chain("start", "reserve", "charge", "undo", "after", "end"))
    log, outcome = _log(body)
    assert log == ["reserve", "charge", "undo_charge", "undo_reserve", "after"]
    assert outcome.end_events == ["end"]


def test_only_what_completed_is_compensated():
    body = ('<bpmn:startEvent id="start"/>' + _logged("reserve") + _undone_by("reserve")
            + '<bpmn:exclusiveGateway id="big" default="small"/>' + _logged("guarantee") + _undone_by("guarantee")
            + '<bpmn:exclusiveGateway id="join"/>' + _throw("undo") + '<bpmn:endEvent id="end"/>'
            + _chain("start", "reserve", "big") + _flow("large", "big", "guarantee", "amount > 100")
            + _flow("small", "big", "join") + _chain("guarantee", "join", "undo", "end"))
    assert _log(body, {"amount": 50})[0] == ["reserve", "undo_reserve"]
    assert _log(body, {"amount": 500})[0] == ["reserve", "guarantee", "undo_guarantee", "undo_reserve"]


def test_an_activity_ref_compensates_that_activity_only_and_each_completion_is_undone_once():
    body = ('<bpmn:startEvent id="start"/>' + _logged("reserve") + _undone_by("reserve") + _logged("charge")
            + _undone_by("charge") + _throw("undo_charge_only", "charge") + _throw("undo_rest")
            + '<bpmn:endEvent id="end"/>' + _chain("start", "reserve", "charge", "undo_charge_only", "undo_rest", "end"))
    log, _ = _log(body)
    assert log == ["reserve", "charge", "undo_charge", "undo_reserve"]  # the second throw: charge was undone


def test_a_compensation_end_event_undoes_and_ends():
    body = ('<bpmn:startEvent id="start"/>' + _logged("reserve") + _undone_by("reserve")
            + '<bpmn:endEvent id="failed"><bpmn:compensateEventDefinition/></bpmn:endEvent>'
            + _chain("start", "reserve", "failed"))
    log, outcome = _log(body)
    assert log == ["reserve", "undo_reserve"]
    assert outcome.end_events == ["failed"]


def _booking(event_subprocess: bool) -> str:
    """MIWG C.6.0's shape: a sub-process books a flight and a hotel in parallel; the outer process compensates
    the sub-process (by its compensation event sub-process, or by default) when the card is refused. Each
    script sets a flag of its own id (parallel paths each change their own copy of the data)."""
    inner = ('<bpmn:startEvent id="b_start"/><bpmn:parallelGateway id="split"/>' + _script("flight")
             + _undone_by("flight", handler_xml=_script("undo_flight")) + _script("hotel")
             + _undone_by("hotel", handler_xml=_script("undo_hotel"))
             + '<bpmn:parallelGateway id="both"/><bpmn:endEvent id="booked"/>'
             + _chain("b_start", "split", "flight", "both", "booked") + _chain("split", "hotel", "both"))
    if event_subprocess:
        inner += ('<bpmn:subProcess id="on_compensation" triggeredByEvent="true"><bpmn:startEvent id="c_start">'
                  '<bpmn:compensateEventDefinition/></bpmn:startEvent>' + _script("apologise") + _throw("c_throw")
                  + '<bpmn:endEvent id="c_end"/>' + _chain("c_start", "apologise", "c_throw", "c_end")
                  + '</bpmn:subProcess>')
    return ('<bpmn:startEvent id="start"/><bpmn:subProcess id="booking">' + inner + '</bpmn:subProcess>'
            + _script("charge") + '<bpmn:exclusiveGateway id="paid" default="ok"/>' + _throw("refund")
            + '<bpmn:endEvent id="refused"/><bpmn:endEvent id="confirmed"/>'
            + _chain("start", "booking", "charge", "paid") + _flow("ok", "paid", "confirmed")
            + _flow("no", "paid", "refund", "card == 'refused'") + _chain("refund", "refused"))


@pytest.mark.parametrize("event_subprocess", [True, False])
def test_a_completed_sub_process_is_compensated_by_its_event_sub_process_or_by_default(event_subprocess):
    bundle = inline(_booking(event_subprocess))
    workflow, outcome = _run(bundle, {"card": "refused"})
    assert outcome.status == "completed" and outcome.end_events == ["refused"]
    ran = _ran(workflow)
    assert {"undo_flight", "undo_hotel"} <= set(ran) and ran.index("charge") < ran.index("undo_flight")
    assert {"undo_flight", "undo_hotel", "flight", "hotel", "charge"} <= set(workflow.last_task.data)
    assert ("apologise" in ran) is event_subprocess
    if event_subprocess:  # the event sub-process's own path first, then its throw event's
        assert ran.index("apologise") < min(ran.index("undo_flight"), ran.index("undo_hotel"))
    workflow, outcome = _run(bundle, {"card": "ok"})
    assert outcome.end_events == ["confirmed"]
    assert not {"undo_flight", "undo_hotel", "apologise"} & set(_ran(workflow))


def test_an_error_event_sub_process_compensates_what_its_sub_process_completed():
    """Camunda 7's usual saga: an error in a sub-process starts its error event sub-process, which compensates
    what the sub-process had completed before the error."""
    body = ('<bpmn:startEvent id="start"/><bpmn:subProcess id="disburse"><bpmn:startEvent id="d_start"/>'
            + _logged("reserve") + _undone_by("reserve")
            + '<bpmn:endEvent id="declined"><bpmn:errorEventDefinition/></bpmn:endEvent>'
            + _chain("d_start", "reserve", "declined")
            + '<bpmn:subProcess id="on_error" triggeredByEvent="true"><bpmn:startEvent id="e_start">'
            '<bpmn:errorEventDefinition/></bpmn:startEvent>' + _throw("e_undo") + '<bpmn:endEvent id="e_end"/>'
            + _chain("e_start", "e_undo", "e_end") + '</bpmn:subProcess></bpmn:subProcess>'
            + _logged("after") + '<bpmn:endEvent id="end"/>' + _chain("start", "disburse", "after", "end"))
    log, _outcome = _log(body)
    assert log == ["reserve", "undo_reserve", "after"]


def test_a_handler_that_waits_for_a_person_survives_a_save_and_load():
    body = ('<bpmn:startEvent id="start"/>' + _logged("reserve")
            + _undone_by("reserve", "release", handler_xml='<bpmn:userTask id="release"/>') + _throw("undo")
            + '<bpmn:endEvent id="end"/>' + _chain("start", "reserve", "undo", "end"))
    bundle = inline(body)
    process = bundle.processes["inline"]
    engine, serializer = ProcessEngine(), StateSerializer()
    workflow = engine.new_workflow(process.spec, process.embedded, {"log": []})
    outcome = engine.advance(workflow)
    [task] = outcome.ready
    assert task.element_id == "release"
    state = serializer.dump_state(workflow)
    spec, embedded = serializer.load_spec(serializer.dump_spec(process.spec, process.embedded))
    restored = serializer.load_state(state, spec, embedded)
    done = engine.complete_user_task(restored, task.engine_task_id, {})
    assert done.status == "completed" and done.end_events == ["end"]
    assert _ran(restored).count("release") == 1


def test_what_the_import_drew_is_said_and_a_handler_nothing_reaches_is_said_as_never_running():
    body = ('<bpmn:startEvent id="start"/>' + _logged("reserve") + _undone_by("reserve") + _logged("charge")
            + _undone_by("charge") + _throw("undo", "charge") + '<bpmn:endEvent id="end"/>'
            + _chain("start", "reserve", "charge", "undo", "end"))
    bundle = inline(body)
    (drawn,) = _said(bundle, "undo")
    assert "charge" in drawn and "undo_compensation" in drawn and "reserve" not in drawn
    (never,) = _said(bundle, "undo_reserve")
    assert "never runs" in never


def _refusals(body: str) -> list[tuple[str | None, str]]:
    with pytest.raises(DiagramRejected) as rejected:
        inline(body)
    return [(p.element_id, p.reason) for p in rejected.value.problems]


_WORK = '<bpmn:startEvent id="start"/><bpmn:userTask id="work"/><bpmn:endEvent id="end"/>' + _chain("start", "work",
                                                                                                    "end")


@pytest.mark.parametrize(("extra", "element", "words"), [
    ('<bpmn:boundaryEvent id="b" attachedToRef="work"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>', "b",
     "names no handler"),
    (_undone_by("work").replace('<bpmn:association', _flow("bad", "start", "undo_work") + '<bpmn:association'),
     "undo_work", "is on a sequence flow"),
    ('<bpmn:boundaryEvent id="b" attachedToRef="work"><bpmn:compensateEventDefinition/></bpmn:boundaryEvent>'
     '<bpmn:task id="t"/>' + _flow("b_out", "b", "t"), "b", "no outgoing sequence flow"),
    ('<bpmn:intermediateCatchEvent id="c"><bpmn:compensateEventDefinition/></bpmn:intermediateCatchEvent>', "c",
     "cannot be a compensation event"),
    ('<bpmn:subProcess id="e" triggeredByEvent="true"><bpmn:startEvent id="e0"><bpmn:compensateEventDefinition/>'
     '</bpmn:startEvent></bpmn:subProcess>', "e", "would never run"),
    (_throw("t", "nothing_here"), "t", "names nothing_here, which is not an activity"),
])
def test_a_compensation_drawn_wrong_is_refused_naming_the_element(extra, element, words):
    ((refused, reason),) = _refusals(_WORK + extra)
    assert refused == element
    assert words in reason and "<" not in reason and "Error" not in reason


def test_compensations_multiplied_level_by_level_are_refused_before_they_are_drawn():
    """Hostile BPMN: each level's compensation event sub-process throws twice, and each throw compensates the
    level below, whose own event sub-process throws twice again — 2**levels copies. The drawing stops at
    MAX_DRAWN and the file is refused naming the outer throw event, instead of growing without end."""
    def level(n: int) -> str:
        if n == 0:
            return _logged("leaf") + _undone_by("leaf")
        inner = (f'<bpmn:subProcess id="s{n}">{level(n - 1)}</bpmn:subProcess>'
                 f'<bpmn:subProcess id="e{n}" triggeredByEvent="true"><bpmn:startEvent id="e{n}_start">'
                 '<bpmn:compensateEventDefinition/></bpmn:startEvent>'
                 + "".join(_throw(f"e{n}_t{k}") + _flow(f"e{n}_f{k}", f"e{n}_start", f"e{n}_t{k}") for k in range(4))
                 + '</bpmn:subProcess>')
        return inner
    body = ('<bpmn:startEvent id="start"/><bpmn:subProcess id="top">' + level(8) + '</bpmn:subProcess>'
            + _throw("undo") + '<bpmn:endEvent id="end"/>' + _chain("start", "top", "undo", "end"))
    ((element, reason),) = _refusals(body)
    assert element == "undo" and f"more than {MAX_DRAWN} compensations" in reason


def test_a_compensation_event_with_nothing_to_compensate_passes_on_and_says_why():
    body = ('<bpmn:startEvent id="start"/>' + _logged("work") + _throw("undo_all") + _throw("undo_work", "work")
            + _logged("after") + '<bpmn:endEvent id="end"/>' + _chain("start", "work", "undo_all", "undo_work", "after",
                                                                      "end"))
    bundle = inline(body)
    assert _log(body)[0] == ["work", "after"]
    (nothing,) = _said(bundle, "undo_all")
    assert "nothing in the process inline can be compensated" in nothing
    (named,) = _said(bundle, "undo_work")
    assert named.startswith("work cannot be compensated")


def test_a_cancelled_transaction_compensates_what_it_completed_before_its_cancel_path_goes_on():
    """BPMN's transaction: a cancel end event cancels it, what it completed is compensated, then the path after
    its cancel boundary event runs. Before, the cancel path ran and the reservation stayed (SpiffWorkflow's
    cancel compensates nothing)."""
    body = ('<bpmn:startEvent id="start"/><bpmn:transaction id="booking"><bpmn:startEvent id="t_start"/>'
            + _logged("reserve") + _undone_by("reserve") + '<bpmn:exclusiveGateway id="ok" default="fine"/>'
            '<bpmn:endEvent id="cancel_end"><bpmn:cancelEventDefinition/></bpmn:endEvent><bpmn:endEvent id="t_end"/>'
            + _chain("t_start", "reserve", "ok") + _flow("fine", "ok", "t_end")
            + _flow("too_much", "ok", "cancel_end", "amount > 100") + '</bpmn:transaction>'
            '<bpmn:boundaryEvent id="cancelled" attachedToRef="booking"><bpmn:cancelEventDefinition/></bpmn:boundaryEvent>'
            + _logged("after_cancel") + '<bpmn:endEvent id="end_cancelled"/><bpmn:endEvent id="end"/>'
            + _chain("start", "booking", "end") + _chain("cancelled", "after_cancel", "end_cancelled"))
    log, outcome = _log(body, {"amount": 500})
    assert log == ["reserve", "undo_reserve", "after_cancel"] and outcome.end_events == ["end_cancelled"]
    log, outcome = _log(body, {"amount": 5})
    assert log == ["reserve"] and outcome.end_events == ["end"]
    (said,) = _said(inline(body), "cancelled")
    assert "transaction booking is cancelled" in said and "reserve" in said


def test_as_many_compensations_as_the_limit_allows_run_the_last_completed_first():
    """At MAX_DRAWN compensations in one throw event the drawing still parses and runs (SpiffWorkflow's parser
    recurses along a path: twice as many failed with a RecursionError before the limit was set there)."""
    steps = [f"a{i}" for i in range(MAX_DRAWN)]
    body = ('<bpmn:startEvent id="start"/>' + "".join(_logged(s) + _undone_by(s) for s in steps) + _throw("undo")
            + '<bpmn:endEvent id="end"/>' + _chain("start", *steps, "undo", "end"))
    log, _ = _log(body)
    assert log == steps + [f"undo_{s}" for s in reversed(steps)]


def test_an_activity_completed_in_a_loop_is_undone_once_per_run_the_last_first():
    """Camunda 7 (and BPMN) invoke the handler once for each completion; before, one handler run undid all."""
    handler = _script("undo_reserve", "log = log + ['undo ' + str(n)]\nn = n - 1")
    body = ('<bpmn:startEvent id="start"/>' + _script("reserve", "n = n + 1\nlog = log + ['reserve ' + str(n)]")
            + _undone_by("reserve", handler_xml=handler) + '<bpmn:exclusiveGateway id="again" default="enough"/>'
            + _throw("undo") + '<bpmn:endEvent id="end"/>' + _chain("start", "reserve", "again")
            + _flow("more", "again", "reserve", "n &lt; 3") + _flow("enough", "again", "undo") + _chain("undo", "end"))
    workflow, outcome = _run(inline(body), {"log": [], "n": 0})
    assert outcome.status == "completed", outcome.error
    assert workflow.last_task.data["log"] == ["reserve 1", "reserve 2", "reserve 3", "undo 3", "undo 2", "undo 1"]
    assert [details for kind, _element, details in outcome.history if kind == "compensated"] == [{"runs": 1}] * 3
