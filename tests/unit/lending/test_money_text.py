"""Amounts and numbers as text: the ASCII digits 0-9 only, nothing around them, at most two decimals and
at most 9999999999999.99 for amounts — the same on every path (the lending parsers, the API's field)."""
from __future__ import annotations

import unicodedata
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError

from app.lending.errors import TermsError
from app.lending.money import MAX_AMOUNT, parse_decimal, parse_money
from app.schemas.loans import Money

ACCEPTED = st.from_regex(r"-?[0-9]{1,13}(\.[0-9]{1,2})?", fullmatch=True)
OTHER_DIGITS = st.characters(categories=["Nd"]).filter(lambda c: not "0" <= c <= "9")


class AmountSchema(Schema):
    amount = Money(required=True)


@given(ACCEPTED)
@example("9999999999999.99")
@example("-9999999999999.99")
@example("0000000000001.5")
def test_every_amount_written_in_ascii_digits_is_read_as_written(text: str) -> None:
    amount = parse_money(text, "amount")
    assert amount == Decimal(text) and amount.as_tuple().exponent == -2
    assert abs(amount) < MAX_AMOUNT
    if amount > 0:
        assert AmountSchema().load({"amount": text}) == {"amount": amount}


@given(st.text(st.sampled_from("0123456789.-"), max_size=6), OTHER_DIGITS, st.text(st.sampled_from("0123456789."),
                                                                                 max_size=6))
@example("", "٣", ".٠٠")
@example("", "１", ".00")
@example("1", "߁", "")
def test_a_digit_other_than_0_to_9_is_never_a_number(before: str, digit: str, after: str) -> None:
    assert unicodedata.category(digit) == "Nd" and Decimal(digit) >= 0  # Python's Decimal would read it
    text = before + digit + after
    with pytest.raises(TermsError, match="digits 0-9"):
        parse_money(text, "amount")
    with pytest.raises(TermsError, match="digits 0-9"):
        parse_decimal(text, "rate")
    with pytest.raises(ValidationError) as refused:
        AmountSchema().load({"amount": text})
    assert "amount" in refused.value.messages


@pytest.mark.parametrize("text", [
    "1.00\n", "\n1.00", " 1.00", "1.00 ", "1.00\t", "\u00a01.00", "+1.00", "1_000.00", "1,000.00", "1e3", "1E3",
    ".5", "5.", "", "-", "NaN", "Infinity", "0x10", "1.0.0", "1.00\x00", "1" * 65,
])
def test_amounts_with_anything_but_digits_a_point_and_a_leading_minus_are_refused(text: str) -> None:
    with pytest.raises(TermsError) as refused:
        parse_money(text, "amount")
    assert refused.value.field == "amount"
    with pytest.raises(ValidationError):
        AmountSchema().load({"amount": text})


@pytest.mark.parametrize(("text", "message"), [
    ("10000000000000.00", "is too large (at most 9999999999999.99)"),
    ("999999999999999.99", "is too large (at most 9999999999999.99)"),  # SQLite would store 1e15
    ("-10000000000000", "is too large"),
    ("10.001", "has more than two decimals"),
    ("0.005", "has more than two decimals"),
])
def test_amounts_beyond_what_both_databases_hold_exactly_are_refused(text: str, message: str) -> None:
    with pytest.raises(TermsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_money(text, "amount")


def test_numbers_and_amounts_from_json_and_code_keep_working() -> None:
    assert parse_money(Decimal("1E+3"), "a") == Decimal("1000.00")  # a JSON number read as Decimal
    assert parse_money(12, "a") == Decimal("12.00")
    assert parse_decimal("1.5e-3", "rate") == Decimal("0.0015")
    assert parse_decimal("-12", "rate") == Decimal(-12)
    assert parse_decimal(Decimal("0E-7"), "rate") == 0
    for bad in (True, None, [], "1e101", 10 ** 200):
        with pytest.raises(TermsError):
            parse_decimal(bad, "rate")
