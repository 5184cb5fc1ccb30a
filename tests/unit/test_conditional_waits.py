"""A wait on a condition (issue 17): the strict check refused every conditional catch event, saying nothing
else could move the instance while it waited — false when another path writes a data object the condition
reads (SpiffWorkflow checks the condition against the data objects whenever the instance moves). Now only
a wait nothing could end is refused."""
from __future__ import annotations

import pytest

from app.engine.errors import CannotStart, DiagramRejected
from app.engine.runner import ProcessEngine
from tests.unit.test_implicit_flow import _flow, _ran, _run
from tests.unit.test_runner import inline

_WAIT = ('<bpmn:intermediateCatchEvent id="wait"><bpmn:conditionalEventDefinition><bpmn:condition>{condition}'
         '</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>')


def _parallel(condition: str, writes: str = "reviewed") -> str:
    """A review on one path writes the data object `writes`; the other path waits for `condition`."""
    return ('<bpmn:startEvent id="start"/><bpmn:parallelGateway id="split"/>'
            '<bpmn:userTask id="review"><bpmn:dataOutputAssociation id="o1"><bpmn:targetRef>ref</bpmn:targetRef>'
            f'</bpmn:dataOutputAssociation></bpmn:userTask><bpmn:dataObjectReference id="ref" dataObjectRef="{writes}"/>'
            f'<bpmn:dataObject id="{writes}"/><bpmn:dataObject id="never_written"/>' + _WAIT.format(condition=condition)
            + '<bpmn:parallelGateway id="join"/><bpmn:endEvent id="end"/>'
            + _flow("f1", "start", "split") + _flow("f2", "split", "review") + _flow("f3", "split", "wait")
            + _flow("f4", "wait", "join") + _flow("f5", "review", "join") + _flow("f6", "join", "end"))


def _refused(body: str) -> list[tuple[str | None, str]]:
    try:
        bundle = inline(body)
    except DiagramRejected as rejected:
        return [(p.element_id, p.reason) for p in rejected.problems]
    return [(p.element_id, p.reason) for p in bundle.processes["inline"].problems if p.severity == "error"]


def test_a_wait_on_a_data_object_another_path_writes_is_accepted_and_ends_when_it_is_written():
    bundle = inline(_parallel("reviewed and amount > 100"))
    assert _refused(_parallel("reviewed and amount > 100")) == []
    workflow, outcome = _run(bundle, {"amount": 500})
    [review] = outcome.ready
    assert outcome.status == "waiting" and "wait" not in _ran(workflow)
    done = ProcessEngine().complete_user_task(workflow, review.engine_task_id, {"reviewed": True})
    assert done.status == "completed" and done.end_events == ["end"]
    assert _ran(workflow).index("review") < _ran(workflow).index("wait")


@pytest.mark.parametrize("condition", ["approved", "never_written", "reviewed_too"])
def test_a_wait_on_what_no_other_element_writes_is_refused_naming_the_event(condition):
    ((element, reason),) = _refused(_parallel(condition))
    assert element == "wait" and "nothing can make true" in reason


def test_a_conditional_event_after_an_event_based_gateway_is_not_a_wait_nothing_could_end():
    body = ('<bpmn:startEvent id="start"/><bpmn:eventBasedGateway id="which"/>' + _WAIT.format(condition="paid")
            + '<bpmn:intermediateCatchEvent id="late"><bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"'
            '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent><bpmn:endEvent id="end"/>'
            + _flow("f1", "start", "which") + _flow("f2", "which", "wait") + _flow("f3", "which", "late")
            + _flow("f4", "wait", "end") + _flow("f5", "late", "end"))
    assert _refused(body) == []


def test_an_event_based_gateway_waiting_only_on_conditions_nothing_writes_is_refused_naming_each():
    """Such a gateway passed the check, and its instance waited with nothing that could move it (Camunda's
    `async-message-without-race-condition` example, whose conditions read variables its test sets from outside)."""
    second = _WAIT.format(condition="shipped").replace('id="wait"', 'id="wait2"')
    body = ('<bpmn:startEvent id="start"/><bpmn:eventBasedGateway id="which"/>' + _WAIT.format(condition="paid")
            + second + '<bpmn:endEvent id="end"/>'
            + _flow("f1", "start", "which") + _flow("f2", "which", "wait") + _flow("f3", "which", "wait2")
            + _flow("f4", "wait", "end") + _flow("f5", "wait2", "end"))
    refused = _refused(body)
    assert sorted(e for e, _ in refused) == ["wait", "wait2"] and all("nothing can make true" in r for _, r in refused)


def test_a_start_condition_that_does_not_hold_refuses_the_start_instead_of_waiting_for_ever():
    body = ('<bpmn:startEvent id="start"><bpmn:conditionalEventDefinition><bpmn:condition>amount &gt; 100'
            '</bpmn:condition></bpmn:conditionalEventDefinition></bpmn:startEvent><bpmn:endEvent id="end"/>'
            + _flow("f1", "start", "end"))
    bundle = inline(body)
    assert _run(bundle, {"amount": 500})[1].end_events == ["end"]
    for data, words in (({"amount": 5}, "does not hold"), ({}, "cannot be evaluated")):
        with pytest.raises(CannotStart) as refused:
            _run(bundle, data)
        assert "'amount > 100'" in str(refused.value) and words in str(refused.value)
