"""Issue 17: Camunda service implementations and camunda:inputOutput in the import layer.

Before this, every service task drawn for Camunda (`camunda:class`, `delegateExpression`,
`expression`, an external task's topic) was refused by SpiffWorkflow's parser ("A Service Task
must have an operator") with nothing an admin could do, and `camunda:inputOutput` was ignored: the
task ran without the inputs it was drawn with and its outputs were never set."""
from __future__ import annotations

from typing import Any

import pytest

from app.engine.camunda_services import Operator
from app.engine.lint import lint_bundle
from app.engine.parser import DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"


def camunda(body: str, process_id: str = "p") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="{CAMUNDA}"
                  id="defs" targetNamespace="http://camunda.org/examples">
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="start"/>{body}
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


def _then_end(element: str) -> str:
    return f"""{element}
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>"""


CLASS_TASK = _then_end('<bpmn:serviceTask id="work" name="Score" camunda:class="com.acme.ScoreDelegate"/>')


def parse(content: bytes, mapping: dict | None = None):
    return parse_diagrams([DiagramFile("c.bpmn", content)], operator_map=mapping)


def errors(bundle, operators: list[str] = ()) -> list:
    return [p for p in lint_bundle(bundle, operators, []) if p.severity == "error"]


def run(bundle, data: dict | None = None, answer: dict | None = None) -> tuple[Any, list]:
    calls: list = []

    def call(operator: str, params: dict, context: dict) -> dict:
        calls.append((operator, params))
        return answer or {"score": 700}

    process = bundle.processes["p"]
    engine = ProcessEngine(call_service=call)
    workflow = engine.new_workflow(process.spec, process.embedded, data or {})
    return engine.advance(workflow), calls


def test_an_unmapped_class_parses_and_the_strict_check_names_it_and_where_to_map_it():
    bundle = parse(camunda(CLASS_TASK))  # before: DiagramRejected, "A Service Task must have an operator"
    (problem,) = errors(bundle)
    assert problem.element_id == "work"
    assert "com.acme.ScoreDelegate" in problem.reason and "mapped to no operator" in problem.reason
    assert "map-operator class" in problem.reason and "Operator mappings" in problem.reason


@pytest.mark.parametrize("attributes, key", [
    ('camunda:class="com.acme.ScoreDelegate"', ("class", "com.acme.ScoreDelegate")),
    ('camunda:delegateExpression="${scoreDelegate}"', ("delegateExpression", "${scoreDelegate}")),
    ('camunda:expression="${scorer.score(execution)}" camunda:resultVariable="score"',
     ("expression", "${scorer.score(execution)}")),
    ('camunda:type="external" camunda:topic="score"', ("topic", "score")),
])
def test_a_mapped_implementation_calls_its_operator_and_the_change_is_said(attributes, key):
    content = camunda(_then_end(f'<bpmn:serviceTask id="work" {attributes}/>'))
    bundle = parse(content, {key: Operator("risk.assess", {"amount": "amount * 2"})})
    assert errors(bundle, ["risk.assess"]) == []
    (warning,) = [w for w in bundle.warnings if w.element_id == "work"]
    assert "-> operator 'risk.assess'" in warning.reason and key[1] in warning.reason
    outcome, calls = run(bundle, {"amount": 5})
    assert outcome.status == "completed"
    assert calls == [("risk.assess", {"amount": 10})]
    if "resultVariable" in attributes:
        assert outcome.data["score"] == {"score": 700}


def test_a_mapping_of_another_value_does_not_map_this_one():
    bundle = parse(camunda(CLASS_TASK), {("class", "com.acme.Other"): Operator("risk.assess")})
    assert [p.element_id for p in errors(bundle, ["risk.assess"])] == ["work"]


def test_an_external_task_without_a_topic_is_an_error_naming_it():
    bundle = parse(camunda(_then_end('<bpmn:serviceTask id="work" camunda:type="external"/>')))
    (problem,) = errors(bundle)
    assert problem.element_id == "work" and "names no topic" in problem.reason


def test_a_send_task_and_a_message_end_event_with_a_class_call_their_operator():
    body = """
    <bpmn:sendTask id="work" camunda:class="com.acme.Notify"/>
    <bpmn:endEvent id="done"><bpmn:messageEventDefinition camunda:expression="${mailer.send()}"/></bpmn:endEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="done"/>"""
    mapping = {("class", "com.acme.Notify"): Operator("notify.send"),
               ("expression", "${mailer.send()}"): Operator("notify.mail")}
    bundle = parse(camunda(body), mapping)
    assert errors(bundle, ["notify.send", "notify.mail"]) == []
    outcome, calls = run(bundle)
    assert [c[0] for c in calls] == ["notify.send", "notify.mail"]
    assert outcome.status == "completed" and outcome.end_events == ["done_end"]


def test_an_unmapped_message_end_event_is_an_error_naming_it():
    body = """
    <bpmn:task id="work"/>
    <bpmn:endEvent id="done"><bpmn:messageEventDefinition camunda:class="com.acme.Notify"/></bpmn:endEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="done"/>"""
    (problem,) = errors(parse(camunda(body)))
    assert problem.element_id == "done" and "com.acme.Notify" in problem.reason


INPUT_OUTPUT = _then_end("""
    <bpmn:serviceTask id="work" camunda:class="com.acme.ScoreDelegate">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:inputParameter name="greeting">Hello ${customer.name}!</camunda:inputParameter>
          <camunda:inputParameter name="limit">${amount * 2}</camunda:inputParameter>
          <camunda:inputParameter name="plain">approved</camunda:inputParameter>
          <camunda:inputParameter name="nothing"/>
          <camunda:inputParameter name="channels">
            <camunda:list><camunda:value>sms</camunda:value><camunda:value>${preferred}</camunda:value></camunda:list>
          </camunda:inputParameter>
          <camunda:inputParameter name="headers">
            <camunda:map><camunda:entry key="to">${customer.email}</camunda:entry></camunda:map>
          </camunda:inputParameter>
          <camunda:outputParameter name="decided">${limit > 5}</camunda:outputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
    </bpmn:serviceTask>""")


def test_input_and_output_parameters_are_set_before_and_after_the_task():
    mapping = {("class", "com.acme.ScoreDelegate"): Operator("risk.assess", {"limit": "limit"})}
    bundle = parse(camunda(INPUT_OUTPUT), mapping)
    assert errors(bundle, ["risk.assess"]) == []
    assert any("camunda:inputOutput" in w.reason for w in bundle.warnings)
    data = {"customer": {"name": "Li", "email": "li@example.com"}, "amount": 4, "preferred": "mail"}
    outcome, calls = run(bundle, data)
    assert calls == [("risk.assess", {"limit": 8})]  # the input was set before the operator ran
    assert outcome.status == "completed"
    got = outcome.data
    assert got["greeting"] == "Hello Li!" and got["plain"] == "approved" and got["nothing"] is None
    assert got["channels"] == ["sms", "mail"] and got["headers"] == {"to": "li@example.com"}
    assert got["decided"] is True


@pytest.mark.parametrize("parameter, says", [
    ('<camunda:inputParameter name="x"><camunda:script scriptFormat="groovy">1</camunda:script>'
     '</camunda:inputParameter>', "groovy script"),
    ('<camunda:inputParameter name="x">${bean.doIt()}</camunda:inputParameter>', "'${bean.doIt()}'"),
    ('<camunda:outputParameter name="my-var">1</camunda:outputParameter>', "not a variable name"),
    ('<camunda:inputParameter name="x">${\'\'.getClass()}</camunda:inputParameter>', "getClass"),
])
def test_a_mapping_that_cannot_be_translated_is_an_error_naming_the_task(parameter, says):
    body = _then_end(f"""<bpmn:userTask id="work"><bpmn:extensionElements>
      <camunda:inputOutput>{parameter}</camunda:inputOutput></bpmn:extensionElements></bpmn:userTask>""")
    (problem,) = errors(parse(camunda(body)))
    assert problem.element_id == "work" and "camunda:inputOutput cannot run" in problem.reason
    assert says in problem.reason


def test_a_connector_s_own_parameters_are_not_the_task_s():
    body = _then_end("""<bpmn:task id="work"><bpmn:extensionElements>
      <camunda:connector><camunda:inputOutput>
        <camunda:inputParameter name="url">http://example.com</camunda:inputParameter>
      </camunda:inputOutput><camunda:connectorId>http-connector</camunda:connectorId></camunda:connector>
      </bpmn:extensionElements></bpmn:task>""")
    bundle = parse(camunda(body))
    outcome, _ = run(bundle)
    assert "url" not in outcome.data


def test_a_process_without_camunda_is_unchanged():
    content = camunda(_then_end('<bpmn:task id="work"/>'))
    bundle = parse(content, {("class", "x"): Operator("risk.assess")})
    assert bundle.warnings == [] and errors(bundle) == []



def test_the_activiti_namespace_camunda_7_once_wrote_is_read_the_same():
    content = camunda(CLASS_TASK).replace(CAMUNDA.encode(), b"http://activiti.org/bpmn")
    assert [p.element_id for p in errors(parse(content))] == ["work"]  # before: refused at parse
    bundle = parse(content, {("class", "com.acme.ScoreDelegate"): Operator("risk.assess")})
    assert errors(bundle, ["risk.assess"]) == []
    assert run(bundle)[1] == [("risk.assess", {})]
