"""Reading posted HTML fields as data typed by the form's JSON Schema."""
from __future__ import annotations

from decimal import Decimal

import pytest
from werkzeug.datastructures import MultiDict

from app.web.schema_form import FormParseError, fields_of, parse_submission

SCHEMA = {"type": "object", "properties": {"rate": {"type": "number"}, "count": {"type": "integer"}}}


def _parse(**fields: str) -> dict:
    return parse_submission(SCHEMA, {}, MultiDict(fields), MultiDict(), store_file=None)


@pytest.mark.parametrize(("raw", "expected"), [("12.50", Decimal("12.50")), ("1,234.5", Decimal("1234.5")),
                                               ("-0.001", Decimal("-0.001")), ("3E+2", Decimal("3E+2"))])
def test_numbers_are_read_exactly(raw: str, expected: Decimal) -> None:
    assert _parse(rate=raw, count="7") == {"rate": expected, "count": 7}


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-inf", "sNaN", "1e999999", "abc", "1.2.3"])
def test_what_decimal_reads_but_no_form_means_is_not_a_number(raw: str) -> None:
    """Decimal reads NaN, Infinity and 1e999999; stored, they broke PostgreSQL's JSON columns or
    made int() of the value run for minutes."""
    with pytest.raises(FormParseError) as caught:
        _parse(rate=raw)
    assert caught.value.fields == {"rate": ["Must be a number."]}


def test_an_integer_field_takes_whole_numbers_only() -> None:
    with pytest.raises(FormParseError) as caught:
        _parse(count="1.5")
    assert caught.value.fields == {"count": ["Must be a whole number."]}


MONEY = ({"type": "object", "properties": {"limit": {"type": "string"}}}, {"limit": {"ui:widget": "money"}})


@pytest.mark.parametrize(("raw", "stored"), [("1,000,000.00", "1000000.00"), ("1000000", "1000000"),
                                             ("¥1,000.5", "1000.5")])
def test_a_money_field_takes_amounts_as_people_type_them(raw: str, stored: str) -> None:
    assert parse_submission(*MONEY, MultiDict({"limit": raw}), MultiDict(), store_file=None) == {"limit": stored}


@pytest.mark.parametrize("raw", ["1,00", "12.345", "1e6", "NaN"])
def test_a_money_field_refuses_what_is_not_an_amount_and_says_the_format(raw: str) -> None:
    with pytest.raises(FormParseError) as caught:
        parse_submission(*MONEY, MultiDict({"limit": raw}), MultiDict(), store_file=None)
    assert "1,000,000.00" in caught.value.fields["limit"][0]


@pytest.mark.parametrize(("schema", "ui"), [
    ({"type": "string", "format": "date-time"}, {}),
    ({"type": "string"}, {"ui:widget": "datetime"}),  # SpiffArena's UI schemas (hours.bpmn's entry_ui.json)
    ({"type": "string"}, {"ui:widget": "date-time"}),
])
def test_a_date_and_time_field_is_a_date_and_time_picker_and_keeps_what_it_posts(schema, ui) -> None:
    form = {"type": "object", "properties": {"started": schema}}
    (field,) = fields_of(form, {"started": ui}, {"started": "2026-01-05T09:00:00+08:00"})
    assert field.kind == "datetime"
    posted = parse_submission(form, {"started": ui}, MultiDict({"started": "2026-01-05T09:00"}), MultiDict(),
                              store_file=None)
    assert posted == {"started": "2026-01-05T09:00"}  # what a script's datetime.fromisoformat reads


def test_the_date_and_time_picker_shows_the_value_to_the_minute(app) -> None:
    form = {"type": "object", "properties": {"started": {"type": "string", "format": "date-time"}}}
    (field,) = fields_of(form, {}, {"started": "2026-01-05T09:00:00+08:00"})
    with app.test_request_context():
        html = app.jinja_env.from_string('{% from "_fields.html" import field_input %}{{ field_input(f, {}) }}'
                                         ).render(f=field)
    assert '<input id="f-started" type="datetime-local" name="started" value="2026-01-05T09:00">' in html


CHOICES = {"type": "object", "properties": {"checks": {
    "type": "array", "uniqueItems": True, "title": "Checks", "title@zh": "核查项",
    "items": {"type": "string", "enum": ["invoice", "contract", "7"], "enumNames": ["Invoice", "Contract", "Seven"],
              "enumNames@zh": ["发票", "合同", "七"]}}}}


def _render(app, field) -> str:
    with app.test_request_context():
        return app.jinja_env.from_string('{% from "_fields.html" import field_input %}{{ field_input(f, {}) }}'
                                         ).render(f=field)


def test_a_list_of_choices_is_a_group_of_checkboxes_in_the_readers_language(app) -> None:
    (field,) = fields_of(CHOICES, {}, {"checks": ["contract"]}, language="zh")
    assert (field.kind, field.label, field.options) == ("choices", "核查项",
                                                         [("invoice", "发票"), ("contract", "合同"), ("7", "七")])
    html = _render(app, field)
    assert html.count('type="checkbox" name="checks"') == 3
    assert '<input type="checkbox" name="checks" value="contract" checked> 合同' in html
    assert '<input type="checkbox" name="checks" value="invoice" >' in html  # not ticked
    (refilled,) = fields_of(CHOICES, {}, {"checks": "invoice"})  # a page posted back with one tick gives one text
    assert refilled.value == ["invoice"]


def test_every_choice_ticked_is_kept_in_the_forms_order_of_posting() -> None:
    posted = MultiDict([("checks", "contract"), ("checks", "invoice")])
    assert parse_submission(CHOICES, {}, posted, MultiDict(), store_file=None) == {"checks": ["contract", "invoice"]}
    assert parse_submission(CHOICES, {}, MultiDict(), MultiDict(), store_file=None) == {"checks": []}  # none ticked


FILES = {"type": "object", "properties": {
    "scans": {"type": "array", "items": {"type": "string", "format": "data-url"}},
    "one": {"type": "array", "maxItems": 1, "items": {"type": "string", "format": "data-url"}}}}


def test_a_field_of_several_files_keeps_each_as_an_upload_of_its_own(app) -> None:
    from io import BytesIO

    from werkzeug.datastructures import FileStorage
    kept = []

    def store(name, upload):
        kept.append((name, upload.filename))
        return "document:pending"

    files = MultiDict([("scans", FileStorage(BytesIO(b"a"), "a.pdf")), ("scans", FileStorage(BytesIO(b"b"), "b.pdf")),
                       ("scans", FileStorage(BytesIO(b""), ""))])  # a file input left empty posts no name
    assert parse_submission(FILES, {}, MultiDict(), files, store) == {
        "scans": ["document:pending", "document:pending"], "one": []}
    assert kept == [("scans.0", "a.pdf"), ("scans.1", "b.pdf")]
    several, one = fields_of(FILES, {}, {})
    assert (several.kind, several.multiple, one.kind, one.multiple) == ("files", True, "files", False)
    assert 'type="file" name="scans" multiple>' in _render(app, several)
    assert 'type="file" name="one">' in _render(app, one)


def test_a_time_field_is_a_time_picker(app) -> None:
    form = {"type": "object", "properties": {"at": {"type": "string", "format": "time"}}}
    (field,) = fields_of(form, {}, {"at": "14:30"})
    assert field.kind == "time" and 'type="time" name="at" value="14:30"' in _render(app, field)
    assert parse_submission(form, {}, MultiDict({"at": "14:30"}), MultiDict(), store_file=None) == {"at": "14:30"}


def test_a_fresh_form_starts_at_its_fields_defaults_and_an_answered_one_keeps_the_answers() -> None:
    """JSON Schema's `default` (a Camunda form field's defaultValue, the release form's "release") was not shown:
    the form started blank."""
    schema = {"type": "object", "properties": {
        "decision": {"type": "string", "enum": ["release", "stop"], "default": "release"},
        "copies": {"type": "integer", "default": 2}, "note": {"type": "string"}}}
    fresh = {f.name: f.value for f in fields_of(schema)}
    assert fresh == {"decision": "release", "copies": 2, "note": None}
    answered = {f.name: f.value for f in fields_of(schema, values={"decision": "stop", "note": "x"})}
    assert answered == {"decision": "stop", "copies": None, "note": "x"}
