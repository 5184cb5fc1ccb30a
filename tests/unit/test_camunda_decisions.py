"""Issue 17: a business-rule task drawn in Camunda Modeler names its decision with `camunda:decisionRef`,
which SpiffWorkflow's parser never reads; the diagram was refused with "No DMN Diagram available with
id None" (spiffworkflow/camunda/data/DMNMultiInstance.bpmn). The import now calls the decision it
names and says so; a result kept in one variable (camunda:resultVariable, Camunda 8's
zeebe:calledDecision) is kept there in the shape Camunda gives it; what has no such meaning (an id chosen
by an expression, an unknown shape, a pinned version) is refused with the task named."""
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
    ("", "zeebe:calledDecision chooses the decision at run time ('=which')"),
    ('camunda:decisionRef="${which}"', "the decision is chosen at run time by the expression '${which}'"),
    ('camunda:decisionRef="box_size" camunda:resultVariable="result" camunda:mapDecisionResult="firstEntry"',
     "camunda:mapDecisionResult 'firstEntry' is no shape Camunda 7 knows"),
    ('camunda:decisionRef="box_size" camunda:resultVariable="a b"', "camunda:resultVariable 'a b' is no variable name"),
    ('camunda:decisionRef="box_size" camunda:decisionRefBinding="version" camunda:decisionRefVersion="3"',
     "the task calls a fixed version of decision 'box_size' (camunda:decisionRefBinding='version')"),
])
def test_what_has_no_meaning_here_is_refused_naming_the_task(attributes, reason):
    with pytest.raises(DiagramRejected) as refused:
        zeebe = "" if attributes else ('<bpmn:extensionElements><zeebe:calledDecision decisionId="=which" '
                                       'resultVariable="result"/></bpmn:extensionElements>')
        parse_diagrams([_diagram(attributes, zeebe)], context_dmn=[DMN])
    problem = refused.value.problems[0]
    assert problem.element_id == "decide"
    assert problem.reason.startswith(reason)


FEES = DiagramFile("fees.dmn", b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs_fees" name="Fees" namespace="http://x">
  <decision id="fees" name="Fees"><decisionTable id="ft" hitPolicy="COLLECT">
    <input id="fi"><inputExpression id="fie" typeRef="integer"><text>weight</text></inputExpression></input>
    <output id="fo1" name="fee" typeRef="integer"/><output id="fo2" name="why" typeRef="string"/>
    <rule id="f1"><inputEntry id="f1i"><text>-</text></inputEntry>
      <outputEntry id="f1o"><text>1</text></outputEntry><outputEntry id="f1w"><text>"base"</text></outputEntry></rule>
    <rule id="f2"><inputEntry id="f2i"><text>&gt; 10</text></inputEntry>
      <outputEntry id="f2o"><text>20</text></outputEntry><outputEntry id="f2w"><text>"heavy"</text></outputEntry></rule>
  </decisionTable></decision>
</definitions>""")


def _decided(attributes: str, extensions: str = "", weight: int = 12):
    bundle = parse_diagrams([_diagram(attributes, extensions)], context_dmn=[DMN, FEES])
    process = bundle.processes["boxes"]
    engine = ProcessEngine()
    workflow = engine.new_workflow(process.spec, process.embedded, {"weight": weight})
    return bundle, engine.advance(workflow)


def _zeebe(decision: str) -> str:
    return (f'<bpmn:extensionElements><zeebe:calledDecision decisionId="{decision}" resultVariable="result"/>'
            "</bpmn:extensionElements>")


@pytest.mark.parametrize(("decision", "weight", "result"), [
    ("box_size", 12, "large"),  # one output: its value
    ("fees", 12, [{"fee": 1, "why": "base"}, {"fee": 20, "why": "heavy"}]),  # COLLECT, several outputs
    ("fees", 3, [{"fee": 1, "why": "base"}]),
])
def test_camunda_8_keeps_the_decisions_result_in_its_result_variable(decision, weight, result):
    bundle, outcome = _decided("", _zeebe(decision), weight)
    assert outcome.status == "completed", outcome.error
    assert outcome.data["result"] == result
    assert not {"box", "fee", "why"} & set(outcome.data)  # not one variable per output
    assert any("(zeebe:calledDecision); its result is kept in the variable 'result'" in w.reason
               for w in bundle.warnings)


@pytest.mark.parametrize(("decision", "shape", "result"), [
    ("box_size", "resultList", [{"box": "large"}]),
    ("box_size", "singleResult", {"box": "large"}),
    ("box_size", "singleEntry", "large"),
    ("box_size", "collectEntries", ["large"]),
    ("fees", "resultList", [{"fee": 1, "why": "base"}, {"fee": 20, "why": "heavy"}]),
])
def test_camunda_7_keeps_the_result_in_its_result_variable_in_the_shape_it_asks(decision, shape, result):
    attributes = f'camunda:decisionRef="{decision}" camunda:resultVariable="result" camunda:mapDecisionResult="{shape}"'
    _bundle, outcome = _decided(attributes)
    assert outcome.status == "completed", outcome.error
    assert outcome.data["result"] == result


@pytest.mark.parametrize(("shape", "said"), [
    ("singleEntry", "takes one matching rule, and 2 rules matched"),
    ("singleResult", "takes one matching rule, and 2 rules matched"),
    ("collectEntries", "takes one output per rule, and a rule of the decision gives 2 (fee, why)"),
])
def test_a_result_that_does_not_fit_its_shape_is_an_incident_naming_the_task(shape, said):
    attributes = f'camunda:decisionRef="fees" camunda:resultVariable="result" camunda:mapDecisionResult="{shape}"'
    _bundle, outcome = _decided(attributes)
    assert outcome.status == "error"
    assert outcome.error["element_id"] == "decide" and said in str(outcome.error)


def test_the_stored_spec_keeps_the_result_in_one_variable():
    """A deployed version's spec is stored and read back (every step restores it): the task must still keep
    its result in one variable after that round trip."""
    from app.engine.serializer import StateSerializer

    bundle = parse_diagrams([_diagram("", _zeebe("box_size"))], context_dmn=[DMN])
    process = bundle.processes["boxes"]
    serializer = StateSerializer()
    spec, embedded = serializer.load_spec(serializer.dump_spec(process.spec, process.embedded))
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(spec, embedded, {"weight": 3}))
    assert outcome.data["result"] == "small" and "box" not in outcome.data


@pytest.mark.parametrize("namespace", [
    "http://www.omg.org/spec/DMN/20151101/dmn11.xsd",  # DMN 1.1 as Camunda 7.4.0 released it, Camunda Modeler's for years
    "https://www.omg.org/spec/DMN/20191111/DMN13.xsd",  # DMN 1.3 as Camunda 7.13.0 released it
    "http://www.omg.org/spec/DMN/20151101",  # DMN 1.1 as Flowable writes it
])
def test_a_decision_in_a_namespace_camunda_7_reads_as_another_is_read_and_decides(namespace):
    """Such files were refused: "not a BPMN or DMN document (root element {...dmn11.xsd}definitions)" (28 of
    the DMN files of Camunda's own examples)."""
    canonical = b"https://www.omg.org/spec/DMN/20191111/MODEL/"
    old = DiagramFile("size.dmn", DMN.content.replace(canonical, namespace.encode()))
    assert namespace.encode() in old.content
    bundle = parse_diagrams([old])
    assert "box_size" in bundle.decisions
    called = parse_diagrams([_diagram('camunda:decisionRef="box_size"')], context_dmn=[old]).processes["boxes"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(called.spec, called.embedded, {"weight": 3}))
    assert (outcome.status, outcome.data["box"]) == ("completed", "small")


def test_an_output_written_as_a_string_over_several_lines_is_that_string():
    """FEEL lets a string run over lines; SpiffWorkflow read the entry as Python, where a string cannot, and refused
    the file ("Malformed Output Expression"; Camunda's rugby-teams example)."""
    long = DiagramFile("size.dmn", DMN.content.replace(b'<text>"large"</text>', b'<text>"large,\n  very large"</text>'))
    called = parse_diagrams([_diagram('camunda:decisionRef="box_size"')], context_dmn=[long]).processes["boxes"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(called.spec, called.embedded, {"weight": 30}))
    assert (outcome.status, outcome.data["box"]) == ("completed", "large,\n  very large")


def test_an_output_entry_in_feel_runs_as_feel():
    """`if ... then ... else` is no Python: SpiffWorkflow refused the file ("Malformed Output Expression")."""
    feel = DiagramFile("size.dmn", DMN.content.replace(
        b'<text>"large"</text>', b'<text>if weight &gt; 50 then "huge" else "large"</text>'))
    bundle = parse_diagrams([_diagram('camunda:decisionRef="box_size"')], context_dmn=[feel])
    engine = ProcessEngine()
    for weight, box in ((30, "large"), (80, "huge")):
        called = bundle.processes["boxes"]
        outcome = engine.advance(engine.new_workflow(called.spec, called.embedded, {"weight": weight}))
        assert (outcome.status, outcome.data["box"]) == ("completed", box)
    said = [w.reason for w in parse_diagrams([feel]).warnings]
    assert any("is FEEL; the import runs it as" in r and "'huge' if weight > 50 else 'large'" in r for r in said)


def test_an_output_entry_that_is_neither_python_nor_feel_loanflow_translates_is_refused_naming_why():
    """It was SpiffWorkflow's "Malformed Output Expression ... invalid syntax", naming no cause (a court
    service's table: `(date(due) - date(now)).days`)."""
    odd = DiagramFile("size.dmn", DMN.content.replace(
        b'<text>"large"</text>', b'<text>if due != null then (date(due) - date(now)).days else 0</text>'))
    with pytest.raises(DiagramRejected) as caught:
        parse_diagrams([odd])
    (problem,) = caught.value.problems
    assert "cannot run: it is no Python, and no FEEL Loanflow translates" in problem.reason
    assert "the FEEL function date() is not translated" in problem.reason
