"""Issue 17: a gateway reading data nothing in its process sets is said at validate, not found by an instance.

Flowable, Activiti and Camunda applications complete a task with variables over the engine's API (`approved`),
and the diagram's gateway reads them. Loaded here, validate said "ok", and the first instance stopped at the
gateway with "reads approved, which this instance has no value for"."""
from __future__ import annotations

import pytest

from app.engine.camunda_services import Operator
from app.engine.lint import lint_bundle
from app.engine.parser import DiagramFile, parse_diagrams

MARK = "which nothing in the process sets"


def diagram(before: str, condition: str = "${approved}", start: str = '<startEvent id="start"/>') -> bytes:
    """start -> `before` (id `work`) -> gateway `decision` -> yes (condition) / no (default) -> end."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowable="http://flowable.org/bpmn"
             xmlns:camunda="http://camunda.org/schema/1.0/bpmn" targetNamespace="http://loanflow.local">
  <message id="m" name="paid"/>
  <process id="p" isExecutable="true">
    {start}
    {before}
    <exclusiveGateway id="decision" default="no"/>
    <endEvent id="end"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <sequenceFlow id="f2" sourceRef="work" targetRef="decision"/>
    <sequenceFlow id="yes" sourceRef="decision" targetRef="end"><conditionExpression>{condition}</conditionExpression>
    </sequenceFlow>
    <sequenceFlow id="no" sourceRef="decision" targetRef="end"/>
  </process>
</definitions>""".encode()


def said(content: bytes, mapping: dict | None = None) -> list[tuple[str, str]]:
    bundle = parse_diagrams([DiagramFile("p.bpmn20.xml", content)], operator_map=mapping)
    return [(p.element_id, p.reason) for p in lint_bundle(bundle, ["risk.assess"], list(bundle.forms))
            if MARK in p.reason]


def test_a_gateway_after_a_task_without_a_form_is_said_naming_what_it_reads():
    ((element, reason),) = said(diagram('<userTask id="work" name="审批" flowable:candidateGroups="first_reviewer"/>'))
    assert element == "decision"
    assert reason.startswith("the conditions of the flows leaving it read approved, which nothing")
    assert "give a task before it a form with the field" in reason


@pytest.mark.parametrize("before", [
    # a form with the field (form properties, as Flowable writes them)
    '<userTask id="work"><extensionElements><flowable:formProperty id="approved" type="boolean"/>'
    "</extensionElements></userTask>",
    # a script that sets it
    '<scriptTask id="work" scriptFormat="python"><script>approved = amount &lt; 1000</script></scriptTask>',
    # a service task: its operator's answer may set anything
    '<serviceTask id="work" camunda:class="com.acme.Check"/>',
    # a catch of a message, whose payload may
    '<intermediateCatchEvent id="work"><messageEventDefinition messageRef="m"/></intermediateCatchEvent>',
    # a call activity, whose called process may
    '<callActivity id="work" calledElement="other"/>',
])
def test_nothing_is_said_where_something_sets_it_or_may(before):
    content = diagram(before, "${approved}" if "amount" not in before else "approved")
    assert said(content, {("class", "com.acme.Check"): Operator("risk.assess")}) == []


def test_an_implementation_not_mapped_yet_is_a_service_all_the_same():
    assert said(diagram('<serviceTask id="work" camunda:class="com.acme.Check"/>')) == []


def test_the_initiator_the_sandbox_s_own_names_and_a_comprehension_s_names_are_not_data():
    start = '<startEvent id="start" camunda:initiator="starter"/>'
    script = '<scriptTask id="work" scriptFormat="python"><script>amounts = [1, 2]</script></scriptTask>'
    condition = "starter == 'anna' and len(amounts) &gt; 1 and any(a &gt; 1 for a in amounts)"
    assert said(diagram(script, condition, start)) == []
    ((_element, reason),) = said(diagram(script, condition + " and limit &gt; 0", start))
    assert "read limit," in reason


def test_a_name_in_a_feel_filter_is_the_items_entry_first_not_said():
    """`=count(orders[amount > 100]) > 0`: amount is each order's; only the list itself is data the process sets."""
    script = '<scriptTask id="work" scriptFormat="python"><script>orders = [{"amount": 50}]</script></scriptTask>'
    assert said(diagram(script, "=count(orders[amount &gt; 100]) &gt; 0")) == []
    ((_element, reason),) = said(diagram(script, "=count(invoices[amount &gt; 100]) &gt; 0"))
    assert "read invoices," in reason


def test_a_name_in_a_filter_in_a_filter_is_either_items_entry_first_not_said():
    """`=count(orders[count(lines[qty > pick]) > 0]) > 0`: qty a line's, lines and pick an order's; a position
    computed when it runs (`lines[pick]`) is read where its list is; only the outer list is the process's data."""
    script = ('<scriptTask id="work" scriptFormat="python"><script>orders = [{"lines": [{"qty": 5}], "pick": 1}]'
              '</script></scriptTask>')
    assert said(diagram(script, "=count(orders[count(lines[qty &gt; pick]) &gt; 0]) &gt; 0")) == []
    assert said(diagram(script, "=count(orders[lines[pick].qty &gt; 1]) &gt; 0")) == []
    ((_element, reason),) = said(diagram(script, "=count(bills[count(lines[qty &gt; pick]) &gt; 0]) &gt; 0"))
    assert "read bills," in reason


def test_conditions_on_the_flows_leaving_a_task_are_said_on_the_task():
    content = diagram('<userTask id="work"/>').replace(
        b'<sequenceFlow id="f2" sourceRef="work" targetRef="decision"/>',
        b'<sequenceFlow id="f2" sourceRef="work" targetRef="decision"><conditionExpression>${days &gt; 3}'
        b"</conditionExpression></sequenceFlow>")
    assert [element for element, _ in said(content)] == ["work", "decision"]


def test_what_the_process_declares_as_its_input_is_start_data_it_expects():
    content = diagram('<userTask id="work"/>', "${amount > 10}").replace(
        b'<process id="p" isExecutable="true">',
        b'<process id="p" isExecutable="true"><ioSpecification><dataInput id="amount" name="amount"/>'
        b'<inputSet><dataInputRefs>amount</dataInputRefs></inputSet><outputSet/></ioSpecification>')
    assert said(content) == []
    assert [e for e, _ in said(diagram('<userTask id="work"/>', "${amount > 10}"))] == ["decision"]
