"""How much may be lent against collateral, and what an approval is lowered to: pure, in cents.

`collateral_cap` is the collateral's value times the product's ratio (an order's advance ratio, a
pledge's lending loan-to-value line), rounded down to the cent: never a cent above the ratio.
`approved_within` is the reviewers' amount lowered to the tightest of the limits (what was asked,
the cap, the product's maximum), with the name of the limit that lowered it.
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_DOWN, Decimal

CENT = Decimal("0.01")


def collateral_cap(value: Decimal, ratio: Decimal) -> Decimal:
    if value < 0 or not Decimal(0) < ratio <= Decimal(1):
        raise ValueError("value must be >= 0 and ratio in (0, 1]")
    return (value * ratio).quantize(CENT, rounding=ROUND_DOWN)


def approved_within(wanted: Decimal, limits: Iterable[tuple[Decimal, str]]) -> tuple[Decimal, str | None]:
    """(the amount, the name of the limit that lowered it or None); the first of equal limits wins."""
    approved, because = wanted, None
    for limit, name in limits:
        if limit < approved:
            approved, because = limit, name
    return approved, because
