"""A form's writeOnly fields go to the diagram but are never kept with the task or its history."""
from app.services.workflow.tasks import kept_answers

SCHEMA = {"type": "object", "properties": {
    "payee_account": {"type": "string", "title": "Account number"},
    "code": {"type": "string", "title": "Verification code", "writeOnly": True}}}


def test_a_write_only_field_is_not_kept():
    assert kept_answers(SCHEMA, {"payee_account": "6222 0210", "code": "123456"}) == {"payee_account": "6222 0210"}


def test_without_marks_everything_is_kept():
    plain = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert kept_answers(plain, {"a": "x"}) == {"a": "x"}
    assert kept_answers(None, {"a": "x"}) == {"a": "x"}
