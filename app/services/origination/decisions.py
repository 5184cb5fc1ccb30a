"""What a deal's diagrams tell the platform: the stage it reached, the most it may lend, the outcome.

Called by origination's operators (service tasks) inside the step that reached them, so the
application row changes in the same transaction as the instance. The approved amount never
exceeds what was asked, the collateral's cap, or the product's maximum; when it is lowered, the
timeline says to what and why.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from app.engine.said import said
from app.extensions import db
from app.lending.limits import approved_within, collateral_cap
from app.models import Application
from app.services import clock
from app.services.origination import details as deal_details
from app.services.origination.applications import events_of, record
from app.services.origination.products import product_row, terms_of

STAGES = ("intake", "core_confirmation", "warehouse_confirmation", "appraisal", "credit_consent", "risk_check",
          "first_review", "supplement", "second_review", "decided")
STAGE_STATUSES = ("in_review", "returned")
OUTCOMES = ("approved", "rejected")
CENT = Decimal("0.01")
# What the borrower reads when the risk rules decline a deal: never which rule (a blacklist hit, a
# grade, a score), which is the funder's to read (`internal_reason`).
RISK_DECLINED = ("The application does not meet the funder's risk criteria.", "申请未通过资金方的风险评估。")


class DealError(ValueError):
    """The diagram asked for something the deal cannot do (a wrong stage, an unknown deal): the
    service task fails, and after its retries the instance has an incident naming this."""


def _deal(business_key: str | None) -> Application:
    row = db.session.scalar(select(Application).where(Application.number == (business_key or "")))
    if row is None:
        raise DealError(said("no application has the number %(key)s: a deal's diagram runs with the application's "
                             "number as its business key", key=repr(business_key)))
    return row


def _amount(value: object, name: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise DealError(f"{name} must be a decimal amount, got {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise DealError(f"{name} must be a non-negative amount, got {value!r}")
    return amount.quantize(CENT, rounding=ROUND_DOWN)


def set_stage(business_key: str | None, instance_id: int | None, stage: str, status: str | None = None,
              reason: str | None = None) -> dict[str, Any]:
    """The deal reached `stage` (and `status`: in_review, or returned with what the funder asks for)."""
    if stage not in STAGES:
        raise DealError(f"stage must be one of {', '.join(STAGES)}, got {stage!r}")
    if status is not None and status not in STAGE_STATUSES:
        raise DealError(f"status must be one of {', '.join(STAGE_STATUSES)}, got {status!r}")
    row = _deal(business_key)
    if row.status in ("approved", "rejected", "withdrawn", "draft"):
        raise DealError(f"application {row.number} is {row.status}: its diagram cannot move it on")
    if instance_id is not None:
        row.instance_id = instance_id
    row.stage = stage
    if status is not None:
        row.status = status
        row.reason = reason if status == "returned" else None
    elif row.status == "submitted":
        row.status = "in_review"
    row.lock_version += 1
    record(row, "returned" if status == "returned" else "stage", reason=reason if status == "returned" else None)
    product = terms_of(product_row(row.product_id))
    return {"amount": f"{row.amount:.2f}", "term_months": row.term_months, "product_kind": product.kind,
            "details": dict(row.details)}


@dataclass(frozen=True)
class Cap:
    cap: Decimal
    capped_amount: Decimal
    reason: str
    reason_zh: str

    def as_result(self) -> dict[str, Any]:
        return {"cap": f"{self.cap:.2f}", "capped_amount": f"{self.capped_amount:.2f}", "cap_reason": self.reason,
                "cap_reason_zh": self.reason_zh}


def compute_cap(business_key: str | None, basis: str, value: object) -> Cap:
    """The most the product lends against the collateral's confirmed or appraised value."""
    row = _deal(business_key)
    product = terms_of(product_row(row.product_id))
    worth = _amount(value, "value")
    if basis == "advance":
        if product.advance_ratio is None:
            raise DealError(f"product {product.code} has no advance ratio")
        ratio, en, zh = product.advance_ratio, "the confirmed receivable", "确认的应收账款"
    elif basis == "ltv":
        if "lend" not in product.ltv:
            raise DealError(f"product {product.code} has no loan-to-value lines")
        ratio, en, zh = product.ltv["lend"], "the appraised value of the goods", "货物评估价值"
    else:
        raise DealError(f"basis must be advance or ltv, got {basis!r}")
    cap = collateral_cap(worth, ratio)
    percent = f"{(ratio * 100).normalize():f}%"
    reason = f"{en} ¥{worth:,.2f} × {percent} = ¥{cap:,.2f}"
    reason_zh = f"{zh} ¥{worth:,.2f} × {percent} = ¥{cap:,.2f}"
    capped = min(row.amount, cap, product.max_amount)
    if capped < row.amount:
        record(row, "capped", cap=f"{cap:.2f}", amount=f"{capped:.2f}", reason=reason, reason_zh=reason_zh)
    return Cap(cap, capped, reason, reason_zh)


def decide(business_key: str | None, outcome: str, amount: object = None, reason: str | None = None,
           cap: object = None, by: str | None = None, internal_reason: str | None = None) -> dict[str, Any]:
    """The deal's outcome. An approval is at most what was asked, the cap and the product's maximum;
    the result says what it was lowered to and why. A rejection `by` the risk rules tells the
    borrower only that the risk criteria are not met; the rule's own reason is kept for the funder."""
    if outcome not in OUTCOMES:
        raise DealError(f"outcome must be approved or rejected, got {outcome!r}")
    row = _deal(business_key)
    if row.status not in ("submitted", "in_review", "returned"):
        raise DealError(f"application {row.number} is {row.status}: it cannot be decided again")
    at = clock.now()
    row.stage, row.decided_at, row.lock_version = "decided", at, row.lock_version + 1
    if outcome == "rejected":
        if by == "risk_rules":
            row.status, row.reason, row.approved_amount = "rejected", RISK_DECLINED[0], None
            record(row, "rejected", reason=RISK_DECLINED[0], reason_zh=RISK_DECLINED[1],
                   internal_reason=(internal_reason or "").strip() or None, by=by)
        else:
            row.status, row.reason, row.approved_amount = "rejected", (reason or "").strip() or None, None
            record(row, "rejected", reason=row.reason)
        return {"approved_amount": None, "lowered_because": None}
    product = terms_of(product_row(row.product_id))
    wanted = _amount(amount, "amount") if amount not in (None, "") else row.amount
    limits = [(row.amount, "the amount applied for", "申请金额"),
              (product.max_amount, "the product's maximum", "产品最高额度")]
    if cap not in (None, ""):
        limits.append((_amount(cap, "cap"), "the collateral's cap", "押品可贷上限"))
    approved, because = approved_within(wanted, [(limit, en) for limit, en, _ in limits])
    because_zh = next((zh for _, en, zh in limits if en == because), None)
    if approved <= 0:
        raise DealError(said("an approval needs an amount above zero"))
    row.status, row.approved_amount, row.reason = "approved", approved, None
    record(row, "approved", amount=f"{approved:.2f}", asked=f"{wanted:.2f}" if because else None,
           lowered_because=because, lowered_because_zh=because_zh, notes=reason)
    return {"approved_amount": f"{approved:.2f}", "lowered_because": because}


def collateral_value(business_key: str | None) -> str | None:
    """What the borrower declared the collateral worth (for diagrams that have nothing confirmed)."""
    row = _deal(business_key)
    product = terms_of(product_row(row.product_id))
    value = deal_details.collateral_value(product.kind, row.details)
    return None if value is None else f"{value:.2f}"


def reason_for_borrower(business_key: str | None) -> str:
    """The reason of a rejection as the borrower is told it (the risk rules' is generic)."""
    return _deal(business_key).reason or ""


def reason_in(row: Application, language: str) -> str | None:
    """The application's reason in the reader's language: a sentence the platform or a diagram wrote
    in both languages has its twin on the timeline (`reason_zh` beside `reason`, as the risk rules'
    and a stopped signing's are); a reviewer's words are as written."""
    if not row.reason or language == "en":
        return row.reason
    for event in reversed(events_of(row.id)):
        data = event.data or {}
        if data.get("reason") == row.reason and data.get(f"reason_{language}"):
            return str(data[f"reason_{language}"])
    return row.reason
