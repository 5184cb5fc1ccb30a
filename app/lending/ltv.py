"""A pledge's loan-to-value and its zone: pure, on Decimal.

LTV = outstanding principal / (quantity × price), rounded UP to 4 places (0.0001), so the ratio shown
is never below the true one and a ratio a hair above a line is at or above it. The zone is decided on
that rounded LTV (what a person reads is what decided): at or above a line is in its zone.

Zones, in rising order: `normal` (below the warning line), `warning`, `margin_call`, `liquidation`.
`entered(before, after)` is the zone a revaluation crossed into (None when it stayed or got better),
so the same line crossed again without leaving its zone is not a new crossing.
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_CEILING, Decimal

PLACES = Decimal("0.0001")
ZONES = ("normal", "warning", "margin_call", "liquidation")  # in rising order
LINES = ("warning", "margin_call", "liquidation")  # the line that opens each zone above normal


def loan_to_value(principal: Decimal, quantity: Decimal, price: Decimal) -> Decimal:
    """Outstanding principal over the goods' value, rounded up to 4 places."""
    if principal < 0 or quantity <= 0 or price <= 0:
        raise ValueError("principal must be >= 0, quantity and price > 0")
    return (principal / (quantity * price)).quantize(PLACES, rounding=ROUND_CEILING)


def zone_of(ltv: Decimal, lines: Mapping[str, Decimal]) -> str:
    """The zone of `ltv` under the product's lines (`warning` < `margin_call` < `liquidation`)."""
    zone = ZONES[0]
    for line in LINES:
        if ltv >= lines[line]:
            zone = line
    return zone


def entered(before: str | None, after: str) -> str | None:
    """The zone crossed into (worse than `before`; None, a first valuation, counts as normal)."""
    return after if ZONES.index(after) > ZONES.index(before or ZONES[0]) else None
