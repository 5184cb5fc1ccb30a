"""The maker-checker decisions of a case: selling the debt to a collection agency, writing it off.

A platform operator proposes (the diagram's `propose_sale` / `propose_write_off` / `propose_waiver`), the funder's
finance decides (`approve_sale` / `approve_write_off`, marked `separateFrom` the proposal: the
workflow refuses the maker). Each proposal and decision is in the audit log. An approved sale books
its price as a `debt_sale` payment, writes off what is left and binds the agency to the case (its
agents then see it); an approved write-off writes everything off; an approved waiver forgives penalty interest. Runs in the engine's step.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, Organisation
from app.models.identity import OrgKind
from app.models.loan import ZERO
from app.services.collections.cases import AGENCY, bind_agency, loan_of, penalty_owed
from app.services.context import lazy_gettext as _l
from app.services.context import served_url
from app.services.errors import Invalid, ServiceError
from app.services.identity.audit import audit
from app.services.ledger import loans
from app.services.ledger.adjustments import waive, write_off
from app.services.ledger.repayments import PaymentNotice, take_payment
from app.services.notices.sending import send
from app.services.workflow.operators import HandlerContext

SALE_CHANNEL = "debt_sale"
CENT = Decimal("0.01")


def outstanding(loan_id: int) -> Decimal:
    """What the borrower owes on the books — principal, billed interest, penalties, fees — less its credit (a cent
    a prepayment could not split into principal and its fee): the sale's payment uses the credit first, so a price
    of the gross debt sold the credit's worth of it twice."""
    return max(sum(loans.loan_position(loan_id).values(), ZERO), ZERO)


def agency(code: str) -> Organisation | None:
    return db.session.scalar(select(Organisation).join(OrgKind, OrgKind.org_id == Organisation.id)
                             .where(Organisation.code == code.strip(), OrgKind.kind == AGENCY))


def _refused(english: str, chinese: str) -> dict[str, Any]:
    return {"ok": False, "error_en": english, "error_zh": chinese, "price": None, "outstanding": None,
            "agency_name": None}


def _who(ctx: HandlerContext, element: str) -> int | None:
    """Who completed the instance's `element` last (the maker or the checker)."""
    return db.session.scalar(select(HumanTask.completed_by_id).where(
        HumanTask.instance_id == ctx.instance_id, HumanTask.element_id == element, HumanTask.state == "completed")
        .order_by(HumanTask.completed_at.desc(), HumanTask.id.desc()).limit(1))


def _discount(value: Any) -> Decimal | None:
    try:
        discount = Decimal(str(value))
    except InvalidOperation:
        return None
    return discount if 1 <= discount <= 99 else None


def price_sale(ctx: HandlerContext, agency_code: str, discount_value: Any) -> dict[str, Any]:
    """The proposal checked and priced: the agency is a collection agency, the price is what is owed
    less the discount. A refusal goes back to the maker with its reason in both languages."""
    loan = loan_of(ctx.business_key)
    buyer = agency(str(agency_code or ""))
    if buyer is None:
        return _refused(f"{agency_code!r} is not a collection agency's organisation code",
                        f"{agency_code!r} 不是催收机构的机构代码")
    discount = _discount(discount_value)
    if discount is None:
        return _refused("the discount must be between 1 and 99 %", "折扣须在 1% 至 99% 之间")
    if loan.status != "active":
        return _refused(f"the loan is {loan.status}", "贷款已不在存续状态")
    owed = outstanding(loan.id)
    price = (owed * (100 - discount) / 100).quantize(CENT, ROUND_HALF_UP)
    audit("collections_debt_sale_proposed", _who(ctx, "propose_sale"), f"loan:{loan.id}",
          agency=buyer.code, discount_percent=str(discount), outstanding=str(owed), price=str(price))
    return {"ok": True, "error_en": None, "error_zh": None, "price": str(price), "outstanding": str(owed),
            "agency_name": buyer.name}


def decide_sale(ctx: HandlerContext, params: dict[str, Any]) -> dict[str, Any]:
    loan = loan_of(ctx.business_key)
    maker, checker = _who(ctx, "propose_sale"), _who(ctx, "approve_sale")
    buyer = agency(str(params.get("agency") or ""))
    details: dict[str, Any] = {"agency": params.get("agency"), "discount_percent": str(params.get("discount_percent")),
               "price": params.get("price"), "reason": params.get("reason"), "note": params.get("note"),
               "proposed_by": maker}
    if params.get("decision") != "approve" or buyer is None:
        audit("collections_debt_sale_rejected", checker, f"loan:{loan.id}", **details)
        return {"outcome": "rejected"}
    price = Decimal(str(params.get("price")))
    discount = _discount(params.get("discount_percent"))
    owed = outstanding(loan.id)
    if discount is None or price > (owed * (100 - discount) / 100).quantize(CENT, ROUND_HALF_UP):
        # the borrower paid since the proposal: the buyer would pay more than the agreed discount of the debt (above
        # it, the rest left as the borrower's credit): nothing booked, the maker proposes again on today's debt
        audit("collections_debt_sale_refused", checker, f"loan:{loan.id}", **details, outstanding=str(owed))
        return {"outcome": "rejected", "refused": "outstanding_fell", "outstanding": str(owed)}
    on = loans.business_today()
    payment = take_payment(PaymentNotice(loan_id=loan.id, idempotency_key=f"debt-sale:{ctx.instance_id}",
                                         amount=price, channel=SALE_CHANNEL, received_on=on)).payment
    loan = loan_of(ctx.business_key)
    written_off = write_off(loan.id, on, memo=f"debt sold to {buyer.code} (case {ctx.instance_id})") \
        if loan.status == "active" else ZERO
    if ctx.instance_id is not None:
        bind_agency(ctx.instance_id, buyer.id)
    audit("collections_debt_sale_approved", checker, f"loan:{loan.id}", **details, payment_id=payment.id,
          written_off=str(written_off))
    return {"outcome": "sold", "payment_id": payment.id, "price": str(price), "written_off": str(written_off),
            "agency": buyer.code}


def decide_write_off(ctx: HandlerContext, params: dict[str, Any]) -> dict[str, Any]:
    loan = loan_of(ctx.business_key)
    maker, checker = _who(ctx, "propose_write_off"), _who(ctx, "approve_write_off")
    details: dict[str, Any] = {"reason": params.get("reason"), "note": params.get("note"), "proposed_by": maker}
    if params.get("decision") != "approve" or loan.status != "active":
        audit("collections_write_off_rejected", checker, f"loan:{loan.id}", **details)
        return {"outcome": "rejected"}
    total = write_off(loan.id, loans.business_today(), memo=f"written off by collections case {ctx.instance_id}")
    audit("collections_write_off_approved", checker, f"loan:{loan.id}", **details, written_off=str(total))
    return {"outcome": "written_off", "written_off": str(total)}


def decide_waiver(ctx: HandlerContext, params: dict[str, Any]) -> dict[str, Any]:
    """Penalty interest forgiven (`adjustments.waive`; empty amount: all of it) once approved."""
    loan = loan_of(ctx.business_key)
    maker, checker = _who(ctx, "propose_waiver"), _who(ctx, "approve_waiver")
    amount = params.get("amount") or None
    details: dict[str, Any] = {"amount": amount, "reason": params.get("reason"), "note": params.get("note"),
                               "proposed_by": maker}
    if params.get("decision") != "approve" or loan.status != "active":
        audit("collections_waiver_rejected", checker, f"loan:{loan.id}", **details)
        return {"outcome": "rejected"}
    try:
        if penalty_owed(loan.id) <= 0:  # all of nothing: the borrower paid it meanwhile
            raise Invalid(_l("no penalty interest is owed"))
        waived = waive(loan.id, "penalty", amount, loans.business_today(),
                       memo=f"waived by collections case {ctx.instance_id}")
    except ServiceError as exc:  # more than is owed (paid since the proposal): nothing waived
        audit("collections_waiver_refused", checker, f"loan:{loan.id}", **details, refused=str(exc.message))
        owed = penalty_owed(loan.id)
        # the maker and the checker are told, each in their language; the case page says it from the figures
        # (`views`); `reason` stays for the log
        send("collections_waiver_refused" if amount else "collections_waiver_refused_all", {
            "loan": loan.business_key, "asked": str(amount or ""), "owed": str(owed),
            "link": f"{served_url()}/collections/{ctx.instance_id}"},
            user_ids=[u for u in (maker, checker) if u is not None], business_key=loan.business_key,
            idempotency_key=f"waiver-refused:{ctx.instance_id}:{ctx.idempotency_key}")
        return {"outcome": "refused", "reason": str(exc.message), "asked": amount, "owed": str(owed)}
    audit("collections_waiver_approved", checker, f"loan:{loan.id}", **details, waived=str(waived))
    return {"outcome": "waived", "waived": str(waived)}
