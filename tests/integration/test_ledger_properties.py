"""Property: whatever happens to loans — disbursements, payments, prepayments, accruals, waivers — the books balance.

Each example starts from empty ledger tables and applies a random sequence of operations on a
weekly product (so a few weeks cover several instalments, overdue days and penalty accrual);
after every operation the trial balance is zero, every entry balances, and every loan's journal
balances equal what its instalments say.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from app.extensions import db
from app.models import (
    EodRun,
    Instalment,
    JournalEntry,
    JournalLine,
    Loan,
    OutboxMessage,
    Payment,
    Product,
    ScheduleVersion,
)
from app.models.identity import Organisation
from app.services.errors import ServiceError
from app.services.ledger import adjustments, loans, repayments
from app.services.ledger.eod import run_eod
from tests.integration.ledger_support import PRODUCT, assert_books_balance, business_day

START = date(2026, 3, 2)
WEEKLY = {**PRODUCT, "code": "WEEKLY", "frequency": "weeks", "overdue_grace_days": 1,
          "penalty_charge_percent": "1", "penalty_on_overdue_interest": True}

amounts = st.integers(1, 400_000).map(lambda c: Decimal(c) / 100)
operations = st.one_of(
    st.tuples(st.just("book"), st.integers(1_000, 60_000).map(lambda y: Decimal(y)), st.integers(2, 8)),
    st.tuples(st.just("pay"), amounts, st.sampled_from(["shorten_term", "reduce_instalment"])),
    st.tuples(st.just("offline"), amounts, st.booleans()),
    st.tuples(st.just("eod"), st.integers(1, 9), st.just(None)),
    st.tuples(st.just("waive"), st.sampled_from(["penalty", "interest", "fee"]), st.just(None)),
    st.tuples(st.just("write_off"), st.just(None), st.just(None)),
)


def _empty_ledger() -> None:
    for model in (JournalLine, JournalEntry, ScheduleVersion, Payment, Instalment, OutboxMessage, EodRun, Loan,
                  Product):
        db.session.execute(delete(model))
    db.session.commit()


def _org() -> int:
    org_id = db.session.scalar(select(Organisation.id).where(Organisation.code == "PROPS"))
    if org_id is None:
        from app.services.identity import directory as identity

        org_id = identity.create_org("PROPS", ["borrower"], "Property borrower").id
        db.session.commit()
    return org_id


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(ops=st.lists(operations, min_size=2, max_size=7), pick=st.randoms(use_true_random=False))
def test_the_trial_balance_is_zero_after_any_sequence_of_operations(ctx, clock, ops, pick):
    _empty_ledger()
    org_id = _org()
    today = START
    business_day(clock, today)
    loans.create_product(WEEKLY)
    loan_ids = [loans.book_loan(loans.LoanRequest("WEEKLY", "P-0", org_id, Decimal("20000.00"), 4, today)).id]
    db.session.commit()
    run_eod(today)
    for n, (kind, a, b) in enumerate(ops, start=1):
        loan_id = pick.choice(loan_ids)
        try:
            if kind == "book":
                loan_ids.append(loans.book_loan(loans.LoanRequest("WEEKLY", f"P-{n}", org_id, a, b, today)).id)
            elif kind == "pay":
                repayments.take_payment(repayments.PaymentNotice(loan_id, f"pay-{n}", a, prepayment=b))
            elif kind == "offline":
                payment = repayments.take_payment(repayments.PaymentNotice(loan_id, f"v-{n}", a, "offline")).payment
                (repayments.confirm_payment if b else repayments.reject_payment)(payment.id)
            elif kind == "eod":
                today += timedelta(days=a)
                business_day(clock, today)
                run_eod(today)
            elif kind == "waive":
                adjustments.waive(loan_id, a)
            else:
                adjustments.write_off(loan_id)
            db.session.commit()
        except ServiceError:
            db.session.rollback()  # a closed loan, nothing to waive, …: refused, and nothing changed
        assert_books_balance(*loan_ids)
