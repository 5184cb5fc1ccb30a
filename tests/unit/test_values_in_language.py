"""A value a diagram keeps in both languages is shown in the reader's (task_view.in_language)."""
from app.services.workflow.task_view import in_language

DATA = {"verification_failure": "验证码错误 / Wrong verification code", "verification_failure_en": "Wrong verification code",
        "verification_failure_zh": "验证码错误", "amount": "1000.00", "amount_zh": ""}


def test_the_twin_of_the_readers_language_is_shown():
    assert in_language(DATA, "verification_failure", "zh") == "验证码错误"
    assert in_language(DATA, "verification_failure", "en") == "Wrong verification code"


def test_a_value_without_a_twin_or_with_an_empty_one_is_shown_as_it_is():
    assert in_language(DATA, "amount", "en") == "1000.00"
    assert in_language(DATA, "amount", "zh") == "1000.00"
