"""Issue 17, choices a form takes from the task's data (SpiffArena's `options_from_task_data_var:`, a
Camunda Forms `valuesKey`): which lists a form reads, the form as a task shows and checks it, the
stand-in the deploy checks, and the property a deployed user task carries."""
from __future__ import annotations

import copy

from jsonschema import validators

from app.engine.parser import DiagramFile, parse_diagrams, user_tasks
from app.services.workflow import form_choices

COLOR_FORM = {
    "definitions": {"Color": {"title": "Color", "type": "string",
                              "anyOf": ["options_from_task_data_var:awesome_color_options"]}},
    "title": "Select Color", "type": "object", "required": ["selectedColor"],
    "properties": {"selectedColor": {"$ref": "#/definitions/Color", "title": "Select color"},
                   "note": {"type": "string", "title": "Note"}},
}
COLORS = [{"value": "blue", "label": "Blue"}, {"value": "green", "label": "Green"}]


def test_the_lists_a_form_reads_are_named_once_in_order():
    form = {"properties": {"a": {"anyOf": ["options_from_task_data_var:banks"]},
                           "b": {"items": {"anyOf": ["options_from_task_data_var:accounts"]}},
                           "c": {"anyOf": ["options_from_task_data_var:banks"]},
                           "d": {"anyOf": [{"type": "string"}, {"type": "number"}]},
                           "e": {"anyOf": ["options_from_task_data_var:"]}}}
    assert form_choices.sources(form) == ["banks", "accounts"]
    assert form_choices.sources({"type": "object"}) == [] and form_choices.sources(None) == []


def test_the_task_shows_the_list_its_data_held_as_an_ordinary_choice():
    original = copy.deepcopy(COLOR_FORM)
    form = form_choices.resolved(COLOR_FORM, {"awesome_color_options": COLORS})
    assert form["properties"]["selectedColor"] == {
        "title": "Select color", "type": "string", "enum": ["blue", "green"],
        "enumNames": ["Blue", "Green"]}  # the $ref inlined, the property's own title winning
    assert COLOR_FORM == original  # the stored form, shared by every task, is left as it is
    check = validators.validator_for(form)(form)
    assert check.is_valid({"selectedColor": "green"})
    assert not check.is_valid({"selectedColor": "purple"})


def test_plain_values_are_their_own_labels_and_odd_items_are_left_out():
    form = form_choices.resolved({"properties": {"n": {"anyOf": ["options_from_task_data_var:terms"]}}},
                                 {"terms": [3, 6, {"value": 12}, {"label": "no value"}, None, True, [1], 6]})
    assert form["properties"]["n"]["enum"] == [3, 6, 12]
    assert form["properties"]["n"]["enumNames"] == ["3", "6", "12"]


def test_a_list_the_data_did_not_hold_gives_no_choice_so_nothing_passes():
    for shown in (None, {}, {"awesome_color_options": "blue"}, {"awesome_color_options": []}):
        form = form_choices.resolved(COLOR_FORM, shown)
        assert form["properties"]["selectedColor"]["enum"] == []
        assert not validators.validator_for(form)(form).is_valid({"selectedColor": "blue"})


def test_a_form_without_choices_from_data_or_refs_is_the_form_itself():
    form = {"type": "object", "properties": {"amount": {"type": "integer"}}}
    assert form_choices.resolved(form, {"x": 1}) is form
    assert form_choices.resolved(None, {}) is None


def test_refs_are_inlined_in_nested_objects_and_rows_and_a_cycle_stops():
    form = {"$defs": {"money": {"type": "string", "pattern": "^[0-9]+$"},
                      "loop": {"$ref": "#/$defs/loop", "title": "Loop"}},
            "properties": {"rows": {"type": "array", "items": {"type": "object", "properties": {
                "amount": {"$ref": "#/$defs/money", "title": "Amount"}}}},
                "odd": {"$ref": "#/$defs/loop"}, "elsewhere": {"$ref": "https://example.com/schema"}}}
    shown = form_choices.resolved(form, {})
    assert shown["properties"]["rows"]["items"]["properties"]["amount"] == {
        "type": "string", "pattern": "^[0-9]+$", "title": "Amount"}
    assert shown["properties"]["odd"]["$ref"] == "#/$defs/loop"  # a cycle is left after the depth limit
    assert shown["properties"]["elsewhere"] == {"$ref": "https://example.com/schema"}  # never fetched


def test_the_deploy_checks_a_stand_in_choice_and_the_form_stays_untouched():
    checkable = form_choices.checkable(COLOR_FORM)
    assert checkable["definitions"]["Color"]["enum"] == ["awesome_color_options"]
    assert "anyOf" in COLOR_FORM["definitions"]["Color"]
    validators.validator_for(checkable).check_schema(checkable)


DIAGRAM = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="pick" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="choose"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="formJsonSchemaFilename" value="color.json"/>
    </spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>
    <bpmn:subProcess id="inner"><bpmn:startEvent id="s2"/>
      <bpmn:userTask id="confirm"><bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="plain.json"/>
        <spiffworkflow:property name="choicesFrom" value="stale"/>
      </spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>
      <bpmn:endEvent id="e2"/>
      <bpmn:sequenceFlow id="g1" sourceRef="s2" targetRef="confirm"/>
      <bpmn:sequenceFlow id="g2" sourceRef="confirm" targetRef="e2"/>
    </bpmn:subProcess>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="choose"/>
    <bpmn:sequenceFlow id="f2" sourceRef="choose" targetRef="inner"/>
    <bpmn:sequenceFlow id="f3" sourceRef="inner" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_each_user_task_is_told_the_lists_its_own_form_reads():
    process = parse_diagrams([DiagramFile("pick.bpmn", DIAGRAM)]).processes["pick"]
    form_choices.annotate(process, {"color.json": COLOR_FORM, "plain.json": {"type": "object"}})
    properties = {element: props for element, _name, props in user_tasks(process)}
    assert properties["choose"]["choicesFrom"] == "awesome_color_options"
    assert "choicesFrom" not in properties["confirm"]  # its form reads none: nothing stale is kept
