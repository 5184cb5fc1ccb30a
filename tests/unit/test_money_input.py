"""Money typed into a form: the usual ways of writing an amount are read, typos are refused with a
sentence that shows the format, in both languages."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import Babel

from app.web.money_input import money_format_error, money_format_hint, parse_money

TRANSLATIONS = Path(__file__).resolve().parents[2] / "app" / "translations"


@pytest.mark.parametrize(("text", "amount"), [
    ("1,000,000.00", Decimal("1000000.00")),
    ("1000000", Decimal("1000000")),
    (" 1,234.5 ", Decimal("1234.5")),
    ("¥1,000,000.00", Decimal("1000000.00")),
    ("￥１，０００．５０", Decimal("1000.50")),  # full-width, as a Chinese input method types it
    ("0.01", Decimal("0.01")),
    ("-250.00", Decimal("-250.00")),  # the form's schema says whether a negative amount is allowed
    ("999,999,999,999,999.99", Decimal("999999999999999.99")),
])
def test_amounts_written_the_usual_ways_are_read(text, amount):
    assert parse_money(text) == amount


@pytest.mark.parametrize("text", [
    "abc", "1,00", "1,0000", ",100", "100,", "1.234", "1.", ".5", "1 000", "1e6", "NaN", "Infinity",
    "--1", "1,000.00.00", "1000000000000000", "٣٠٠",  # Arabic-Indic digits are not an amount here
])
def test_typos_and_other_numbers_are_refused_with_the_format(text):
    with pytest.raises(ValueError, match="1,000,000.00"):
        parse_money(text)


@pytest.mark.parametrize("text", ["", "   ", "\u3000"])
def test_nothing_written_is_asked_for_not_told_its_format(text):
    """An empty amount said "write the amount like 1,000,000.00": the reader had written nothing."""
    with pytest.raises(ValueError, match="^Enter the amount.$"):
        parse_money(text)


@pytest.mark.parametrize(("locale", "hint", "error"), [
    ("zh", "以元为单位", "请按 1,000,000.00 的格式"),
    ("en", "Amount in yuan", "Write the amount like 1,000,000.00"),
])
def test_the_hint_and_the_refusal_are_in_the_readers_language(locale, hint, error):
    app = Flask(__name__)
    Babel(app, default_translation_directories=str(TRANSLATIONS), locale_selector=lambda: locale)
    with app.test_request_context("/"):
        assert hint in money_format_hint() and "1,000,000.00" in money_format_hint()
        assert error in money_format_error()
        with pytest.raises(ValueError, match=error):
            parse_money("1,00")
