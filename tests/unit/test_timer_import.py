"""Issue 17, timers drawn for other engines: a timer with no time is refused naming its event; a
duration written `timedelta(seconds=30)` (SpiffArena) waits that long; a cycle of a few firings may
be quick, an unbounded one may not; a value shaped like ISO 8601 that is not is refused saying why."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.engine import durations, translate
from app.engine.errors import DiagramRejected
from app.engine.juel import ExpressionRefused
from app.engine.lint import lint_bundle
from app.engine.parser import Bundle, DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine
from app.engine.timer_import import NO_TIME
from tests.unit.test_runner import timer_on_task

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def diagram(body: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="http://t">
  <bpmn:process id="timed" isExecutable="true">{body}
  </bpmn:process>
</bpmn:definitions>""".encode()


def parse(body: str) -> Bundle:
    return parse_diagrams([DiagramFile("timed.bpmn", diagram(body))])


def wait(timer: str) -> str:
    """start -> intermediate timer `wait` (its definition's content: `timer`) -> end."""
    return f"""
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:timerEventDefinition id="wait_timer">{timer}</bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f1" sourceRef="wait" targetRef="end"/>"""


def cycle_on_task(cycle: str) -> str:
    """start -> user task `sign` with a non-interrupting timer cycle `remind` -> end."""
    return timer_on_task("timeCycle", cycle)


# -- a timer with no time -----------------------------------------------------------------------
@pytest.mark.parametrize("timer", ["", "<bpmn:timeDuration/>", "<bpmn:timeDate>  </bpmn:timeDate>",
                                   "<bpmn:timeDate/><bpmn:timeDuration>PT1H</bpmn:timeDuration>"],
                         ids=["no element", "empty duration", "blank date", "empty date read first"])
def test_a_timer_with_no_time_is_refused_naming_its_event(timer: str) -> None:
    with pytest.raises(DiagramRejected) as rejected:
        parse(wait(timer))
    assert [(p.element_id, p.reason) for p in rejected.value.problems] == [("wait", NO_TIME)]
    assert "Unknown Time Specification" not in str(rejected.value)


def test_a_timer_start_event_with_no_time_is_refused_too() -> None:
    body = """
    <bpmn:startEvent id="every_morning"><bpmn:outgoing>f0</bpmn:outgoing><bpmn:timerEventDefinition/></bpmn:startEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f0</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="every_morning" targetRef="end"/>"""
    with pytest.raises(DiagramRejected) as rejected:
        parse(body)
    assert [p.element_id for p in rejected.value.problems] == ["every_morning"]
    assert "give it a date, a duration or a cycle" in rejected.value.problems[0].reason


def test_a_timer_in_a_process_that_is_not_executable_is_not_reported() -> None:
    content = diagram(wait("")).replace(b'isExecutable="true"', b'isExecutable="false"')
    with pytest.raises(DiagramRejected) as rejected:
        parse_diagrams([DiagramFile("timed.bpmn", content)])
    assert [p.reason for p in rejected.value.problems] == [
        'no executable process in this file (no process, or isExecutable="false" on every one)']


def test_every_timer_without_a_time_is_named_not_only_the_first() -> None:
    """SpiffWorkflow stopped at the first 'Unknown Time Specification'; the file goes on being read."""
    body = wait("").replace('<bpmn:endEvent id="end">', '<bpmn:endEvent id="end"><bpmn:timerEventDefinition/>')
    with pytest.raises(DiagramRejected) as rejected:
        parse(body)
    assert [(p.element_id, p.reason) for p in rejected.value.problems] == [("wait", NO_TIME), ("end", NO_TIME)]


def test_a_timer_with_a_time_is_not_refused() -> None:
    bundle = parse(wait("<bpmn:timeDuration>PT1H</bpmn:timeDuration>"))
    assert lint_bundle(bundle, (), ()) == []


# -- timedelta and datetime values ----------------------------------------------------------------
def test_a_timedelta_duration_waits_that_long() -> None:
    process = parse(wait("<bpmn:timeDuration>timedelta(seconds=30)</bpmn:timeDuration>")).processes["timed"]
    now = [NOW]
    engine = ProcessEngine(clock=lambda: now[0])
    workflow = engine.new_workflow(process.spec, process.embedded, {})
    waiting = engine.advance(workflow)
    assert waiting.status == "waiting", waiting.error
    assert waiting.due_at == NOW + timedelta(seconds=30)
    now[0] += timedelta(seconds=31)
    assert engine.wake(workflow).end_events == ["end"]


def test_a_timedelta_duration_passes_the_strict_check_and_a_wrong_kind_does_not() -> None:
    assert lint_bundle(parse(wait("<bpmn:timeDuration>timedelta(minutes=10)</bpmn:timeDuration>")), (), ()) == []
    problems = lint_bundle(parse(wait("<bpmn:timeDate>timedelta(minutes=10)</bpmn:timeDate>")), (), ())
    assert [(p.element_id, p.severity) for p in problems] == [("wait", "error")]
    assert "timer expression gives timedelta, not an ISO 8601 string or a datetime" in problems[0].reason


@pytest.mark.parametrize(("value", "reason"), [
    (timedelta(seconds=-5), "is negative"),
    (timedelta(days=36_526), "longer than 100 years"),
])
def test_a_timedelta_out_of_bounds_is_refused(value: timedelta, reason: str) -> None:
    with pytest.raises(durations.TimerValueError, match=reason):
        durations.duration_value(value, NOW)


def test_a_datetime_date_is_read_as_its_iso_text() -> None:
    due = datetime(2027, 1, 2, 3, 4, tzinfo=UTC)
    assert durations.date_value(due) == due
    with pytest.raises(durations.TimerValueError, match="outside the years"):
        durations.date_value(datetime(2300, 1, 1, tzinfo=UTC))


def test_a_datetime_date_waits_until_then() -> None:
    body = wait("<bpmn:timeDate>due</bpmn:timeDate>")
    process = parse(body).processes["timed"]
    engine = ProcessEngine(clock=lambda: NOW)
    workflow = engine.new_workflow(process.spec, process.embedded, {"due": NOW + timedelta(hours=2)})
    assert engine.advance(workflow).due_at == NOW + timedelta(hours=2)


# -- how often a cycle may fire ---------------------------------------------------------------
@pytest.mark.parametrize(("cycle", "firings", "interval"), [
    ("R2/PT30S", 2, timedelta(seconds=30)), ("R2/PT0.1S", 2, timedelta(seconds=0.1)),
    ("R100/PT1S", 100, timedelta(seconds=1)), ("R/PT1M", -1, timedelta(minutes=1)),
    ("R10000/PT1M", 10_000, timedelta(minutes=1)),
])
def test_a_cycle_of_few_firings_may_be_quick(cycle: str, firings: int, interval: timedelta) -> None:
    assert durations.parse_cycle(cycle, NOW) == (firings, NOW + interval, interval)
    assert lint_bundle(parse(cycle_on_task(f'"{cycle}"')), (), ()) == []


@pytest.mark.parametrize(("cycle", "reason"), [
    ("R/PT30S", "fires more often than every 60 s (a cycle of at most 100 firings"),
    ("R101/PT1S", "fires more often than every 60 s"),
    ("R2/PT0.05S", "fires more often than every 0.1 s"),
    ("R3/PT0S", "fires more often than every 0.1 s"),
    ("0/5 * * * * ?", "fires every 5 s: more often than every 60 s"),
])
def test_an_unbounded_or_too_quick_cycle_is_refused(cycle: str, reason: str) -> None:
    with pytest.raises(durations.TimerValueError) as refused:
        durations.parse_cycle(cycle, NOW)
    assert reason in str(refused.value)


def test_a_quick_bounded_cycle_fires_its_count_and_no_more() -> None:
    process = parse(cycle_on_task('"R2/PT30S"')).processes["timed"]
    now = [NOW]
    engine = ProcessEngine(clock=lambda: now[0])
    workflow = engine.new_workflow(process.spec, process.embedded, {})
    assert engine.advance(workflow).due_at == NOW + timedelta(seconds=30)
    fired = []
    for _ in range(4):
        now[0] += timedelta(seconds=30)
        woken = engine.wake(workflow)
        fired += [element for kind, element, _ in woken.history if kind == "timer_fired" and element == "remind"]
    assert fired == ["remind", "remind"]
    assert woken.status == "waiting"  # the user task still waits; the cycle is spent


@pytest.mark.parametrize("cycle", ['"R/PT1H"', "0 0/5 * * * ?", "0 0 0,12 ? * * *"])
def test_a_cycle_on_an_intermediate_catch_event_fires_once_and_the_path_goes_on(cycle: str) -> None:
    """As Camunda runs it (its IntermediateTimerEventTest.testTimeCycle). SpiffWorkflow started the path after the
    event again at every firing: one more open task an hour, the instance never ending."""
    body = f"""
    <bpmn:startEvent id="start"/>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeCycle>{cycle}</bpmn:timeCycle>
    </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:userTask id="task"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="task"/>
    <bpmn:sequenceFlow id="f3" sourceRef="task" targetRef="end"/>"""
    process = parse(body).processes["timed"]
    now = [NOW]
    engine = ProcessEngine(clock=lambda: now[0])
    workflow = engine.new_workflow(process.spec, process.embedded, {})
    outcome = engine.advance(workflow)
    assert outcome.status == "waiting" and outcome.ready == []
    for _ in range(3):
        now[0] += timedelta(hours=13)
        outcome = engine.wake(workflow)
        assert [t.element_id for t in outcome.ready] == ["task"] and outcome.due_at is None
    outcome = engine.complete_user_task(workflow, outcome.ready[0].engine_task_id, {})
    assert outcome.status == "completed" and outcome.end_events == ["end"]


# -- texts shaped like ISO 8601 that are not --------------------------------------------------
@pytest.mark.parametrize(("kind", "text", "reason"), [
    ("timeCycle", "R/P1H", "'R/P1H' is not an ISO 8601 cycle: hours, minutes and seconds come after a T (PT1H, PT30M, PT10S)"),
    ("timeDuration", "P1H", "'P1H' is not an ISO 8601 duration: hours, minutes and seconds come after a T (PT1H, PT30M, PT10S)"),
    ("timeDuration", "P1DT5", "'P1DT5' is not an ISO 8601 duration"),
])
def test_a_malformed_iso_value_is_refused_not_read_as_python(kind: str, text: str, reason: str) -> None:
    with pytest.raises(ExpressionRefused) as refused:
        translate.timer(kind, text)
    assert refused.value.reason == reason


@pytest.mark.parametrize(("kind", "text"), [("timeDuration", "duration"), ("timeDuration", "PT2H"),
                                            ("timeCycle", "R3/PT10M"), ("timeDuration", "P1Dx")])
def test_names_and_real_iso_values_are_not_refused_as_malformed(kind: str, text: str) -> None:
    translate.timer(kind, text)  # a name stays Python; a value is quoted


def test_a_malformed_cycle_is_a_strict_check_error_naming_the_event() -> None:
    bundle = parse(cycle_on_task("R/P1H"))
    problems = lint_bundle(bundle, (), ())
    assert [(p.element_id, p.severity) for p in problems] == [("remind", "error")]
    assert "hours, minutes and seconds come after a T" in problems[0].reason
