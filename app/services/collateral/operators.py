"""Collateral's service-task operators (`processes/pledge_monitoring.bpmn`,
`processes/collateral_disposal.bpmn`, docs/collateral.md).

| operator | params | result |
|---|---|---|
| `collateral.margin_call` | `deadline_days` | the call: `margin_call_id`, `kind` (margin_call, liquidation: disposal asked already), `deadline` (ISO, business time zone), `deadline_text`, `application`, `goods`, `quantity`, `unit`, `ltv` |
| `collateral.top_up` | `quantity_added`, `notes` (the warehouse's task) | `answered`, `quantity`, `ltv`, `zone` |
| `collateral.deadline` | — | `answered` (else disposal asked), `ltv` |
| `collateral.liquidate` | — | `disposal` |
| `collateral.open_disposal` | `request` (the `disposal_requested` payload) | `disposal_id`, `reason`, `application`, `goods`, `quantity`, `unit`, `owed` |
| `collateral.appraised` | `appraised_value`, `report` | `appraised_value`, `report_document_id` |
| `collateral.channel` | `channel`, `disposer` | `channel` |
| `collateral.sold` | `buyer`, `price`, `costs`, `sold_on` | `net`, `shortfall`, `surplus`, `payment_id`, `loan_status` |
| `collateral.propose_write_off` | `reason` | `amount`, `proposed_by_id` |
| `collateral.decide_write_off` | `decision` (approve, refuse), `reason` | `approved`, `written_off` |
| `collateral.return_surplus` | — | `surplus` |
| `collateral.close_disposal` | — | `status`, `loan_status` |

Who acted is whoever completed the instance's user task named by the operator (the latest).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from app.services.collateral import disposal, monitoring
from app.services.workflow.operators import HandlerContext, HandlerRegistry


def _atomic(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`call()` in a savepoint: a failure leaves nothing half done when the task is parked for a retry."""
    with db.session.begin_nested():
        return call()


def _by(ctx: HandlerContext, element_id: str) -> int | None:
    if ctx.instance_id is None:
        return None
    return db.session.scalar(select(HumanTask.completed_by_id).where(
        HumanTask.instance_id == ctx.instance_id, HumanTask.element_id == element_id,
        HumanTask.state == "completed").order_by(HumanTask.completed_at.desc(), HumanTask.id.desc()).limit(1))


def margin_call(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    days = int(params.get("deadline_days") or monitoring.DEFAULT_DEADLINE_DAYS)
    return _atomic(lambda: monitoring.open_margin_call(ctx.business_key, days))


def top_up(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return _atomic(lambda: monitoring.top_up(ctx.business_key, params.get("quantity_added"),
                                             _by(ctx, "confirm_top_up"), params.get("notes") or None))


def deadline(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return _atomic(lambda: monitoring.at_deadline(ctx.business_key))


def liquidate(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return _atomic(lambda: monitoring.liquidate(ctx.business_key))


def open_disposal(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    request = params.get("request")
    return _atomic(lambda: disposal.open_disposal(ctx.business_key, request if isinstance(request, dict) else None))


def appraised(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return _atomic(lambda: disposal.record_appraisal(ctx.business_key, ctx.instance_id, params.get("appraised_value"),
                                                     params.get("report"), _by(ctx, "appraise")))


def channel(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return _atomic(lambda: disposal.choose_channel(ctx.business_key, params.get("channel"), params.get("disposer"),
                                                   _by(ctx, "choose_channel")))


def sold(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return _atomic(lambda: disposal.record_sale(ctx.business_key, params.get("buyer"), params.get("price"),
                                                params.get("costs"), params.get("sold_on"), _by(ctx, "record_sale")))


def propose_write_off(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return _atomic(lambda: disposal.propose_write_off(ctx.business_key, _by(ctx, "propose_write_off"),
                                                      params.get("reason")))


def decide_write_off(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return _atomic(lambda: disposal.decide_write_off(ctx.business_key, _by(ctx, "approve_write_off"),
                                                     params.get("decision"), params.get("reason")))


def return_surplus(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return _atomic(lambda: disposal.return_surplus(ctx.business_key))


def close_disposal(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return _atomic(lambda: disposal.close(ctx.business_key))


def register(registry: HandlerRegistry) -> None:
    for name, handler in (("margin_call", margin_call), ("top_up", top_up), ("deadline", deadline),
                          ("liquidate", liquidate), ("open_disposal", open_disposal), ("appraised", appraised),
                          ("channel", channel), ("sold", sold), ("propose_write_off", propose_write_off),
                          ("decide_write_off", decide_write_off), ("return_surplus", return_surplus),
                          ("close_disposal", close_disposal)):
        registry.register(f"collateral.{name}")(handler)
