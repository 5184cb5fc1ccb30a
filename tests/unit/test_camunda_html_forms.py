"""Camunda 7's embedded HTML task forms read into the JSON Schema forms Loanflow shows (`camunda_html_forms`):
each declared variable becomes a field of its type with its rules, and what the inbox cannot ask for refuses
the form naming the variable."""
from __future__ import annotations

import pytest

from app.engine.camunda_forms import FormNotConverted
from app.engine.camunda_html_forms import schema_of

APPROVE = """
<form role="form" name="approve">
  <p>Check the invoice against the order.</p>
  <label for="amount">Amount</label>
  <input id="amount" type="text" cam-variable-name="amount" cam-variable-type="Double" min="0" required readonly>
  <label for="creditor">Creditor</label>
  <input id="creditor" cam-variable-name="creditor" cam-variable-type="String" maxlength="60" pattern="[A-Z].*">
  <label for="count">Items</label>
  <input id="count" type="number" cam-variable-name="count" cam-variable-type="Long" min="1" max="99">
  <input type="checkbox" cam-variable-name="approved" cam-variable-type="Boolean">
  <select cam-variable-name="decision" cam-variable-type="String" required>
    <option value="approve">Approve it</option><option value="reject">Reject it</option>
  </select>
  <select cam-variable-name="approver" cam-variable-type="String" cam-choices="approvers"></select>
  <input type="radio" id="r1" cam-variable-name="route" cam-variable-type="String" value="fast">
  <label for="r1">Fast</label>
  <input type="radio" id="r2" cam-variable-name="route" cam-variable-type="String" value="slow">
  <label for="r2">Slow</label>
  <textarea cam-variable-name="comment" cam-variable-type="String" placeholder="Why"></textarea>
  <input type="text" name="not_a_variable">
  <script cam-script type="text/form-script">camForm.on('submit', function() {});</script>
</form>"""


def test_each_declared_variable_becomes_a_field_of_its_type_with_its_rules():
    schema, notes = schema_of(APPROVE, "Approve the invoice")
    assert schema["title"] == "Approve the invoice"
    fields = schema["properties"]
    assert list(fields) == ["amount", "creditor", "count", "approved", "decision", "approver", "route", "comment"]
    assert fields["amount"] == {"type": "number", "minimum": 0, "title": "Amount", "readOnly": True}
    assert fields["creditor"] == {"type": "string", "maxLength": 60, "pattern": "[A-Z].*", "title": "Creditor"}
    assert fields["count"] == {"type": "integer", "minimum": 1, "maximum": 99, "title": "Items"}
    assert fields["approved"] == {"type": "boolean", "title": "approved"}
    assert fields["decision"] == {"type": "string", "enum": ["approve", "reject"],
                                  "enumNames": ["Approve it", "Reject it"], "title": "decision"}
    assert fields["approver"]["anyOf"] == ["options_from_task_data_var:approvers"]
    assert fields["route"] == {"type": "string", "enum": ["fast", "slow"], "enumNames": ["Fast", "Slow"],
                               "title": "route"}
    assert fields["comment"] == {"type": "string", "title": "Why"}
    assert schema["required"] == ["amount", "decision"]
    assert [str(n) for n in notes] == ["its script (cam-script) is not run"]


def test_a_form_without_scripts_has_no_notes_and_one_without_fields_asks_nothing():
    assert schema_of('<input cam-variable-name="x" cam-variable-type="String">') == (
        {"type": "object", "properties": {"x": {"type": "string", "title": "x"}}}, [])
    assert schema_of("<p>Nothing to fill.</p>") == ({"type": "object", "properties": {}}, [])


@pytest.mark.parametrize(("html", "said"), [
    ('<input cam-variable-name="due" cam-variable-type="Date">', "'due' sets a value of type Date"),
    ('<input cam-variable-name="doc" cam-variable-type="Json">', "'doc' sets a value of type Json"),
    ('<input cam-variable-name="f" type="file">', "'f' is an input of type 'file'"),
    ('<input cam-variable-name="n" cam-variable-type="Long" min="many">', "'n' has min='many', which is not a number"),
])
def test_what_the_inbox_cannot_ask_for_refuses_the_form_naming_the_variable(html, said):
    with pytest.raises(FormNotConverted) as refused:
        schema_of(html + '<input cam-variable-name="ok" cam-variable-type="String">')
    assert said in str(refused.value)


def test_every_refusal_is_said_at_once():
    with pytest.raises(FormNotConverted) as refused:
        schema_of('<input cam-variable-name="a" cam-variable-type="Date"><input cam-variable-name="b" type="file">')
    assert "'a' sets a value of type Date" in str(refused.value) and "'b' is an input of type 'file'" in str(refused.value)


def test_the_html_is_read_without_fetching_or_expanding_anything():
    hostile = ('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><label for="a">&e;</label>'
               '<input id="a" cam-variable-name="a" cam-variable-type="String">')
    schema, _ = schema_of(hostile)
    assert "root:" not in schema["properties"]["a"]["title"]
