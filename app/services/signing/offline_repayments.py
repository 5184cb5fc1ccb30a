"""Offline repayments as finance decides them (issue 15, docs/post-loan.md): the ledger confirms or
rejects the transfer (`ledger.repayments.decide_payment`); a rejection is told to the borrower's
applicants by the notice `repayment_rejected` (both languages) with finance's reason, in the same
transaction."""
from __future__ import annotations

from app.models import Loan, Payment
from app.services.identity import policy
from app.services.identity.directory import Principal
from app.services.ledger import repayments
from app.services.notices import sending


def decide(principal: Principal, loan_id: int, payment_id: int, confirm: bool,
           reason: str | None = None) -> repayments.PaymentView:
    """Confirm (booked today) or reject with `reason` (required; the borrower is told). Commits."""
    return repayments.decide_payment(principal, loan_id, payment_id, confirm, reason, rejected=_tell_rejected)


def _tell_rejected(loan: Loan, payment: Payment) -> None:
    sending.send("repayment_rejected", {"loan": loan.business_key, "amount": f"{payment.amount:,.2f}",
                                        "date": payment.received_on.isoformat(),
                                        "reason": payment.reject_reason or ""},
                 org_id=loan.borrower_org_id, roles=sorted(policy.party_roles("payments.record", "borrower")),
                 business_key=loan.business_key, idempotency_key=f"payment:{payment.id}:rejected")
