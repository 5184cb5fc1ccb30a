"""Camunda execution and task listeners in the import layer (`app/engine/camunda_listeners.py`).

Before this, a listener was ignored: an instance of a Camunda 7 diagram ran to its end without the
code its listeners run (a variable set, a notice sent), and reported a run that did not do what the
diagram says. Now each listener is a step at the moment it fires, mapped to an operator as a service
task is, or refused naming the element."""
from __future__ import annotations

import pytest

from app.engine.camunda_services import Operator
from app.engine.runner import ProcessEngine
from app.engine.service_implementations import implementations
from app.engine.xml import read_xml
from tests.unit.test_camunda_services import camunda, errors, parse, run

MAPPED = {("class", "com.acme.Audit"): Operator("audit/log", {"what": "'audit'"}),
          ("expression", "${notifier.send(execution)}"): Operator("notice/send"),
          ("delegateExpression", "${stamp}"): Operator("stamp/set")}


def _work(listeners: str, kind: str = "userTask") -> str:
    return f"""
    <bpmn:{kind} id="work"><bpmn:extensionElements>{listeners}</bpmn:extensionElements></bpmn:{kind}>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>"""


def _ran(outcome, calls) -> list[str]:
    return [operator for operator, _params in calls]


def test_a_start_listener_runs_before_its_task_and_an_end_listener_after_it():
    body = _work('<camunda:executionListener event="end" class="com.acme.Audit"/>'
                 '<camunda:executionListener event="start" expression="${notifier.send(execution)}"/>',
                 kind="serviceTask camunda:delegateExpression=\"${stamp}\"").replace(
        "</bpmn:serviceTask camunda:delegateExpression=\"${stamp}\">", "</bpmn:serviceTask>")
    bundle = parse(camunda(body), MAPPED)
    assert errors(bundle, ["audit/log", "notice/send", "stamp/set"]) == []
    outcome, calls = run(bundle)
    assert outcome.status == "completed"
    assert _ran(outcome, calls) == ["notice/send", "stamp/set", "audit/log"]
    assert ("audit/log", {"what": "audit"}) in calls  # the mapping's parameters
    said = [w.reason for w in bundle.warnings if w.element_id == "work" and "Listener_" in w.reason]
    assert said[0].startswith("camunda:executionListener (end) camunda:class 'com.acme.Audit' runs as the step "
                              "Listener_work_end the import drew after it")


def test_task_listeners_run_on_create_before_the_task_and_on_complete_after_it():
    body = _work('<camunda:taskListener event="complete" class="com.acme.Audit"/>'
                 '<camunda:taskListener event="create" delegateExpression="${stamp}"/>')
    bundle = parse(camunda(body), MAPPED)
    process = bundle.processes["p"]
    ran_before = [t for t in process.spec.task_specs if t.startswith("Listener_work_create")]
    assert ran_before
    outcome, calls = run(bundle)
    assert outcome.status == "waiting" and [t.element_id for t in outcome.ready] == ["work"]
    assert _ran(outcome, calls) == ["stamp/set"]  # the complete listener waits for the task


def test_a_take_listener_runs_on_its_flow_and_its_condition_stays():
    body = """
    <bpmn:exclusiveGateway id="work" default="f3"/>
    <bpmn:endEvent id="big"/><bpmn:endEvent id="small"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="big">
      <bpmn:extensionElements><camunda:executionListener event="take" class="com.acme.Audit"/></bpmn:extensionElements>
      <bpmn:conditionExpression>${amount &gt; 5}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="small"/>"""
    bundle = parse(camunda(body), MAPPED)
    big, calls = run(bundle, {"amount": 9})
    assert big.status == "completed" and big.end_events == ["big"] and _ran(big, calls) == ["audit/log"]
    small, calls = run(bundle, {"amount": 1})
    assert small.end_events == ["small"] and calls == []


def test_a_python_script_listener_is_a_script_step_and_another_language_is_refused():
    body = _work('<camunda:executionListener event="end"><camunda:script scriptFormat="python">seen = True'
                 '</camunda:script></camunda:executionListener>', kind="intermediateThrowEvent")
    outcome, _calls = run(parse(camunda(body)))
    assert outcome.status == "completed" and outcome.data["seen"] is True
    groovy = body.replace('scriptFormat="python"', 'scriptFormat="groovy"')
    assert [(p.element_id, p.reason[:74]) for p in errors(parse(camunda(groovy)))] == [
        ("work", "camunda:executionListener (end): its script is written in groovy; Loanflow")]


@pytest.mark.parametrize(("body", "said"), [
    (_work('<camunda:executionListener event="end" class="com.acme.Audit"/>', kind="exclusiveGateway"),
     "on a gateway: Loanflow runs no code at a gateway"),  # it follows the gateway's choice
    (_work('<camunda:taskListener event="timeout" class="com.acme.Audit"/>'), "camunda:taskListener (timeout) has "
                                                                                "no moment"),
    (_work('<camunda:executionListener event="start"/>'), "names no implementation"),
])
def test_a_listener_with_no_place_on_the_path_is_refused_naming_its_element(body, said):
    """By the strict check: the file parses, as SpiffWorkflow parses it (and is never deployed so)."""
    (problem,) = errors(parse(camunda(body)))
    assert problem.element_id == "work" and said in problem.reason


@pytest.mark.parametrize("kind", ["exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway"])
def test_a_start_listener_on_a_gateway_one_path_reaches_runs_before_it(kind):
    """Refused before ("Loanflow runs no code at a gateway"): the gateway starts as the path reaches it."""
    body = _work('<camunda:executionListener event="start" class="com.acme.Audit"/>', kind=kind)
    if kind == "eventBasedGateway":  # it waits for an event
        body = body.replace('<bpmn:endEvent id="end"/>', '<bpmn:intermediateCatchEvent id="end"><bpmn:timerEventDefinition>'
                            '<bpmn:timeDuration>"PT1S"</bpmn:timeDuration></bpmn:timerEventDefinition>'
                            '</bpmn:intermediateCatchEvent>')
    bundle = parse(camunda(body), MAPPED)
    assert errors(bundle, ["audit/log"]) == []
    outcome, calls = run(bundle)
    assert _ran(outcome, calls) == ["audit/log"]
    assert outcome.status == ("waiting" if kind == "eventBasedGateway" else "completed")


def test_a_start_listener_on_a_join_is_refused():
    """A parallel join starts once all its paths arrived: no step before it stands for that moment."""
    body = """
    <bpmn:parallelGateway id="split"/><bpmn:task id="a"/><bpmn:task id="b"/>
    <bpmn:parallelGateway id="join"><bpmn:extensionElements>
      <camunda:executionListener event="start" class="com.acme.Audit"/></bpmn:extensionElements></bpmn:parallelGateway>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="a"/><bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="b"/>
    <bpmn:sequenceFlow id="f4" sourceRef="a" targetRef="join"/><bpmn:sequenceFlow id="f5" sourceRef="b" targetRef="join"/>
    <bpmn:sequenceFlow id="f6" sourceRef="join" targetRef="end"/>"""
    content = camunda(body).replace(b'targetRef="work"', b'targetRef="split"')
    (problem,) = errors(parse(content, MAPPED), ["audit/log"])
    assert problem.element_id == "join" and "on a gateway: Loanflow runs no code at a gateway" in problem.reason


def test_an_unmapped_listener_is_named_by_the_strict_check_with_where_to_map_it():
    bundle = parse(camunda(_work('<camunda:executionListener event="end" class="com.acme.Unknown"/>')))
    (problem,) = errors(bundle)
    assert problem.element_id == "Listener_work_end"
    assert "camunda:class 'com.acme.Unknown'" in problem.reason and "map-operator class" in problem.reason


def test_process_listeners_run_when_the_instance_starts_and_ends():
    body = _work("", kind="intermediateThrowEvent").replace("<bpmn:extensionElements></bpmn:extensionElements>", "")
    content = camunda(body).replace(b'isExecutable="true">', b'isExecutable="true"><bpmn:extensionElements>'
                                    b'<camunda:executionListener event="end" class="com.acme.Audit"/>'
                                    b'<camunda:executionListener event="start" expression="${notifier.send(execution)}"/>'
                                    b'</bpmn:extensionElements>')
    outcome, calls = run(parse(content, MAPPED))
    assert outcome.status == "completed" and _ran(outcome, calls) == ["notice/send", "audit/log"]


def test_listener_implementations_are_keys_of_the_mapping_table():
    root = read_xml(camunda(_work('<camunda:executionListener event="end" class="com.acme.Audit"/>'
                                  '<camunda:taskListener event="create" delegateExpression="${stamp}"/>')), "c.bpmn")
    assert implementations(root) == [("class", "com.acme.Audit"), ("delegateExpression", "${stamp}")]


def test_a_process_start_listener_with_no_start_event_to_follow_is_refused_not_dropped():
    content = camunda(_work("", kind="intermediateThrowEvent")).replace(
        b'<bpmn:startEvent id="start"/>', b"").replace(b'<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>',
                                                      b"").replace(
        b'isExecutable="true">', b'isExecutable="true"><bpmn:extensionElements>'
                                 b'<camunda:executionListener event="start" class="com.acme.Audit"/></bpmn:extensionElements>')
    assert [p.reason[:73] for p in errors(parse(content, MAPPED), ["audit/log"])] == [
        "camunda:executionListener (start) on the process: it draws no start event"]


def test_a_start_listener_on_an_event_an_event_based_gateway_waits_for_is_refused():
    body = """
    <bpmn:eventBasedGateway id="work"/>
    <bpmn:intermediateCatchEvent id="paid"><bpmn:extensionElements>
      <camunda:executionListener event="start" class="com.acme.Audit"/></bpmn:extensionElements>
      <bpmn:messageEventDefinition messageRef="m"/></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="paid"/>
    <bpmn:sequenceFlow id="f3" sourceRef="paid" targetRef="end"/>"""
    content = camunda(body).replace(b"</bpmn:definitions>", b'<bpmn:message id="m" name="paid"/></bpmn:definitions>')
    assert [(p.element_id, p.reason[:78]) for p in errors(parse(content, MAPPED))] == [
        ("paid", "camunda:executionListener (start) on an event an event-based gateway waits for")]


def test_an_event_subprocess_listeners_run_when_it_starts_and_ends_inside_it():
    """The listeners of an event sub-process (on no path) were drawn as steps before and after it, so the
    sub-process got a flow out and SpiffWorkflow refused the file ("Multiple outgoing flows are not supported
    for tasks of type"; Camunda's insurance application examples). They fire as its own start and end now."""
    body = """
    <bpmn:userTask id="work"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <bpmn:subProcess id="nudged" triggeredByEvent="true">
      <bpmn:extensionElements>
        <camunda:executionListener event="end" expression="${notifier.send(execution)}"/>
        <camunda:executionListener event="start" class="com.acme.Audit"/>
      </bpmn:extensionElements>
      <bpmn:startEvent id="nudge" isInterrupting="false"><bpmn:messageEventDefinition messageRef="m_nudge"/></bpmn:startEvent>
      <bpmn:scriptTask id="note"><bpmn:script>noted = True</bpmn:script></bpmn:scriptTask>
      <bpmn:endEvent id="nudge_end"/>
      <bpmn:sequenceFlow id="n1" sourceRef="nudge" targetRef="note"/>
      <bpmn:sequenceFlow id="n2" sourceRef="note" targetRef="nudge_end"/>
    </bpmn:subProcess>"""
    content = camunda(body).replace(b"<bpmn:process", b'<bpmn:message id="m_nudge" name="nudge"/><bpmn:process')
    bundle = parse(content, MAPPED)
    assert errors(bundle, ["audit/log", "notice/send"]) == []
    assert {w.element_id for w in bundle.warnings if "Listener_" in w.reason} >= {"nudged"}
    drawn = [w.reason for w in bundle.warnings if w.element_id == "nudged" and "Listener_" in w.reason]
    assert drawn and all(" on the event sub-process runs as the step " in r for r in drawn), drawn  # not "process"
    calls: list = []
    process = bundle.processes["p"]
    engine = ProcessEngine(call_service=lambda operator, params, context: calls.append(operator) or {})
    waiting = engine.advance(engine.new_workflow(process.spec, process.embedded, {}))
    assert waiting.status == "waiting" and calls == []
    nudged = engine.catch_message(engine.restore(waiting.state, process.spec, process.embedded), "nudge", {})
    assert calls == ["audit/log", "notice/send"] and nudged.data["noted"] is True


ZEEBE_LISTENERS = """
    <bpmn:userTask id="work"><bpmn:extensionElements>
      <zeebe:executionListeners><zeebe:executionListener eventType="start" type="audit-start" retries="3"/>
        <zeebe:executionListener eventType="end" type="audit-end"/></zeebe:executionListeners>
      <zeebe:taskListeners><zeebe:taskListener eventType="completing" type="notify"/></zeebe:taskListeners>
    </bpmn:extensionElements></bpmn:userTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>"""
JOBS = {("job", "audit-start"): Operator("audit/start"), ("job", "audit-end"): Operator("audit/end"),
        ("job", "notify"): Operator("notice/send")}


def test_camunda_8_listeners_are_jobs_run_as_steps_at_their_moment():
    """`zeebe:executionListener` and `zeebe:taskListener` were said "not read": the instance ran without the
    jobs its listeners start. Each is now a step run by the operator its job type is mapped to."""
    root = read_xml(camunda(ZEEBE_LISTENERS), "c.bpmn")
    assert implementations(root) == [("job", "audit-start"), ("job", "audit-end"), ("job", "notify")]
    bundle = parse(camunda(ZEEBE_LISTENERS), JOBS)
    assert errors(bundle, ["audit/start", "audit/end", "notice/send"]) == []
    said = [w.reason for w in bundle.warnings if w.element_id == "work"]
    assert said[0].startswith("zeebe:executionListener (start) job 'audit-start' runs as the step Listener_work_start")
    assert not any("is not read" in w.reason for w in bundle.warnings)
    process = bundle.processes["p"]
    engine = ProcessEngine(call_service=lambda operator, params, context: calls.append(operator) or {})
    calls: list[str] = []
    workflow = engine.new_workflow(process.spec, process.embedded, {})
    (task,) = engine.advance(workflow).ready
    assert calls == ["audit/start"]
    outcome = engine.complete_user_task(workflow, task.engine_task_id, {})
    assert outcome.status == "completed"
    assert calls == ["audit/start", "notice/send", "audit/end"]  # the task's completing, then the element's end


def test_an_unmapped_camunda_8_listener_is_named_by_the_strict_check():
    problems = errors(parse(camunda(ZEEBE_LISTENERS)), ["audit/start"])
    assert {p.element_id for p in problems} == {"Listener_work_start", "Listener_work_end", "Listener_work_complete"}
    assert any("map-operator job 'audit-end' OPERATOR" in p.reason for p in problems)


@pytest.mark.parametrize(("listeners", "where", "said"), [
    ('<zeebe:taskListeners><zeebe:taskListener eventType="updating" type="t"/></zeebe:taskListeners>', "work",
     "zeebe:taskListener (updating) has no moment on Loanflow's path"),
    ('<zeebe:executionListeners><zeebe:executionListener eventType="take" type="t"/></zeebe:executionListeners>',
     "work", "zeebe:executionListener on event 'take'"),
])
def test_a_camunda_8_listener_with_no_moment_is_refused_in_its_own_words(listeners, where, said):
    try:
        bundle = parse(camunda(_work(listeners)))
    except Exception as exc:  # noqa: BLE001 - DiagramRejected, checked by what it says
        problems = exc.problems
    else:
        problems = errors(bundle)
    assert [(p.element_id, said in p.reason) for p in problems] == [(where, True)]


def test_a_camunda_8_task_listener_on_a_service_task_or_on_a_gateway_is_refused_naming_it():
    task = _work('<zeebe:taskListeners><zeebe:taskListener eventType="completing" type="t"/></zeebe:taskListeners>',
                 kind="serviceTask")
    try:
        parse(camunda(task))
    except Exception as exc:  # noqa: BLE001 - DiagramRejected
        assert any("a task listener belongs to a user task" in p.reason for p in exc.problems)
    else:
        raise AssertionError("accepted")
    gateway = """
    <bpmn:exclusiveGateway id="work"><bpmn:extensionElements><zeebe:executionListeners>
      <zeebe:executionListener eventType="end" type="t"/></zeebe:executionListeners></bpmn:extensionElements>
    </bpmn:exclusiveGateway>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>"""
    problems = errors(parse(camunda(gateway)))
    assert any(p.reason.startswith("zeebe:executionListener (end) on a gateway") for p in problems)
