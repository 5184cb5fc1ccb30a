"""Why a process of `processes compat` did not run, in groups (`compat_why`), and the ceiling they leave.

The reasons are the platform's own texts, made here by the code that makes them (the incident reasons'
table, the strict check on small diagrams), so that a reworded reason that leaves its group fails here
rather than moving a figure in docs/compatibility.md unseen."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.engine import reasons
from app.engine.durations import TimerValueError, parse_cycle, parse_date
from app.engine.errors import DiagramRejected
from app.engine.lint import lint_bundle
from app.engine.parser import DiagramFile, parse_diagrams
from app.services.workflow.compat_report import Row, one_line, shortened
from app.services.workflow.compat_why import AS_WRITTEN_STOPS, GROUPS, ceiling, group_of
from tests.unit.test_runner import diagram


def said_timer_date(text: str) -> str:
    """What the engine says of a timer date read from data that is not one (`durations`)."""
    try:
        parse_date(text)
    except TimerValueError as exc:
        return str(exc.args[0])
    raise AssertionError(f"{text!r} was read as a date")


def _incident(code: str, **params: str) -> str:
    return f"incident at task_1: {reasons.reason(code, **params)['text']}"


@pytest.mark.parametrize(("reason", "group"), [
    (_incident("missing_variable", element="task_1", name="amount"), "outside"),
    (_incident("missing_value", element="task_1", name="amount"), "outside"),
    (_incident("condition_missing_variable", element="gw", name="approved",
               expression="{" + ", ".join(f"'k{i}': v{i}" for i in range(40)) + "}"), "outside"),
    (_incident("message_payload", message="init", name="task_num"), "outside"),
    (_incident("missing_decision_output", element="t", name="rate", decision="pricing"), "outside"),
    (_incident("multi_instance_input_missing", element="t", name="orders"), "outside"),
    (_incident("multi_instance_output_missing", element="t", item="result", output="results"), "outside"),
    (_incident("data_object_unset", element="t", name="obj"), "outside"),
    (_incident("data_output_missing", element="t", name="out"), "outside"),
    (_incident("empty_value", element="t", line="1", error="TypeError: 'NoneType' object is not subscriptable"),
     "outside"),
    (_incident("script_failed", element="t", line="2", error="KeyError: 'amount'"), "outside"),
    (_incident("script_failed", element="t", line="2", error="TypeError: can only concatenate str"), "fails"),
    (_incident("script_failed", element="t", line="1",
               error="AttributeError: 'dict' object has no attribute 'topic'"), "older"),
    (_incident("script_failed", element="t", line="1",
               error="SandboxViolation: import of module 'os' is not allowed"), "refused"),
    (_incident("condition_failed", element="gw", expression="int(n)", error="ValueError: invalid literal"),
     "outside"),
    (_incident("condition_failed", element="gw", expression="a / b", error="ZeroDivisionError: division by zero"),
     "fails"),
    ("no end event after 60 steps: it kept coming back; user task t was completed 60 times (it has no form: "
     "no answer could take another way) and no other action was left that led elsewhere", "fails"),
    ("no end event after 60 steps: it kept coming back; user task t was completed 20 times with the answers its "
     "form offers and no other action was left that led elsewhere", "outside"),
    ("no end event after 60 steps: it kept coming back; a timer fired 60 times and no other action was left that "
     "led elsewhere", "fails"),
    ("incident at gw: the instance's task tree reached depth 900 (limit 900): an unbounded loop? Model long lives "
     "as several instances", "fails"),
    ("form file 'invoice.json' does not exist in forms/", "folder"),
    (f"incident at wait: timer: {said_timer_date('x')}", "outside"),  # a start form's answer
    ("UserTask_1: the task is offered to the group 'management' (camunda:candidateGroups), which is no role here, so "
     "no one would see it: name one of analyst, applicant", "outside"),
    ("did not start: process 'P' cannot start: its start condition 'result is not None' cannot be evaluated on the "
     "data it is started with (Error evaluating expression 'result is not None'.)", "outside"),
    ("did not start: process 'P' cannot start: its start condition 'amount > 5' does not hold for the data it is "
     "started with", "outside"),
    ("did not start: process 'a' calls 'b', which no file under corpus/ defines", "folder"),
    ("message 'reply' not sent: its catch event reads order_id from the payload to match it to its conversation, "
     "and neither the conversation nor the event gives its value: only its sender knows it", "outside"),
    ("BoundaryEvent_1: timer value '2219-10-18T16:39:22' is not ISO 8601 or out of range: the timer date "
     "'2219-10-18T16:39:22' is outside the years 1970–2199", "refused"),  # a "never" past the engine's bounds
    ("IntermediateCatchEvent_2: the link catch events IntermediateCatchEvent_1, IntermediateCatchEvent_2 share the "
     "name 'LinkA': a link throw event would not know where to jump; rename one", "unsaid"),
    ("task: the decision is chosen at run time by the expression '${decision}' (camunda:decisionRef); Loanflow calls "
     "one named decision: name it", "refused"),
    ("task: the task calls a fixed version of decision 'd' (camunda:decisionRefBinding='version'); Loanflow calls the "
     "decision deployed with the process: remove the binding", "refused"),
    ("waits at the join Join_1 for a path that can no longer reach it (it ended, or went another way)", "fails"),
    ("signalEvent: camunda:inputOutput cannot run: input/output mappings on the intermediate throw event are not "
     "supported; move them to a task", "not_yet"),
    ("BoundaryEvent_1: the timer timeDuration 'time is just a concept' cannot run: 'time is just a concept' is no "
     "timer value: the timeDuration needs an ISO 8601 duration, or an expression giving one", "unsaid"),
    ("SequenceFlowOrderAcceptedNo: the condition '=(automaticProcessing == false)' cannot run: FEEL compares with "
     "one =, not ==: write a = b", "unsaid"),
    ("in application_form.form: the Camunda form file 'application_form.form' cannot become the form "
     "Application_Form.json: the dynamiclist 'rows' is a list inside a list's rows; Loanflow's forms show one table of "
     "rows", "not_yet"),
    ("the filepicker 'scan' takes only files Loanflow does not keep (.doc); it keeps PDF, PNG, JPEG, XLSX, DOCX, ZIP "
     "and CSV", "refused"),
    ("Activity_1: zeebe:script has no expression: write the FEEL expression whose value the task keeps", "unsaid"),
    ("Activity_1: zeebe:script keeps its value in '=x', which is no variable name: name the resultVariable", "unsaid"),
    ("Activity_0yxfuoo: the script task has both a script and a zeebe:script: keep one", "unsaid"),
    ("_XQl4k: camunda:priority 'PT1H' is no whole number, nor an expression", "unsaid"),
    ("UserTask_1: camunda:dueDate 'true' is neither an ISO 8601 date, date and time, nor duration, nor an expression",
     "unsaid"),
    ("Activity_1: camunda:taskListener (=is defined(x)) has no moment on Loanflow's path (a task is not deleted, "
     "updated or timed out beside it): draw the work as a step of the process, or remove it", "refused"),
    ("work: zeebe:taskListener (updating) has no moment on Loanflow's path (a task is not updated or canceled beside "
     "it): draw the work as a step of the process, or remove it", "refused"),
    ("EndEvent_1: zeebe:taskListener on the end event: a task listener belongs to a user task", "unsaid"),
    ("StartEvent_1: zeebe:ioMapping cannot run: a start event has no inputs: nothing runs before it; set them on the "
     "step after it", "unsaid"),
    ("a reason nobody wrote a rule for", "unclassified"),
])
def test_a_reason_falls_in_its_group(reason, group):
    assert group_of(reason) == group


def test_a_traceback_or_a_false_completion_is_loanflows_own_defect_whatever_its_reason():
    assert group_of("the timer has no time", defect=True) == "defect"
    row = Row("a.bpmn", "p", ran=True, false_completion=True, reason="FALSE COMPLETION: ...")
    assert row.why == "defect"
    assert Row("a.bpmn", "p", ran=True).why == ""  # ran: no group
    assert Row("a.dmn", "-", kind="decision", reason="refused").why == ""  # not an executable process


def _lint_reason(body: str) -> str:
    """The first error the parser (which refuses some diagrams outright) or the strict check finds."""
    try:
        bundle = parse_diagrams([DiagramFile("d.bpmn", diagram(body))])
    except DiagramRejected as refused:
        errors = refused.problems
    else:
        errors = [p for p in lint_bundle(bundle, [], []) if p.severity == "error"]
    assert errors, body
    return f"{errors[0].element_id}: {errors[0].reason}"


FLOWS = """<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    {element}
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="x"/>
    <bpmn:sequenceFlow id="f2" sourceRef="x" targetRef="end"/>"""


@pytest.mark.parametrize(("element", "group"), [
    ('<bpmn:scriptTask id="x" scriptFormat="groovy"><bpmn:script>println "hi"</bpmn:script></bpmn:scriptTask>',
     "refused"),
    ('<bpmn:scriptTask id="x"><bpmn:script>who = get_current_user()</bpmn:script></bpmn:scriptTask>', "refused"),
    ('<bpmn:scriptTask id="x"><bpmn:script>open("/etc/passwd")</bpmn:script></bpmn:scriptTask>', "refused"),
    ('<bpmn:scriptTask id="x"><bpmn:script>x = (</bpmn:script></bpmn:scriptTask>', "unsaid"),
    ('<bpmn:scriptTask id="x"/>', "unsaid"),
    ('<bpmn:intermediateCatchEvent id="x"><bpmn:timerEventDefinition/></bpmn:intermediateCatchEvent>', "unsaid"),
    ('<bpmn:intermediateCatchEvent id="x"><bpmn:messageEventDefinition/></bpmn:intermediateCatchEvent>', "unsaid"),
    ('<bpmn:task id="x"/><bpmn:boundaryEvent id="y" attachedToRef="x"><bpmn:compensateEventDefinition/>'
     '</bpmn:boundaryEvent>', "unsaid"),  # a compensation boundary event joined to no handler
    ('<bpmn:intermediateCatchEvent id="x"><bpmn:compensateEventDefinition/></bpmn:intermediateCatchEvent>', "unsaid"),
    ('<bpmn:adHocSubProcess id="x"><bpmn:task id="y"/></bpmn:adHocSubProcess>', "not_yet"),
    ('<bpmn:complexGateway id="x"/>', "refused"),
    ('<bpmn:task id="x"/><bpmn:exclusiveGateway id="g" default="d"/><bpmn:sequenceFlow id="c" sourceRef="g" '
     'targetRef="x"><bpmn:conditionExpression>${exam=\'ok\'}</bpmn:conditionExpression></bpmn:sequenceFlow>'
     '<bpmn:sequenceFlow id="d" sourceRef="g" targetRef="x"/>', "unsaid"),  # JUEL has no '=': it does not compile
    ('<bpmn:task id="x"/><bpmn:boundaryEvent id="y" attachedToRef="x"/>', "unsaid"),  # waits for nothing
    ('<bpmn:userTask id="x" camunda:formKey="${which}" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"/>',
     "refused"),  # a form chosen at run time
    ('<bpmn:task id="x"/><bpmn:subProcess id="es" triggeredByEvent="true"><bpmn:extensionElements>'
     '<camunda:executionListener event="take" class="A" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"/>'
     '</bpmn:extensionElements><bpmn:startEvent id="y" isInterrupting="false"><bpmn:timerEventDefinition>'
     '<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:startEvent><bpmn:endEvent id="z"/>'
     '<bpmn:sequenceFlow id="q" sourceRef="y" targetRef="z"/></bpmn:subProcess>', "unsaid"),  # a listener on 'take'
    ('<bpmn:callActivity id="x" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" camunda:caseRef="c"/>',
     "refused"),  # a CMMN case: a language Loanflow does not run
    ('<bpmn:callActivity id="x" calledElement="${which}"/>', "refused"),  # a process chosen at run time
    ('<bpmn:task id="x"/><bpmn:subProcess id="y" triggeredByEvent="true"><bpmn:startEvent id="y0">'
     '<bpmn:compensateEventDefinition/></bpmn:startEvent></bpmn:subProcess>', "unsaid"),  # in a process: never runs
    ('<bpmn:task id="x"/><bpmn:subProcess id="y" triggeredByEvent="true"><bpmn:startEvent id="y0"/></bpmn:subProcess>',
     "not_yet"),  # an event sub-process whose start event names no event: the import cannot draw it
])
def test_the_strict_checks_reasons_fall_in_their_groups(element, group):
    assert group_of(_lint_reason(FLOWS.format(element=element))) == group


def test_a_timer_faster_than_the_floor_is_refused_by_rule():
    with pytest.raises(TimerValueError) as caught:
        parse_cycle("0/5 * * * * ?", datetime(2026, 1, 1, tzinfo=UTC))
    assert group_of(f"StartEvent_1: the timer timeCycle cannot run: {caught.value}") == "refused"


def test_the_ceiling_is_what_does_not_stop_as_written_and_loanflows_share_counts_its_own_failures():
    groups = ["unsaid"] * 3 + ["refused", "older", "fails", "folder", "outside", "outside", "not_yet", "defect",
                                "unclassified"]
    said = ceiling(20, 8, groups)
    assert said.stops_as_written == 6 and said.ceiling == 14
    assert said.runnable_here == 11  # 14 less what needs what the folder lacks (3): 8 ran + 3 of Loanflow's own
    assert said.lines() == [
        "not run, the diagram does not say what to run: 3",
        "not run, refused by rule (safety, or a language Loanflow does not run): 1",
        "not run, written for an older SpiffWorkflow (attribute access on dictionaries): 1",
        "not run, fails as written (its own script or condition errs, or it loops for ever): 1",
        "not run, needs a file the folder lacks (a form, a called process, a decision, a sender): 1",
        "not run, needs what only the outside world gives (start data, a service's answer, a payload): 2",
        "not run, not yet in Loanflow: 1",
        "not run, Loanflow's own defect (an unexpected exception, a false completion): 1",
        "not run, a reason no group knows yet: 1",
        "cannot run as written: 6; ceiling 14 of 20 (70.0%)",
        "runnable with what the folder holds: 11; ran 8 of them (72.7%)"]
    assert AS_WRITTEN_STOPS < {g for g, _ in GROUPS}
    assert ceiling(0, 0, []).lines()[-1] == "runnable with what the folder holds: 0; ran 0 of them (n/a)"


def test_the_row_keeps_its_whole_reason_and_the_table_shortens_it():
    long = "The condition " + "x" * 300 + " at gw reads y, which this instance has no value for"
    assert one_line(long + "\n  then retry") == long + " then retry"
    assert len(shortened(long)) == 200 and shortened(long).endswith("…")
    assert shortened("short") == "short"


@pytest.mark.parametrize("broken", [
    FLOWS.replace('sourceRef="x"', 'sourceRef="gone"'),  # a flow from an element the process lacks
    FLOWS.replace(' targetRef="x"', ""),  # a flow without its target
    FLOWS.replace('<bpmn:endEvent id="end">', '<bpmn:endEvent id="x">'),  # two elements with one id
    FLOWS.replace('<bpmn:sequenceFlow id="f2" sourceRef="x" targetRef="end"/>', ""),  # an outgoing flow lost
])
def test_what_a_file_names_and_does_not_hold_is_a_diagram_that_does_not_say_what_to_run(broken):
    element = '<bpmn:task id="x"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:task>'
    assert group_of(_lint_reason(broken.format(element=element))) == "unsaid"


def _timer(expression: str) -> str:
    return (f'<bpmn:intermediateCatchEvent id="x"><bpmn:timerEventDefinition><bpmn:timeDuration>{expression}'
            '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>')


@pytest.mark.parametrize(("element", "group"), [
    (_timer("${x +}"), "unsaid"),  # JUEL that does not parse
    (_timer("${''.getClass()}"), "refused"),  # reflection
    (_timer("= for i in xs return i"), "not_yet"),  # FEEL the translation does not read yet
    (_timer("R/PT1M"), "unsaid"),  # a cycle where a duration is asked for
])
def test_the_import_layers_refusals_of_expressions_fall_in_their_groups(element, group):
    assert group_of(_lint_reason(FLOWS.format(element=element))) == group
