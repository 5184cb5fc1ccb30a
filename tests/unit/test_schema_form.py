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
