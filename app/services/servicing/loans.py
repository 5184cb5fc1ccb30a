"""What `post_loan` reads of its loan and deal: the loan of the instance's business key, its application."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import Application, Disbursement, Loan, Organisation


class PostLoanError(ValueError):
    """The instance's business key names no loan, or the loan no deal: the task fails (an incident)."""


@dataclass(frozen=True)
class LoanDeal:
    loan: Loan
    application: Application
    borrower: Organisation
    funder: Organisation | None


def loan_deal(business_key: str | None, for_update: bool = False) -> LoanDeal:
    query = select(Loan).where(Loan.business_key == (business_key or ""))
    loan = db.session.scalar((query.with_for_update() if for_update else query).execution_options(populate_existing=True))
    if loan is None:
        raise PostLoanError(f"no loan has the business key {business_key!r}")
    application = db.session.scalar(select(Application).join(Disbursement, Disbursement.application_id == Application.id)
                                    .where(Disbursement.loan_id == loan.id).limit(1))
    if application is None:
        raise PostLoanError(f"loan {loan.business_key} was not disbursed for an application")
    borrower = db.session.get(Organisation, loan.borrower_org_id)
    if borrower is None:
        raise PostLoanError(f"loan {loan.business_key} has no borrower")
    funder = db.session.get(Organisation, loan.funder_org_id) if loan.funder_org_id is not None else None
    return LoanDeal(loan, application, borrower, funder)

