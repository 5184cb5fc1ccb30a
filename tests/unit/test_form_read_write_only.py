"""A form's readOnly fields are shown but never taken from a submission; its writeOnly fields go to
the diagram but are never kept with the task or its history."""
from app.services.workflow.tasks import kept_answers, submitted_answers
from app.web.schema_form import fields_of

SCHEMA = {"type": "object", "properties": {
    "payee_name": {"type": "string", "title": "Account holder", "readOnly": True},
    "payee_account": {"type": "string", "title": "Account number"},
    "code": {"type": "string", "title": "Verification code", "writeOnly": True}}}


def test_a_read_only_field_is_dropped_from_what_is_submitted():
    submitted = {"payee_name": "Mallory Consulting", "payee_account": "6222 0210", "code": "123456"}
    assert submitted_answers(SCHEMA, submitted) == {"payee_account": "6222 0210", "code": "123456"}


def test_a_write_only_field_is_not_kept():
    assert kept_answers(SCHEMA, {"payee_account": "6222 0210", "code": "123456"}) == {"payee_account": "6222 0210"}


def test_without_marks_everything_is_taken_and_kept():
    plain = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert submitted_answers(plain, {"a": "x"}) == kept_answers(plain, {"a": "x"}) == {"a": "x"}
    assert submitted_answers(None, {"a": "x"}) == {"a": "x"}


def test_the_page_shows_a_read_only_field_as_such_with_its_value():
    fields = {f.name: f for f in fields_of(SCHEMA, {}, {"payee_name": "上海莲花贸易有限公司"}, "", "zh")}
    assert fields["payee_name"].readonly and fields["payee_name"].value == "上海莲花贸易有限公司"
    assert not fields["payee_account"].readonly
