"""The formal demand letter (催收函) of a case: a one-page PDF in both languages, kept with the case
as a document of its instance (whoever sees the case reads it, `workflow.documents`)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Organisation
from app.services import clock
from app.services.collections.cases import amount_overdue, china, loan_of
from app.services.workflow.documents import store_document
from handlers.contracts import Letter, render_letter

PAY_WITHIN = timedelta(days=7)


def _name(org_id: int | None) -> str:
    if org_id is None:
        return ""
    return db.session.scalar(select(Organisation.name).where(Organisation.id == org_id)) or ""


def demand_letter(business_key: str | None, instance_id: int | None) -> dict[str, object]:
    loan = loan_of(business_key)
    today = clock.now().astimezone(china()).date()
    owed = amount_overdue(loan.id)
    deadline = today + PAY_WITHIN
    funder = _name(loan.funder_org_id)
    number = f"CS-{loan.business_key}-{today:%Y%m%d}"
    letter = Letter(
        title="催收函 Formal demand for payment", number=number,
        facts=(("借款人 Borrower", _name(loan.borrower_org_id)), ("贷款编号 Loan", loan.business_key),
               ("资金方 Funder", funder), ("逾期天数 Days past due", str(loan.dpd)),
               ("逾期金额 Amount overdue", f"¥{owed:,.2f}"), ("还款期限 Pay by", deadline.isoformat())),
        paragraphs=(
            f"贵方在上述贷款项下的到期款项已逾期 {loan.dpd} 天，逾期金额人民币 {owed:,.2f} 元（含罚息）。请于 "
            f"{deadline.isoformat()} 前足额偿还。逾期未还的，资金方将依约采取进一步措施，包括出售债权、提起诉讼或处置担保物，"
            "由此产生的费用由贵方承担。",
            f"The instalments of the loan above are {loan.dpd} days past due; CNY {owed:,.2f} is overdue, penalty "
            f"interest included. Please pay it in full by {deadline.isoformat()}. Otherwise the funder will take the "
            "further steps the contract allows, including selling the debt, litigation or disposing of the collateral, "
            "at your cost."),
        issuer=funder, issued_on=today.isoformat(),
        extra={"subject": f"Demand letter {loan.business_key}", "keywords": "demand letter"})
    pdf = render_letter(letter)
    document_id = (store_document(instance_id, None, "demand_letter", f"{number}.pdf", pdf, None)
                   if instance_id is not None else None)
    return {"document": f"document:{document_id}" if document_id else None, "number": number,
            "pay_by": deadline.isoformat(), "amount_overdue": str(owed)}
