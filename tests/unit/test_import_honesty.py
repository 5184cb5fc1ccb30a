"""Issue 17, "honesty first": what a diagram drawn elsewhere would make the engine say that did not
happen. Each test failed before its fix: the parser dropped flows without an id (and the cut graph
then ended `completed`), a process without an id, a message without a name and scripts in other
languages passed the check that every deploy runs."""
from __future__ import annotations

import pytest

from app.engine.errors import CannotStart, DiagramRejected
from app.engine.lint import lint_bundle
from app.engine.parser import DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine
from tests.unit.test_runner import diagram, inline

START_TASK_WAIT_END = """
    <bpmn:startEvent id="start"/>
    <bpmn:scriptTask id="prepare"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="review" name="Review"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="prepare"/>
    <bpmn:sequenceFlow sourceRef="prepare" targetRef="review"/>
    <bpmn:sequenceFlow sourceRef="review" targetRef="end"/>"""


def test_a_flow_without_an_id_is_kept_and_the_change_is_said():
    bundle = inline(START_TASK_WAIT_END)
    process = bundle.processes["inline"]
    outputs = [t.name for t in process.spec.task_specs["prepare"].outputs]
    assert outputs == ["review"]
    changed = [w for w in bundle.warnings if w.element_id and w.element_id.startswith("Flow_prepare_review")]
    assert changed and "had no id" in changed[0].reason


def test_a_flow_without_an_id_does_not_end_the_instance_early():
    process = inline(START_TASK_WAIT_END).processes["inline"]
    engine = ProcessEngine()
    workflow = engine.new_workflow(process.spec, process.embedded, {})
    outcome = engine.advance(workflow)
    assert outcome.status == "waiting"
    assert [t.element_id for t in outcome.ready] == ["review"]


def test_generated_flow_ids_do_not_collide_with_the_diagrams_own():
    body = START_TASK_WAIT_END.replace('id="f1"', 'id="Flow_prepare_review"')
    bundle = inline(body)
    ids = {w.element_id for w in bundle.warnings if w.reason.startswith("sequence flow")}
    assert "Flow_prepare_review" not in ids and len(ids) == 2


def _lint_errors(content: bytes) -> list:
    bundle = parse_diagrams([DiagramFile("d.bpmn", content)])
    return [p for p in lint_bundle(bundle, [], []) if p.severity == "error"]


def test_a_process_without_an_id_is_refused_naming_it():
    content = diagram('<bpmn:startEvent id="s"/>').replace(b' id="inline"', b' name="No id here"')
    with pytest.raises(DiagramRejected) as caught:
        parse_diagrams([DiagramFile("d.bpmn", content)])
    (problem,) = caught.value.problems
    assert "has no id" in problem.reason and "No id here" in problem.reason


def test_a_message_event_without_a_message_is_refused_at_validate():
    body = """
    <bpmn:startEvent id="start"/>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:messageEventDefinition/></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="end"/>"""
    errors = _lint_errors(diagram(body))
    assert [(e.element_id, "no message" in e.reason) for e in errors] == [("wait", True)]


def test_a_signal_event_without_a_signal_is_refused_at_validate():
    """It passed the check, then `instances.start` failed with a TypeError while listing what the
    instance waits for (the corpus's spiffworkflow/bpmn/data/boundary_event_split.bpmn)."""
    body = """
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="work"/>
    <bpmn:boundaryEvent id="stop" attachedToRef="work"><bpmn:signalEventDefinition/></bpmn:boundaryEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:endEvent id="stopped"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
    <bpmn:sequenceFlow id="f3" sourceRef="stop" targetRef="stopped"/>"""
    errors = _lint_errors(diagram(body))
    assert [(e.element_id, "no signal" in e.reason) for e in errors] == [("stop", True)]


def between_start_and_end(element: str, element_id: str) -> str:
    """A process body: a start event, `element` (whose id is `element_id`), an end event, in a row."""
    return (f'<bpmn:startEvent id="start"/>{element}<bpmn:endEvent id="end"/>'
            f'<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="{element_id}"/>'
            f'<bpmn:sequenceFlow id="f2" sourceRef="{element_id}" targetRef="end"/>')


def test_a_process_calling_itself_is_refused_at_validate():
    """It deployed, and its instance stopped with "The called process 'Level3' was not found" (the corpus's
    spiffworkflow/bpmn/data/call_activity_nested/call_activity_level_3.bpmn, found by processes compat)."""
    body = between_start_and_end('<bpmn:callActivity id="again" calledElement="inline"/>', "again")
    errors = _lint_errors(diagram(body))
    assert [(e.element_id, "calls its own process" in e.reason) for e in errors] == [("again", True)]


@pytest.mark.parametrize("language", ["groovy", "javascript", "juel", "JavaScript"])
def test_a_script_in_another_language_is_refused_at_validate(language):
    body = f"""
    <bpmn:startEvent id="start"/>
    <bpmn:scriptTask id="calc" scriptFormat="{language}"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc"/>
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="end"/>"""
    errors = _lint_errors(diagram(body))
    assert [e.element_id for e in errors] == ["calc"]
    assert language in errors[0].reason and "Python" in errors[0].reason


@pytest.mark.parametrize("language", ["python", "Python", "text/x-python", None])
def test_a_python_script_passes(language):
    attribute = f' scriptFormat="{language}"' if language else ""
    body = f"""
    <bpmn:startEvent id="start"/>
    <bpmn:scriptTask id="calc"{attribute}><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc"/>
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="end"/>"""
    assert _lint_errors(diagram(body)) == []


def test_a_workflow_that_cannot_be_built_is_refused_with_the_engines_reason():
    process = inline(START_TASK_WAIT_END).processes["inline"]
    spec = process.spec
    start_outputs = spec.start.outputs
    spec.start.outputs = []  # what a start reached by no flow looks like to SpiffWorkflow
    try:
        with pytest.raises(CannotStart, match="cannot start.*No output task connected"):
            ProcessEngine().new_workflow(spec, process.embedded, {})
    finally:
        spec.start.outputs = start_outputs


@pytest.mark.parametrize(("attributes", "said"), [
    (' xmlns:camunda="http://camunda.org/schema/1.0/bpmn" camunda:resource="deployment://calc.py"', "outside the diagram"),
    ("", "has no script"),
])
def test_a_script_task_without_its_script_is_refused_at_validate(attributes, said):
    body = f"""
    <bpmn:startEvent id="start"/>
    <bpmn:scriptTask id="calc" scriptFormat="python"{attributes}/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc"/>
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="end"/>"""
    errors = _lint_errors(diagram(body))
    assert [e.element_id for e in errors] == ["calc"] and said in errors[0].reason


def _start_then(element: str, element_id: str) -> bytes:
    """A diagram: start -> `element` (whose id is `element_id`) -> end."""
    return diagram(f"""
    <bpmn:startEvent id="start"/>{element}<bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="{element_id}"/>
    <bpmn:sequenceFlow id="f2" sourceRef="{element_id}" targetRef="end"/>""")


def test_a_wait_for_a_condition_nothing_would_check_is_refused_at_validate():
    errors = _lint_errors(_start_then('<bpmn:intermediateCatchEvent id="until_paid"><bpmn:conditionalEventDefinition>'
                                      '<bpmn:condition>paid</bpmn:condition></bpmn:conditionalEventDefinition>'
                                      '</bpmn:intermediateCatchEvent>', "until_paid"))
    assert [e.element_id for e in errors] == ["until_paid"] and "condition" in errors[0].reason


def test_an_ad_hoc_sub_process_is_refused_at_validate_not_failed_at_run():
    """SpiffWorkflow 3.2 parsed it, validate said ok, and the instance failed with "AttributeError: 'NoneType'
    object has no attribute 'strip'"."""
    errors = _lint_errors(_start_then('<bpmn:adHocSubProcess id="checks"><bpmn:task id="call"/><bpmn:task id="visit"/>'
                                      '</bpmn:adHocSubProcess>', "checks"))
    assert [e.element_id for e in errors] == ["checks"] and "ad-hoc sub-process cannot run" in errors[0].reason


def test_a_timer_start_event_whose_value_needs_data_is_said_to_start_nothing_on_a_schedule():
    """Camunda 7 starts an instance each time a timer start event fires, and so does Loanflow now (the
    schedule written at deploy, `tests/integration/test_timer_starts.py`); a value read from data
    (`${reportCycle}`) has no schedule, since nothing gives data to an instance its timer starts: said before
    deploy, so that an analyst does not wait for instances that never come. A literal cycle is not."""
    def warnings(cycle: str) -> list[str]:
        body = f"""
        <bpmn:startEvent id="every_morning"><bpmn:timerEventDefinition><bpmn:timeCycle>{cycle}</bpmn:timeCycle>
        </bpmn:timerEventDefinition></bpmn:startEvent>
        <bpmn:endEvent id="end"/>
        <bpmn:sequenceFlow id="f1" sourceRef="every_morning" targetRef="end"/>"""
        bundle = parse_diagrams([DiagramFile("d.bpmn", diagram(body))])
        return [p.reason for p in lint_bundle(bundle, [], []) if p.element_id == "every_morning"
                and p.severity == "warning"]

    [said] = warnings("${reportCycle}")
    assert "will start no instance on a schedule" in said and "reads data" in said and "reportCycle" in said
    assert warnings("R/PT24H") == []


def test_a_complex_gateway_is_refused_naming_it_and_what_to_draw():
    body = """
    <bpmn:startEvent id="start"/><bpmn:complexGateway id="two_of_three"/><bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="two_of_three"/>
    <bpmn:sequenceFlow id="f2" sourceRef="two_of_three" targetRef="end"/>"""
    with pytest.raises(DiagramRejected) as rejected:
        inline(body)
    [(element, reason)] = [(p.element_id, p.reason) for p in rejected.value.problems]
    assert element == "two_of_three" and "complex gateway cannot run" in reason and "inclusive gateway" in reason


def test_a_call_activity_that_starts_a_cmmn_case_is_refused_naming_the_case():
    """Camunda 7 starts a CMMN case from a call activity with `camunda:caseRef`; Loanflow runs no CMMN. Before,
    the file was refused with SpiffWorkflow's 'No "calledElement" attribute for Call Activity.', which said only
    what was missing (14 processes of Camunda 7's examples)."""
    body = """
    <bpmn:startEvent id="start"/>
    <bpmn:callActivity id="check" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" camunda:caseRef="applicationCheck"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="check"/>
    <bpmn:sequenceFlow id="f2" sourceRef="check" targetRef="end"/>"""
    with pytest.raises(DiagramRejected) as rejected:
        inline(body)
    [(element, reason)] = [(p.element_id, p.reason) for p in rejected.value.problems]
    assert element == "check" and "CMMN case 'applicationCheck'" in reason and "calledElement" in reason


@pytest.mark.parametrize("called", ["${simpleSubProcessExpression}", "#{calledProcess}"])
def test_a_call_activity_that_chooses_its_process_by_an_expression_is_refused_at_validate(called):
    """It passed `validate`, and a deploy or a run said no process named '${simpleSubProcessExpression}' existed
    (Camunda's own tests call processes so)."""
    body = f"""
    <bpmn:startEvent id="start"/>
    <bpmn:callActivity id="call" calledElement="{called}"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="end"/>"""
    with pytest.raises(DiagramRejected) as rejected:
        inline(body)
    [(element, reason)] = [(p.element_id, p.reason) for p in rejected.value.problems]
    assert element == "call" and f"at run time by the expression {called!r}" in reason and "name it" in reason


def test_a_path_too_long_for_spiffworkflows_parser_is_said_so_not_as_a_recursion_error():
    """SpiffWorkflow's parser follows a path by recursion: past about 500 steps it failed with "RecursionError:
    maximum recursion depth exceeded", which Loanflow passed on with "complete it in the modeler"."""
    steps = [f"s{i}" for i in range(600)]
    body = ('<bpmn:startEvent id="start"/>' + "".join(f'<bpmn:task id="{s}"/>' for s in steps) + '<bpmn:endEvent id="end"/>'
            + "".join(f'<bpmn:sequenceFlow id="f_{a}" sourceRef="{a}" targetRef="{b}"/>'
                      for a, b in zip(["start", *steps], [*steps, "end"], strict=True)))
    with pytest.raises(DiagramRejected) as rejected:
        inline(body)
    [reason] = {p.reason for p in rejected.value.problems}
    assert "too long for SpiffWorkflow's parser" in reason and "Recursion" not in reason


# -- a message that names none, as Camunda 7 runs it ----------------------------------------------------

RECEIVE_WITHOUT_MESSAGE = between_start_and_end(
    '<bpmn:receiveTask id="wait_for_postident" name="Wait for the identity check"/>', "wait_for_postident")


def test_a_receive_task_without_a_message_waits_until_its_own_message_triggers_it():
    """Camunda 7 runs a receive task without a message as a wait its execution's `signal` ends; the strict check
    refused it. It now waits for a message named after the task, which the API sends with the business key."""
    bundle = inline(RECEIVE_WITHOUT_MESSAGE)
    assert not [p for p in lint_bundle(bundle, [], []) if p.severity == "error"]
    [said] = [w for w in bundle.warnings if w.element_id == "wait_for_postident"]
    assert "waits until it is triggered" in said.reason and "'wait_for_postident'" in said.reason
    process = bundle.processes["inline"]
    engine = ProcessEngine()
    waiting = engine.advance(engine.new_workflow(process.spec, process.embedded, {}))
    assert waiting.status == "waiting" and waiting.messages == ["wait_for_postident"]
    done = engine.catch_message(engine.restore(waiting.state, process.spec, process.embedded), "wait_for_postident", {})
    assert done.status == "completed"


@pytest.mark.parametrize("kind", ["endEvent", "intermediateThrowEvent"])
def test_a_throwing_message_event_without_a_message_passes_as_camunda_7_runs_it(kind):
    event = f'<bpmn:{kind} id="tell"><bpmn:messageEventDefinition id="md"/></bpmn:{kind}>'
    bundle = inline(between_start_and_end(event, "tell") if kind != "endEvent" else
                    f'<bpmn:startEvent id="start"/>{event}<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="tell"/>')
    assert not [p for p in lint_bundle(bundle, [], []) if p.severity == "error"]
    assert any(w.element_id == "tell" and "passes on as a none event" in w.reason for w in bundle.warnings)
    process = bundle.processes["inline"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {}))
    assert outcome.status == "completed" and outcome.sent == []


def test_a_catching_message_event_without_a_message_stays_refused_as_camunda_7_refuses_it():
    body = between_start_and_end(
        '<bpmn:intermediateCatchEvent id="hear"><bpmn:messageEventDefinition/></bpmn:intermediateCatchEvent>', "hear")
    errors = _lint_errors(diagram(body))
    assert [e.element_id for e in errors] == ["hear"] and "names no message" in errors[0].reason
