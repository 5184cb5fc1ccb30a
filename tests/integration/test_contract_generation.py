"""An approved deal's contract: its parties, the amount in figures and capitals, the product's rate and
method, the ledger's schedule for the disbursement date, the collateral and the collection account,
kept as the deal's contract document; text a person can extract (Chinese included)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.lending.capital import in_capitals
from app.models import Application, ApplicationDocument
from app.services.signing import contract
from tests.integration.origination_support import deploy_shipped
from tests.unit.test_contracts_pdf import pdftotext


def test_an_approved_order_deal_gets_its_contract(app, runner):
    deploy_shipped(app, runner)
    assert runner.invoke(args=["seed", "demo"]).exit_code == 0
    with app.app_context():
        approved = db.session.scalar(select(Application).where(Application.status == "approved"))
        document = contract.generate(approved.number, date(2026, 12, 10), "6222 0210 0100 8888 001")
        db.session.commit()
        stored = db.session.scalar(select(ApplicationDocument).where(
            ApplicationDocument.application_id == approved.id, ApplicationDocument.kind == "contract"))
        assert stored.id == document.id and stored.content.startswith(b"%PDF")
        amount = approved.approved_amount
        db.session.remove()
    text = pdftotext(stored.content)
    flat = text.replace("\n", "").replace(" ", "")
    for expected in ("申城贸易有限公司", "长江制造集团", "华东商业银行", f"¥{amount:,.2f}", in_capitals(amount),
                     "8.5%", "先息后本", "PO-2026-1005", "6222021001008888001", "2027-06-10",
                     # what the loan's terms bind the parties to (the borrower read none of it): the account paid,
                     # penalty interest, the early repayment's fee, and the funder's credit code
                     "放款账户", "6222021001007777001", "招商银行上海分行", "逾期罚息", "提前还款", "91310000MA1BK0001P"):
        assert expected.replace(" ", "") in flat, expected
    assert Decimal(amount) <= Decimal("450000.00")


def test_a_deal_not_yet_approved_has_no_contract(app, runner):
    deploy_shipped(app, runner)
    assert runner.invoke(args=["seed", "demo"]).exit_code == 0
    with app.app_context():
        draft = db.session.scalar(select(Application).where(Application.status == "draft"))
        contracts = select(ApplicationDocument.id).where(ApplicationDocument.kind == "contract")
        before = list(db.session.scalars(contracts))  # the demo's deals past approval have theirs
        with pytest.raises(ValueError, match="not approved"):
            contract.generate(draft.number, date(2026, 12, 10))
        db.session.rollback()
        assert list(db.session.scalars(contracts)) == before
        assert not db.session.scalar(contracts.where(ApplicationDocument.application_id == draft.id))
        db.session.remove()


@pytest.mark.parametrize("fee", ["1", "0"])
def test_the_contract_names_the_early_repayment_charge_as_the_loan_page_does(fee):
    """Walk I item 2: the loan page's quote calls the charge 提前还款违约金 (the product form too); the contract
    called it 提前还款手续费 — one charge, two names, for the borrower who reads both."""
    from app.lending.terms import LoanTerms

    terms = LoanTerms(principal=Decimal("100000.00"), annual_rate=Decimal("12"), repayments=6,
                      disbursed_on=date(2026, 12, 10), early_repayment_fee_percent=Decimal(fee))
    clause = next(c for c in contract._terms_clauses(terms, "申城贸易有限公司", {}) if c.startswith("提前还款"))
    assert "提前还款违约金" in clause and "手续费" not in clause
