"""Issue 17: multi-instance markers drawn for Camunda (`camunda:collection`/`elementVariable`, Camunda
8's `zeebe:loopCharacteristics`, JUEL cardinalities and completion conditions) run as drawn.

Before this, SpiffWorkflow refused every one of them at parse ("A multiinstance task must specify a
cardinality or a loop input data reference"), and a marker that says nothing was refused with the
same text, naming no element a person could find."""
from __future__ import annotations

from typing import Any

import pytest

from app.engine.camunda_services import Operator
from app.engine.lint import lint_bundle
from app.engine.parser import DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="defs" targetNamespace="http://e.com">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    {body}
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def diagram(marker: str, script: str = "seen[str(item)] = item * 10") -> bytes:
    return HEADER.format(body=f"""<bpmn:scriptTask id="work" name="Each">{marker}
      <bpmn:script>{script}</bpmn:script></bpmn:scriptTask>""").encode()


def parse(content: bytes):
    return parse_diagrams([DiagramFile("mi.bpmn", content)])


def errors(bundle) -> list:
    return [p for p in lint_bundle(bundle, [], []) if p.severity == "error"]


def run(bundle, data: dict[str, Any]):
    process = bundle.processes["p"]
    engine = ProcessEngine()
    return engine.advance(engine.new_workflow(process.spec, process.embedded, data))


@pytest.mark.parametrize("sequential", ["true", "false"])
@pytest.mark.parametrize("collection", ["items", "${items}"])
def test_a_camunda_collection_runs_one_instance_per_item_with_its_element_variable(sequential, collection):
    bundle = parse(diagram(f'<bpmn:multiInstanceLoopCharacteristics isSequential="{sequential}" '
                           f'camunda:collection="{collection}" camunda:elementVariable="item"/>'))
    assert errors(bundle) == []
    (warning,) = [w for w in bundle.warnings if w.element_id == "work"]
    assert "one instance per item of items" in warning.reason and "as item" in warning.reason
    outcome = run(bundle, {"items": [1, 2, 3], "seen": {}})
    assert outcome.status == "completed"
    assert outcome.data["seen"] == {"1": 10, "2": 20, "3": 30}
    assert "item" not in outcome.data  # local to each instance, as in Camunda (a sequential loop needs it gone)


def test_the_task_s_input_output_mappings_run_on_each_instance_and_read_its_item():
    body = """<bpmn:serviceTask id="work" camunda:class="com.acme.Score">
      <bpmn:extensionElements><camunda:inputOutput>
        <camunda:inputParameter name="doubled">${item * 2}</camunda:inputParameter>
      </camunda:inputOutput></bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics isSequential="true" camunda:collection="items"
        camunda:elementVariable="item"/></bpmn:serviceTask>"""
    bundle = parse_diagrams([DiagramFile("mi.bpmn", HEADER.format(body=body).encode())],
                            operator_map={("class", "com.acme.Score"): Operator("risk.score", {"x": "doubled"})})
    calls: list = []
    engine = ProcessEngine(call_service=lambda op, params, ctx: calls.append(params) or {})
    process = bundle.processes["p"]
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {"items": [1, 2]}))
    assert outcome.status == "completed" and calls == [{"x": 2}, {"x": 4}]  # per instance, as in Camunda


def test_a_camunda_8_loop_collects_each_instance_s_output():
    marker = """<bpmn:multiInstanceLoopCharacteristics isSequential="true"><bpmn:extensionElements>
      <zeebe:loopCharacteristics inputCollection="=documents" inputElement="document"
        outputCollection="results" outputElement="=result"/></bpmn:extensionElements>
      </bpmn:multiInstanceLoopCharacteristics>"""
    bundle = parse(diagram(marker, "result = document.upper()"))
    assert errors(bundle) == []
    outcome = run(bundle, {"documents": ["id", "payslip"]})
    assert outcome.status == "completed" and outcome.data["results"] == ["ID", "PAYSLIP"]


def test_a_juel_cardinality_and_completion_condition_are_translated():
    marker = """<bpmn:multiInstanceLoopCharacteristics isSequential="true">
      <bpmn:loopCardinality>${count + 2}</bpmn:loopCardinality>
      <bpmn:completionCondition>${done}</bpmn:completionCondition></bpmn:multiInstanceLoopCharacteristics>"""
    bundle = parse(diagram(marker, "n = n + 1\ndone = n == 2"))
    assert errors(bundle) == []
    (warning,) = [w for w in bundle.warnings if w.element_id == "work"]
    assert "'${count + 2}' is JUEL" in warning.reason and "'${done}' is JUEL" in warning.reason
    outcome = run(bundle, {"count": 3, "n": 0})
    assert outcome.status == "completed" and outcome.data["n"] == 2  # stopped by the condition, not at 5


@pytest.mark.parametrize("marker, says", [
    ("<bpmn:multiInstanceLoopCharacteristics/>", "says neither how many instances"),
    ('<bpmn:multiInstanceLoopCharacteristics camunda:collection="${order.items}" camunda:elementVariable="i"/>',
     "is an expression, not a variable"),
    ("""<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>${nrOfInstances}</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>""", "the loopCardinality '${nrOfInstances}' reads nrOfInstances"),
    ("""<bpmn:multiInstanceLoopCharacteristics camunda:collection="out" camunda:elementVariable="i">
      <bpmn:loopCardinality>3</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>""",
     "both a loop cardinality and a collection"),  # before: the collection silently dropped
    ("""<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>3</bpmn:loopCardinality>
      <bpmn:loopDataInputRef>items</bpmn:loopDataInputRef></bpmn:multiInstanceLoopCharacteristics>""",
     "both a loop cardinality and a loopDataInputRef"),  # before: the parser's refusal of the whole file
    ("""<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>${bean.count()}</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>""", "the loopCardinality '${bean.count()}' cannot run"),
])
def test_a_marker_that_cannot_run_is_an_error_naming_the_element(marker, says):
    (problem,) = errors(parse(diagram(marker)))  # before: the whole file refused by the parser, or run wrong
    assert problem.element_id == "work" and "the multi-instance cannot run" in problem.reason
    assert says in problem.reason


def _approvers(condition: str) -> bytes:
    return HEADER.format(body=f"""<bpmn:userTask id="work" name="Approve">
      <bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>5</bpmn:loopCardinality>
      <bpmn:completionCondition>{condition}</bpmn:completionCondition></bpmn:multiInstanceLoopCharacteristics>
      </bpmn:userTask>""").encode()


@pytest.mark.parametrize("condition, answers", [
    ("${nrOfCompletedInstances/nrOfInstances >= 0.6}", 3),  # Camunda's own example: 60% of 5 approvers
    ("${nrOfActiveInstances == 3}", 2),
    ("${loopCounter == 3}", 4),  # the index of the instance that ended: answered here in order
])
def test_a_completion_condition_reads_camundas_counters(condition, answers):
    """Refused before ("which Camunda counts and Loanflow does not"); the counters are given to the condition."""
    bundle = parse(_approvers(condition))
    assert errors(bundle) == []
    process = bundle.processes["p"]
    engine = ProcessEngine()
    workflow = engine.new_workflow(process.spec, process.embedded, {})
    outcome = engine.advance(workflow)
    assert len(outcome.ready) == 5
    for n in range(answers):
        assert outcome.status == "waiting", n
        outcome = engine.complete_user_task(workflow, outcome.ready[0].engine_task_id, {})
    assert outcome.status == "completed" and outcome.ready == []  # the other approvals are cancelled
    assert not set(outcome.data) & {"nrOfInstances", "nrOfCompletedInstances", "nrOfActiveInstances", "loopCounter"}


def test_a_sequential_multi_instance_counts_its_collection():
    marker = """<bpmn:multiInstanceLoopCharacteristics isSequential="true" camunda:collection="items"
      camunda:elementVariable="item"><bpmn:completionCondition>${nrOfCompletedInstances == nrOfInstances - 1 and
      nrOfActiveInstances == 1 and loopCounter == 2}</bpmn:completionCondition>
      </bpmn:multiInstanceLoopCharacteristics>"""
    bundle = parse(diagram(marker))
    assert errors(bundle) == []
    outcome = run(bundle, {"items": [1, 2, 3, 4], "seen": {}})
    assert outcome.status == "completed" and outcome.data["seen"] == {"1": 10, "2": 20, "3": 30}


def test_a_bpmn_marker_s_input_item_is_local_to_each_instance():
    marker = """<bpmn:multiInstanceLoopCharacteristics isSequential="true">
      <bpmn:loopDataInputRef>items</bpmn:loopDataInputRef><bpmn:inputDataItem id="item" name="item"/>
      </bpmn:multiInstanceLoopCharacteristics>"""
    bundle = parse(diagram(marker))
    assert errors(bundle) == []
    (warning,) = [w for w in bundle.warnings if w.element_id == "work"]
    assert "each instance drops its item item as it ends" in warning.reason
    outcome = run(bundle, {"items": [1, 2], "seen": {}})  # before: "Multiinstance input item item already exists"
    assert outcome.status == "completed" and outcome.data["seen"] == {"1": 10, "2": 20}
    assert "item" not in outcome.data


def test_a_bpmn_marker_that_collects_its_output_is_left_as_it_is():
    marker = """<bpmn:multiInstanceLoopCharacteristics isSequential="true">
      <bpmn:loopDataInputRef>items</bpmn:loopDataInputRef><bpmn:loopDataOutputRef>out</bpmn:loopDataOutputRef>
      <bpmn:inputDataItem id="item" name="item"/><bpmn:outputDataItem id="item_out" name="item"/>
      </bpmn:multiInstanceLoopCharacteristics>"""
    bundle = parse(diagram(marker, "item_out = item * 10"))  # SpiffWorkflow's variable is the item's id
    assert bundle.warnings == [] and errors(bundle) == []
    assert run(bundle, {"items": [1, 2]}).data["out"] == [10, 20]


# -- what a multi-instance lacks at run time, said so a person can act on it ---------------------
@pytest.mark.parametrize("sequential", ["true", "false"])
@pytest.mark.parametrize("data, code", [
    ({}, "multi_instance_input_missing"),  # before (parallel): "TypeError: 'NoneType' object is not iterable"
    ({"items": None}, "multi_instance_input_missing"),
    ({"items": 5}, "multi_instance_input_not_iterable"),
])
def test_a_collection_the_instance_lacks_is_an_incident_naming_the_task_and_the_variable(sequential, data, code):
    bundle = parse(diagram(f'<bpmn:multiInstanceLoopCharacteristics isSequential="{sequential}" '
                           'camunda:collection="items" camunda:elementVariable="item"/>'))
    outcome = run(bundle, {**data, "seen": {}})
    assert outcome.status == "error" and outcome.error["element_id"] == "work"
    said = outcome.error["reason"]
    assert said["code"] == code and said["params"] == {"element": "work", "name": "items"}


def test_an_instance_that_does_not_set_its_output_item_is_an_incident_naming_it():
    marker = """<bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>2</bpmn:loopCardinality>
      <bpmn:loopDataOutputRef>out</bpmn:loopDataOutputRef><bpmn:outputDataItem id="result" name="result"/>
      </bpmn:multiInstanceLoopCharacteristics>"""
    outcome = run(parse(diagram(marker, "other = 1")), {})  # before: "Expected an output item."
    said = outcome.error["reason"]
    assert said["code"] == "multi_instance_output_missing"
    assert said["params"] == {"element": "work", "item": "result", "output": "out"}
    assert "set result in each instance" in said["text"]


@pytest.mark.parametrize("sequential", ["true", "false"])
def test_each_instance_sees_its_loop_counter_and_the_process_does_not_keep_it(sequential):
    """Camunda keeps `loopCounter` local to each instance; SpiffWorkflow had none (a NameError incident)."""
    marker = (f'<bpmn:multiInstanceLoopCharacteristics isSequential="{sequential}"><bpmn:loopCardinality>3'
              "</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>")
    outcome = run(parse(diagram(marker, "seen[str(loopCounter)] = loopCounter * 10")), {"seen": {}})
    assert outcome.status == "completed" and outcome.data == {"seen": {"0": 0, "1": 10, "2": 20}}


def test_an_assignee_written_around_the_loop_counter_names_each_instances_user():
    body = """<bpmn:userTask id="work" name="Approve" camunda:assignee="kermit_${loopCounter}">
      <bpmn:multiInstanceLoopCharacteristics isSequential="false"><bpmn:loopCardinality>2</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"""
    bundle = parse(HEADER.format(body=body).encode())
    assert errors(bundle) == []
    process = bundle.processes["p"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {}))
    assert sorted(t.evaluated["assigneeExpression"] for t in outcome.ready) == ["kermit_0", "kermit_1"]
