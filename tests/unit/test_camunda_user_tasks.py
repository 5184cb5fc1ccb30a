"""Camunda user tasks in the import layer (issue 17): candidateGroups, assignee and candidateUsers become the
task's lane and assignee; formData a generated JSON Schema; formKey the forms/ file it names. Each change is a
warning; what has no meaning here is an error of the strict check naming the element."""
from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator
from lxml import etree

from app.engine import camunda_user_tasks
from app.engine.lint import lint_bundle
from app.engine.parser import DiagramFile, parse_diagrams, user_tasks
from app.engine.runner import ProcessEngine
from app.engine.start_events import start_form

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"


def camunda_diagram(task: str, process_id: str = "camunda") -> bytes:
    """start -> the user task `task` (its XML, id `work`) -> end, with the camunda namespace."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="{CAMUNDA}"
                  id="defs" targetNamespace="http://loanflow.local/bpmn">
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    {task}
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>""".encode()


def parsed(task: str):
    return parse_diagrams([DiagramFile("camunda.bpmn", camunda_diagram(task))])


def properties(task: str) -> dict[str, str]:
    (found,) = user_tasks(parsed(task).processes["camunda"])
    return found[2]


def errors(task: str) -> list:
    bundle = parsed(task)
    forms = list(bundle.forms)
    return [p for p in lint_bundle(bundle, [], forms) if p.severity == "error"]


def warnings_of(task: str) -> list[str]:
    return [w.reason for w in parsed(task).warnings if w.element_id == "work"]


def schema_of(fields: str, name: str = "Review") -> dict:
    bundle = parsed(f'<bpmn:userTask id="work" name="{name}"><bpmn:extensionElements><camunda:formData>{fields}'
                    "</camunda:formData></bpmn:extensionElements></bpmn:userTask>")
    return bundle.forms["camunda.work.generated.json"]


# who works it

def test_one_candidate_group_is_the_tasks_lane_and_the_change_is_said():
    task = '<bpmn:userTask id="work" camunda:candidateGroups=" first_reviewer "/>'
    assert properties(task)["lane"] == "first_reviewer"
    assert any("candidateGroups" in w and "first_reviewer" in w for w in warnings_of(task))


def test_the_candidate_group_is_the_lane_the_engine_reports_over_a_drawn_lane():
    content = camunda_diagram('<bpmn:userTask id="work" camunda:candidateGroups="finance"/>').replace(
        b'<bpmn:startEvent id="start"/>',
        b'<bpmn:laneSet id="ls"><bpmn:lane id="l" name="Accounting"><bpmn:flowNodeRef>work</bpmn:flowNodeRef>'
        b'</bpmn:lane></bpmn:laneSet><bpmn:startEvent id="start"/>')
    process = parse_diagrams([DiagramFile("c.bpmn", content)]).processes["camunda"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {}))
    assert [(t.element_id, t.lane) for t in outcome.ready] == [("work", "finance")]


@pytest.mark.parametrize("groups", ["first_reviewer,finance", "${''.getClass()}"])
def test_several_groups_or_an_expression_with_no_safe_meaning_are_refused_naming_the_task(groups):
    found = errors(f'<bpmn:userTask id="work" camunda:candidateGroups="{groups}"/>')
    assert [(e.element_id, "candidateGroups" in e.reason) for e in found] == [("work", True)]


def test_a_group_from_the_data_is_read_when_the_task_is_ready():
    """It was refused ("is an expression; Loanflow offers a task to one role"); `task_lanes` maps the value."""
    task = '<bpmn:userTask id="work" camunda:candidateGroups="${approverGroup}"/>'
    assert errors(task) == []
    assert properties(task)["candidateGroupsExpression"] == "approverGroup" and "lane" not in properties(task)
    process = parsed(task).processes["camunda"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {"approverGroup": "finance"}))
    (ready,) = outcome.ready
    assert ready.evaluated["candidateGroupsExpression"] == "finance"


def test_a_mapped_group_is_the_role_the_admin_mapped_it_to_and_the_change_names_the_mapping():
    task = '<bpmn:userTask id="work" camunda:candidateGroups="management"/>'
    bundle = parse_diagrams([DiagramFile("camunda.bpmn", camunda_diagram(task))],
                            group_map={"management": "second_reviewer"})
    (found,) = user_tasks(bundle.processes["camunda"])
    assert found[2]["lane"] == "second_reviewer"
    assert any("group mapping" in w.reason and "'second_reviewer'" in w.reason for w in bundle.warnings)


@pytest.mark.parametrize(("groups", "refused"), [
    ("accounting, treasury", False),  # both mapped to finance
    ("accounting, finance", False),  # a group mapped to finance, and finance itself
    ("accounting, first_reviewer", True),
    ("accounting, sales", True),  # sales is no role and not mapped: two different lanes
])
def test_several_groups_are_one_role_only_when_each_is_or_maps_to_it(groups, refused):
    task = f'<bpmn:userTask id="work" camunda:candidateGroups="{groups}"/>'
    bundle = parse_diagrams([DiagramFile("camunda.bpmn", camunda_diagram(task))],
                            group_map={"accounting": "finance", "treasury": "finance"})
    found = [p for p in lint_bundle(bundle, [], list(bundle.forms)) if p.severity == "error"]
    assert [("not one role" in p.reason) for p in found] == ([True] if refused else [])
    if not refused:
        assert user_tasks(bundle.processes["camunda"])[0][2]["lane"] == "finance"


def test_candidate_groups_that_name_no_group_are_none_not_a_traceback():
    task = '<bpmn:userTask id="work" camunda:candidateGroups=" , "/>'
    assert "lane" not in properties(task)  # before: an IndexError out of parse_diagrams
    assert camunda_user_tasks.candidate_groups(etree.fromstring(camunda_diagram(task))) == set()


def test_an_assignee_by_name_is_the_assignee_property():
    task = '<bpmn:userTask id="work" camunda:assignee="anna"/>'
    assert properties(task)["assignee"] == "anna"
    assert "assigneeExpression" not in properties(task)


def test_a_juel_assignee_is_an_expression_on_the_tasks_data_evaluated_when_it_is_ready():
    task = '<bpmn:userTask id="work" camunda:assignee="${approver}"/>'
    assert properties(task)["assigneeExpression"] == "approver"
    process = parsed(task).processes["camunda"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {"approver": "anna"}))
    (ready,) = outcome.ready
    assert ready.evaluated["assigneeExpression"] == "anna"


def test_an_assignee_written_as_a_text_around_an_expression_names_the_user():
    """Refused before ("a JUEL expression starts with ${ or #{"): Camunda reads the attribute as a text."""
    task = '<bpmn:userTask id="work" camunda:assignee="clerk_${region}"/>'
    process = parsed(task).processes["camunda"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {"region": "north"}))
    (ready,) = outcome.ready
    assert ready.evaluated["assigneeExpression"] == "clerk_north"


def test_a_juel_assignee_that_cannot_run_is_refused_naming_the_task():
    found = errors("<bpmn:userTask id=\"work\" camunda:assignee=\"${''.getClass()}\"/>")
    assert [(e.element_id, "camunda:assignee" in e.reason) for e in found] == [("work", True)]


def test_one_candidate_user_is_the_assignee_and_several_are_the_users_it_is_offered_to():
    """Several were refused ("offers the task to several people"); Camunda offers the task to each of them."""
    assert properties('<bpmn:userTask id="work" camunda:candidateUsers="anna"/>')["assignee"] == "anna"
    task = '<bpmn:userTask id="work" camunda:candidateUsers="anna, bo ,"/>'
    assert errors(task) == []
    said = properties(task)
    assert said["candidateUsers"] == "anna, bo" and "lane" not in said and "assignee" not in said


def test_candidate_users_from_an_expression_are_read_when_the_task_is_ready():
    task = '<bpmn:userTask id="work" camunda:candidateUsers="${reviewers}"/>'
    assert properties(task)["candidateUsersExpression"] == "reviewers"
    process = parsed(task).processes["camunda"]
    engine = ProcessEngine()
    outcome = engine.advance(engine.new_workflow(process.spec, process.embedded, {"reviewers": ["anna", "bo"]}))
    (ready,) = outcome.ready
    assert ready.evaluated["candidateUsersExpression"] == ["anna", "bo"]


def test_candidate_users_beside_a_role_leave_the_task_to_the_role():
    said = properties('<bpmn:userTask id="work" camunda:candidateGroups="first_reviewer" '
                      'camunda:candidateUsers="anna, bo"/>')
    assert said["lane"] == "first_reviewer" and "candidateUsers" not in said


def test_the_activiti_namespace_means_the_same():
    content = camunda_diagram('<bpmn:userTask id="work" camunda:candidateGroups="finance"/>').replace(
        CAMUNDA.encode(), b"http://activiti.org/bpmn")
    (found,) = user_tasks(parse_diagrams([DiagramFile("c.bpmn", content)]).processes["camunda"])
    assert found[2]["lane"] == "finance"


def test_a_task_that_already_names_its_lane_keeps_it():
    task = ('<bpmn:userTask id="work" camunda:candidateGroups="finance"><bpmn:extensionElements>'
            '<spiffworkflow:properties xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core">'
            '<spiffworkflow:property name="lane" value="applicant"/></spiffworkflow:properties>'
            '</bpmn:extensionElements></bpmn:userTask>')
    assert properties(task)["lane"] == "applicant"


# what it asks: the generated form, field type by field type

def test_a_string_field_with_its_label_default_and_length_limits():
    schema = schema_of('<camunda:formField id="name" label="Name" type="string" defaultValue="Ann">'
                       '<camunda:validation><camunda:constraint name="required"/>'
                       '<camunda:constraint name="minlength" config="2"/><camunda:constraint name="maxlength" '
                       'config="40"/></camunda:validation></camunda:formField>')
    assert schema == {"type": "object", "title": "Review", "required": ["name"], "properties": {
        "name": {"type": "string", "title": "Name", "default": "Ann", "minLength": 2, "maxLength": 40}}}


def test_a_long_field_is_an_integer_with_its_bounds():
    schema = schema_of('<camunda:formField id="amount" label="Amount" type="long" defaultValue="10">'
                       '<camunda:validation><camunda:constraint name="min" config="1"/>'
                       '<camunda:constraint name="max" config="1000"/></camunda:validation></camunda:formField>')
    assert schema["properties"]["amount"] == {"type": "integer", "title": "Amount", "default": 10, "minimum": 1,
                                              "maximum": 1000}
    validator = Draft202012Validator(schema)
    assert validator.is_valid({"amount": 5}) and not validator.is_valid({"amount": 0})
    assert not validator.is_valid({"amount": "5"})


def test_a_boolean_field_and_its_default():
    schema = schema_of('<camunda:formField id="ok" label="Approved?" type="boolean" defaultValue="true"/>')
    assert schema["properties"]["ok"] == {"type": "boolean", "title": "Approved?", "default": True}


def test_a_date_field_is_a_checked_date_and_camundas_default_pattern_is_rewritten():
    schema = schema_of('<camunda:formField id="due" label="Due" type="date" defaultValue="31/12/2026"/>')
    assert schema["properties"]["due"] == {"type": "string", "format": "date", "title": "Due",
                                           "default": "2026-12-31"}


def test_an_enum_field_lists_its_values_and_their_names():
    schema = schema_of('<camunda:formField id="kind" label="Kind" type="enum" defaultValue="b">'
                       '<camunda:value id="a" name="Alpha"/><camunda:value id="b" name="Beta"/></camunda:formField>')
    assert schema["properties"]["kind"] == {"type": "string", "title": "Kind", "enum": ["a", "b"],
                                            "enumNames": ["Alpha", "Beta"], "default": "b"}


def test_a_readonly_field_is_marked_read_only():
    schema = schema_of('<camunda:formField id="ref" type="string"><camunda:validation>'
                       '<camunda:constraint name="readonly"/></camunda:validation></camunda:formField>')
    assert schema["properties"]["ref"] == {"type": "string", "readOnly": True}


def test_an_unknown_type_is_text_and_an_unknown_constraint_is_said_unchecked():
    task = ('<bpmn:userTask id="work"><bpmn:extensionElements><camunda:formData>'
            '<camunda:formField id="note" type="textarea"><camunda:validation>'
            '<camunda:constraint name="validator" config="com.acme.Check"/></camunda:validation></camunda:formField>'
            '</camunda:formData></bpmn:extensionElements></bpmn:userTask>')
    said = warnings_of(task)
    assert any("'textarea'" in w and "as text" in w for w in said)
    assert any("'validator'" in w and "not checked" in w for w in said)
    assert parsed(task).forms["camunda.work.generated.json"]["properties"]["note"] == {"type": "string"}


def test_a_default_of_the_wrong_type_is_dropped_and_said():
    task = ('<bpmn:userTask id="work"><bpmn:extensionElements><camunda:formData>'
            '<camunda:formField id="n" type="long" defaultValue="many"/>'
            '</camunda:formData></bpmn:extensionElements></bpmn:userTask>')
    assert "default" not in parsed(task).forms["camunda.work.generated.json"]["properties"]["n"]
    assert any("'many'" in w for w in warnings_of(task))


def test_the_generated_form_is_the_tasks_form_and_passes_the_form_check():
    task = ('<bpmn:userTask id="work" camunda:formKey="embedded:app:forms/x.html"><bpmn:extensionElements>'
            '<camunda:formData><camunda:formField id="a" type="string"/></camunda:formData>'
            '</bpmn:extensionElements></bpmn:userTask>')
    assert properties(task)["formJsonSchemaFilename"] == "camunda.work.generated.json"
    assert errors(task) == []
    assert any("generated" in w and "formKey" in w and "not used" in w for w in warnings_of(task))


# camunda:formKey

@pytest.mark.parametrize("key", ["embedded:app:forms/loan.html", "camunda-forms:deployment:loan.form",
                                 "app:loan.jsf", "loan", "embedded:deployment:loan.html"])
def test_a_form_key_names_the_forms_file_of_its_last_part(key):
    assert properties(f'<bpmn:userTask id="work" camunda:formKey="{key}"/>')["formJsonSchemaFilename"] == "loan.json"


def test_a_form_key_without_its_form_is_refused_naming_the_task_and_the_key():
    found = errors('<bpmn:userTask id="work" camunda:formKey="app:approve.jsf"/>')
    assert [(e.element_id, "approve.json" in e.reason and "'app:approve.jsf'" in e.reason) for e in found] == [
        ("work", True)]


def test_an_empty_form_key_changes_nothing():
    assert "formJsonSchemaFilename" not in properties('<bpmn:userTask id="work" camunda:formKey=""/>')


def test_prepare_leaves_a_loanflow_task_alone():
    root = etree.fromstring(camunda_diagram('<bpmn:userTask id="work" name="Plain"/>'))
    before = etree.tostring(root)
    assert camunda_user_tasks.prepare(root, "x.bpmn") == []
    assert etree.tostring(root) == before


# Camunda 8 forms (zeebe:formDefinition)

ZEEBE = "http://camunda.org/schema/zeebe/1.0"
EMBEDDED = ('{"components": [{"key": "risk", "label": "Risk", "type": "select", "values": '
            '[{"label": "Low", "value": "low"}, {"label": "High", "value": "high"}], "validate": {"required": true}}]}')


def zeebe_parsed(definition: str, embedded: str = EMBEDDED) -> object:
    content = camunda_diagram(f'<bpmn:userTask id="work" name="Decide"><bpmn:extensionElements>{definition}'
                              "</bpmn:extensionElements></bpmn:userTask>").decode()
    content = content.replace(f'xmlns:camunda="{CAMUNDA}"', f'xmlns:camunda="{CAMUNDA}" xmlns:zeebe="{ZEEBE}"')
    content = content.replace('<bpmn:startEvent id="start"/>', '<bpmn:extensionElements><zeebe:userTaskForm '
                              f'id="form_1">{embedded}</zeebe:userTaskForm></bpmn:extensionElements>'
                              '<bpmn:startEvent id="start"/>')
    return parse_diagrams([DiagramFile("camunda.bpmn", content.encode())])


def test_a_camunda_8_embedded_form_is_the_tasks_generated_form():
    bundle = zeebe_parsed('<zeebe:formDefinition formKey="camunda-forms:bpmn:form_1"/>')
    (found,) = user_tasks(bundle.processes["camunda"])
    assert found[2][camunda_user_tasks.FORM_PROPERTY] == "camunda.work.generated.json"
    assert bundle.forms["camunda.work.generated.json"] == {
        "type": "object", "title": "Decide", "required": ["risk"],
        "properties": {"risk": {"type": "string", "title": "Risk", "enum": ["low", "high"],
                                "enumNames": ["Low", "High"]}}}
    assert any("made from the Camunda form the diagram embeds (risk)" in w.reason for w in bundle.warnings)
    assert [p for p in lint_bundle(bundle, [], list(bundle.forms)) if p.severity == "error"] == []


def test_a_camunda_8_form_that_is_missing_or_cannot_be_shown_is_refused_naming_the_task():
    for definition, embedded, said in [
        ('<zeebe:formDefinition formKey="camunda-forms:bpmn:form_2"/>', EMBEDDED, "no zeebe:userTaskForm 'form_2'"),
        ('<zeebe:formDefinition formKey="camunda-forms:bpmn:form_1"/>',
         '{"components": [{"key": "w", "type": "select", "valuesExpression": "=ws.all"}]}', "=ws.all"),
        ("<zeebe:formDefinition/>", EMBEDDED, "names no form"),
    ]:
        bundle = zeebe_parsed(definition, embedded)
        found = [p for p in lint_bundle(bundle, [], list(bundle.forms)) if p.severity == "error"]
        assert [p.element_id for p in found] == ["work"] and said in found[0].reason, said


def test_a_camunda_8_linked_form_is_the_forms_file_of_its_id():
    bundle = zeebe_parsed('<zeebe:formDefinition formId="invoice-approval"/>')
    (found,) = user_tasks(bundle.processes["camunda"])
    assert found[2][camunda_user_tasks.FORM_PROPERTY] == "invoice-approval.json"
    (missing,) = [p for p in lint_bundle(bundle, [], []) if p.severity == "error"]
    assert "invoice-approval" in missing.reason
    assert [p for p in lint_bundle(bundle, [], ["invoice-approval.json"]) if p.severity == "error"] == []


# a start form

def test_a_message_start_events_form_is_said_not_read_and_makes_no_form():
    content = camunda_diagram('<bpmn:userTask id="work"/>').replace(
        b'<bpmn:startEvent id="start"/>',
        b'<bpmn:startEvent id="start"><bpmn:extensionElements><camunda:formData><camunda:formField id="a" '
        b'type="long"/></camunda:formData></bpmn:extensionElements><bpmn:messageEventDefinition messageRef="m"/>'
        b'</bpmn:startEvent>').replace(b"<bpmn:process", b'<bpmn:message id="m" name="go"/><bpmn:process')
    bundle = parse_diagrams([DiagramFile("c.bpmn", content)])
    assert [w.reason[:61] for w in bundle.warnings if w.element_id == "start"] == [
        "the start form (camunda:formData, camunda:formKey) of a start"]
    assert bundle.forms == {} and bundle.processes["camunda"].forms == []


def test_a_none_start_events_form_data_is_the_process_start_form():
    content = camunda_diagram('<bpmn:userTask id="work"/>').replace(
        b'<bpmn:startEvent id="start"/>',
        b'<bpmn:startEvent id="start"><bpmn:extensionElements><camunda:formData><camunda:formField id="a" '
        b'type="long"/></camunda:formData></bpmn:extensionElements></bpmn:startEvent>')
    bundle = parse_diagrams([DiagramFile("c.bpmn", content)])
    assert bundle.processes["camunda"].forms == ["camunda.start.generated.json"]
    assert bundle.forms["camunda.start.generated.json"]["properties"] == {"a": {"type": "integer"}}
    assert start_form(bundle.processes["camunda"].spec) == "camunda.start.generated.json"


def _start_parsed(start: str) -> object:
    content = camunda_diagram('<bpmn:userTask id="work"/>').decode()
    content = content.replace(f'xmlns:camunda="{CAMUNDA}"', f'xmlns:camunda="{CAMUNDA}" xmlns:zeebe="{ZEEBE}"')
    content = content.replace('<bpmn:startEvent id="start"/>', '<bpmn:extensionElements><zeebe:userTaskForm '
                              f'id="form_1">{EMBEDDED}</zeebe:userTaskForm></bpmn:extensionElements>{start}')
    return parse_diagrams([DiagramFile("c.bpmn", content.encode())])


@pytest.mark.parametrize(("start", "form"), [
    ('<bpmn:startEvent id="start" camunda:formKey="camunda-forms:app:start-form.form"/>', "start-form.json"),
    ('<bpmn:startEvent id="start" camunda:formKey="embedded:app:forms/start.html"/>', "start.json"),
    ('<bpmn:startEvent id="start"><bpmn:extensionElements><zeebe:formDefinition formId="intake"/>'
     "</bpmn:extensionElements></bpmn:startEvent>", "intake.json"),
])
def test_a_start_events_form_key_names_the_start_form_and_a_missing_file_is_only_a_warning(start, form):
    bundle = _start_parsed(start)
    assert start_form(bundle.processes["camunda"].spec) == form and bundle.processes["camunda"].forms == [form]
    missing = [p for p in lint_bundle(bundle, [], []) if p.element_id == "start"]
    assert [p.severity for p in missing] == ["warning"] and "does not exist in forms/" in missing[0].reason
    assert [p for p in lint_bundle(bundle, [], [form]) if p.element_id == "start"] == []


def test_a_camunda_8_start_event_that_embeds_its_form_has_it_generated():
    bundle = _start_parsed('<bpmn:startEvent id="start"><bpmn:extensionElements><zeebe:formDefinition '
                           'formKey="camunda-forms:bpmn:form_1"/></bpmn:extensionElements></bpmn:startEvent>')
    assert start_form(bundle.processes["camunda"].spec) == "camunda.start.generated.json"
    assert bundle.forms["camunda.start.generated.json"]["required"] == ["risk"]


def test_a_start_form_key_written_as_an_expression_is_said_not_read():
    bundle = _start_parsed('<bpmn:startEvent id="start" camunda:formKey="${formName}"/>')
    assert start_form(bundle.processes["camunda"].spec) is None
    assert any("an expression chooses no form before the instance exists" in w.reason for w in bundle.warnings)
