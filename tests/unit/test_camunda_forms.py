"""Camunda Forms (form-js) documents as JSON Schema forms (issue 17): what each component becomes, what
is said in a note, and what refuses the form naming the component."""
from __future__ import annotations

import pytest

from app.engine.camunda_forms import FormNotConverted, by_id, read, schema_of


def _one(component: dict) -> dict:
    schema, _notes = schema_of({"components": [component]})
    (prop,) = schema["properties"].values()
    return prop


@pytest.mark.parametrize(("component", "expected"), [
    ({"key": "name", "type": "textfield", "label": "Name", "validate": {"minLength": 2, "maxLength": 40}},
     {"type": "string", "title": "Name", "minLength": 2, "maxLength": 40}),
    ({"key": "note", "type": "textarea", "description": "Why"}, {"type": "string", "description": "Why"}),
    ({"key": "amount", "type": "number", "validate": {"min": 1, "max": 500000}},
     {"type": "number", "minimum": 1, "maximum": 500000}),
    ({"key": "count", "type": "number", "decimalDigits": 0}, {"type": "integer"}),
    ({"key": "ok", "type": "checkbox", "defaultValue": True}, {"type": "boolean", "default": True}),
    ({"key": "grade", "type": "radio", "values": [{"label": "A", "value": "a"}, {"value": "b"}],
      "defaultValue": "b"}, {"type": "string", "enum": ["a", "b"], "enumNames": ["A", "b"], "default": "b"}),
    ({"key": "due", "type": "datetime", "subtype": "date", "readonly": True},
     {"type": "string", "format": "date", "readOnly": True}),
])
def test_each_component_becomes_the_field_it_means(component, expected):
    assert _one(component) == expected


def test_required_fields_groups_and_components_that_set_nothing():
    schema, notes = schema_of({"components": [
        {"type": "text", "text": "# Invoice"}, {"type": "button", "action": "submit"},
        {"key": "amount", "type": "textfield", "validate": {"required": True}},
        {"type": "group", "components": [{"key": "approved", "type": "checkbox", "validate": {"required": True}}]},
    ]}, title="Approve the invoice")
    assert schema == {"type": "object", "title": "Approve the invoice", "required": ["amount", "approved"],
                      "properties": {"amount": {"type": "string"}, "approved": {"type": "boolean"}}}
    assert notes == []


def test_what_loanflow_does_not_check_is_said():
    _schema, notes = schema_of({"components": [
        {"key": "mail", "type": "textfield", "validate": {"validationType": "email"}},
        {"key": "extra", "type": "textfield", "conditional": {"hide": "=approved"}},
        {"key": "size", "type": "number", "defaultValue": "big"},
    ]})
    assert any("'mail'" in n and "validationType" in n for n in notes)
    assert any("'extra'" in n and "always shown" in n for n in notes)
    assert any("'size'" in n and "default 'big'" in n for n in notes)


@pytest.mark.parametrize(("component", "said"), [
    ({"key": "w", "type": "select", "valuesExpression": "=lists.warehouses"},
     "takes its choices from the expression '=lists.warehouses'"),
    ({"key": "w", "type": "select", "valuesExpression": "=__class__"}, "takes its choices from the expression"),
    ({"key": "w", "type": "select", "valuesKey": ["not", "a name"]}, "takes its choices from the expression"),
    ({"key": "w", "type": "select", "values": []}, "offers no choices"),
    ({"key": "w", "type": "checklist", "valuesExpression": "=a.b"}, "takes its choices from the expression"),
    ({"key": "w", "type": "taglist", "values": []}, "offers no choices"),
    ({"path": "rows", "type": "dynamiclist", "components": [
        {"path": "inner", "type": "dynamiclist", "components": []}]}, "list inside a list's rows"),
    ({"path": "rows", "type": "dynamiclist", "components": [{"key": "scan", "type": "filepicker"}]},
     "outside a table of rows"),
    ({"type": "dynamiclist", "components": []}, "dynamiclist component has no path"),
    ({"type": "group", "path": "address", "components": [{"key": "city", "type": "textfield"}]},
     "inside the variable 'address'"),
    ({"key": "w", "type": "datetime", "subtype": "week"}, "asks for a week"),
    ({"key": "w", "type": "filepicker", "accept": ".doc,video/*"}, r"only files Loanflow does not keep \(.doc, video/\*\)"),
    ({"key": "w", "type": "filepicker", "accept": "=types"}, "takes the files an expression names"),
    ({"key": "w", "type": "filepicker", "multiple": "=many"}, "as an expression says"),
    ({"key": "w", "type": "signature"}, "'signature' is not one"),
    ({"type": "textfield", "label": "No key"}, "has no key"),
])
def test_a_component_that_cannot_become_a_field_refuses_the_form_naming_it(component, said):
    with pytest.raises(FormNotConverted, match=said):
        schema_of({"components": [component]})


def test_a_checklist_or_taglist_is_a_list_of_its_choices_each_once():
    """Refused before ("sets a list"): Camunda sets the list of the values ticked."""
    schema, notes = schema_of({"components": [
        {"key": "checks", "label": "Checks", "type": "checklist", "validate": {"required": True},
         "values": [{"label": "Invoice", "value": "invoice"}, {"label": "Contract", "value": "contract"}],
         "defaultValue": ["invoice"]},
        {"key": "tags", "type": "taglist", "valuesKey": "known_tags", "defaultValue": ["x"]}]})
    assert schema["properties"]["checks"] == {
        "type": "array", "uniqueItems": True, "minItems": 1, "title": "Checks", "default": ["invoice"],
        "items": {"type": "string", "enum": ["invoice", "contract"], "enumNames": ["Invoice", "Contract"]}}
    assert schema["required"] == ["checks"]
    assert schema["properties"]["tags"] == {"type": "array", "uniqueItems": True,
                                            "items": {"anyOf": ["options_from_task_data_var:known_tags"]}}
    assert any("'tags'" in n and "default ['x']" in n for n in notes)  # its choices are known only when it runs


def test_a_file_picker_is_a_list_of_files_kept_as_documents():
    schema, notes = schema_of({"components": [
        {"key": "scan", "label": "ID card", "type": "filepicker", "accept": ".pdf, image/*,.doc",
         "validate": {"required": True}},
        {"key": "invoices", "type": "filepicker", "multiple": True}]})
    assert schema["properties"]["scan"] == {
        "type": "array", "maxItems": 1, "minItems": 1, "title": "ID card",
        "items": {"type": "string", "format": "data-url", "accept": ["application/pdf", "image/png", "image/jpeg"]}}
    assert schema["properties"]["invoices"] == {"type": "array", "items": {"type": "string", "format": "data-url"}}
    assert any("'scan'" in n and ".doc" in n for n in notes)  # the type Loanflow does not keep is said
    assert sum("document:<id>" in n for n in notes) == 2


def test_a_dynamic_list_is_a_table_of_rows_at_its_path():
    schema, _notes = schema_of({"components": [
        {"type": "dynamiclist", "path": "items", "label": "Goods", "isRepeating": True, "components": [
            {"key": "name", "type": "textfield", "validate": {"required": True}},
            {"type": "group", "components": [{"key": "qty", "type": "number", "decimalDigits": 0}]}]}]})
    assert schema["properties"]["items"] == {
        "type": "array", "title": "Goods",
        "items": {"type": "object", "required": ["name"],
                  "properties": {"name": {"type": "string"}, "qty": {"type": "integer"}}}}


@pytest.mark.parametrize(("subtype", "serialized", "expected", "said"), [
    ("time", "no_timezone", "time", False), ("datetime", None, "date-time", True), ("time", "utc_normalized", "time", True)])
def test_a_time_or_a_date_and_time(subtype, serialized, expected, said):
    component = {"key": "at", "type": "datetime", "subtype": subtype}
    if serialized:
        component["timeSerializingFormat"] = serialized
    schema, notes = schema_of({"components": [component]})
    assert schema["properties"]["at"] == {"type": "string", "format": expected}
    assert any("offset" in n for n in notes) is said


def test_rules_and_defaults_of_choices_from_a_variable_are_said_not_a_traceback():
    """A select whose choices come from a variable has no `type`: its default or pattern raised KeyError."""
    _schema, notes = schema_of({"components": [
        {"key": "w", "type": "select", "valuesKey": "ws", "defaultValue": "a", "validate": {"pattern": "a"}}]})
    assert any("default 'a'" in n for n in notes) and any("pattern" in n for n in notes)


def test_choices_from_a_variable_are_the_list_it_holds_when_the_task_is_ready():
    schema, _notes = schema_of({"components": [
        {"key": "warehouse", "label": "Warehouse", "type": "select", "valuesKey": " warehouses ",
         "validate": {"required": True}}]})
    assert schema["properties"]["warehouse"] == {"anyOf": ["options_from_task_data_var:warehouses"],
                                                 "title": "Warehouse"}
    assert schema["required"] == ["warehouse"]


def test_choices_from_an_expression_naming_one_variable_are_the_list_it_holds():
    """Camunda 8's modeler writes a select's choices as `valuesExpression: "=employees"`: refused before."""
    schema, _notes = schema_of({"components": [
        {"key": "initiator", "label": "Initiator", "type": "select", "valuesExpression": "= employees"}]})
    assert schema["properties"]["initiator"]["anyOf"] == ["options_from_task_data_var:employees"]


def test_camunda_8_links_a_form_by_the_id_it_holds_whatever_its_file_is_called(tmp_path):
    (tmp_path / "start.form").write_text('{"id": "StartForm", "components": []}', encoding="utf-8")
    (tmp_path / "again.form").write_text('{"id": "StartForm", "components": []}', encoding="utf-8")  # second: left out
    (tmp_path / "broken.form").write_text("{not json", encoding="utf-8")
    (tmp_path / "no-id.form").write_text('{"components": []}', encoding="utf-8")
    assert by_id(tmp_path) == {"StartForm": tmp_path / "again.form"}  # the first by name


def test_two_components_of_one_key_and_documents_that_are_no_camunda_form():
    with pytest.raises(FormNotConverted, match="two components set 'a'"):
        schema_of({"components": [{"key": "a", "type": "textfield"}, {"key": "a", "type": "number"}]})
    with pytest.raises(FormNotConverted, match="not valid JSON"):
        read("{components")
    with pytest.raises(FormNotConverted, match="no list of components"):
        read('{"type": "object", "properties": {}}')


def test_a_hostile_document_is_refused_not_a_traceback():
    deep_json = '{"components": ' + "[" * 100000 + "]" * 100000 + "}"
    with pytest.raises(FormNotConverted, match="nests deeper"):
        read(deep_json)
    group: dict = {"type": "group", "components": []}
    document = {"components": [group]}
    for _ in range(5000):
        inner: dict = {"type": "group", "components": []}
        group["components"].append(inner)
        group = inner
    with pytest.raises(FormNotConverted, match="nest deeper"):
        schema_of(document)


@pytest.mark.parametrize("component", [
    {"key": "k", "type": "select", "values": True}, {"key": "k", "type": "checklist", "values": 1.5},
    {"type": "dynamiclist", "path": "rows", "components": 1.5}, {"type": "group", "components": 7}])
def test_a_component_whose_parts_are_of_the_wrong_kind_is_refused_not_a_traceback(component):
    """Found by feeding schema_of random components: `values: true` raised TypeError out of validate."""
    with pytest.raises(FormNotConverted):
        schema_of({"components": [component]})


def test_a_components_text_in_chinese_beside_form_js_own_is_the_fields_text_in_chinese():
    """A Camunda form's labels are one language: the deploy check warned "field 'creditor' has no label in zh
    (title@zh)" with nothing in a `.form` file to write it in. `label@zh` beside form-js's `label` (which Camunda's
    tools keep and ignore) is that label, as the inbox's forms hold it; a value without one keeps its label."""
    schema, _notes = schema_of({"components": [
        {"key": "creditor", "type": "textfield", "label": "Creditor", "label@zh": "债权人",
         "description": "Who is paid", "description@zh": "收款方"},
        {"key": "decision", "type": "radio", "label": "Decision", "label@zh": "决定",
         "values": [{"label": "Approve", "label@zh": "同意", "value": "yes"}, {"label": "Reject", "value": "no"}]},
        {"key": "checks", "type": "checklist", "label": "Checks", "values": [{"label": "Invoice", "label@zh": "发票",
                                                                               "value": "invoice"}]},
        {"key": "amount", "type": "number", "label": "Amount", "label@zh": ""},
    ]})
    fields = schema["properties"]
    assert (fields["creditor"]["title@zh"], fields["creditor"]["description@zh"]) == ("债权人", "收款方")
    assert fields["decision"]["title@zh"] == "决定" and fields["decision"]["enumNames@zh"] == ["同意", "Reject"]
    assert fields["checks"]["items"]["enumNames@zh"] == ["发票"] and "title@zh" not in fields["checks"]
    assert "title@zh" not in fields["amount"]  # an empty text is no label
