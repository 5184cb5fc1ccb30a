"""Each product posts to its own accounts, online and in the end-of-day batch; the chart grows by rows."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import delete, select

from app.extensions import db
from app.models import EodRun, JournalEntry, JournalLine, ProductAccount
from app.services.errors import Conflict, Invalid
from app.services.ledger import adjustments, posting, repayments
from app.services.ledger.eod import run_eod
from app.services.ledger.journal import trial_balance
from app.services.ledger.posting import DEFAULT_ACCOUNTS, IncompleteMapping, Role
from app.services.ledger.repayments import PaymentNotice
from tests.integration.ledger_support import assert_books_balance, book, borrower, business_day, product

START = date(2026, 1, 10)
# A product of a funder that keeps its books apart: an account of its own for every role.
SME_ACCOUNTS = {
    Role.FUND_SOURCE: ("sme_bank", "asset"), Role.LOAN_PORTFOLIO: ("sme_loans", "asset"),
    Role.INTEREST_RECEIVABLE: ("sme_interest_receivable", "asset"), Role.FEE_RECEIVABLE: ("sme_fees_receivable", "asset"),
    Role.PENALTY_RECEIVABLE: ("sme_penalties_receivable", "asset"), Role.INTEREST_INCOME: ("sme_interest", "income"),
    Role.FEE_INCOME: ("sme_fees", "income"), Role.PENALTY_INCOME: ("sme_penalties", "income"),
    Role.LOSSES_WRITTEN_OFF: ("sme_losses", "expense"), Role.OVERPAYMENT_LIABILITY: ("sme_credit", "liability"),
}


def sme_product() -> str:
    for code, kind in SME_ACCOUNTS.values():
        posting.add_account(code, code.replace("_", " "), kind)
    return product(code="SME12", penalty_charge_percent="1",
                   accounts={role.value: code for role, (code, _) in SME_ACCOUNTS.items()})


@pytest.fixture
def loans_of_both(ctx, clock) -> Iterator[dict[str, list[int]]]:
    """Two loans of the default accounts' product and two of SME12, alike in every other way."""
    business_day(clock, START)
    product(penalty_charge_percent="1")
    sme_product()
    org = borrower()
    yield {code: [book(org, key=f"{code}-{n}", code=code) for n in (1, 2)] for code in ("CREDIT12", "SME12")}


def pay(loan_id: int, key: str, amount: str) -> None:
    repayments.take_payment_and_commit(PaymentNotice(loan_id, key, amount))


def journal(loan_id: int) -> list[tuple[str, date, str, Decimal]]:
    rows = db.session.execute(
        select(JournalEntry.kind, JournalEntry.business_date, JournalLine.account, JournalLine.amount)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id).where(JournalLine.loan_id == loan_id)
        .order_by(JournalEntry.id, JournalLine.account))
    return [tuple(row) for row in rows]


def test_a_product_with_its_own_accounts_posts_every_event_to_them_online_and_in_the_batch(loans_of_both, clock):
    (settled, written_off), (sme_settled, sme_written_off) = loans_of_both["CREDIT12"], loans_of_both["SME12"]
    run_eod(START)
    run_eod(date(2026, 2, 20))  # bill 1 billed, overdue since 14 Feb: penalty charge and penalty interest
    business_day(clock, date(2026, 2, 20))
    for loan_id in (settled, sme_settled):
        pay(loan_id, f"part-{loan_id}", "3000.00")  # bill 1 with its penalties, then prepays with a fee
    run_eod(date(2026, 3, 20))  # bill 2 overdue now
    business_day(clock, date(2026, 3, 20))
    for loan_id in (settled, sme_settled):
        adjustments.waive(loan_id, "penalty")
        adjustments.waive(loan_id, "interest", "10.00")
        quote = repayments.quote_payoff(loan_id)
        pay(loan_id, f"payoff-{loan_id}", str(Decimal(quote["to_pay"]) + Decimal("50.00")))  # closes, 50 credit
        repayments.refund_credit(loan_id)
    for loan_id in (written_off, sme_written_off):
        adjustments.write_off(loan_id)
    db.session.commit()

    to_default = {code: DEFAULT_ACCOUNTS[role] for role, (code, _) in SME_ACCOUNTS.items()}
    for loan_id, sme_loan_id in ((settled, sme_settled), (written_off, sme_written_off)):
        lines, sme_lines = journal(loan_id), journal(sme_loan_id)
        assert {account for _, _, account, _ in lines} <= set(DEFAULT_ACCOUNTS.values())
        assert {account for _, _, account, _ in sme_lines} <= set(to_default)  # none in the default accounts
        assert sorted((kind, on, to_default[account], amount) for kind, on, account, amount in sme_lines) == sorted(lines)
    kinds = {kind for kind, *_ in journal(sme_settled) + journal(sme_written_off)}
    assert kinds == set(posting.RULES) - {"fee_waived"}  # every event but a fee waiver (no fee is left owing)
    assert_books_balance(settled, written_off, sme_settled, sme_written_off)
    balances = trial_balance().balances
    assert balances["sme_losses"] == balances["write_off_expense"] > 0
    assert balances["sme_penalties"] == balances["penalty_income"] < 0


def test_the_chart_grows_by_rows_and_a_product_posts_to_a_new_account_from_then_on(ctx, clock, runner):
    business_day(clock, START)
    product()
    loan_id = book(borrower())
    run_eod(START)
    run_eod(date(2026, 2, 15))
    assert runner.invoke(args=["ledger", "add-account", "sme_interest", "SME interest income",
                               "--kind", "income"]).exit_code == 0
    result = runner.invoke(args=["ledger", "map-account", "CREDIT12", "interest_income", "sme_interest"])
    assert result.exit_code == 0, result.output
    run_eod(date(2026, 3, 15))  # bill 2's interest goes to the new account, bill 1's stays where it was
    balances = trial_balance().balances
    assert list(balances)[-1] == "sme_interest" and balances["sme_interest"] == Decimal("-110.54")
    assert balances["interest_income"] == Decimal("-120.00")
    assert_books_balance(loan_id)
    listing = runner.invoke(args=["ledger", "accounts", "--product", "CREDIT12"]).output
    assert "interest_income        sme_interest" in listing and "fund_source            cash_clearing" in listing

    # what a loan owes stays in its account while the product has loans; a wrong account is refused
    moved = runner.invoke(args=["ledger", "map-account", "CREDIT12", "interest_receivable", "loan_principal"])
    assert moved.exit_code == 1 and "balances stay" in moved.output
    with pytest.raises(Conflict):
        posting.map_account("CREDIT12", "loan_portfolio", "cash_clearing")
    with pytest.raises(Invalid) as wrong:
        posting.map_account("CREDIT12", "fee_income", "cash_clearing")
    assert wrong.value.fields == {"accounts": ["fee_income: cash_clearing is of kind asset, not income"]}
    assert runner.invoke(args=["ledger", "add-account", "sme_interest", "again", "--kind", "income"]).exit_code == 1


def test_a_products_accounts_are_checked_when_it_is_created(ctx):
    cases = [({"interest_incme": "interest_income"}, "no such role"),
             ({"interest_income": "no_such_account"}, "not an account of the chart"),
             ({"interest_income": "cash_clearing"}, "is of kind asset"),
             ({"fund_source": 12}, "not an account of the chart")]
    for accounts, problem in cases:
        with pytest.raises(Invalid) as refused:
            product(code="BADMAP", accounts=accounts)
        assert problem in refused.value.fields["accounts"][0]
    with pytest.raises(Invalid):
        product(code="BADMAP", accounts=["cash_clearing"])
    db.session.rollback()
    product(code="LIABILITYFUND", accounts={"fund_source": "borrower_credit"})  # Fineract allows this too
    assert posting.accounts_of_product("LIABILITYFUND") == {**DEFAULT_ACCOUNTS, Role.FUND_SOURCE: "borrower_credit"}


def test_the_batch_refuses_to_run_while_a_product_lacks_an_account(ctx, clock):
    business_day(clock, START)
    product()
    book(borrower())
    db.session.execute(delete(ProductAccount).where(ProductAccount.role == "penalty_income"))
    db.session.commit()
    with pytest.raises(IncompleteMapping, match="CREDIT12"):
        run_eod(START)
    assert db.session.scalar(select(EodRun.status)) == "failed"
