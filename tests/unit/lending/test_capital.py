"""Amounts in capitals: the central bank's examples, and every amount read back to itself."""
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.lending.capital import DIGITS, in_capitals

# 《支付结算办法》's examples and the cases its rules name.
EXAMPLES = [
    ("1409.50", "壹仟肆佰零玖元伍角整"), ("6007.14", "陆仟零柒元壹角肆分"), ("1680.32", "壹仟陆佰捌拾元叁角贰分"),
    ("107000.53", "壹拾万柒仟元伍角叁分"), ("325.04", "叁佰贰拾伍元零肆分"), ("1000000", "壹佰万元整"),
    ("100010000", "壹亿零壹万元整"), ("10010", "壹万零壹拾元整"), ("0.50", "伍角整"), ("0.05", "伍分"),
    ("0", "零元整"), ("15", "壹拾伍元整"), ("100000000000", "壹仟亿元整"), ("1000000000000", "壹万亿元整"),
    ("9999999999999.99", "玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ("20000300", "贰仟万零叁佰元整"), ("1000001", "壹佰万零壹元整"), ("101.10", "壹佰零壹元壹角整"),
]


@pytest.mark.parametrize("amount, written", EXAMPLES)
def test_the_rules_examples(amount, written):
    assert in_capitals(Decimal(amount)) == written


@pytest.mark.parametrize("amount", ["-1", "0.001", "10000000000000"])
def test_no_negative_no_fraction_of_a_cent_nothing_too_large(amount):
    with pytest.raises(ValueError):
        in_capitals(Decimal(amount))


def _small(text: str) -> int:
    places = {"拾": 10, "佰": 100, "仟": 1000}
    total = digit = 0
    for char in text.replace("零", ""):
        if char in places:
            total, digit = total + digit * places[char], 0
        else:
            digit = DIGITS.index(char)
    return total + digit


def _split(text: str, unit: str, small, scale: int) -> int:
    high, found, low = text.partition(unit)
    return small(high) * scale + small(low) if found else small(text)


def _read(written: str) -> Decimal:
    """An independent reader of capitals (the oracle): 亿 splits, then 万, then digits and places."""
    text = written.removesuffix("整")
    yuan, found, rest = text.partition("元")
    if not found:
        yuan, rest = "", text

    def below_yi(part: str) -> int:
        return _split(part, "万", _small, 10_000)

    total = _split(yuan, "亿", below_yi, 10**8)
    rest = rest.removeprefix("零")
    cents = 0
    if "角" in rest:
        cents += DIGITS.index(rest[rest.index("角") - 1]) * 10
    if "分" in rest:
        cents += DIGITS.index(rest[rest.index("分") - 1])
    return Decimal(total) + Decimal(cents) / 100


@given(st.integers(min_value=0, max_value=10**15 - 1))  # every amount in cents below MAX_AMOUNT
def test_every_amount_reads_back_to_itself(cents):
    amount = Decimal(cents) / 100
    written = in_capitals(amount)
    assert _read(written) == amount, written
    assert "零零" not in written and not written.startswith("零") or amount == 0
    assert written.endswith("分") != written.endswith("整")  # 分 or 整, never both, never neither
