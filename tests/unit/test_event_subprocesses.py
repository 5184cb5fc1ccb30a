"""Event sub-processes run (`app/engine/event_subprocesses.py`, `app/engine/boundary_data.py`).

Before, SpiffWorkflow 3.2 read one as a sub-process no flow reaches, with an error start event read as a
none event: `processes validate` said ok, and an instance whose error the event sub-process was drawn
to handle completed without running it — a run reported that the diagram does not describe. And a
boundary event on a sub-process started its path from the data the sub-process started with, so what
the sub-process set before the event was lost."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.engine.lint import lint_bundle
from app.engine.parser import DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine
from app.engine.serializer import StateSerializer
from app.services.workflow.diagram_reasons import in_language

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def diagram(body: str, executable: str = "true") -> DiagramFile:
    return DiagramFile("p.bpmn", f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="{CAMUNDA}"
                  id="defs" targetNamespace="t">
  <bpmn:error id="late" errorCode="LATE"/>
  <bpmn:message id="withdrawn" name="withdrawn"/>
  <bpmn:process id="p" isExecutable="{executable}">{body}</bpmn:process>
</bpmn:definitions>""".encode())


def handler(start: str, attributes: str = "", script: str = "handled = True", sub_id: str = "on_event") -> str:
    return f"""
    <bpmn:subProcess id="{sub_id}" triggeredByEvent="true">
      <bpmn:startEvent id="{sub_id}_start" {attributes}>{start}</bpmn:startEvent>
      <bpmn:scriptTask id="{sub_id}_work"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
      <bpmn:endEvent id="{sub_id}_done"/>
      <bpmn:sequenceFlow id="{sub_id}_h1" sourceRef="{sub_id}_start" targetRef="{sub_id}_work"/>
      <bpmn:sequenceFlow id="{sub_id}_h2" sourceRef="{sub_id}_work" targetRef="{sub_id}_done"/>
    </bpmn:subProcess>"""


# start -> set (x = 1) -> review (a user task) -> end; an error thrown by a failing check after review
MAIN = """
    <bpmn:startEvent id="start"/>
    <bpmn:scriptTask id="set"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="review"/>
    <bpmn:exclusiveGateway id="ok" default="fine"/>
    <bpmn:endEvent id="fail"><bpmn:errorEventDefinition errorRef="late"/></bpmn:endEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="set"/>
    <bpmn:sequenceFlow id="f2" sourceRef="set" targetRef="review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="ok"/>
    <bpmn:sequenceFlow id="bad" sourceRef="ok" targetRef="fail"><bpmn:conditionExpression>late</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="fine" sourceRef="ok" targetRef="end"/>"""


def engine(now: list[datetime] | None = None) -> ProcessEngine:
    clock = now or [T0]
    return ProcessEngine(clock=lambda: clock[0])


def started(file: DiagramFile, eng: ProcessEngine, data: dict | None = None):
    process = parse_diagrams([file]).processes["p"]
    workflow = eng.new_workflow(process.spec, process.embedded, data or {})
    return process, workflow, eng.advance(workflow)


def review(eng: ProcessEngine, workflow, outcome, **data):
    [task] = [t for t in outcome.ready if t.element_id == "review"]
    return eng.complete_user_task(workflow, task.engine_task_id, data)


def test_an_error_event_sub_process_handles_the_error_with_what_the_process_set():
    eng = engine()
    _, workflow, outcome = started(diagram(MAIN + handler('<bpmn:errorEventDefinition errorRef="late"/>',
                                                          script="handled = x + seen")), eng)
    done = review(eng, workflow, outcome, late=True, seen=10)
    assert done.status == "completed", done.error
    assert done.end_events == ["on_event_end"]  # the handler's path; the interrupted rest never reaches `end`
    assert done.data["handled"] == 11  # x (set before) and seen (the form's) were there


def test_without_its_event_the_event_sub_process_does_not_run():
    eng = engine()
    _, workflow, outcome = started(diagram(MAIN + handler('<bpmn:errorEventDefinition errorRef="late"/>')), eng)
    done = review(eng, workflow, outcome, late=False)
    assert done.status == "completed" and done.end_events == ["EventScope_p_end"]
    assert "handled" not in done.data


def test_a_non_interrupting_message_event_sub_process_runs_beside_the_rest():
    eng = engine()
    file = diagram(MAIN + handler('<bpmn:messageEventDefinition messageRef="withdrawn"/>', 'isInterrupting="false"',
                                  script="noted = x"))
    process, workflow, outcome = started(file, eng)
    assert "withdrawn" in outcome.messages
    serializer = StateSerializer()  # stored and read back between the steps, spec and state
    spec, embedded = serializer.load_spec(serializer.dump_spec(process.spec, process.embedded))
    workflow = eng.restore(outcome.state, spec, embedded)
    heard = eng.catch_message(workflow, "withdrawn", {"why": "changed my mind"})
    assert heard.status == "waiting" and [t.element_id for t in heard.ready] == ["review"]  # the rest goes on
    done = review(eng, workflow, heard, late=False)
    assert done.status == "completed"
    assert sorted(done.end_events) == ["EventScope_p_end", "on_event_end"]
    assert done.data["noted"] == 1


def test_an_interrupting_timer_event_sub_process_ends_the_rest_when_it_fires():
    now = [T0]
    eng = engine(now)
    file = diagram(MAIN + handler('<bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration>'
                                  '</bpmn:timerEventDefinition>', script="handled = x"))
    _, workflow, outcome = started(file, eng)
    assert outcome.due_at == T0 + timedelta(hours=1)
    now[0] = T0 + timedelta(hours=1)
    fired = eng.wake(workflow)
    assert fired.status == "completed" and fired.end_events == ["on_event_end"]
    assert fired.data["handled"] == 1  # what the process set before the timer fired
    assert fired.ready == []  # the review was cancelled with the rest


def test_an_event_sub_process_inside_a_sub_process_watches_that_sub_process():
    inner = MAIN.replace('id="start"', 'id="s_start"').replace('sourceRef="start"', 'sourceRef="s_start"')
    inner = inner.replace('id="end"', 'id="s_end"').replace('targetRef="end"', 'targetRef="s_end"')
    body = f"""
    <bpmn:startEvent id="start"/>
    <bpmn:subProcess id="case">{inner}{handler('<bpmn:errorEventDefinition/>', script="handled = x")}
    </bpmn:subProcess>
    <bpmn:scriptTask id="after"><bpmn:script>after = handled</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="p1" sourceRef="start" targetRef="case"/>
    <bpmn:sequenceFlow id="p2" sourceRef="case" targetRef="after"/>
    <bpmn:sequenceFlow id="p3" sourceRef="after" targetRef="end"/>"""
    eng = engine()
    found = parse_diagrams([diagram(body)])
    [said] = [w.reason for w in found.warnings if w.element_id == "on_event"]
    assert "the rest of the sub process case as the sub-process EventScope_case" in said
    _, workflow, outcome = started(diagram(body), eng)
    done = review(eng, workflow, outcome, late=True)
    assert done.status == "completed" and done.end_events == ["end"]  # the handled sub-process went on
    assert done.data["after"] == 1


def test_the_error_start_keeps_the_caught_code_where_camunda_says():
    eng = engine()
    file = diagram(MAIN + handler('<bpmn:errorEventDefinition camunda:errorCodeVariable="code"/>',
                                  script="handled = code"))
    _, workflow, outcome = started(file, eng)
    assert review(eng, workflow, outcome, late=True).data["handled"] == "LATE"


def test_what_the_import_drew_is_said_and_the_strict_check_passes():
    found = parse_diagrams([diagram(MAIN + handler('<bpmn:errorEventDefinition errorRef="late"/>'))])
    [said] = [w.reason for w in found.warnings if w.element_id == "on_event"]
    assert said == ("the event sub-process runs when its start event on_event_start fires: the import drew the rest "
                    "of the process p as the sub-process EventScope_p, and the start event as a boundary event on it "
                    "(interrupting) that leads here")
    assert [p for p in lint_bundle(found, (), ()) if p.severity == "error"] == []


def errors(file: DiagramFile) -> list:
    return [p for p in lint_bundle(parse_diagrams([file]), (), ()) if p.severity == "error"]


def test_an_event_sub_process_the_import_cannot_draw_is_refused_naming_it_and_why(chinese):
    two_starts = MAIN + '<bpmn:startEvent id="again"/><bpmn:sequenceFlow id="f9" sourceRef="again" targetRef="set"/>'
    [problem] = errors(diagram(two_starts + handler('<bpmn:errorEventDefinition/>')))
    assert problem.element_id == "on_event"
    assert problem.reason == ("the event sub-process would never start: its process has 2 start events; the import "
                              "can draw an event sub-process only where one start event begins the rest")
    assert in_language(problem.reason).startswith("此事件子流程永远不会启动")
    no_trigger = handler("").replace("<bpmn:subProcess", "<bpmn:subProcess")
    [problem] = errors(diagram(MAIN + no_trigger))
    assert "one start event with one event definition" in problem.reason and "on_event does not" in problem.reason


def test_a_drawing_that_is_not_executable_is_left_alone():
    found = [w for w in parse_diagrams([diagram(MAIN + handler("<bpmn:errorEventDefinition/>"))]).warnings]
    assert found  # the executable one is drawn
    try:
        parse_diagrams([diagram(MAIN + handler("<bpmn:errorEventDefinition/>"), executable="false")])
    except Exception as exc:  # noqa: BLE001 - the file has no executable process: refused for that alone
        assert [p.element_id for p in exc.problems] == [None]


def test_the_tasks_moved_into_the_watched_part_keep_their_lanes():
    lanes = ('<bpmn:laneSet id="lanes"><bpmn:lane id="lane_review" name="first_reviewer">'
             '<bpmn:flowNodeRef>review</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>')
    process = parse_diagrams([diagram(lanes + MAIN + handler("<bpmn:errorEventDefinition/>"))]).processes["p"]
    [watched] = [s for s in process.embedded.values() if "review" in s.task_specs]
    assert watched.task_specs["review"].lane == "first_reviewer"


def test_a_service_business_error_anywhere_in_the_process_reaches_the_error_event_sub_process():
    from app.engine.runner import ServiceBusinessError

    body = """
    <bpmn:startEvent id="start"/>
    <bpmn:scriptTask id="set"><bpmn:script>x = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:serviceTask id="check"><bpmn:extensionElements>
      <spiffworkflow:serviceTaskOperator id="risk.blacklist" resultVariable="r"/></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="set"/>
    <bpmn:sequenceFlow id="f2" sourceRef="set" targetRef="check"/>
    <bpmn:sequenceFlow id="f3" sourceRef="check" targetRef="end"/>""" + handler(
        '<bpmn:errorEventDefinition camunda:errorCodeVariable="code" camunda:errorMessageVariable="why"/>',
        script="seen = (code, why, x)")
    file = diagram(body)
    file = DiagramFile(file.filename, file.content.replace(
        b'<bpmn:definitions ', b'<bpmn:definitions xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '))

    def services(operator, params, context):
        raise ServiceBusinessError("BLACKLISTED", "on a sanctions list", {"list": "OFAC"}, context["engine_task_id"])

    eng = ProcessEngine(call_service=services)
    _, _workflow, done = started(file, eng)
    assert done.status == "completed" and done.end_events == ["on_event_end"]
    assert done.data["seen"] == ["BLACKLISTED", "on a sanctions list", 1]
