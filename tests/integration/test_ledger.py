"""The loan ledger on every backend: bills, repayments, offline vouchers, prepayment, pay-off, waivers, write-off."""
from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.lending import Prepayment, generate_schedule
from app.lending.codec import product_from_mapping
from app.lending.simulator import Transaction, simulate
from app.models import JournalEntry, Payment, ScheduleVersion
from app.services.errors import Conflict, Invalid
from app.services.ledger import adjustments, loans, repayments
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

START = date(2026, 1, 10)


@pytest.fixture
def loan_id(ctx, clock) -> int:
    business_day(clock, START)
    product()
    return book(borrower())


def pay(loan_id: int, key: str, amount: str, **extra) -> repayments.PaymentOutcome:
    return repayments.take_payment_and_commit(PaymentNotice(loan_id, key, amount, **extra))


def terms(principal: str = "12000.00", repayments_: int = 12):
    return product_from_mapping(PRODUCT).terms_for(Decimal(principal), repayments_, START)


def test_booking_writes_the_bills_and_the_disbursement(loan_id):
    expected = generate_schedule(terms())
    rows = loans.instalments(loan_id)
    assert [(r.number, r.due_date, r.principal_due, r.interest_due, r.status) for r in rows] == [
        (i.number, i.due_date, i.principal, i.interest, "pending") for i in expected.instalments]
    assert rows[0].due_date == date(2026, 2, 10) and rows[0].principal_due + rows[0].interest_due == Decimal("1066.19")
    assert loans.load_state(loan_id).account.schedule == expected  # what is stored is what the domain made
    balances = loan_balances(loan_id)
    assert balances["loan_principal"] == Decimal("12000.00") and balances["cash_clearing"] == Decimal("-12000.00")
    assert_books_balance(loan_id)


def test_booking_the_same_business_key_twice_is_one_loan(loan_id):
    again = loans.book_loan(loans.LoanRequest("CREDIT12", "LOAN-1", loans.load_loan(loan_id).borrower_org_id,
                                              Decimal("12000.00"), 12, START))
    assert again.id == loan_id
    with pytest.raises(Conflict):
        loans.book_loan(loans.LoanRequest("CREDIT12", "LOAN-1", again.borrower_org_id, Decimal("500.00"), 12, START))
    assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == 1


def test_products_are_checked_by_the_lending_rules(ctx):
    with pytest.raises(Invalid) as above_cap:
        loans.create_product({**PRODUCT, "code": "USURY", "annual_rate": "36"})
    assert "annual_rate" in above_cap.value.fields
    with pytest.raises(Invalid):
        loans.create_product({**PRODUCT, "code": "BAD", "min_amount": "900", "max_amount": "100"})
    product()
    with pytest.raises(Conflict):
        product()
    with pytest.raises(Invalid) as too_big:
        loans.book_loan(loans.LoanRequest("CREDIT12", "BIG", borrower(), Decimal("9000000.00"), 12, START))
    assert "principal" in too_big.value.fields


def test_a_payment_settles_penalties_fees_interest_principal_oldest_first_and_a_duplicate_is_booked_once(
        loan_id, clock):
    run_eod(START)
    run_eod(date(2026, 3, 20))  # instalments 1 (due 10 Feb) and 2 (due 10 Mar) are overdue, with penalties
    first, second = loans.instalments(loan_id)[:2]
    assert (first.status, second.status) == ("overdue", "overdue")
    assert first.penalty_due > 0 and second.penalty_due > 0
    amount = loans.owed(first) + second.penalty_due + Decimal("10.00")
    business_day(clock, date(2026, 3, 21))

    outcome = pay(loan_id, "pay-1", str(amount))
    assert not outcome.duplicate and outcome.payment.status == "booked"
    first, second = loans.instalments(loan_id)[:2]
    assert loans.owed(first) == 0 and first.status == "paid" and first.paid_on == date(2026, 3, 21)
    assert second.penalty_paid == second.penalty_due and second.interest_paid == Decimal("10.00")
    assert second.principal_paid == 0 and second.status == "overdue"
    assert outcome.payment.allocation["instalments"][1]["interest"] == "10.00"

    again = pay(loan_id, "pay-1", str(amount))  # the channel notifies the same payment again
    assert again.duplicate and again.payment.id == outcome.payment.id
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1
    assert db.session.scalar(select(func.count()).where(JournalEntry.kind == "payment")) == 1
    with pytest.raises(Conflict):
        pay(loan_id, "pay-1", "99.00")
    assert_books_balance(loan_id)


def test_two_notifications_of_one_payment_at_the_same_moment_book_it_once(app, loan_id, clock):
    business_day(clock, date(2026, 2, 10))
    barrier = threading.Barrier(2)
    outcomes: list[repayments.PaymentOutcome] = []

    def notify() -> None:
        with app.app_context():
            barrier.wait()
            outcomes.append(pay(loan_id, "callback-1", "1066.19"))
            db.session.remove()

    threads = [threading.Thread(target=notify) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.duplicate for o in outcomes) == [False, True]
    assert len({o.payment.id for o in outcomes}) == 1
    assert db.session.scalar(select(func.count()).where(JournalEntry.kind == "payment")) == 1
    assert_books_balance(loan_id)


def test_an_offline_payment_waits_for_finance_then_is_booked_once(loan_id, clock):
    business_day(clock, date(2026, 2, 10))
    outcome = pay(loan_id, "voucher-7", "1066.19", channel="offline")
    assert outcome.payment.status == "pending" and outcome.payment.booked_on is None
    assert db.session.scalar(select(func.count()).where(JournalEntry.kind == "payment")) == 0
    assert loans.instalments(loan_id)[0].principal_paid == 0

    business_day(clock, date(2026, 2, 11))
    booked = repayments.confirm_payment(outcome.payment.id)
    db.session.commit()
    assert booked.status == "booked" and booked.booked_on == date(2026, 2, 11)
    assert loans.instalments(loan_id)[0].status == "paid"
    with pytest.raises(Conflict):  # a second click is a conflict and changes nothing
        repayments.confirm_payment(outcome.payment.id)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(JournalEntry.kind == "payment")) == 1
    with pytest.raises(Conflict):
        repayments.reject_payment(outcome.payment.id)

    bounced = pay(loan_id, "voucher-8", "500.00", channel="offline").payment
    repayments.reject_payment(bounced.id)
    db.session.commit()
    with pytest.raises(Conflict):
        repayments.confirm_payment(bounced.id)
    db.session.rollback()
    assert db.session.get(Payment, bounced.id).status == "rejected"
    assert_books_balance(loan_id)


@pytest.mark.parametrize("mode", list(Prepayment))
def test_prepayment_makes_a_new_schedule_version_and_keeps_the_old(loan_id, clock, mode):
    business_day(clock, date(2026, 2, 10))
    amount = Decimal("4066.19")  # the first instalment plus about 3,000 of principal (less the 1 % fee)
    outcome = pay(loan_id, "prepay", str(amount), prepayment=mode.value)
    allocation = outcome.payment.allocation
    assert Decimal(allocation["prepaid_principal"]) > Decimal("2900") and Decimal(allocation["fee"]) > 0

    expected = simulate(terms(), [Transaction(date(2026, 2, 10), amount)], mode).schedule
    current = loans.instalments(loan_id)
    assert [(r.number, r.due_date, r.principal_due, r.interest_due, r.fee_due) for r in current] == [
        (i.number, i.due_date, i.principal, i.interest, i.fees) for i in expected.instalments]
    old = loans.instalments(loan_id, version=1)
    assert len(old) == 12 and not any(r.is_current for r in old)
    assert [r.total for r in generate_schedule(terms()).instalments] == [
        r.principal_due + r.interest_due for r in old]
    versions = db.session.execute(select(ScheduleVersion.version, ScheduleVersion.reason)
                                  .where(ScheduleVersion.loan_id == loan_id).order_by(ScheduleVersion.version)).all()
    assert [tuple(v) for v in versions] == [(1, "booked"), (2, mode.value)]
    later = [r.principal_due + r.interest_due for r in current[2:-1]]
    if mode is Prepayment.SHORTEN_TERM:
        assert len(current) < 12 and set(later) == {Decimal("1066.19")}
    else:
        assert len(current) == 12 and max(later) < Decimal("1066.19")
    assert loan_balances(loan_id)["fee_income"] == -Decimal(allocation["fee"])
    assert_books_balance(loan_id)


def test_a_payoff_closes_the_loan_and_an_overpayment_is_kept_as_credit(loan_id, clock):
    business_day(clock, date(2026, 2, 20))
    quote = repayments.quote_payoff(loan_id)
    assert Decimal(quote["dues"]) == Decimal("1066.19")  # instalment 1, due on 10 Feb
    assert Decimal(quote["principal"]) == Decimal("12000.00") - Decimal("946.19")
    # bill 2 (10 Mar) is not issued on 20 Feb: the fee is on all the principal not yet due
    assert Decimal(quote["interest"]) > 0
    assert Decimal(quote["fee"]) == (Decimal(quote["principal"]) / 100).quantize(Decimal("0.01"))
    outcome = pay(loan_id, "payoff", str(Decimal(quote["total"]) + Decimal("50.00")))
    assert Decimal(outcome.payment.allocation["credit_added"]) == Decimal("50.00")
    loan = loans.load_loan(loan_id)
    assert (loan.status, loan.closed_on, loan.credit_balance) == ("closed", date(2026, 2, 20), Decimal("50.00"))
    assert all(r.status == "paid" for r in loans.instalments(loan_id))
    assert_books_balance(loan_id)
    assert loan_balances(loan_id)["loan_principal"] == 0 and loan_balances(loan_id)["borrower_credit"] == -50

    with pytest.raises(Conflict):
        pay(loan_id, "too-late", "10.00")
    assert repayments.refund_credit(loan_id) == Decimal("50.00")
    db.session.commit()
    assert loan_balances(loan_id)["borrower_credit"] == 0
    assert_books_balance(loan_id)


def test_waivers_reverse_income_and_a_write_off_takes_the_rest_off_the_books(loan_id, clock):
    run_eod(START)
    run_eod(date(2026, 2, 28))
    penalties = loan_balances(loan_id)["penalty_receivable"]
    assert penalties > 0
    assert adjustments.waive(loan_id, "penalty") == penalties
    assert adjustments.waive(loan_id, "interest", "50.00") == Decimal("50.00")
    db.session.commit()
    assert loan_balances(loan_id)["penalty_receivable"] == 0
    assert loan_balances(loan_id)["interest_receivable"] == Decimal("70.00")  # 120 billed, 50 waived
    with pytest.raises(Invalid):
        adjustments.waive(loan_id, "interest", "70.01")
    assert_books_balance(loan_id)

    total = adjustments.write_off(loan_id)
    db.session.commit()
    assert total == Decimal("12070.00")
    balances = loan_balances(loan_id)
    assert balances["write_off_expense"] == total and balances["loan_principal"] == 0
    assert loans.load_loan(loan_id).status == "written_off"
    run_eod(date(2026, 3, 31))  # a written-off loan accrues nothing more
    assert loan_balances(loan_id)["penalty_receivable"] == 0
    assert_books_balance(loan_id)
