"""A Camunda service task's `camunda:failedJobRetryTimeCycle` is its retry setting here
(`app/engine/camunda_retries.py`, `app/engine/retry_policy.py`).

Before, the cycle was said and not read: a task drawn to be retried five times, five minutes apart, was
tried three times within 30 seconds and became an incident."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from SpiffWorkflow.spiff.specs.defaults import ServiceTask

from app.engine import retry_policy
from app.engine.camunda_retries import read
from app.engine.camunda_services import Operator
from app.engine.lint import lint_bundle
from app.engine.parser import DiagramFile, parse_diagrams

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
MAPPING = {("class", "com.acme.Score"): Operator("test.score")}


def diagram(cycle: str, attributes: str = 'camunda:class="com.acme.Score"', kind: str = "serviceTask") -> DiagramFile:
    content = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="{CAMUNDA}"
                  id="defs" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:{kind} id="work" {attributes} camunda:asyncBefore="true">
      <bpmn:extensionElements>
        <camunda:failedJobRetryTimeCycle>{cycle}</camunda:failedJobRetryTimeCycle>
      </bpmn:extensionElements>
    </bpmn:{kind}>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""
    return DiagramFile("p.bpmn", content.encode())


def parsed(file: DiagramFile):
    bundle = parse_diagrams([file], operator_map=MAPPING)
    spec = bundle.processes["p"].spec.task_specs["work"]
    return spec, [w.reason for w in bundle.warnings if w.element_id == "work"], bundle


def delays(spec) -> list[timedelta]:
    return [retry_policy.delay_before(spec, n, NOW) for n in range(1, retry_policy.retries(spec) + 1)]


def test_a_repeated_cycle_is_that_many_retries_that_far_apart():
    spec, warnings, _ = parsed(diagram("R5/PT5M"))
    assert isinstance(spec, ServiceTask)
    assert retry_policy.retries(spec) == 5
    assert delays(spec) == [timedelta(minutes=5)] * 5
    assert "camunda:failedJobRetryTimeCycle 'R5/PT5M': a failing call is retried 5 times, after PT5M, then it is an " \
           "incident" in warnings
    assert not any("failedJobRetryTimeCycle is not read" in w for w in warnings)


def test_a_list_of_intervals_is_one_retry_after_each():
    spec, warnings, _ = parsed(diagram(" PT1M, PT5M ,PT1H "))
    assert delays(spec) == [timedelta(minutes=1), timedelta(minutes=5), timedelta(hours=1)]
    assert any("retried 3 times, after PT1M, PT5M, PT1H" in w for w in warnings)


@pytest.mark.parametrize(("cycle", "why"), [
    ("${retryCycle}", "neither Rn/interval nor a list of intervals"),
    ("R/PT5M", "neither Rn/interval nor a list of intervals"),
    ("R101/PT5M", "more than 100 retries"),
    ("R3/PT0.1S", "shorter than 1 s"),
    ("R3/PTfiveM", "not an ISO 8601 duration"),
])
def test_a_cycle_that_cannot_be_read_is_said_and_the_default_policy_applies(cycle, why):
    spec, warnings, _ = parsed(diagram(cycle))
    assert retry_policy.retries(spec) == retry_policy.DEFAULT_RETRIES
    assert delays(spec) == [timedelta(seconds=10), timedelta(seconds=20)]
    [said] = [w for w in warnings if "failedJobRetryTimeCycle" in w]
    assert said.startswith("the extension camunda:failedJobRetryTimeCycle is not read: its cycle cannot be read (")
    assert why in said and "Loanflow's retry policy applies" in said


def test_a_cycle_on_anything_but_a_service_call_is_said_not_read():
    _, warnings, _ = parsed(diagram("R5/PT5M", attributes="", kind="scriptTask"))
    assert ["the extension camunda:failedJobRetryTimeCycle is not read: only a service task's call is tried again "
            "here; when this element fails, that is an incident at once"] == \
        [w for w in warnings if "failedJobRetryTimeCycle" in w]


def test_read_gives_retries_and_intervals_or_why():
    assert read("R2/PT30S") == (2, "PT30S")
    assert read("r2/pt30s") == (2, "pt30s")
    assert read("PT10M,PT17M,PT20M") == (3, "PT10M,PT17M,PT20M")
    assert isinstance(read(""), str) and isinstance(read("PT1M,"), tuple)


NATIVE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="work">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="test.score">{retry}</spiffworkflow:serviceTaskOperator>
        {intervals}
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def native(retry: str = "", intervals: str = "") -> DiagramFile:
    holder = f"<spiffworkflow:retryIntervals>{intervals}</spiffworkflow:retryIntervals>" if intervals else ""
    return DiagramFile("p.bpmn", NATIVE.format(retry=retry, intervals=holder).encode())


def test_without_a_setting_the_default_and_with_spiffworkflow_retry_its_backoff():
    spec, _, _ = parsed(native())
    assert delays(spec) == [timedelta(seconds=10), timedelta(seconds=20)]
    spec, _, _ = parsed(native('<spiffworkflow:retry retries="3" backoff_base="3"/>'))
    assert delays(spec) == [timedelta(seconds=10), timedelta(seconds=30), timedelta(seconds=90)]


def test_more_retries_than_intervals_repeat_the_last_interval():
    spec, _, _ = parsed(native('<spiffworkflow:retry retries="4"/>', "PT1M,PT2M"))
    assert delays(spec) == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=2), timedelta(minutes=2)]


@pytest.mark.parametrize(("retry", "intervals", "why"), [
    ('<spiffworkflow:retry retries="1000"/>', "", "retries=1000: a failing service may be retried 0 to 100 times"),
    ('<spiffworkflow:retry backoff_base="50"/>', "", "backoff_base=50"),
    ("", "PT0S", "shorter than 1 s"),
    ("", "soon", "not an ISO 8601 duration"),
    ("", ",".join(["PT1M"] * 101), "more than 100 retries"),
])
def test_the_strict_check_refuses_a_retry_setting_out_of_bounds(retry, intervals, why):
    _, _, bundle = parsed(native(retry, intervals))
    problems = [p.reason for p in lint_bundle(bundle, {"test.score"}, ()) if p.element_id == "work"]
    assert any(p.startswith("retry: ") and why in p for p in problems), problems


def test_the_strict_check_accepts_a_retry_setting_in_bounds():
    _, _, bundle = parsed(native('<spiffworkflow:retry retries="3"/>', "PT1M,PT5M"))
    assert [p for p in lint_bundle(bundle, {"test.score"}, ()) if p.severity == "error"] == []


def test_a_retry_count_that_is_no_number_is_refused_in_words_the_reader_reads(chinese):
    """Before, the refusal lost the value's closing quote (`'many; complete it…`) and kept Python's English."""
    from app.engine.errors import DiagramRejected
    from app.services.workflow.diagram_reasons import in_language

    with pytest.raises(DiagramRejected) as refused:
        parse_diagrams([native('<spiffworkflow:retry retries="many"/>')])
    [problem] = refused.value.problems
    assert problem.element_id == "work"
    assert problem.reason == ("SpiffWorkflow could not read the element: ValueError: invalid literal for int() with "
                              "base 10: 'many'; complete it in the modeler")
    read = in_language(problem.reason)
    assert "'many'" in read and "invalid literal" not in read and "ValueError" not in read, read
