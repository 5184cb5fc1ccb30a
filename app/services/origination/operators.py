"""Origination's service-task operators: what a deal's diagrams ask the platform to record or decide.

| operator | params | result |
|---|---|---|
| `origination.stage` | `stage`, `status` (optional: in_review, returned), `reason` | the application as it now is: `amount`, `term_months`, `product_kind`, `details` |
| `origination.cap` | `basis` (advance, ltv), `value` | `cap`, `capped_amount`, `cap_reason`, `cap_reason_zh` |
| `origination.decide` | `outcome` (approved, rejected), `amount`, `reason`, `cap`, `by` (review, risk_rules), `internal_reason` (the funder's) | `approved_amount`, `lowered_because` |
| `risk.assess` | — (the deal's borrower, or the person or company of a credit loan) | `score`, `grade`, `blacklisted`, `hits`, `report_id`, `bureau`, `provider` |
| `platform.financing_limit` | `order_value`, `advance_ratio` | `limit` |
| `origination.lead_outcome` | `status` (qualified, dropped), `reason` (required to drop) | `status` |
| `origination.register_lead` | — (the lead of the business key) | `org_code`, `username`, `notification_ids` |

A deal's operators find the application by the instance's business key (its number); the
acquisition's find the lead by theirs (`LEAD-…`, `app.services.origination.leads`).
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from app.engine.said import said
from app.extensions import db
from app.models import Application
from app.services.identity import policy
from app.services.notices import sending
from app.services.origination import decisions, leads, risk
from app.services.workflow.operators import HandlerContext, HandlerRegistry


def financing_limit(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    """The most a funder lends against a receivable: order value x advance ratio, to the cent."""
    try:
        value = Decimal(str(params["order_value"]))
        ratio = Decimal(str(params["advance_ratio"]))
    except (KeyError, InvalidOperation) as exc:
        raise ValueError(said("order_value and advance_ratio must be decimal numbers: %(problem)s",
                              problem=str(exc))) from None
    if value < 0 or not (Decimal(0) <= ratio <= Decimal(1)):
        raise ValueError(said("order_value must be >= 0 and advance_ratio between 0 and 1"))
    return {"limit": str((value * ratio).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))}


def _text(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    return None if value in (None, "") else str(value)


def stage(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    result = decisions.set_stage(ctx.business_key, ctx.instance_id, str(params.get("stage")),
                                 _text(params, "status"), _text(params, "reason"))
    if params.get("status") == "returned":
        _tell_borrower(ctx, "application_returned", reason=_text(params, "reason") or "")
    return result


def cap(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return decisions.compute_cap(ctx.business_key, str(params.get("basis")), params.get("value")).as_result()


def decide(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    outcome = str(params.get("outcome"))
    result = decisions.decide(ctx.business_key, outcome, params.get("amount"), _text(params, "reason"),
                              params.get("cap"), _text(params, "by"), _text(params, "internal_reason"))
    if outcome == "approved":
        _tell_borrower(ctx, "application_approved", amount=f"{Decimal(result['approved_amount']):,.2f}")
    else:
        _tell_borrower(ctx, "application_rejected", reason=decisions.reason_for_borrower(ctx.business_key))
    return result


def _tell_borrower(ctx: HandlerContext, template: str, **params: str) -> None:
    row = db.session.scalar(select(Application).where(Application.number == (ctx.business_key or "")))
    if row is not None:
        sending.send(template, {"number": row.number, **params}, org_id=row.borrower_org_id,
                     roles=sorted(policy.party_roles("applications.draft", "borrower")),
                     business_key=row.number, idempotency_key=f"{ctx.idempotency_key}:{template}")


def assess(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return risk.assess(ctx.business_key)


def lead_outcome(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return leads.record_outcome(ctx.business_key, str(params.get("status")), _text(params, "reason"))


def register_lead(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return leads.register(ctx.business_key, ctx.idempotency_key)


def register(registry: HandlerRegistry) -> None:
    registry.register("platform.financing_limit")(financing_limit)
    registry.register("origination.stage")(stage)
    registry.register("origination.cap")(cap)
    registry.register("origination.decide")(decide)
    registry.register("risk.assess")(assess)
    registry.register("origination.lead_outcome")(lead_outcome)
    registry.register("origination.register_lead")(register_lead)
