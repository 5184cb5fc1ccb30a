"""Origination's service-task operators: calculations a deal's diagrams ask the platform for."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from app.services.workflow.operators import HandlerContext, HandlerRegistry


def financing_limit(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    """The most a funder lends against a receivable: order value x advance ratio, to the cent."""
    try:
        value = Decimal(str(params["order_value"]))
        ratio = Decimal(str(params["advance_ratio"]))
    except (KeyError, InvalidOperation) as exc:
        raise ValueError(f"order_value and advance_ratio must be decimal numbers: {exc}") from None
    if value < 0 or not (Decimal(0) <= ratio <= Decimal(1)):
        raise ValueError("order_value must be >= 0 and advance_ratio between 0 and 1")
    return {"limit": str((value * ratio).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))}


def register(registry: HandlerRegistry) -> None:
    registry.register("platform.financing_limit")(financing_limit)
