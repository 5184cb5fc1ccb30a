"""Money arithmetic: two-decimal amounts, the product's rounding mode, instalment multiples, exact rates."""
from __future__ import annotations

import decimal
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from enum import StrEnum

from app.lending.errors import TermsError

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
# Amounts stay below ten trillion (at most 9999999999999.99: 15 significant digits). PostgreSQL's
# NUMERIC(18, 2) holds more, but SQLite keeps NUMERIC as an 8-byte double, which holds every
# decimal of at most 15 significant digits exactly (DBL_DIG) and no more: 999999999999999.99
# would come back as 1000000000000000.00. Below this bound an amount reads back as written on
# both databases, and the sums the ledger takes in SQL are exact (`app.services.ledger.journal.cents_sum`).
MAX_AMOUNT = Decimal(10) ** 13
MAX_AMOUNT_TEXT = "9999999999999.99"
# Numbers as text: ASCII digits, an optional minus sign, a point, and (not for amounts) an exponent.
# No other digits ("٣", "１"), no signs or spaces around, no newline after: `fullmatch`, never `$`.
DECIMAL_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?", re.ASCII)
AMOUNT_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)
MAX_NUMBER_TEXT = 64  # characters: a longer "number" is refused before Decimal reads it
MAX_EXPONENT = 100  # a number from outside is between 1e-100 and 1e100 (or zero)

# Intermediate rates keep at least 12 significant digits (reference/README.md); 34 is ample
# and independent of whatever context the caller's thread happens to have.
RATE_PRECISION = 34


class Rounding(StrEnum):
    """A product setting: how amounts are brought to cents (and to the instalment multiple)."""

    HALF_EVEN = "half_even"
    HALF_UP = "half_up"
    HALF_DOWN = "half_down"
    UP = "up"
    DOWN = "down"
    CEILING = "ceiling"
    FLOOR = "floor"

    @property
    def decimal_mode(self) -> str:
        return _MODES[self]


_MODES = {
    Rounding.HALF_EVEN: decimal.ROUND_HALF_EVEN,
    Rounding.HALF_UP: decimal.ROUND_HALF_UP,
    Rounding.HALF_DOWN: decimal.ROUND_HALF_DOWN,
    Rounding.UP: decimal.ROUND_UP,
    Rounding.DOWN: decimal.ROUND_DOWN,
    Rounding.CEILING: decimal.ROUND_CEILING,
    Rounding.FLOOR: decimal.ROUND_FLOOR,
}


@contextmanager
def exact() -> Iterator[decimal.Context]:
    """A decimal context for rate and annuity arithmetic, whatever the caller's context is."""
    with decimal.localcontext() as ctx:
        ctx.prec = RATE_PRECISION
        ctx.traps[decimal.Inexact] = False
        ctx.traps[decimal.Rounded] = False
        yield ctx


def to_cents(value: Decimal, rounding: Rounding = Rounding.HALF_EVEN) -> Decimal:
    """Round an amount to cents with the product's rounding mode."""
    with exact():
        return value.quantize(CENT, rounding=rounding.decimal_mode)


def round_to_multiple(value: Decimal, multiple: Decimal | None, rounding: Rounding) -> Decimal:
    """Round to a whole multiple of `multiple` (e.g. 1 yuan); to cents when there is no multiple."""
    if multiple is None:
        return to_cents(value, rounding)
    with exact():
        units = (value / multiple).quantize(Decimal(1), rounding=rounding.decimal_mode)
        return (units * multiple).quantize(CENT)


def parse_decimal(value: object, field: str) -> Decimal:
    """A Decimal from a string, int or Decimal as given in JSON or on the command line (never a float).

    A string is written with the ASCII digits 0-9, an optional leading minus, a point and an
    exponent, and nothing around it (`DECIMAL_TEXT`).
    """
    if isinstance(value, bool):
        raise TermsError(field, "must be a number")
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, int | Decimal):
        result = Decimal(value)
    elif isinstance(value, str):
        if len(value) > MAX_NUMBER_TEXT or not DECIMAL_TEXT.fullmatch(value):
            raise TermsError(field, "%(value)s is not a number written with the digits 0-9",
                             value=repr(value[:MAX_NUMBER_TEXT]))
        result = Decimal(value)
    else:
        raise TermsError(field, "must be a number")
    if not result.is_finite():
        raise TermsError(field, "must be a finite number")
    if result and abs(result.adjusted()) > MAX_EXPONENT:
        raise TermsError(field, "is out of range")
    return result


def parse_money(value: object, field: str) -> Decimal:
    """An amount with at most two decimals, below `MAX_AMOUNT`: as a string, only the ASCII digits,
    an optional leading minus and a point (no exponent, no spaces: `AMOUNT_TEXT`)."""
    if isinstance(value, str) and not (len(value) <= MAX_NUMBER_TEXT and AMOUNT_TEXT.fullmatch(value)):
        raise TermsError(field, "must be an amount written with the digits 0-9 and at most two decimals, "
                                "such as 1066.19")
    amount = parse_decimal(value, field)
    if abs(amount) >= MAX_AMOUNT:
        raise TermsError(field, "is too large (at most %(most)s)", most=MAX_AMOUNT_TEXT)
    if amount != amount.quantize(CENT, rounding=decimal.ROUND_DOWN):
        raise TermsError(field, "has more than two decimals")
    return amount.quantize(CENT) if amount else ZERO  # "-0" is 0.00, as a database gives it back


def percent_of(amount: Decimal, percent: Decimal, rounding: Rounding) -> Decimal:
    """`percent` % of an amount, in cents."""
    with exact():
        return to_cents(amount * percent / HUNDRED, rounding)


def split_with_fee(available: Decimal, limit: Decimal, fee_percent: Decimal,
                   rounding: Rounding) -> tuple[Decimal, Decimal]:
    """The largest principal p ≤ limit with p + fee(p) ≤ available, and that fee.

    fee(p) = p × fee_percent / 100 in cents. Used for prepayments that carry an early-repayment fee.
    """
    def fee(p: Decimal) -> Decimal:
        return percent_of(p, fee_percent, rounding)

    if available <= 0 or limit <= 0:
        return ZERO, ZERO
    if limit + fee(limit) <= available:
        return limit, fee(limit)
    with exact():
        p = min(limit, (available / (1 + fee_percent / HUNDRED)).quantize(CENT, rounding=decimal.ROUND_DOWN))
    while p > 0 and p + fee(p) > available:
        p -= CENT
    while p + CENT <= limit and p + CENT + fee(p + CENT) <= available:
        p += CENT
    return p, fee(p)
