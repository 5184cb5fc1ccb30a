"""A Camunda call activity's camunda:in and camunda:out (`camunda_services._call_mappings`).

Before, they were ignored: a called process that reads a variable under the name the mapping gives
it failed with "reads loan_amount, which this instance has no value for", and what it returned under
another name never reached the caller."""
from __future__ import annotations

import pytest

from app.engine.parser import DiagramFile, parse_diagrams
from app.engine.runner import ProcessEngine
from tests.unit.test_camunda_services import CAMUNDA, errors
from tests.unit.test_zeebe_elements import _called_back


def _file(mappings: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="{CAMUNDA}"
                  id="defs" targetNamespace="http://camunda.org/examples">
  <bpmn:process id="caller" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:callActivity id="call" calledElement="callee"><bpmn:extensionElements>{mappings}</bpmn:extensionElements>
    </bpmn:callActivity>
    <bpmn:scriptTask id="after"><bpmn:script>shown = result</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="after"/>
    <bpmn:sequenceFlow id="f3" sourceRef="after" targetRef="end"/>
  </bpmn:process>
  <bpmn:process id="callee" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:scriptTask id="decide"><bpmn:script>decision = "yes" if loan_amount &gt; 10 else "no"</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="g1" sourceRef="s" targetRef="decide"/>
    <bpmn:sequenceFlow id="g2" sourceRef="decide" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


MAPPINGS = ('<camunda:in source="amount" target="loan_amount"/><camunda:in variables="all"/>'
            '<camunda:out source="decision" target="result"/>')


def _run(content: bytes, data: dict):
    bundle = parse_diagrams([DiagramFile("c.bpmn", content)])
    process, callee = bundle.processes["caller"], bundle.processes["callee"]
    engine = ProcessEngine()
    specs = {**process.embedded, "callee": callee.spec, **callee.embedded}  # as a deploy resolves the call
    return bundle, engine.advance(engine.new_workflow(process.spec, specs, data))


@pytest.mark.parametrize(("amount", "shown"), [(50, "yes"), (5, "no")])
def test_what_goes_in_and_comes_out_under_another_name_is_set_around_the_call(amount, shown):
    bundle, outcome = _run(_file(MAPPINGS), {"amount": amount})
    assert errors(bundle) == []
    assert outcome.status == "completed", outcome.error
    assert outcome.data["shown"] == shown
    (said,) = [w.reason for w in bundle.warnings if w.element_id == "call"]
    assert said.startswith("camunda:in loan_amount = amount; camunda:in all variables (Loanflow passes them all); "
                           "camunda:out result = decision: set before the call")


def test_without_the_mappings_the_called_process_lacks_what_they_named():
    _bundle, outcome = _run(_file(""), {"amount": 50})
    assert outcome.status == "error" and "loan_amount" in outcome.error["message"]


def test_a_source_expression_is_translated_and_a_target_that_is_no_name_is_refused():
    _bundle, outcome = _run(_file('<camunda:in sourceExpression="${amount * 2}" target="loan_amount"/>'
                                  '<camunda:out source="decision" target="result"/>'), {"amount": 6})
    assert outcome.data["shown"] == "yes"
    bundle = parse_diagrams([DiagramFile("c.bpmn", _file('<camunda:in source="amount" target="loan amount"/>'))])
    assert [(p.element_id, p.reason) for p in errors(bundle)] == [
        ("call", "the call activity's variable mapping cannot run: the camunda:in target 'loan amount' is not a "
                 "variable name Loanflow can set")]


def test_a_camunda_7_call_passes_in_and_back_only_what_its_mappings_set():
    """As Camunda 7 does: a call with mappings starts the called process with only what its ins set and takes back
    only what its outs set (all, in a direction with variables="all"); before, everything passed both ways."""
    outs = ('<camunda:in source="amount" target="amount"/><camunda:out source="score" target="result"/>'
            '<camunda:out source="saw" target="saw"/>')
    assert _called_back("", outs) == {"amount": 4, "kept": 1, "result": 8, "saw": ["amount"]}  # kept stayed out
    assert _called_back("", '<camunda:in variables="all"/>') == {"amount": 4, "kept": 1}  # ins only: nothing back
    every = _called_back("", '<camunda:in variables="all"/><camunda:out variables="all"/>')
    assert every["amount"] == 99 and every["score"] == 8 and every["saw"] == ["amount", "kept"]


def _own_names(call_attributes: str, mappings: str, namespace: str = CAMUNDA) -> bytes:
    """A caller whose called process reads `amount` and sets `decision` under their own names; `kept` the caller
    also has, which the called process changes."""
    return _file(mappings).replace(b"loan_amount", b"amount").replace(
        b'<bpmn:callActivity id="call" calledElement="callee">',
        f'<bpmn:callActivity id="call" calledElement="callee" {call_attributes}>'.encode()).replace(
        b"shown = result", b"shown = decision if is_defined('decision') else 'nothing came back'").replace(
        f'xmlns:camunda="{CAMUNDA}"'.encode(), f'xmlns:camunda="{namespace}"'.encode()).replace(
        b"flowable:", b"camunda:" if namespace != CAMUNDA else b"flowable:")


def test_a_camunda_7_call_without_mappings_passes_nothing_either_way_as_camunda_runs_it():
    """Camunda 7 (and Activiti, Flowable) start a called process with none of the caller's variables unless a
    camunda:in maps them, and take none back unless a camunda:out does. Before, everything passed both ways: a
    diagram that fails in Camunda ran here, and the called process's variables overwrote the caller's."""
    bundle, outcome = _run(_own_names('camunda:calledElementBinding="latest"', ""), {"amount": 50})
    (said,) = [w.reason for w in bundle.warnings if w.element_id == "call" and "camunda:in" in w.reason]
    assert said.startswith("no camunda:in or camunda:out: as in Camunda 7, the called process starts with none")
    assert outcome.status == "error" and "amount" in outcome.error["message"]

    _bundle, everything = _run(_own_names("", '<camunda:in variables="all"/><camunda:out variables="all"/>'),
                               {"amount": 50})
    assert everything.status == "completed" and everything.data["shown"] == "yes"


def test_flowables_inherit_variables_passes_all_in_and_nothing_back_without_an_out():
    bundle, outcome = _run(_own_names('flowable:inheritVariables="true"', "", "http://flowable.org/bpmn"),
                           {"amount": 50})
    assert any(w.reason.startswith("no camunda:out: as in Flowable, the called process starts with all")
               for w in bundle.warnings if w.element_id == "call")
    assert outcome.status == "completed", outcome.error
    assert outcome.data["shown"] == "nothing came back" and "decision" not in outcome.data


@pytest.mark.parametrize("declares_camunda", [False, True])
def test_a_diagram_not_drawn_for_camunda_passes_everything_as_spiffworkflow_does(declares_camunda):
    """Drawn for SpiffWorkflow: no Camunda namespace, or only its declaration, as Camunda Modeler writes every file
    (SpiffArena's own tests of nested calls are drawn there, and read what their calls send back)."""
    content = _own_names("", "").replace(b"<bpmn:extensionElements></bpmn:extensionElements>", b"")
    if not declares_camunda:
        content = content.replace(f' xmlns:camunda="{CAMUNDA}"'.encode(), b"")
    bundle, outcome = _run(content, {"amount": 50})
    assert [w for w in bundle.warnings if w.element_id == "call"] == []
    assert outcome.status == "completed" and outcome.data["shown"] == "yes"


def test_a_file_naming_camunda_platform_as_its_engine_is_drawn_for_camunda_7():
    content = _own_names("", "").replace(b"<bpmn:extensionElements></bpmn:extensionElements>", b"").replace(
        b'id="defs"', b'id="defs" xmlns:modeler="http://camunda.org/schema/modeler/1.0" '
                      b'modeler:executionPlatform="Camunda Platform"')
    bundle, outcome = _run(content, {"amount": 50})
    assert any(w.reason.startswith("no camunda:in or camunda:out") for w in bundle.warnings if w.element_id == "call")
    assert outcome.status == "error"
