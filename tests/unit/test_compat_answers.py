"""What `processes compat` answers a text field that has a `pattern` with (a Camunda Forms `validate.pattern`,
say): a string the pattern accepts, another alternative on the next visit, and nothing invented for a
pattern it cannot read (the field then gets its plain answer, and the form's check says why it failed)."""
from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from app.services.workflow.compat_answers import form_data, matching


@pytest.mark.parametrize("pattern", [
    "^[0-9]+$", "^C-[0-9]+$", "(true|false)", r"[a-z]{3}-\d{2}", r"\w+@\w+\.com", "^(?:yes|no)$", "a*b?c+",
    r"^\s\S$",
])
def test_the_answer_matches_the_pattern_on_every_visit(pattern):
    for visit in range(3):
        answer = matching(pattern, visit)
        assert answer is not None and re.search(pattern, answer), (pattern, visit, answer)


def test_alternatives_change_from_one_visit_to_the_next():
    assert [matching("(true|false)", visit) for visit in range(3)] == ["true", "false", "true"]


@pytest.mark.parametrize("pattern", ["^(?!x).*$", "[^a-z]+", r"(a)\1", "(unclosed", "a{1000000000}"])
def test_a_pattern_it_cannot_answer_gives_none(pattern):
    assert matching(pattern) is None


def test_a_form_field_with_a_pattern_gets_a_matching_answer_and_a_hint_only_when_it_matches():
    schema = {"type": "object", "properties": {"invoice": {"type": "string", "pattern": "^C-[0-9]+$"}}}
    assert form_data(schema) == {"invoice": "C-0"}
    assert form_data(schema, 1, {"invoice": ["Yes"]}) == {"invoice": "C-0"}  # "Yes" does not match
    assert form_data(schema, 1, {"invoice": ["C-42"]}) == {"invoice": "C-42"}


def test_a_field_its_ui_schema_shows_as_a_date_or_date_time_picker_gets_what_the_picker_posts():
    """hours.bpmn's form has text fields its UI schema shows as date-time pickers, and a script that
    reads them with datetime.fromisoformat: a text answer ('x') made the script fail."""
    schema = {"type": "object", "properties": {"start": {"type": "string"}, "day": {"type": "string"},
                                               "note": {"type": "string"},
                                               "line": {"type": "object", "properties": {"at": {"type": "string"}}}}}
    ui = {"start": {"ui:widget": "datetime"}, "day": {"ui:widget": "date"}, "line": {"at": {"ui:widget": "date-time"}}}
    data = form_data(schema, ui=ui)
    assert datetime.fromisoformat(data["start"]) and datetime.fromisoformat(data["line"]["at"])
    assert date.fromisoformat(data["day"])
    assert data["note"] == "x"
    assert form_data(schema) == {"start": "x", "day": "x", "note": "x", "line": {"at": "x"}}  # without the UI schema


def test_a_list_of_choices_a_time_and_files_get_what_their_fields_post():
    """A Camunda form's checklist, time picker and file picker (lists since the twelfth session)."""
    schema = {"type": "object", "required": ["checks"], "properties": {
        "checks": {"type": "array", "uniqueItems": True, "minItems": 1, "items": {"type": "string", "enum": ["a", "b"]}},
        "at": {"type": "string", "format": "time"},
        "scans": {"type": "array", "items": {"type": "string", "format": "data-url"}}}}
    assert form_data(schema) == {"checks": ["a"], "at": "09:00", "scans": []}
