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
    ('<input cam-variable-name="doc" cam-variable-type="Json">', "'doc' sets a value of type Json"),
    ('<input cam-variable-name="f" type="file" cam-variable-type="File" accept=".doc">',
     "'f' takes only files Loanflow does not keep (.doc)"),
    ('<input cam-variable-name="pw" type="password">', "'pw' is an input of type 'password'"),
    ('<input cam-variable-name="n" cam-variable-type="Long" min="many">', "'n' has min='many', which is not a number"),
])
def test_what_the_inbox_cannot_ask_for_refuses_the_form_naming_the_variable(html, said):
    with pytest.raises(FormNotConverted) as refused:
        schema_of(html + '<input cam-variable-name="ok" cam-variable-type="String">')
    assert said in str(refused.value)


def test_every_refusal_is_said_at_once():
    with pytest.raises(FormNotConverted) as refused:
        schema_of('<input cam-variable-name="a" cam-variable-type="Json"><input cam-variable-name="b" type="password">')
    assert "'a' sets a value of type Json" in str(refused.value) and "'b' is an input of type 'password'" in str(refused.value)


def test_a_file_and_a_date_are_an_upload_and_a_date_and_time_picker():
    """Camunda's own invoice example starts with a file (`cam-variable-type="File"`) and a date: refused before."""
    schema, notes = schema_of(
        '<label for="doc">Invoice document</label>'
        '<input id="doc" type="file" cam-variable-name="invoiceDocument" cam-variable-type="File" '
        'cam-max-filesize="10000000" accept="application/pdf,.png,.doc" required>'
        '<input cam-variable-name="due" cam-variable-type="Date">')
    assert schema["properties"] == {
        "invoiceDocument": {"type": "string", "format": "data-url", "accept": ["application/pdf", "image/png"],
                            "title": "Invoice document"},
        "due": {"type": "string", "format": "date-time", "title": "due"}}
    assert schema["required"] == ["invoiceDocument"]
    assert any("'invoiceDocument'" in n and ".doc" in n for n in notes)  # the type Loanflow does not keep
    assert any("'invoiceDocument'" in n and "document:<id>" in n for n in notes)
    assert any("'due'" in n and "not as a Date" in n for n in notes)


def test_the_html_is_read_without_fetching_or_expanding_anything():
    hostile = ('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><label for="a">&e;</label>'
               '<input id="a" cam-variable-name="a" cam-variable-type="String">')
    schema, _ = schema_of(hostile)
    assert "root:" not in schema["properties"]["a"]["title"]
