"""Collateral disposal (`processes/collateral_disposal.bpmn`, docs/collateral.md): the loan's pledged
goods appraised, a channel chosen, the sale recorded, the proceeds booked through the ledger, the
remainder written off by a maker and a different checker, any surplus returned to the borrower.

The proceeds pay the sale's costs first: the disposer keeps them and the net proceeds reach the
loan as one payment of channel `disposal` (`ledger.repayments.take_payment`), which the ledger
allocates to penalties, fees, interest and principal in that order, oldest instalment first; above
the pay-off it closes the loan and the rest is the borrower's credit, paid back out
(`refund_credit`). Each function finds the disposal by the instance's business key (the loan's).
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.engine.said import Said, said
from app.extensions import db
from app.lending.errors import LendingError
from app.lending.money import parse_money
from app.models import Application, ApplicationDocument, Document, Loan
from app.models.collateral import DISPOSAL_CHANNELS, Disposal, Pledge, PledgeMovement
from app.models.loan import ZERO
from app.services import clock
from app.services.identity import policy
from app.services.identity.audit import audit
from app.services.ledger import adjustments, repayments
from app.services.ledger.loans import business_today, loan_position
from app.services.ledger.posting import Role
from app.services.notices.sending import send
from app.text_input import is_whole

OWED_ROLES = (Role.LOAN_PORTFOLIO, Role.INTEREST_RECEIVABLE, Role.PENALTY_RECEIVABLE, Role.FEE_RECEIVABLE)


class DisposalError(RuntimeError):
    """A `collateral_disposal` step that cannot be done as asked (an incident for the operators)."""


def _loan(business_key: str | None) -> Loan:
    loan = db.session.scalar(select(Loan).where(Loan.business_key == str(business_key or "")))
    if loan is None:
        raise DisposalError(said("no loan %(key)s", key=repr(business_key)))
    return loan


def _current(business_key: str | None) -> tuple[Disposal, Loan]:
    loan = _loan(business_key)
    disposal = db.session.scalar(select(Disposal).where(Disposal.loan_id == loan.id, Disposal.status != "closed")
                                 .order_by(Disposal.id.desc()).limit(1).with_for_update())
    if disposal is None:
        raise DisposalError(said("loan %(key)s has no disposal under way", key=business_key))
    return disposal, loan


def _application(loan: Loan) -> Application | None:
    number = loan.business_key.removeprefix("LOAN-")
    return db.session.scalar(select(Application).where(Application.number == number))


def _money(value: object, name: str) -> Decimal:
    try:
        return parse_money(str(value), name)
    except LendingError as exc:
        raise DisposalError(said("%(field)s: %(problem)s", field=name, problem=Said(exc.template, dict(exc.params)))) from None


def owed(loan_id: int) -> Decimal:
    """What the loan still owes on the books (principal and billed interest, penalties, fees)."""
    position = loan_position(loan_id)
    return sum((position.get(role, ZERO) for role in OWED_ROLES), ZERO)


def _view(disposal: Disposal, loan: Loan) -> dict[str, Any]:
    pledge = db.session.get(Pledge, disposal.pledge_id) if disposal.pledge_id else None
    application = _application(loan)
    return {"disposal_id": disposal.id, "reason": disposal.reason, "status": disposal.status, "loan_id": loan.id,
            "application": application.number if application else loan.business_key,
            "goods": pledge.goods if pledge else None, "unit": pledge.unit if pledge else None,
            "quantity": f"{pledge.quantity.normalize():f}" if pledge else None,
            "owed": f"{owed(loan.id):.2f}", "loan_status": loan.status}


def open_disposal(business_key: str | None, request: dict[str, Any] | None) -> dict[str, Any]:
    """The disposal the request asked for (the one under way, when retried): the pledge is now
    `disposing` (no longer valued, nothing released)."""
    loan = _loan(business_key)
    existing = db.session.scalar(select(Disposal).where(Disposal.loan_id == loan.id, Disposal.status != "closed")
                                 .order_by(Disposal.id.desc()).limit(1))
    if existing is not None:
        return _view(existing, loan)
    request = request or {}
    pledge = db.session.scalar(select(Pledge).where(Pledge.loan_id == loan.id).with_for_update())
    disposal = Disposal(loan_id=loan.id, pledge_id=pledge.id if pledge else None,
                        reason=str(request.get("reason") or "requested")[:32], status="appraisal", opened_at=clock.now())
    db.session.add(disposal)
    if pledge is not None:
        pledge.status = "disposing"
        pledge.lock_version += 1
    db.session.flush()
    audit("collateral.disposal_opened", None, target=loan.business_key, disposal=disposal.id, reason=disposal.reason)
    return _view(disposal, loan)


def record_appraisal(business_key: str | None, instance_id: int | None, appraised_value: object, report: object,
                     user_id: int | None) -> dict[str, Any]:
    """The appraisal: its value and its report (the task's upload, `document:<id>`), kept as the
    deal's `appraisal_report`."""
    disposal, loan = _current(business_key)
    value = _money(appraised_value, "appraised_value")
    reference = str(report or "")
    if reference.startswith("document:") and is_whole(reference[len("document:"):]):
        upload = db.session.get(Document, int(reference[len("document:"):]))
        if upload is None or (instance_id is not None and upload.instance_id != instance_id):
            raise DisposalError(said("no uploaded appraisal report %(reference)s in this disposal", reference=reference))
        application = _application(loan)
        if application is not None:
            document = ApplicationDocument(application_id=application.id, kind="appraisal_report",
                                           filename=upload.filename, content_type=upload.content_type,
                                           size=upload.size, sha256=upload.sha256, content=bytes(upload.content),
                                           uploaded_by_id=upload.uploaded_by_id, created_at=clock.now())
            db.session.add(document)
            db.session.flush()
            disposal.report_document_id = document.id
    disposal.appraised_value, disposal.status = value, "sale"
    audit("collateral.appraised", user_id, target=loan.business_key, disposal=disposal.id, value=str(value))
    return {"appraised_value": f"{value:.2f}", "report_document_id": disposal.report_document_id}


def choose_channel(business_key: str | None, channel: object, disposer: object, user_id: int | None) -> dict[str, Any]:
    disposal, loan = _current(business_key)
    if channel not in DISPOSAL_CHANNELS:
        raise DisposalError(said("channel must be one of %(choices)s", choices=", ".join(DISPOSAL_CHANNELS)))
    disposal.channel = str(channel)
    disposal.disposer = (str(disposer or "").strip() or None) if disposer else None
    audit("collateral.disposal_channel", user_id, target=loan.business_key, disposal=disposal.id, channel=channel)
    return {"channel": disposal.channel}


def record_sale(business_key: str | None, buyer: object, price: object, costs: object, sold_on: object,
                user_id: int | None) -> dict[str, Any]:
    """The sale, and its proceeds booked: the costs first (kept by the disposer), the net proceeds
    paid to the loan (`take_payment`, channel `disposal`, key `disposal:<id>`: once). Answers what is
    still owed (`shortfall`) and the borrower's credit (`surplus`, to return)."""
    disposal, loan = _current(business_key)
    gross, cost = _money(price, "price"), _money(costs or "0", "costs")
    try:
        on = date.fromisoformat(str(sold_on))
    except ValueError:
        raise DisposalError(said("sold_on: not a date: %(given)s", given=repr(sold_on))) from None
    disposal.buyer, disposal.price, disposal.costs, disposal.sold_on = str(buyer or "")[:200], gross, cost, on
    net = gross - cost
    if net > 0 and loan.status == "active":
        outcome = repayments.take_payment(repayments.PaymentNotice(
            loan_id=loan.id, idempotency_key=f"disposal:{disposal.id}", amount=net, channel="disposal",
            received_on=business_today()))
        disposal.payment_id = outcome.payment.id
        db.session.refresh(loan)
    shortfall = owed(loan.id) if loan.status == "active" else ZERO
    surplus = loan.credit_balance if loan.status != "active" else ZERO
    if net > 0 and loan.status != "active" and disposal.payment_id is None:
        surplus = net  # the loan ended before the sale: the net proceeds are all the borrower's (paid out by hand)
    disposal.shortfall, disposal.status = shortfall, "allocated"
    audit("collateral.sold", user_id, target=loan.business_key, disposal=disposal.id, buyer=disposal.buyer,
          price=str(gross), costs=str(cost), net=str(net), shortfall=str(shortfall))
    db.session.flush()
    return {"net": f"{max(net, ZERO):.2f}", "shortfall": f"{shortfall:.2f}", "surplus": f"{surplus:.2f}",
            "payment_id": disposal.payment_id, "loan_status": loan.status}


def propose_write_off(business_key: str | None, user_id: int | None, reason: object) -> dict[str, Any]:
    """The maker proposes writing the remainder off (audit log)."""
    disposal, loan = _current(business_key)
    disposal.proposed_by_id, disposal.approved_by_id, disposal.status = user_id, None, "write_off"
    amount = owed(loan.id)
    audit("collateral.write_off_proposed", user_id, target=loan.business_key, disposal=disposal.id,
          amount=str(amount), reason=str(reason or ""))
    return {"amount": f"{amount:.2f}", "proposed_by_id": user_id}


def decide_write_off(business_key: str | None, user_id: int | None, decision: object,
                     reason: object) -> dict[str, Any]:
    """The checker (never the maker: the diagram's four-eyes, checked again here) approves — the
    ledger writes the rest off — or refuses, back to a maker (audit log either way)."""
    disposal, loan = _current(business_key)
    if user_id is not None and user_id == disposal.proposed_by_id:
        raise DisposalError(said("the write-off's checker must not be its maker"))
    approved = decision == "approve"
    audit("collateral.write_off_approved" if approved else "collateral.write_off_refused", user_id,
          target=loan.business_key, disposal=disposal.id, maker=disposal.proposed_by_id, reason=str(reason or ""))
    if not approved:
        return {"approved": False, "written_off": "0.00"}
    amount = ZERO
    if loan.status == "active":
        amount = adjustments.write_off(loan.id, memo=f"disposal {disposal.id}: remainder after the sale")
    disposal.approved_by_id, disposal.written_off = user_id, amount
    return {"approved": True, "written_off": f"{amount:.2f}"}


def return_surplus(business_key: str | None) -> dict[str, Any]:
    """Pay the borrower's credit (the proceeds above the pay-off) back out, and tell the borrower."""
    disposal, loan = _current(business_key)
    amount = loan.credit_balance
    if amount > 0:
        amount = repayments.refund_credit(loan.id)
    disposal.surplus = amount
    application = _application(loan)
    if application is not None and amount > 0:
        send("disposal_surplus_returned", {"number": application.number, "amount": f"{amount:,.2f}"},
             org_id=application.borrower_org_id, roles=policy.party_roles("collateral.read", "borrower"),
             business_key=application.number, idempotency_key=f"disposal-surplus:{disposal.id}")
    audit("collateral.surplus_returned", None, target=loan.business_key, disposal=disposal.id, amount=str(amount))
    return {"surplus": f"{amount:.2f}"}


def close(business_key: str | None) -> dict[str, Any]:
    """The disposal ends: the pledge is `disposed` (its goods gone with the sale), the borrower told."""
    disposal, loan = _current(business_key)
    at = clock.now()
    pledge = db.session.get(Pledge, disposal.pledge_id, with_for_update=True) if disposal.pledge_id else None
    if pledge is not None:
        db.session.add(PledgeMovement(pledge_id=pledge.id, kind="disposed", quantity=pledge.quantity,
                                      quantity_after=Decimal(0), by_id=None, at=at))
        pledge.quantity, pledge.status = Decimal(0), "disposed"
        pledge.lock_version += 1
    disposal.status, disposal.closed_at = "closed", at
    application = _application(loan)
    if application is not None:
        send("collateral_disposed", {"number": application.number, "price": f"{disposal.price or ZERO:,.2f}",
                                     "costs": f"{disposal.costs or ZERO:,.2f}",
                                     "written_off": f"{disposal.written_off or ZERO:,.2f}",
                                     "surplus": f"{disposal.surplus or ZERO:,.2f}"},
             org_id=application.borrower_org_id, roles=policy.party_roles("collateral.read", "borrower"),
             business_key=application.number, idempotency_key=f"disposal-closed:{disposal.id}")
    db.session.flush()
    return {"status": "closed", "loan_status": loan.status}


def disposal_views(pledge_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each pledge's disposals, newest first (callers check who reads)."""
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in pledge_ids}
    if not pledge_ids:
        return found
    for d in db.session.scalars(select(Disposal).where(Disposal.pledge_id.in_(pledge_ids)).order_by(Disposal.id.desc())):
        found[d.pledge_id or 0].append({
            "id": d.id, "reason": d.reason, "status": d.status, "channel": d.channel, "buyer": d.buyer,
            "appraised_value": _text(d.appraised_value), "price": _text(d.price), "costs": _text(d.costs),
            "sold_on": d.sold_on.isoformat() if d.sold_on else None, "shortfall": _text(d.shortfall),
            "written_off": _text(d.written_off), "surplus": _text(d.surplus), "opened_at": d.opened_at,
            "closed_at": d.closed_at})
    return found


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"

