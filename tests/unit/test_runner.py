"""End-to-end runs of small diagrams through `ProcessEngine`, and `lint_bundle` on bad ones."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from SpiffWorkflow import TaskState

from app.engine.lint import lint_bundle
from app.engine.parser import Bundle, DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine, StepOutcome, TaskNotReady

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"


@cache
def bundle(filename: str) -> Bundle:
    return parse_diagrams([DiagramFile(filename, (FIXTURES / filename).read_bytes())])


def start(engine: ProcessEngine, process_id: str, data: dict[str, Any], filename: str | None = None):
    process = bundle(filename or f"{process_id}.bpmn").processes[process_id]
    workflow = engine.new_workflow(process.spec, process.embedded, data)
    return workflow, engine.advance(workflow)


def ready_ids(outcome: StepOutcome) -> list[str]:
    return sorted(t.element_id for t in outcome.ready)


def ready_task(outcome: StepOutcome, element_id: str) -> str:
    (task,) = [t for t in outcome.ready if t.element_id == element_id]
    return task.engine_task_id


def diagram(body: str, process_id: str = "inline") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="defs_{process_id}" targetNamespace="http://loanflow.local/bpmn">
  <bpmn:process id="{process_id}" isExecutable="true">{body}
  </bpmn:process>
</bpmn:definitions>""".encode()


def inline(body: str, process_id: str = "inline") -> Bundle:
    return parse_diagrams([DiagramFile(f"{process_id}.bpmn", diagram(body, process_id))])


def script_chain(*scripts: tuple[str, str]) -> str:
    """start -> script tasks (id, source) in order -> user task `after` -> end."""
    ids = ["start", *(i for i, _ in scripts), "after", "end"]
    parts = ['<bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>']
    for n, (element, source) in enumerate(scripts, start=1):
        parts.append(f'<bpmn:scriptTask id="{element}"><bpmn:incoming>f{n - 1}</bpmn:incoming>'
                     f'<bpmn:outgoing>f{n}</bpmn:outgoing><bpmn:script>{escape(source)}</bpmn:script></bpmn:scriptTask>')
    n = len(scripts)
    parts.append(f'<bpmn:userTask id="after"><bpmn:incoming>f{n}</bpmn:incoming><bpmn:outgoing>f{n + 1}</bpmn:outgoing>'
                 '</bpmn:userTask>')
    parts.append(f'<bpmn:endEvent id="end"><bpmn:incoming>f{n + 1}</bpmn:incoming></bpmn:endEvent>')
    for i, (source, target) in enumerate(zip(ids, ids[1:], strict=False)):
        parts.append(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{source}" targetRef="{target}"/>')
    return "\n    ".join(parts)


@pytest.fixture
def engine() -> ProcessEngine:
    return ProcessEngine()


# -- user tasks, gateways, scripts -----------------------------------------------------------
@pytest.mark.parametrize(("approved", "end", "outcome_text"), [
    (True, "end_approved", "approved"), (False, "end_rejected", "rejected")])
def test_exclusive_gateway_takes_each_branch(engine: ProcessEngine, approved: bool, end: str, outcome_text: str) -> None:
    workflow, waiting = start(engine, "approval_gateway", {"amount": Decimal("60000.00")})
    assert waiting.status == "waiting"
    assert waiting.error is None
    (review,) = waiting.ready
    assert (review.element_id, review.title) == ("review", "Review application")
    assert review.properties == {"formJsonSchemaFilename": "review-schema.json"}
    assert waiting.data == {"amount": "60000.00", "fee": "900.00", "band": "large"}

    done = engine.complete_user_task(workflow, review.engine_task_id, {"approved": approved})
    assert done.status == "completed"
    assert done.end_events == [end]
    assert done.ready == []
    assert done.data["outcome"] == outcome_text
    assert done.data["approved"] is approved
    assert ("payable" in done.data) is approved
    if approved:
        assert done.data["payable"] == "59100.00"  # 60000.00 - 1.5 % fee, exact
    assert workflow.is_completed()


def test_script_tasks_run_in_order(engine: ProcessEngine) -> None:
    workflow, waiting = start(engine, "twelve_steps", {"approved": True})
    assert ready_ids(waiting) == ["review"]
    assert waiting.data["score"] == 10
    completed = [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)]
    assert [e for e in completed if e and re.fullmatch(r"s\d+", e)] == [f"s{i}" for i in range(1, 11)]
    approve = engine.complete_user_task(workflow, ready_task(waiting, "review"), {})
    assert ready_ids(approve) == ["approve"]
    done = engine.complete_user_task(workflow, ready_task(approve, "approve"), {})
    assert (done.status, done.end_events) == ("completed", ["end_approved"])


def test_state_of_each_step_restores_and_goes_on(engine: ProcessEngine) -> None:
    process = bundle("twelve_steps.bpmn").processes["twelve_steps"]
    _, waiting = start(engine, "twelve_steps", {"approved": False})
    restored = engine.restore(waiting.state, process.spec, process.embedded)
    note = engine.complete_user_task(restored, ready_task(waiting, "review"), {})
    assert ready_ids(note) == ["reject_note"]
    again = engine.restore(note.state, process.spec, process.embedded)
    done = engine.complete_user_task(again, ready_task(note, "reject_note"), {"note": "too risky"})
    assert (done.status, done.end_events, done.data["note"]) == ("completed", ["end_rejected"], "too risky")


@pytest.mark.parametrize("order", [("legal_review", "risk_review"), ("risk_review", "legal_review")])
def test_parallel_user_tasks_complete_in_either_order(engine: ProcessEngine, order: tuple[str, str]) -> None:
    workflow, waiting = start(engine, "parallel_reviews", {})
    assert waiting.status == "waiting"
    assert ready_ids(waiting) == ["legal_review", "risk_review"]
    answers = {"legal_review": {"legal_ok": True}, "risk_review": {"risk_ok": True}}

    first, second = order
    halfway = engine.complete_user_task(workflow, ready_task(waiting, first), answers[first])
    assert halfway.status == "waiting"
    assert ready_ids(halfway) == [second]
    assert ready_task(halfway, second) == ready_task(waiting, second)

    done = engine.complete_user_task(workflow, ready_task(halfway, second), answers[second])
    assert done.status == "completed"
    assert done.end_events == ["end"]
    assert done.data["legal_ok"] is True and done.data["risk_ok"] is True
    assert done.data["both_ok"] is True
    assert len(workflow.get_tasks(state=TaskState.COMPLETED, spec_name="combine")) == 1


@pytest.mark.parametrize("limit", [1, 5, 12])
def test_bounded_gateway_loop_completes(engine: ProcessEngine, limit: int) -> None:
    workflow, done = start(engine, "gateway_loop", {"limit": limit})
    assert done.status == "completed", done.error
    assert done.end_events == ["end"]
    assert done.data["i"] == limit
    assert done.data["visits"] == list(range(1, limit + 1))
    assert len(workflow.get_tasks(state=TaskState.COMPLETED, spec_name="step")) == limit


def test_unbounded_loop_stops_at_the_depth_limit() -> None:
    engine = ProcessEngine(max_tree_depth=200)
    process = bundle("gateway_loop.bpmn").processes["gateway_loop"]
    workflow, outcome = start(engine, "gateway_loop", {"limit": None})
    assert outcome.status == "error"
    assert outcome.error["kind"] == "depth_limit"
    assert outcome.error["element_id"] in {"merge", "step", "again"}
    assert "limit 200" in outcome.error["message"]
    assert 0 < len(outcome.data["visits"]) < 200
    assert not workflow.is_completed()

    outcomes = [engine.advance(workflow)]
    outcomes.append(engine.advance(engine.restore(outcome.state, process.spec, process.embedded)))
    for later in outcomes:
        assert later.status == "error"
        assert later.error["kind"] == "depth_limit"
        assert later.end_events == []
    assert not workflow.is_completed()
    deep = workflow.get_tasks(state=TaskState.READY, max_depth=100_000)
    assert deep, "the loop's next task is still there, not silently dropped"


def test_completing_a_task_twice_raises(engine: ProcessEngine) -> None:
    workflow, waiting = start(engine, "parallel_reviews", {})
    legal = ready_task(waiting, "legal_review")
    engine.complete_user_task(workflow, legal, {"legal_ok": True})
    with pytest.raises(TaskNotReady, match="legal_review is COMPLETED"):
        engine.complete_user_task(workflow, legal, {"legal_ok": False})
    assert workflow.get_task_from_id(workflow.get_tasks(spec_name="legal_review")[0].id).data["legal_ok"] is True


@pytest.mark.parametrize("task_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid"])
def test_completing_an_unknown_task_raises(engine: ProcessEngine, task_id: str) -> None:
    workflow, _ = start(engine, "parallel_reviews", {})
    with pytest.raises(TaskNotReady, match="is not part of this instance"):
        engine.complete_user_task(workflow, task_id, {})


def test_completing_an_engine_task_raises(engine: ProcessEngine) -> None:
    workflow, _ = start(engine, "twelve_steps", {})
    script = workflow.get_tasks(spec_name="s1")[0]
    with pytest.raises(TaskNotReady, match="s1 is COMPLETED"):
        engine.complete_user_task(workflow, str(script.id), {})


# -- failures --------------------------------------------------------------------------------
def test_script_name_error_fails_with_the_element(engine: ProcessEngine) -> None:
    process = inline(script_chain(("set_rate", "rate = Decimal('0.05')"),
                                  ("apply_rate", "total = amount * rate + missing_fee"))).processes["inline"]
    workflow = engine.new_workflow(process.spec, {}, {"amount": Decimal("100")})
    outcome = engine.advance(workflow)
    assert outcome.status == "error"
    assert outcome.error["element_id"] == "apply_rate"
    assert outcome.error["kind"] == "error"
    assert "NameError" in outcome.error["message"]
    assert "missing_fee" in outcome.error["message"]
    assert outcome.ready == []
    assert [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.ERROR)] == ["apply_rate"]
    assert "total" not in outcome.data


def test_unbound_local_in_a_script_function_fails_the_step(engine: ProcessEngine) -> None:
    """SpiffWorkflow leaves a None note on NameErrors it cannot parse; that must not crash advance()."""
    process = inline(script_chain(("count", "def bump():\n    n = n + 1\n    return n\nresult = bump()"))).processes["inline"]
    outcome = engine.advance(engine.new_workflow(process.spec, {}, {}))
    assert outcome.status == "error"
    assert outcome.error["element_id"] == "count"
    assert "UnboundLocalError" in outcome.error["message"]


class RecordingServices:
    def __init__(self, result: dict | Exception) -> None:
        self.result = result
        self.calls: list[tuple[str, dict, dict]] = []

    def __call__(self, operator: str, params: dict, context: dict) -> dict:
        self.calls.append((operator, params, context))
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def test_service_task_dispatches_with_evaluated_parameters() -> None:
    services = RecordingServices({"score": 700, "limit": Decimal("5000.00")})
    engine = ProcessEngine(call_service=services)
    workflow, outcome = start(engine, "service_call", {"amount": 100, "applicant": {"id": "A-7"}})
    assert outcome.status == "waiting", outcome.error
    (service_task,) = workflow.get_tasks(spec_name="risk_score")
    assert services.calls == [("risk/score", {"applicant_id": "A-7", "amount": 200, "label": "loan-a-7"},
                               {"engine_task_id": str(service_task.id), "element_id": "risk_score"})]
    assert outcome.data["risk_result"] == {"score": 700, "limit": "5000.00"}
    assert outcome.data["score"] == 700  # the post-script saw the result
    assert ready_ids(outcome) == ["look_at_score"]


def test_failing_service_handler_is_retried_with_backoff_then_fails_the_task() -> None:
    services = RecordingServices(ConnectionError("risk engine down"))
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    engine = ProcessEngine(call_service=services, clock=lambda: now[0])
    workflow, outcome = start(engine, "service_call", {"amount": 100, "applicant": {"id": "A-7"}})
    assert len(services.calls) == 1
    assert outcome.status == "waiting" and outcome.ready == []
    assert outcome.due_at == now[0] + timedelta(seconds=10)
    [(kind, element, details)] = outcome.history
    assert (kind, element, details["attempt"], details["of"]) == ("service_failed", "risk_score", 1, 3)

    now[0] += timedelta(seconds=9)  # not yet due: waking changes nothing
    assert engine.wake(workflow).due_at == datetime(2026, 1, 1, 0, 0, 10, tzinfo=UTC)
    assert len(services.calls) == 1
    now[0] += timedelta(seconds=1)
    outcome = engine.wake(workflow)
    assert len(services.calls) == 2 and outcome.due_at == now[0] + timedelta(seconds=20)
    now[0] += timedelta(seconds=20)
    outcome = engine.wake(workflow)
    assert len(services.calls) == 3
    assert outcome.status == "error"
    assert outcome.error["element_id"] == "risk_score" and outcome.error["attempts"] == 3
    assert "ConnectionError" in outcome.error["message"] and "risk engine down" in outcome.error["message"]
    assert "risk_result" not in outcome.data
    assert not workflow.is_completed()
    # the same idempotency scope on every try: the engine task id does not change
    assert len({c[2]["engine_task_id"] for c in services.calls}) == 1


def test_a_retry_that_succeeds_continues_the_instance() -> None:
    services = RecordingServices(ConnectionError("flaky"))
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    engine = ProcessEngine(call_service=services, clock=lambda: now[0])
    workflow, outcome = start(engine, "service_call", {"amount": 100, "applicant": {"id": "A-7"}})
    restored = engine.restore(outcome.state, workflow.spec, {})
    services.result = {"score": 640}
    now[0] += timedelta(seconds=10)
    outcome = engine.wake(restored)
    assert outcome.status == "waiting" and ready_ids(outcome) == ["look_at_score"]
    assert outcome.data["score"] == 640 and outcome.due_at is None


def test_service_task_without_handlers_fails_the_service_task(engine: ProcessEngine) -> None:
    _, outcome = start(engine, "service_call", {"amount": 100, "applicant": {"id": "A-7"}})
    assert outcome.status == "error"
    assert outcome.error["element_id"] == "risk_score"
    assert "no service handlers are configured for 'risk/score'" in outcome.error["message"]


# -- lint ------------------------------------------------------------------------------------
def problems_for(bundle_: Bundle, operators: tuple[str, ...] = (), forms: tuple[str, ...] = ()) -> list:
    return lint_bundle(bundle_, operators, forms)


def test_lint_reports_a_missing_form_file() -> None:
    problems = problems_for(bundle("approval_gateway.bpmn"), forms=("other.json",))
    assert [(p.element_id, p.severity) for p in problems] == [("review", "error")]
    assert "review-schema.json" in problems[0].reason
    assert problems[0].file == "approval_gateway.bpmn"
    assert problems_for(bundle("approval_gateway.bpmn"), forms=("review-schema.json",)) == []


def test_lint_reports_an_unregistered_operator() -> None:
    problems = problems_for(bundle("service_call.bpmn"), operators=("risk/other",))
    assert [(p.element_id, p.severity) for p in problems] == [("risk_score", "error")]
    assert "'risk/score' is not registered" in problems[0].reason
    assert problems_for(bundle("service_call.bpmn"), operators=("risk/score",)) == []


def gateway_with_condition(condition: str) -> str:
    return f"""
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="gate" default="f2"><bpmn:incoming>f0</bpmn:incoming>
      <bpmn:outgoing>f1</bpmn:outgoing><bpmn:outgoing>f2</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="end_a"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_b"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="gate"/>
    <bpmn:sequenceFlow id="f1" sourceRef="gate" targetRef="end_a">
      <bpmn:conditionExpression>{escape(condition)}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f2" sourceRef="gate" targetRef="end_b"/>"""


def test_lint_reports_a_condition_with_a_syntax_error() -> None:
    problems = problems_for(inline(gateway_with_condition("amount >")))
    assert [(p.element_id, p.severity) for p in problems] == [("f1", "error")]  # the flow the condition is on
    assert "condition does not compile" in problems[0].reason
    assert "SyntaxError" in problems[0].reason
    compiled = problems_for(inline(gateway_with_condition("amount > 5")))
    assert [(p.element_id, p.severity) for p in compiled] == [("gate", "warning")]  # amount: only start data gives it
    assert "read amount, which nothing in the process sets" in compiled[0].reason


def timer_wait(expression: str) -> str:
    return f"""
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="sla_wait"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>{escape(expression)}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="sla_wait"/>
    <bpmn:sequenceFlow id="f1" sourceRef="sla_wait" targetRef="end"/>"""


@pytest.mark.parametrize("expression", ["PT48H", '"PT48H"', "sla_duration", "'R3/PT1H'"])
def test_lint_accepts_timers_that_may_be_fine(expression: str) -> None:
    """An unquoted PT48H is the ISO text (the import layer quotes it); a name depends on data, so it is
    left to run time."""
    assert problems_for(inline(timer_wait(expression))) == []


@pytest.mark.parametrize(("expression", "reason"), [
    ("48", "timer expression gives int, not an ISO 8601 string"),
    ('"banana"', "timer value 'banana' is not ISO 8601"),
    ("PT48H +", "timer expression does not compile"),
])
def test_lint_reports_timers_that_cannot_work(expression: str, reason: str) -> None:
    problems = problems_for(inline(timer_wait(expression)))
    assert [(p.element_id, p.severity) for p in problems] == [("sla_wait", "error")]
    assert reason in problems[0].reason


def loop(step: str) -> str:
    """start -> prepare -> merge -> `step` element -> check -(again)-> merge / -> end."""
    return f"""
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="prepare"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:script>n = 0</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="merge"><bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>f_again</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:exclusiveGateway>
    {step}
    <bpmn:scriptTask id="check"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>n = n + 1</bpmn:script></bpmn:scriptTask>
    <bpmn:exclusiveGateway id="again" default="f_done"><bpmn:incoming>f4</bpmn:incoming>
      <bpmn:outgoing>f_again</bpmn:outgoing><bpmn:outgoing>f_done</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>f_done</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="prepare"/>
    <bpmn:sequenceFlow id="f1" sourceRef="prepare" targetRef="merge"/>
    <bpmn:sequenceFlow id="f2" sourceRef="merge" targetRef="work"/>
    <bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="check"/>
    <bpmn:sequenceFlow id="f4" sourceRef="check" targetRef="again"/>
    <bpmn:sequenceFlow id="f_again" sourceRef="again" targetRef="merge">
      <bpmn:conditionExpression>n &lt; 3</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_done" sourceRef="again" targetRef="end"/>"""


def test_lint_warns_about_a_loop_of_script_tasks() -> None:
    work = ('<bpmn:scriptTask id="work"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>'
            '<bpmn:script>total = n * 2</bpmn:script></bpmn:scriptTask>')
    problems = problems_for(inline(loop(work)))
    assert len(problems) == 1
    (warning,) = problems
    assert warning.severity == "warning"
    assert "has no user task or catch event" in warning.reason
    for element in ("again", "check", "merge", "work"):
        assert element in warning.reason
    assert "prepare" not in warning.reason


def test_lint_accepts_a_loop_through_a_user_task() -> None:
    work = '<bpmn:userTask id="work"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>'
    assert problems_for(inline(loop(work))) == []


# -- timer values: bounded before SpiffWorkflow's date arithmetic sees them --------------------
def timer_on_task(kind: str, expression: str) -> str:
    """start -> user task `sign` (a non-interrupting timer boundary `remind` of `kind`) -> end;
    for durations and dates, start -> intermediate timer `sla_wait` -> end instead."""
    if kind != "timeCycle":
        return timer_wait(expression).replace("timeDuration", kind)
    return f"""
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="sign"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="remind" attachedToRef="sign" cancelActivity="false"><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeCycle>{escape(expression)}</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="reminded"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="sign"/>
    <bpmn:sequenceFlow id="f1" sourceRef="sign" targetRef="end"/>
    <bpmn:sequenceFlow id="f2" sourceRef="remind" targetRef="reminded"/>"""


OUT_OF_RANGE_TIMERS = [
    ("timeDuration", '"P999999999Y"', "the duration 'P999999999Y' has 999,999,999 years: more than 100 years"),
    ("timeDuration", '"P101Y"', "has 101 years: more than 100 years"),
    ("timeDuration", '"P100Y1D"', "the duration 'P100Y1D' is longer than 100 years"),
    ("timeDuration", '"PT99999999999H"', "has 99,999,999,999 hours"),
    ("timeDuration", '"P" + "9" * 200 + "D"', "characters is not a timer value"),
    ("timeDate", '"1900-01-01T00:00:00+00:00"', "is outside the years 1970–2199"),
    ("timeDate", '"9999-12-31T00:00:00+00:00"', "is outside the years 1970–2199"),
    ("timeCycle", '"R100000/PT1H"', "repeats more than 10,000 times"),
    ("timeCycle", '"R/PT1S"', "fires more often than every 60 s"),
    ("timeCycle", '"R3/P999999999Y"', "has 999,999,999 years"),
    ("timeCycle", '"R3/1000-01-01T00:00:00+00:00/PT1H"', "is outside the years"),
]


@pytest.mark.parametrize(("kind", "expression", "reason"), OUT_OF_RANGE_TIMERS,
                         ids=[e for _, e, _ in OUT_OF_RANGE_TIMERS])
def test_a_timer_value_out_of_range_fails_its_task(engine: ProcessEngine, kind: str, expression: str,
                                                    reason: str) -> None:
    """P999999999Y looped in SpiffWorkflow's month arithmetic for hours; now it is refused at once."""
    process = inline(timer_on_task(kind, expression)).processes["inline"]
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {}))
    assert outcome.status == "error"
    assert outcome.error["element_id"] == ("remind" if kind == "timeCycle" else "sla_wait")
    assert outcome.error["message"].startswith("timer: ")
    assert reason in outcome.error["message"]


@pytest.mark.parametrize(("kind", "expression", "reason"), OUT_OF_RANGE_TIMERS,
                         ids=[e for _, e, _ in OUT_OF_RANGE_TIMERS])
def test_lint_refuses_a_literal_timer_out_of_range(kind: str, expression: str, reason: str) -> None:
    problems = problems_for(inline(timer_on_task(kind, expression)))
    assert [p.severity for p in problems] == ["error"]
    assert reason in problems[0].reason


@pytest.mark.parametrize(("kind", "expression"), [
    ("timeDuration", '"P100Y"'), ("timeDuration", '"P1200M"'), ("timeDuration", '"PT48H"'),
    ("timeDate", '"2199-12-01T12:00:00+00:00"'), ("timeCycle", '"R10000/PT1M"'), ("timeCycle", '"R/P1D"'),
    ("timeCycle", '"R3/2026-12-01T00:00:00+00:00/PT24H"'), ("timeCycle", '"R2/P1D/2027-01-01T00:00:00+00:00"'),
])
def test_timer_values_in_range_wait(engine: ProcessEngine, kind: str, expression: str) -> None:
    process = inline(timer_on_task(kind, expression)).processes["inline"]
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {}))
    assert outcome.status == "waiting", outcome.error
    assert outcome.due_at is not None
    assert problems_for(inline(timer_on_task(kind, expression))) == []


def test_lint_refuses_a_due_in_out_of_range() -> None:
    body = """
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="quick"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="dueIn" value="P999999999Y"/></spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="quick"/>
    <bpmn:sequenceFlow id="f1" sourceRef="quick" targetRef="end"/>"""
    problems = problems_for(inline(body))
    assert [(p.element_id, p.severity) for p in problems] == [("quick", "error")]
    assert "more than 100 years" in problems[0].reason


def test_missed_firings_of_a_cycle_fire_once() -> None:
    """A worker that was down ten hours fires an hourly reminder once, not ten times in a row."""
    now = [datetime(2026, 11, 28, 9, 0, tzinfo=UTC)]
    engine = ProcessEngine(clock=lambda: now[0])
    process = inline(timer_on_task("timeCycle", '"R/PT1H"')).processes["inline"]
    workflow = engine.new_workflow(process.spec, process.embedded, {})
    assert engine.advance(workflow).due_at == now[0] + timedelta(hours=1)
    start_at = now[0]
    now[0] += timedelta(hours=10, minutes=30)
    woken = engine.wake(workflow)
    assert [kind for kind, element, _ in woken.history if kind == "timer_fired" and element == "remind"] == ["timer_fired"]
    assert woken.due_at == start_at + timedelta(hours=11)
    assert woken.end_events == [] and woken.status == "waiting"


# -- parallel fan-outs: at most fanout.MAX_BRANCHES branches at once ---------------------------
def parallel_split(branches: int, kind: str = "parallelGateway") -> str:
    condition = "<bpmn:conditionExpression>True</bpmn:conditionExpression>" if kind == "inclusiveGateway" else ""
    outgoing = "".join(f"<bpmn:outgoing>b{i}</bpmn:outgoing>" for i in range(branches))
    incoming = "".join(f"<bpmn:incoming>j{i}</bpmn:incoming>" for i in range(branches))
    tasks = "".join(f'<bpmn:scriptTask id="t{i}"><bpmn:incoming>b{i}</bpmn:incoming><bpmn:outgoing>j{i}</bpmn:outgoing>'
                    f'<bpmn:script>done_{i} = True</bpmn:script></bpmn:scriptTask>'
                    f'<bpmn:sequenceFlow id="b{i}" sourceRef="split" targetRef="t{i}">{condition}</bpmn:sequenceFlow>'
                    f'<bpmn:sequenceFlow id="j{i}" sourceRef="t{i}" targetRef="join"/>' for i in range(branches))
    return f"""
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:{kind} id="split"><bpmn:incoming>f0</bpmn:incoming>{outgoing}</bpmn:{kind}>{tasks}
    <bpmn:{kind} id="join">{incoming}<bpmn:outgoing>f1</bpmn:outgoing></bpmn:{kind}>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="split"/>
    <bpmn:sequenceFlow id="f1" sourceRef="join" targetRef="end"/>"""


def parallel_instances(loop: str) -> str:
    return f"""
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="each"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics>{loop}</bpmn:multiInstanceLoopCharacteristics>
      <bpmn:script>seen = True</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="each"/>
    <bpmn:sequenceFlow id="f1" sourceRef="each" targetRef="end"/>"""


FROM_DATA = ('<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>'
             '<bpmn:inputDataItem id="item" name="item"/>')


@pytest.mark.parametrize("kind", ["parallelGateway", "inclusiveGateway"])
def test_lint_refuses_a_gateway_of_more_than_100_branches(kind: str) -> None:
    problems = problems_for(inline(parallel_split(101, kind)))
    assert sorted((p.element_id, p.severity) for p in problems) == [("join", "error"), ("split", "error")]
    assert "a gateway of 101 parallel branches: more than the 100" in problems[0].reason
    assert problems_for(inline(parallel_split(100, kind))) == []


def test_lint_refuses_a_multi_instance_of_a_literal_cardinality_over_100() -> None:
    problems = problems_for(inline(parallel_instances("<bpmn:loopCardinality>101</bpmn:loopCardinality>")))
    assert [(p.element_id, p.severity) for p in problems] == [("each", "error")]
    assert "a multi-instance of 101 parallel branches" in problems[0].reason
    assert problems_for(inline(parallel_instances("<bpmn:loopCardinality>100</bpmn:loopCardinality>"))) == []
    assert problems_for(inline(parallel_instances("<bpmn:loopCardinality>count</bpmn:loopCardinality>"))) == []


def test_a_gateway_of_more_than_100_branches_fails_before_a_branch_runs(engine: ProcessEngine) -> None:
    """Deployed without the strict checks (an API upload): the split fails with an incident."""
    process = inline(parallel_split(101)).processes["inline"]
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {}))
    assert outcome.status == "error"
    assert outcome.error["element_id"] == "split"
    assert "a gateway of 101 parallel branches" in outcome.error["message"]
    assert not any(key.startswith("done_") for key in outcome.data)


@pytest.mark.parametrize(("loop", "data"), [
    ("<bpmn:loopCardinality>count</bpmn:loopCardinality>", {"count": 101}),
    (FROM_DATA, {"items": list(range(101))}),
    (FROM_DATA, {"items": {str(n): n for n in range(101)}}),
], ids=["cardinality", "list", "dict"])
def test_a_multi_instance_of_more_than_100_from_data_fails_with_an_incident(engine: ProcessEngine, loop: str,
                                                                            data: dict) -> None:
    process = inline(parallel_instances(loop)).processes["inline"]
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, data))
    assert outcome.status == "error"
    assert outcome.error["element_id"] == "each"
    assert "a multi-instance of 101 parallel branches" in outcome.error["message"]
    fits = {key: (value if isinstance(value, int) else list(range(100))) for key, value in data.items()}
    if "count" in fits:
        fits["count"] = 100
    done = engine.advance(engine.new_workflow(process.spec, process.embedded, fits))
    assert done.status == "completed", done.error


def test_a_stored_spec_gets_the_fan_out_limits_back(engine: ProcessEngine) -> None:
    """Specs are stored as JSON with a version: loading one (even one stored before the limits) bounds it."""
    process = inline(parallel_split(101)).processes["inline"]
    text = engine.serializer.dump_spec(process.spec, process.embedded).replace("BoundedParallelGateway",
                                                                               "ParallelGateway")
    spec, embedded = engine.serializer.load_spec(text)
    outcome = engine.advance(engine.new_workflow(spec, embedded, {}))
    assert outcome.status == "error" and "101 parallel branches" in outcome.error["message"]


# -- sequential multi-instances: at most fanout.MAX_IN_TURN instances ------------------------------
def sequential_instances(loop: str) -> str:
    return parallel_instances(loop).replace("<bpmn:multiInstanceLoopCharacteristics>",
                                            '<bpmn:multiInstanceLoopCharacteristics isSequential="true">')


def test_lint_refuses_a_sequential_multi_instance_of_a_literal_cardinality_over_1000() -> None:
    """A cardinality of 100,000 (a mutated corpus diagram) held `processes compat`'s worker for hours: each
    instance run keeps a task, and every later one walks them all."""
    problems = problems_for(inline(sequential_instances("<bpmn:loopCardinality>1001</bpmn:loopCardinality>")))
    assert [(p.element_id, p.severity) for p in problems] == [("each", "error")]
    assert problems[0].reason.startswith("a sequential multi-instance of 1,001 instances: more than the 1,000")
    assert problems_for(inline(sequential_instances("<bpmn:loopCardinality>1000</bpmn:loopCardinality>"))) == []


@pytest.mark.parametrize(("loop", "data"), [
    ("<bpmn:loopCardinality>count</bpmn:loopCardinality>", {"count": 1001}),
    (FROM_DATA, {"items": list(range(1001))}),
], ids=["cardinality", "list"])
def test_a_sequential_multi_instance_of_more_than_1000_from_data_fails_before_an_instance_runs(
        engine: ProcessEngine, loop: str, data: dict) -> None:
    process = inline(sequential_instances(loop)).processes["inline"]
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, data))
    assert outcome.status == "error" and outcome.error["element_id"] == "each"
    assert "a sequential multi-instance of 1,001 instances" in outcome.error["message"]
    assert "seen" not in outcome.data
    fits = {"count": 3} if "count" in data else {"items": [1, 2, 3]}
    assert engine.advance(engine.new_workflow(process.spec, process.embedded, fits)).status == "completed"


def loop_task(attributes: str, condition: str) -> str:
    return parallel_instances("").replace(
        "<bpmn:multiInstanceLoopCharacteristics></bpmn:multiInstanceLoopCharacteristics>",
        f"<bpmn:standardLoopCharacteristics {attributes}><bpmn:loopCondition>{condition}</bpmn:loopCondition>"
        "</bpmn:standardLoopCharacteristics>")


def test_a_loop_task_whose_condition_never_ends_it_stops_with_an_incident(engine: ProcessEngine) -> None:
    """It ran in one step for ever (a worker held): every round of a script task completes at once."""
    process = inline(loop_task("", "True")).processes["inline"]
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {}))
    assert outcome.status == "error" and outcome.error["element_id"] == "each"
    assert outcome.error["message"].startswith("a loop task ran 1,000 rounds and its condition still asks for more")
    ends = inline(loop_task('loopMaximum="3"', "True")).processes["inline"]
    assert engine.advance(engine.new_workflow(ends.spec, ends.embedded, {})).status == "completed"


def test_lint_refuses_a_loop_task_of_more_than_1000_rounds() -> None:
    problems = problems_for(inline(loop_task('loopMaximum="1001"', "True")))
    assert [(p.element_id, p.reason[:45]) for p in problems] == [("each", "a loop task of at most 1,001 rounds: more tha")]
    assert problems_for(inline(loop_task('loopMaximum="1000"', "True"))) == []


@pytest.mark.parametrize("sequential", [True, False])
def test_a_negative_cardinality_is_refused_and_fails_from_data(engine: ProcessEngine, sequential: bool) -> None:
    """-1 ran nothing and left a sequential multi-instance waiting for nothing."""
    shape = sequential_instances if sequential else parallel_instances
    problems = problems_for(inline(shape("<bpmn:loopCardinality>-1</bpmn:loopCardinality>")))
    assert [(p.element_id, p.reason[:45]) for p in problems] == [("each", "the multi-instance's cardinality is -1: it sa")]
    process = inline(shape("<bpmn:loopCardinality>count</bpmn:loopCardinality>")).processes["inline"]
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {"count": -2}))
    assert outcome.status == "error" and outcome.error["element_id"] == "each"
    assert outcome.error["message"].startswith("the multi-instance's cardinality is -2")


# -- a parked task whose activity an interrupting boundary event left -----------------------------------------
TIMED_SERVICE = """
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="call">
      <bpmn:extensionElements><spiffworkflow:serviceTaskOperator id="%s"/></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:boundaryEvent id="too_late" attachedToRef="call">
      <bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:userTask id="after_call"/>
    <bpmn:userTask id="after_timer"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="after_call"/>
    <bpmn:sequenceFlow id="f3" sourceRef="too_late" targetRef="after_timer"/>
    <bpmn:sequenceFlow id="f4" sourceRef="after_call" targetRef="end"/>
    <bpmn:sequenceFlow id="f5" sourceRef="after_timer" targetRef="end"/>"""


def test_a_service_parked_for_a_retry_is_not_run_again_once_a_timer_interrupted_it() -> None:
    """Before: SpiffWorkflow leaves a task in ERROR as it is when its boundary event interrupts it (ERROR counts as
    finished), so the retry still came and ran the service, and the path after it, beside the timer's."""
    services = RecordingServices(ConnectionError("down"))
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    engine = ProcessEngine(call_service=services, clock=lambda: now[0])
    process = inline(TIMED_SERVICE.replace('"PT1H"', '"PT15S"') % "risk/score").processes["inline"]
    workflow = engine.new_workflow(process.spec, process.embedded, {})
    outcome = engine.advance(workflow)
    assert outcome.status == "waiting" and "call" in outcome.waits and len(services.calls) == 1
    now[0] += timedelta(seconds=10)  # the first retry: down again, the next one due 20 s later
    outcome = engine.wake(workflow)
    assert len(services.calls) == 2 and outcome.due_at == now[0] + timedelta(seconds=5)  # the timer comes first
    now[0] += timedelta(seconds=5)  # the timer interrupts the call
    outcome = engine.wake(workflow)
    assert ready_ids(outcome) == ["after_timer"] and "call" not in outcome.waits, outcome
    assert outcome.due_at is None and outcome.status == "waiting"
    services.result = {"score": 1}
    now[0] += timedelta(minutes=1)  # when the retry would have come
    outcome = engine.wake(workflow)
    assert ready_ids(outcome) == ["after_timer"] and len(services.calls) == 2


def test_an_external_task_parks_for_its_worker_and_goes_on_with_what_it_answered() -> None:
    from app.engine.external_tasks import AwaitingWorker

    answers: list[dict] = []

    def worker_side(operator: str, params: dict, context: dict) -> dict:
        if not answers:
            raise AwaitingWorker("payments")
        return answers.pop()

    engine = ProcessEngine(call_service=worker_side)
    process = inline(TIMED_SERVICE % "camunda.external_task").processes["inline"]
    workflow = engine.new_workflow(process.spec, process.embedded, {"amount": 5})
    outcome = engine.advance(workflow)
    assert outcome.status == "waiting" and outcome.error is None and outcome.due_at is not None  # the timer only
    ((task_id, element, topic),) = outcome.awaiting
    assert (element, topic) == ("call", "payments") and "call" in outcome.waits
    assert [k for k, _e, _d in outcome.history] == ["external_task_offered"]
    with pytest.raises(TaskNotReady):
        engine.resume_worker(workflow, ready_task(outcome, "after_call") if outcome.ready else "not-a-task")
    answers.append({"paid": True, "reference": "TX-1"})
    outcome = engine.resume_worker(workflow, task_id)
    assert ready_ids(outcome) == ["after_call"] and outcome.awaiting == []
    assert outcome.data["reference"] == "TX-1" and not [k for k in outcome.data if k.startswith("spiff__")]
    with pytest.raises(TaskNotReady):
        engine.resume_worker(workflow, task_id)  # answered once
