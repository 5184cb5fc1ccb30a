"""The auto-debit on a due date: a `debit` payment order under the borrower's signed authorisation.

The contract's auto-debit clause (`signing.contract.CLAUSES`) authorises the funder to collect each
instalment on its due date from the account the loan was paid to; a deal whose contract was signed
(`signed_contract`) has that authorisation. On `bill_due` the `post_loan` instance asks for the
instalment's amount still owed: a `debit` order at the gateway (payer that account, payee the
funder's collection account, idempotency key `autodebit:<loan id>:<instalment>:<due date>`, so a
retried task or a repeated message places one order), kept as a `repayment_orders` row. The
gateway settles a debit by itself; its signed notification books the payment once through the same
path as an online repayment (`signing.online_repayments.settle`). Nothing is ordered when the bill
was paid meanwhile, the loan is no longer active, or the deal has no signed authorisation; bank transfers the
borrower reported and finance has not yet confirmed are not taken again (the debit is for the rest, if any).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import ApplicationDocument, Instalment, Payment
from app.models.signing import RepaymentOrder
from app.services import clock
from app.services.ledger.journal import cents_sum, from_cents
from app.services.ledger.loans import owed
from app.services.servicing.loans import LoanDeal
from app.services.signing.disbursements import notify_url, paid_to
from app.services.signing.gateway import gateway
from app.services.signing.online_repayments import AUTO_DEBIT_PREFIX
from handlers.payments import Account, PaymentOrder


def authorised(deal: LoanDeal) -> bool:
    """The borrower signed the contract whose clause authorises the auto-debit."""
    return db.session.scalar(select(ApplicationDocument.id).where(
        ApplicationDocument.application_id == deal.application.id,
        ApplicationDocument.kind == "signed_contract").limit(1)) is not None


def awaiting_confirmation(loan_id: int) -> Decimal:
    """What the borrower reported transferring (offline payments not yet confirmed or rejected by finance)."""
    return from_cents(db.session.scalar(select(cents_sum(Payment.amount)).where(  # exact in cents on both databases
        Payment.loan_id == loan_id, Payment.channel == "offline", Payment.status == "pending")))


def debit(deal: LoanDeal, number: int, due_date: str) -> dict[str, Any]:
    """Place the instalment's debit order (once); what happened: `ordered`, or `skipped` with why."""
    loan = deal.loan
    if loan.status != "active":
        return {"outcome": "skipped", "reason": "loan_not_active", "order_id": None, "amount": None}
    if not authorised(deal):
        return {"outcome": "skipped", "reason": "not_authorised", "order_id": None, "amount": None}
    row = db.session.scalar(select(Instalment).where(Instalment.loan_id == loan.id, Instalment.is_current.is_(True),
                                                    Instalment.number == number))
    amount = owed(row) if row is not None and row.status in ("pending", "overdue") else Decimal(0)
    if amount <= 0:
        return {"outcome": "skipped", "reason": "nothing_owed", "order_id": None, "amount": None}
    amount -= awaiting_confirmation(loan.id)
    if amount <= 0:  # the borrower transferred it and finance has not confirmed yet: not taken twice
        return {"outcome": "skipped", "reason": "transfer_awaiting_confirmation", "order_id": None, "amount": None}
    key = f"{AUTO_DEBIT_PREFIX}{loan.id}:{number}:{due_date}"
    existing = db.session.scalar(select(RepaymentOrder).where(RepaymentOrder.idempotency_key == key))
    if existing is not None:
        return {"outcome": "ordered", "reason": None, "order_id": existing.order_id, "amount": f"{existing.amount:.2f}"}
    funder = deal.funder
    payee = Account(name=funder.name, number=funder.credit_code or funder.code, bank=funder.name) if funder else \
        Account(name="LOANFLOW", number="LOANFLOW", bank="LOANFLOW")
    receipt = gateway().create_order(PaymentOrder(
        kind="debit", idempotency_key=key, amount=f"{amount:.2f}", payer=paid_to(deal.application), payee=payee,
        notify_url=notify_url(), memo=f"代扣 Auto-debit {loan.business_key} #{number}", business_key=loan.business_key))
    db.session.add(RepaymentOrder(loan_id=loan.id, idempotency_key=key, order_id=receipt.order_id, amount=amount,
                                  status="pending", created_at=clock.now()))  # placed on the business day's clock
    db.session.flush()
    return {"outcome": "ordered", "reason": None, "order_id": receipt.order_id, "amount": f"{amount:.2f}"}
