"""The contract of an approved deal: its data from the application, the product and the ledger's
schedule, rendered as a PDF by `handlers.contracts` and kept as the deal's `contract` document.

The schedule printed is the one the ledger will book on the disbursement date given (its first
due dates move with the real disbursement date; the contract says so in its clauses).
"""
from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.engine.said import said
from app.extensions import db
from app.lending.capital import in_capitals
from app.lending.schedule import generate_schedule
from app.lending.terms import Amortization, LoanTerms
from app.models import Application, ApplicationDocument, Organisation
from app.services import clock
from app.services.ledger.loans import product_rules
from app.services.origination.applications import record
from app.services.origination.products import product_row
from handlers.contracts import ContractData, Party, ScheduleRow, render_contract

TITLES = {
    "order_financing": "应收账款融资借款合同 Receivable financing loan contract",
    "pledge_financing": "仓单质押借款合同 Warehouse-receipt pledge loan contract",
    "credit_loan": "借款合同 Loan contract",
}
METHODS = {
    Amortization.EQUAL_INSTALMENTS: "等额本息 Equal instalments of principal and interest",
    Amortization.EQUAL_PRINCIPAL: "等额本金 Equal principal, interest on the balance",
    Amortization.INTEREST_ONLY: "先息后本 Interest each period, principal at maturity",
    Amortization.BULLET: "到期一次还本付息 Principal and interest at maturity",
}
CLAUSES = (
    "借款人应按本合同所附还款计划按期足额还款；还款日以实际放款日为准相应顺延。"
    " The borrower repays by the schedule attached; its dates follow the actual disbursement date.",
    "代扣授权：借款人授权资金方于每期还款日通过支付机构从本合同项下放款的收款账户扣收当期应还款项；扣款失败不免除借款人的还款义务。"
    " Auto-debit authorisation: the borrower authorises the funder to collect each instalment on its due date,"
    " through the payment institution, from the account this loan is paid to; a failed debit does not release"
    " the borrower from paying.",
    "本合同经各方通过第三方电子认证服务机构颁发的数字证书签署后生效，电子签名与手写签名具有同等法律效力。"
    " This contract takes effect when every party has signed it with a certificate issued by a third-party"
    " certification authority; an electronic signature has the force of a handwritten one.",
    "因本合同引起的争议，由资金方所在地有管辖权的人民法院管辖。"
    " Disputes are settled by the competent court where the funder is domiciled.",
)


def _money(amount: Decimal) -> str:
    return f"¥{amount:,.2f}"


def _party(role: str, org_id: int | None = None, code: str | None = None) -> Party | None:
    query = select(Organisation).where(Organisation.id == org_id) if org_id is not None \
        else select(Organisation).where(Organisation.code == code)
    org = db.session.scalar(query)
    return None if org is None else Party(role, org.name, org.credit_code or "")


def _collateral(kind: str, details: dict[str, str], core: Party | None) -> tuple[str, ...]:
    if kind == "order_financing":
        return (f"应收账款 Receivable: 订单 Order {details.get('order_number', '')}，"
                f"{_money(Decimal(details.get('order_amount', '0')))}，到期日 due {details.get('order_due_date', '')}，"
                f"付款方 payer {core.name if core else details.get('core_enterprise', '')}",)
    if kind == "pledge_financing":
        return (f"质押仓单 Pledged warehouse receipt {details.get('receipt_number', '')}：{details.get('goods', '')} "
                f"{details.get('quantity', '')} {details.get('unit', '')} × {_money(Decimal(details.get('unit_price', '0')))}",)
    return ()


def contract_data(application: Application, disbursed_on: date, collection_account: str = "") -> ContractData:
    """What the contract of an approved application says, its schedule as of `disbursed_on`."""
    if application.approved_amount is None:
        raise ValueError(said("application %(number)s is not approved: it has no contract amount",
                              number=application.number))
    product = product_row(application.product_id)
    amount = application.approved_amount
    terms = product_rules(product).terms_for(amount, application.term_months, disbursed_on)
    schedule = generate_schedule(terms)
    details = dict(application.details or {})
    core = _party("core_enterprise", code=details.get("core_enterprise")) if details.get("core_enterprise") else None
    parties = [p for p in (_party("borrower", application.borrower_org_id), core,
                           _party("funder", application.funder_org_id)) if p is not None]
    return ContractData(
        title=TITLES.get(str(product.kind), TITLES["credit_loan"]),
        number=f"HT-{application.number}",
        parties=tuple(parties),
        amount=f"{_money(amount)}（人民币{in_capitals(amount)}）",
        annual_rate=f"{product.annual_rate.normalize():f}%",
        term=f"{application.term_months}个月 {application.term_months} months",
        repayment_method=METHODS.get(terms.amortization, str(terms.amortization)),
        schedule=tuple(ScheduleRow(i.due_date.isoformat(), _money(i.principal), _money(i.interest),
                                   _money(i.principal + i.interest)) for i in schedule.instalments),
        collateral=_collateral(str(product.kind), details, core),
        collection_account=collection_account,
        clauses=(*_terms_clauses(terms, parties[0].name if parties else "", details), *CLAUSES),
    )


def key_terms(application: Application) -> dict[str, object]:
    """The figures of the contract a signer is asked to sign, for the page beside the signing link: the
    amount, rate, repayment method, term, the schedule's total interest and total to repay (as the latest
    contract document printed them: disbursed on the day it was generated), the penalty rate a year and
    the early repayment fee."""
    generated = db.session.scalar(select(ApplicationDocument.created_at).where(
        ApplicationDocument.application_id == application.id, ApplicationDocument.kind == "contract")
        .order_by(ApplicationDocument.id.desc()).limit(1))
    disbursed_on = generated.date() if generated is not None else clock.now().date()  # as `flows` generates it
    product = product_row(application.product_id)
    amount = application.approved_amount or Decimal("0")
    terms = product_rules(product).terms_for(amount, application.term_months, disbursed_on)
    instalments = generate_schedule(terms).instalments
    interest = sum((i.interest for i in instalments), Decimal("0"))
    return {"amount": amount, "annual_rate": product.annual_rate, "method": terms.amortization.value,
            "term_months": application.term_months, "instalments": len(instalments), "interest": interest,
            "total": amount + interest, "first_due": instalments[0].due_date if instalments else None,
            "penalty_rate": (terms.annual_rate * terms.penalty_rate_multiplier).quantize(Decimal("0.0001")),
            "early_fee_percent": terms.early_repayment_fee_percent}


def _percent(value: Decimal) -> str:
    return f"{value.normalize():f}%"


def _terms_clauses(terms: LoanTerms, borrower: str, details: dict[str, str]) -> tuple[str, ...]:
    """What the loan's own terms bind the parties to: the account it is paid to (the only one paid), penalty
    interest on overdue amounts, and the fee for repaying early."""
    found = []
    if details.get("payee_account"):
        found.append(f"放款账户：资金方仅向借款人以下账户放款——户名 {borrower}，账号 {details['payee_account']}，开户行 "
                     f"{details.get('payee_bank', '')}。 Disbursement account: the funder pays the loan only to the "
                     f"borrower's account {details['payee_account']} at {details.get('payee_bank', '')}, "
                     f"held by {borrower}.")
    penalty = (terms.annual_rate * terms.penalty_rate_multiplier).quantize(Decimal("0.0001"))
    on = "逾期本金及利息" if terms.penalty_on_overdue_interest else "逾期本金"
    on_en = "overdue principal and interest" if terms.penalty_on_overdue_interest else "overdue principal"
    grace = (f"到期日后 {terms.overdue_grace_days} 日（宽限期）内还清的不计罚息；" if terms.overdue_grace_days else "")
    grace_en = (f" Nothing is charged on what is repaid within {terms.overdue_grace_days} days (the grace period) "
                f"after its due date." if terms.overdue_grace_days else "")
    found.append(f"逾期罚息：{grace}{on}按合同年利率的 {terms.penalty_rate_multiplier.normalize():f} 倍"
                 f"（年化 {_percent(penalty)}）按日计收罚息，直至还清。 Penalty interest: {on_en} bears "
                 f"{terms.penalty_rate_multiplier.normalize():f} times the contract rate ({_percent(penalty)} a year), "
                 f"accrued daily until repaid.{grace_en}")
    if terms.early_repayment_fee_percent:
        found.append(f"提前还款：借款人可提前偿还全部或部分本金，须支付提前偿还本金 "
                     f"{_percent(terms.early_repayment_fee_percent)} 的提前还款违约金。 Early repayment: the borrower "
                     f"may repay principal early, in whole or in part, paying a fee of "
                     f"{_percent(terms.early_repayment_fee_percent)} of the principal repaid early.")
    else:
        found.append("提前还款：借款人可提前偿还全部或部分本金，不收取提前还款违约金。 Early repayment: the borrower "
                     "may repay principal early, in whole or in part, without a fee.")
    return tuple(found)


def generate(business_key: str, disbursed_on: date, collection_account: str = "") -> ApplicationDocument:
    """Render the contract of the approved deal `business_key` and keep it as its `contract` document
    (in the caller's transaction); rendering it again keeps a new version, the latest is the one signed."""
    application = db.session.scalar(select(Application).where(Application.number == business_key))
    if application is None:
        raise ValueError(said("no application has the number %(key)s", key=repr(business_key)))
    pdf = render_contract(contract_data(application, disbursed_on, collection_account))
    document = ApplicationDocument(application_id=application.id, kind="contract",
                                   filename=f"HT-{application.number}.pdf", content_type="application/pdf",
                                   size=len(pdf), sha256=hashlib.sha256(pdf).hexdigest(), content=pdf,
                                   created_at=clock.now())
    db.session.add(document)
    record(application, "contract_generated", document=document.filename)
    db.session.flush()
    return document
