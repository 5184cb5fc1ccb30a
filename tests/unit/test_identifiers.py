"""Resident ID numbers (ISO 7064 MOD 11-2) and unified social credit codes (GB 32100-2015)."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.identifiers import (
    CREDIT_ALPHABET,
    make_credit_code,
    make_id_number,
    valid_credit_code,
    valid_id_number,
)

DIGITS = "0123456789"

id_bodies = st.builds(lambda region, born, seq: f"{region:06d}{born:%Y%m%d}{seq:03d}",
                      st.integers(110000, 659999), st.dates(date(1900, 1, 1), date(2099, 12, 31)),
                      st.integers(0, 999))
credit_bodies = st.text(alphabet=CREDIT_ALPHABET, min_size=17, max_size=17)


def _changed(value: str, index: int, char: str) -> str:
    return value[:index] + char + value[index + 1:]


# Published examples: the standard's sample ID number and a code printed on a business licence.
@pytest.mark.parametrize("value", ["11010519491231002X", "11010519491231002x", "110101199003074477"])
def test_known_id_numbers_are_valid(value):
    assert valid_id_number(value)


@pytest.mark.parametrize("value", ["91350100M000100Y43", "91110000600037341L", "91110000600037341l"])
def test_known_credit_codes_are_valid(value):
    assert valid_credit_code(value)


@pytest.mark.parametrize("value", [
    "110105194912310021",   # wrong check digit
    "11010519491231002",    # 17 characters
    "11010519491231002XX",  # 19 characters
    "1101051949123100 X",   # a space
    "11010519490231002X",   # no 31 February (whatever the check character, below)
    "１１０１０５１９４９１２３１００２X",  # full-width digits
    "",
])
def test_malformed_id_numbers_are_invalid(value):
    assert not valid_id_number(value)


def test_a_body_without_a_real_birth_date_has_no_valid_check_character():
    body = "110105" + "19490231" + "002"
    assert not any(valid_id_number(body + check) for check in DIGITS + "X")
    with pytest.raises(ValueError):
        make_id_number(body)
    with pytest.raises(ValueError):
        make_id_number("110105" + "18991231" + "002")


@pytest.mark.parametrize("value", [
    "91350100M000100Y44",   # wrong check character
    "91350100M000100Y4",    # 17 characters
    "91350100I000100Y43",   # I is not in the code's alphabet
    "91350100O000100Y43",   # nor O
    "9135010 M000100Y43",
    "",
])
def test_malformed_credit_codes_are_invalid(value):
    assert not valid_credit_code(value)


@pytest.mark.parametrize("body", ["1234567890123456", "12345678901234567a", "ABCDEFGHIJKLMNOPQ", "ß" * 17])
def test_make_credit_code_refuses_a_body_outside_the_alphabet(body):
    with pytest.raises(ValueError):
        make_credit_code(body)


def test_make_credit_code_upper_cases_the_body():
    assert make_credit_code("91350100m000100y4") == "91350100M000100Y43"


@given(id_bodies)
def test_make_id_number_is_always_valid(body):
    number = make_id_number(body)
    assert number[:17] == body and valid_id_number(number)


@given(credit_bodies)
def test_make_credit_code_is_always_valid(body):
    code = make_credit_code(body)
    assert code[:17] == body and valid_credit_code(code)


@given(id_bodies, st.integers(0, 17), st.sampled_from(DIGITS + "X"))
def test_any_one_changed_character_of_an_id_number_is_caught(body, index, char):
    number = make_id_number(body)
    changed = _changed(number, index, char)
    if changed.upper() != number.upper():
        assert not valid_id_number(changed)


@given(credit_bodies, st.integers(0, 17), st.sampled_from(CREDIT_ALPHABET))
def test_any_one_changed_character_of_a_credit_code_is_caught(body, index, char):
    code = make_credit_code(body)
    changed = _changed(code, index, char)
    if changed != code:
        assert not valid_credit_code(changed)
