"""Closing a repaid loan's deal: the application `closed`, a settlement certificate (结清证明) for the
borrower kept with the deal as `settlement_certificate`, and the borrower told."""
from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import ApplicationDocument, Payment
from app.services import clock
from app.services.identity import policy
from app.services.notices import sending
from app.services.origination.applications import record
from app.services.servicing.loans import LoanDeal
from handlers.contracts import Letter, render_letter

CERTIFICATE = "settlement_certificate"


def certificate_pdf(deal: LoanDeal) -> bytes:
    loan, application = deal.loan, deal.application
    repaid = db.session.scalar(select(func.coalesce(func.sum(Payment.amount), 0)).where(
        Payment.loan_id == loan.id, Payment.status == "booked")) or Decimal(0)
    closed_on = loan.closed_on.isoformat() if loan.closed_on else ""
    funder = deal.funder.name if deal.funder else ""
    return render_letter(Letter(
        title="贷款结清证明 Loan Settlement Certificate",
        number=f"JQ-{application.number}",
        facts=(("借款人 Borrower", deal.borrower.name),
               ("统一社会信用代码/身份证号 Credit code / ID", deal.borrower.credit_code or deal.borrower.code),
               ("贷款编号 Loan", loan.business_key), ("合同编号 Contract", f"HT-{application.number}"),
               ("借款金额 Principal", f"¥{loan.principal:,.2f}"),
               ("放款日 Disbursed on", loan.disbursed_on.isoformat()), ("结清日 Settled on", closed_on),
               ("累计还款 Total repaid", f"¥{Decimal(repaid):,.2f}"), ("资金方 Funder", funder)),
        paragraphs=("兹证明上述借款人在上述贷款项下的本金、利息、罚息及费用已全部结清，双方就该笔贷款再无债权债务关系。",
                    "This certifies that the borrower above has repaid the principal, interest, penalties and fees of "
                    "the loan above in full; no debt remains between the parties under this loan."),
        issuer=f"出具方 Issued by：{funder}（经 Loanflow 平台 through the Loanflow platform）",
        issued_on=f"出具日期 Issued on：{closed_on}"))


def close(deal: LoanDeal) -> dict[str, Any]:
    """The deal closed with its certificate (once: a second call finds it closed and changes nothing)."""
    application, loan = deal.application, deal.loan
    existing = db.session.scalar(select(ApplicationDocument).where(
        ApplicationDocument.application_id == application.id, ApplicationDocument.kind == CERTIFICATE).limit(1))
    if existing is not None:
        return {"document_id": existing.id, "status": application.status, "duplicate": True}
    pdf = certificate_pdf(deal)
    document = ApplicationDocument(application_id=application.id, kind=CERTIFICATE,
                                   filename=f"JQ-{application.number}.pdf", content_type="application/pdf",
                                   size=len(pdf), sha256=hashlib.sha256(pdf).hexdigest(), content=pdf,
                                   created_at=clock.now())
    db.session.add(document)
    application.status, application.stage = "closed", "repaid"  # the deal's list said 'Loan booked' of a repaid loan
    record(application, "loan_closed", loan=loan.business_key, document=document.filename,
           closed_on=loan.closed_on.isoformat() if loan.closed_on else None)
    db.session.flush()
    sending.send("loan_closed", {"loan": loan.business_key, "number": application.number,
                                 "date": loan.closed_on.isoformat() if loan.closed_on else ""},
                 org_id=loan.borrower_org_id, roles=sorted(policy.party_roles("applications.draft", "borrower")),
                 business_key=loan.business_key, idempotency_key=f"{loan.business_key}:loan_closed")
    return {"document_id": document.id, "status": "closed", "duplicate": False}
