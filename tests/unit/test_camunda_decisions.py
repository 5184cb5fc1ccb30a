"""Issue 17: a business-rule task drawn in Camunda Modeler names its decision with `camunda:decisionRef`,
which SpiffWorkflow's parser never reads; the diagram was refused with "No DMN Diagram available with
id None" (spiffworkflow/camunda/data/DMNMultiInstance.bpmn). The import now calls the decision it
names and says so; what has no such meaning (an id chosen by an expression, a result kept in one
variable, a pinned version) is refused with the task named."""
from __future__ import annotations

import pytest

from app.engine.errors import DiagramRejected
from app.engine.parser import DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine

DMN = DiagramFile("size.dmn", b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs_size" name="Size" namespace="http://x">
  <decision id="box_size" name="Box size"><decisionTable id="t" hitPolicy="UNIQUE">
    <input id="i"><inputExpression id="ie" typeRef="integer"><text>weight</text></inputExpression></input>
    <output id="o" name="box" typeRef="string"/>
    <rule id="r1"><inputEntry id="r1i"><text>&gt; 10</text></inputEntry><outputEntry id="r1o"><text>"large"</text></outputEntry></rule>
    <rule id="r2"><inputEntry id="r2i"><text>&lt;= 10</text></inputEntry><outputEntry id="r2o"><text>"small"</text></outputEntry></rule>
  </decisionTable></decision>
</definitions>""")


def _diagram(attributes: str, extensions: str = "") -> DiagramFile:
    return DiagramFile("boxes.bpmn", f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="boxes" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:businessRuleTask id="decide" {attributes}>{extensions}</bpmn:businessRuleTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="decide"/>
    <bpmn:sequenceFlow id="f1" sourceRef="decide" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>""".encode())


def test_the_decision_camunda_decision_ref_names_is_called_and_the_change_is_said():
    bundle = parse_diagrams([_diagram('camunda:decisionRef="box_size"')], context_dmn=[DMN])
    process = bundle.processes["boxes"]
    assert process.decisions == ["box_size"]
    said = [w for w in bundle.warnings if w.element_id == "decide"]
    assert [w.reason for w in said] == [
        "the task calls decision 'box_size' (camunda:decisionRef); its outputs become variables of the instance by "
        "their names, where Camunda 7 saves the result only through camunda:resultVariable, which this task does "
        "not set"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {"weight": 12}))
    assert (outcome.status, outcome.data["box"], outcome.end_events) == ("completed", "large", ["end"])


def test_a_task_that_also_names_its_decision_for_spiffworkflow_keeps_that_one():
    bundle = parse_diagrams([_diagram('camunda:decisionRef="other"', "<bpmn:extensionElements><spiffworkflow:"
                                      "calledDecisionId>box_size</spiffworkflow:calledDecisionId></bpmn:extensionElements>")],
                            context_dmn=[DMN])
    assert bundle.processes["boxes"].decisions == ["box_size"]
    assert [w.reason for w in bundle.warnings if w.element_id == "decide"] == [
        "the task names two decisions: it calls 'box_size' (spiffworkflow:calledDecisionId), not 'other' "
        "(camunda:decisionRef)"]


@pytest.mark.parametrize(("attributes", "reason"), [
    ("", "the task calls decision 'box_size' the Camunda 8 way (zeebe:calledDecision), its result kept in the "
         "variable 'result'"),
    ('camunda:decisionRef="${which}"', "the decision is chosen at run time by the expression '${which}'"),
    ('camunda:decisionRef="box_size" camunda:resultVariable="result" camunda:mapDecisionResult="singleEntry"',
     "the decision's result is kept in the variable 'result' (camunda:resultVariable, shaped as singleEntry)"),
    ('camunda:decisionRef="box_size" camunda:decisionRefBinding="version" camunda:decisionRefVersion="3"',
     "the task calls a fixed version of decision 'box_size' (camunda:decisionRefBinding='version')"),
])
def test_what_has_no_meaning_here_is_refused_naming_the_task(attributes, reason):
    with pytest.raises(DiagramRejected) as refused:
        zeebe = "" if attributes else ('<bpmn:extensionElements><zeebe:calledDecision decisionId="box_size" '
                                       'resultVariable="result"/></bpmn:extensionElements>')
        parse_diagrams([_diagram(attributes, zeebe)], context_dmn=[DMN])
    problem = refused.value.problems[0]
    assert problem.element_id == "decide"
    assert problem.reason.startswith(reason)
