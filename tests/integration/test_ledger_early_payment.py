"""Paying a bill before its due date, as stored: the bill is settled as scheduled, the batch finds nothing to do."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.lending import Prepayment
from app.lending.codec import product_from_mapping
from app.lending.simulator import Transaction, simulate
from app.models import JournalEntry, OutboxMessage, ScheduleVersion
from app.services.ledger import loans, repayments
from app.services.ledger.eod import run_eod
from app.services.ledger.journal import loan_balances
from app.services.ledger.repayments import PaymentNotice
from tests.integration.ledger_support import (
    PRODUCT,
    assert_books_balance,
    book,
    borrower,
    business_day,
    product,
)

START = date(2026, 1, 10)  # 12,000 at 12 % over 12 months: bills of 1,066.19 due on the 10th


@pytest.fixture
def loan_id(ctx, clock) -> int:
    business_day(clock, START)
    product()
    loan = book(borrower())
    run_eod(START)
    return loan


def pay(loan_id: int, key: str, amount: str, **extra) -> repayments.PaymentOutcome:
    return repayments.take_payment_and_commit(PaymentNotice(loan_id, key, amount, **extra))


def versions(loan_id: int) -> list[tuple[int, str]]:
    return [tuple(v) for v in db.session.execute(
        select(ScheduleVersion.version, ScheduleVersion.reason)
        .where(ScheduleVersion.loan_id == loan_id).order_by(ScheduleVersion.version)).all()]


def test_paying_the_bill_two_days_early_settles_it_and_the_batch_bills_nothing_more(loan_id, clock):
    business_day(clock, date(2026, 2, 8))
    outcome = pay(loan_id, "early-1", "1066.19")
    allocation = outcome.payment.allocation
    assert allocation["prepaid_principal"] == "0.00" and allocation["credit_added"] == "0.00"
    assert [(i["number"], i["interest"], i["principal"]) for i in allocation["instalments"]] == [
        (1, "120.00", "946.19")]
    first, second = loans.instalments(loan_id)[:2]
    assert (first.status, first.paid_on, loans.owed(first)) == ("paid", date(2026, 2, 8), 0)
    assert first.interest_billed == Decimal("120.00") and second.principal_paid == 0
    assert versions(loan_id) == [(1, "booked")]
    assert_books_balance(loan_id)

    business_day(clock, date(2026, 2, 12))
    run_eod(date(2026, 2, 12))  # through the due date and past the grace days
    first = loans.instalments(loan_id)[0]
    assert first.status == "paid" and first.interest_billed == Decimal("120.00")
    assert loan_balances(loan_id)["interest_income"] == -Decimal("120.00")  # recognised once, at the payment
    names = db.session.scalars(select(OutboxMessage.name).where(OutboxMessage.loan_id == loan_id)).all()
    assert "overdue" not in names and "bill_due_soon" not in names
    assert loans.load_loan(loan_id).dpd == 0
    assert_books_balance(loan_id)


@pytest.mark.parametrize("mode", list(Prepayment))
def test_money_above_an_early_bill_prepays_from_its_due_date_as_the_simulator_does(loan_id, clock, mode):
    business_day(clock, date(2026, 2, 7))
    outcome = pay(loan_id, "early-2", "4066.19", prepayment=mode.value)
    allocation = outcome.payment.allocation
    assert allocation["instalments"][0]["number"] == 1 and allocation["instalments"][0]["principal"] == "946.19"
    assert Decimal(allocation["prepaid_principal"]) + Decimal(allocation["fee"]) == Decimal("3000.00")

    terms = product_from_mapping(PRODUCT).terms_for(Decimal("12000.00"), 12, START)
    expected = simulate(terms, [Transaction(date(2026, 2, 7), Decimal("4066.19"))], mode).schedule
    current = loans.instalments(loan_id)
    assert [(r.number, r.due_date, r.principal_due, r.interest_due, r.fee_due) for r in current] == [
        (i.number, i.due_date, i.principal, i.interest, i.fees) for i in expected.instalments]
    assert current[0].interest_due == Decimal("120.00") and current[0].status == "paid"
    assert current[1].prepayments == [["2026-02-10", allocation["prepaid_principal"]]]
    assert versions(loan_id) == [(1, "booked"), (2, mode.value)]
    assert_books_balance(loan_id)


def test_a_payoff_quote_after_an_early_bill_refunds_no_interest_and_settles_the_loan(loan_id, clock):
    business_day(clock, date(2026, 2, 8))
    pay(loan_id, "early-3", "1066.19")
    quote = repayments.quote_payoff(loan_id)
    assert (quote["dues"], quote["interest"]) == ("0.00", "0.00")
    assert quote["principal"] == "11053.81" and quote["fee"] == "110.54"  # 1 % of what is prepaid
    short = pay(loan_id, "payoff-short", str(Decimal(quote["total"]) - Decimal("0.01")))
    assert short.payment.allocation["settled"] is False and loans.load_loan(loan_id).status == "active"

    business_day(clock, date(2026, 2, 9))
    quote = repayments.quote_payoff(loan_id)
    outcome = pay(loan_id, "payoff", quote["to_pay"])
    assert outcome.payment.allocation["settled"] is True
    loan = loans.load_loan(loan_id)
    assert (loan.status, loan.closed_on, loan.credit_balance) == ("closed", date(2026, 2, 9), Decimal("0.00"))
    assert all(r.status == "paid" for r in loans.instalments(loan_id))
    assert versions(loan_id)[-1][1] == "payoff"
    assert_books_balance(loan_id)


def test_an_offline_voucher_confirmed_before_the_due_date_pays_the_bill(loan_id, clock):
    business_day(clock, date(2026, 2, 5))
    voucher = pay(loan_id, "voucher-early", "1066.19", channel="offline").payment
    business_day(clock, date(2026, 2, 7))  # confirmed the day bill 1 is issued: it pays the bill
    booked = repayments.confirm_payment(voucher.id)
    db.session.commit()
    assert booked.booked_on == date(2026, 2, 7) and booked.allocation["prepaid_principal"] == "0.00"
    assert loans.instalments(loan_id)[0].status == "paid"
    assert db.session.scalar(select(func.count()).where(JournalEntry.kind == "payment")) == 1
    assert_books_balance(loan_id)
