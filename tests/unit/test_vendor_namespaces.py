"""Issue 17: diagrams drawn for Activiti and Flowable, whose extensions Camunda 7 kept under its own name.

Before this, a `flowable:` attribute was read by nothing, in silence: a Flowable user task was offered to no
one its diagram names (`flowable:assignee`, `flowable:candidateGroups`), a service task's `flowable:class` was
not seen, and `flowable:formProperty` fields made no form — the instance ran, but not as drawn. Activiti's
namespace was read in some modules and not in others (a retry cycle, a listener's fields)."""
from __future__ import annotations

import pytest
from lxml import etree

from app.engine import vendor_namespaces
from app.engine.camunda_services import Operator
from app.engine.lint import lint_bundle
from app.engine.parser import DiagramFile, parse_diagrams, user_tasks
from app.engine.runner import ProcessEngine

FLOWABLE = "http://flowable.org/bpmn"
ACTIVITI = "http://activiti.org/bpmn"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"


def diagram(task: str, namespace: str = FLOWABLE, prefix: str = "flowable") -> bytes:
    """start -> `task` (id `work`) -> end, as a Flowable modeler writes it (`.bpmn20.xml`, default namespace)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:{prefix}="{namespace}"
             xmlns:camunda="{CAMUNDA}" targetNamespace="http://www.flowable.org/processdef">
  <process id="p" name="借款审批" isExecutable="true">
    <startEvent id="start"/>
    {task}
    <endEvent id="end"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
  </process>
</definitions>""".encode()


def parse(content: bytes, mapping: dict | None = None):
    return parse_diagrams([DiagramFile("loan.bpmn20.xml", content)], operator_map=mapping)


def properties(content: bytes) -> dict[str, str]:
    (found,) = user_tasks(parse(content).processes["p"])
    return found[2]


def errors(bundle, operators: list[str] = ()) -> list:
    return [p for p in lint_bundle(bundle, operators, list(bundle.forms)) if p.severity == "error"]


@pytest.mark.parametrize("namespace, prefix", [(FLOWABLE, "flowable"), (ACTIVITI, "activiti")])
def test_who_works_a_task_is_read_as_camunda_reads_it(namespace, prefix):
    task = (f'<userTask id="work" name="初审" {prefix}:candidateGroups="first_reviewer" '
            f'{prefix}:assignee="${{approver}}" {prefix}:dueDate="P2D" {prefix}:priority="80"/>')
    said = properties(diagram(task, namespace, prefix))
    assert said["lane"] == "first_reviewer"  # before (Flowable): no lane, the task the platform's
    assert said["assigneeExpression"] == "approver"
    assert said["dueIn"] == "P2D" and said["priority"] == "1"


def test_the_file_says_once_that_its_extensions_were_read_as_camunda_s():
    bundle = parse(diagram('<userTask id="work" flowable:candidateGroups="first_reviewer"/>'))
    said = [w.reason for w in bundle.warnings if "read as Camunda 7's" in w.reason]
    assert said == ["the file's Flowable extensions are read as Camunda 7's, which kept their names and meaning; the "
                    "warnings name them as Camunda does (flowable:assignee is camunda:assignee)"]
    camunda_only = diagram('<userTask id="work" camunda:candidateGroups="first_reviewer"/>')
    assert not [w for w in parse(camunda_only).warnings if "read as Camunda 7's" in w.reason]


def test_a_service_task_s_class_and_result_variable_name_call_the_mapped_operator():
    task = '<serviceTask id="work" flowable:expression="${scorer.score(amount)}" flowable:resultVariableName="score"/>'
    bundle = parse(diagram(task), {("expression", "${scorer.score(amount)}"): Operator("risk.assess")})
    assert errors(bundle, ["risk.assess"]) == []  # before: the task named no operator, refused
    calls = []

    def call(operator, params, context):
        calls.append(operator)
        return {"grade": "A"}

    engine = ProcessEngine(call_service=call)
    process = bundle.processes["p"]
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {"amount": 5}))
    assert calls == ["risk.assess"] and outcome.status == "completed"
    assert outcome.data["score"] == {"grade": "A"}  # resultVariableName is Camunda's resultVariable


def test_an_external_worker_task_is_camunda_s_external_task_by_its_topic():
    task = '<serviceTask id="work" flowable:type="external-worker" flowable:topic="credit-check"/>'
    (problem,) = errors(parse(diagram(task)))
    assert "credit-check" in problem.reason and "mapped to no operator" in problem.reason
    assert errors(parse(diagram(task), {("topic", "credit-check"): Operator("risk.assess")}), ["risk.assess"]) == []


def test_camunda_s_value_wins_when_a_file_writes_an_attribute_in_both():
    root = etree.fromstring(diagram('<userTask id="work" camunda:assignee="anna" flowable:assignee="bob" '
                                    'flowable:candidateUsers="carol"/>'))
    assert vendor_namespaces.as_camunda(root) == ["Flowable"]
    (task,) = root.iter("{*}userTask")
    assert dict(task.attrib) == {"id": "work", f"{{{CAMUNDA}}}assignee": "anna",
                                 f"{{{CAMUNDA}}}candidateUsers": "carol"}
    assert vendor_namespaces.as_camunda(root) == []  # nothing of Flowable's is left


def test_an_attribute_camunda_does_not_have_is_said_not_dropped():
    bundle = parse(diagram('<userTask id="work" flowable:skipExpression="${skip}" flowable:dataType="USERS"/>'))
    said = [w.reason for w in bundle.warnings if w.element_id == "work"]
    assert "camunda:skipExpression '${skip}' on the user task is not read: a task is never skipped by an expression " \
           "here: draw an exclusive gateway that goes around it" in said
    assert "camunda:dataType 'USERS' on the user task is not read: Loanflow does not know it" in said


def test_a_calls_inherit_variables_is_read_as_flowable_means_it():
    content = diagram('<callActivity id="work" calledElement="other" flowable:inheritVariables="true"/>')
    said = [w.reason for w in parse(content).warnings if w.element_id == "work"]
    assert [r[:60] for r in said] == ["no camunda:out: as in Flowable, the called process starts wi"]
    said = [w.reason for w in parse(content.replace(b'Variables="true"', b'Variables="false"')).warnings
            if w.element_id == "work"]
    assert [r[:66] for r in said] == ["no camunda:in or camunda:out: as in Camunda 7, the called process "]
    said = [w.reason for w in parse(content.replace(b'Variables="true"', b'Variables="${all}"')).warnings
            if "inheritVariables" in w.reason]
    assert said == ["camunda:inheritVariables '${all}' on the call activity is not read: only true (the called "
                    "process starts with all of the calling instance's data) or false (with what camunda:in maps) "
                    "is read"]


FORM = """<userTask id="work" name="审批">
  <extensionElements>
    <flowable:formProperty id="decision" name="审批结果" type="enum" required="true">
      <flowable:value id="approve" name="同意"/>
      <flowable:value id="reject" name="拒绝"/>
    </flowable:formProperty>
    <flowable:formProperty id="amount" name="Approved amount" type="double" default="100"/>
    <flowable:formProperty id="note" name="Note" variable="comment"/>
    <flowable:formProperty id="startDate" name="Start" type="date" datePattern="dd-MM-yyyy"/>
    <flowable:formProperty id="applicant" name="Applicant" writable="false"/>
    <flowable:formProperty id="secret" readable="false"/>
  </extensionElements>
</userTask>"""


def test_form_properties_are_the_task_s_form():
    bundle = parse(diagram(FORM))
    assert properties(diagram(FORM))["formJsonSchemaFilename"] == "p.work.generated.json"
    schema = bundle.forms["p.work.generated.json"]  # before: no form at all, the task asked nothing
    fields = schema["properties"]
    assert list(fields) == ["decision", "amount", "comment", "startDate", "applicant"]
    assert fields["decision"] == {"type": "string", "title": "审批结果", "enum": ["approve", "reject"],
                                  "enumNames": ["同意", "拒绝"]}
    assert fields["amount"] == {"type": "number", "title": "Approved amount", "default": 100.0}
    assert fields["startDate"]["format"] == "date" and fields["applicant"]["readOnly"] is True
    assert schema["required"] == ["decision"]
    said = [w.reason for w in bundle.warnings if w.element_id == "work"]
    assert any("'secret' is not readable" in s for s in said)
    assert any("'startDate': the date is asked as year-month-day, not as 'dd-MM-yyyy'" in s for s in said)
    assert errors(bundle) == []


def test_form_data_wins_over_form_properties_and_says_so():
    task = FORM.replace("</extensionElements>", '<camunda:formData><camunda:formField id="ok" type="boolean"/>'
                        "</camunda:formData></extensionElements>")
    bundle = parse(diagram(task))
    assert list(bundle.forms["p.work.generated.json"]["properties"]) == ["ok"]
    assert any("are not used" in w.reason for w in bundle.warnings if w.element_id == "work")


def test_a_form_chosen_by_an_expression_is_refused_naming_the_task():
    bundle = parse(diagram('<userTask id="work" flowable:formKey="${taskFormKey}"/>'))
    (problem,) = errors(bundle)  # before: "form file '${taskFormKey}.json' does not exist in forms/"
    assert problem.element_id == "work" and "chooses its form at run time" in problem.reason


def test_a_form_property_named_as_its_task_is_a_field_not_the_task():
    """Activiti's designer names a task's form property after the task (`tlApprove`): SpiffWorkflow indexed the
    property by its id over the task and refused the file ("There is no support implemented for this task
    type"). A Camunda enum value named as a task did the same."""
    task = ('<userTask id="work" name="主管审批"><extensionElements>'
            '<activiti:formProperty id="work" name="主管审批结果" type="enum">'
            '<activiti:value id="end" name="结束"/></activiti:formProperty></extensionElements></userTask>')
    bundle = parse(diagram(task, ACTIVITI, "activiti"))
    assert list(bundle.forms["p.work.generated.json"]["properties"]) == ["work"]
    process = bundle.processes["p"]
    engine = ProcessEngine()
    workflow = engine.new_workflow(process.spec, process.embedded, {})
    outcome = engine.advance(workflow)
    (ready,) = outcome.ready
    assert (ready.element_id, ready.title) == ("work", "主管审批")
    outcome = engine.complete_user_task(workflow, ready.engine_task_id, {"work": "end"})
    assert outcome.status == "completed" and outcome.end_events == ["end"]


@pytest.mark.parametrize("element, said_part", [
    ('<serviceTask id="work" flowable:class="com.acme.Pay" flowable:triggerable="true"/>',
     "camunda:triggerable 'true' on the service task is not read: a service task here ends when its operator answers"),
    ('<serviceTask id="work" flowable:class="com.acme.Pay"><extensionElements><flowable:mapException errorCode="E1">'
     "com.acme.PayFailed</flowable:mapException></extensionElements></serviceTask>",
     "the extension camunda:mapException is not read: Java exceptions do not happen here"),
])
def test_what_flowable_means_and_loanflow_does_otherwise_is_said(element, said_part):
    bundle = parse(diagram(element), {("class", "com.acme.Pay"): Operator("risk.assess")})
    assert any(said_part in w.reason for w in bundle.warnings if w.element_id == "work"), bundle.warnings


def test_a_global_signal_and_a_late_asynchronous_leave_are_what_loanflow_does_anyway():
    content = diagram('<userTask id="work" flowable:asyncLeave="true"/>').replace(
        b'<process id="p"', b'<signal id="s" name="s" flowable:scope="global"/><process id="p"')
    assert not [w for w in parse(content).warnings if "scope" in w.reason or "asyncLeave" in w.reason]
    local = content.replace(b'flowable:scope="global"', b'flowable:scope="processInstance"')
    assert [w.reason for w in parse(local).warnings if "scope" in w.reason] == [
        "camunda:scope 'processInstance' on the signal is not read: a signal here reaches every instance waiting for it"]


def test_a_multi_instance_item_named_as_its_task_is_the_item_not_the_task():
    """Flowable countersigning (会签): `elementVariable="employee"` on the task `employee` was refused with
    "There is no support implemented for this task type"."""
    task = ('<userTask id="employee" flowable:assignee="${employee}"><multiInstanceLoopCharacteristics '
            'isSequential="false" flowable:collection="${employees}" flowable:elementVariable="employee"/></userTask>')
    content = diagram(task).replace(b'targetRef="work"', b'targetRef="employee"').replace(
        b'sourceRef="work"', b'sourceRef="employee"')
    process = parse(content).processes["p"]
    engine = ProcessEngine()
    workflow = engine.new_workflow(process.spec, process.embedded, {"employees": ["anna", "bob"]})
    outcome = engine.advance(workflow)
    assert sorted(t.evaluated.get("assigneeExpression") for t in outcome.ready) == ["anna", "bob"]


def test_a_choice_with_no_values_is_asked_as_text():
    task = ('<userTask id="work"><extensionElements><activiti:formProperty id="ok" name="审批意见" type="enum" '
            'required="true"/></extensionElements></userTask>')
    bundle = parse(diagram(task, ACTIVITI, "activiti"))
    assert bundle.forms["p.work.generated.json"]["properties"]["ok"] == {"type": "string", "title": "审批意见"}
    assert any("is a choice with no values to choose from" in w.reason for w in bundle.warnings)
