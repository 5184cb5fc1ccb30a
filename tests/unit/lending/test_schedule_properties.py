"""Properties of every generated schedule: principal adds up to the loan, balances never go negative."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings

from app.lending.schedule import generate_schedule
from app.lending.terms import Amortization, LoanTerms
from tests.unit.lending.strategies import loan_terms


@settings(max_examples=300, deadline=None)
@given(loan_terms())
def test_principal_parts_sum_to_the_loan_and_balances_stay_non_negative(terms: LoanTerms) -> None:
    schedule = generate_schedule(terms)
    rows = schedule.instalments
    assert sum(r.principal for r in rows) == terms.principal
    balance = terms.principal
    for row in rows:
        assert row.principal >= 0 and row.interest >= 0 and row.accrued_interest >= 0
        balance -= row.principal
        assert row.balance == balance >= 0
        assert row.total == row.principal + row.interest + row.fees
        for amount in (row.principal, row.interest, row.balance):
            assert amount == amount.quantize(Decimal("0.01"))
    assert rows[-1].balance == 0
    assert len(rows) <= terms.instalment_count
    assert [r.number for r in rows] == list(range(1, len(rows) + 1))
    assert all(a.due_date < b.due_date for a, b in zip(rows, rows[1:], strict=False))
    # interest-payment grace defers interest, it never waives it
    assert schedule.total_interest == sum(r.accrued_interest for r in rows)
    assert schedule.total_repayment == terms.principal + schedule.total_interest


@settings(max_examples=150, deadline=None)
@given(loan_terms())
def test_grace_periods_hold_back_principal_and_interest(terms: LoanTerms) -> None:
    rows = generate_schedule(terms).instalments
    for row in rows[:-1]:
        if row.number <= terms.principal_grace:
            assert row.principal == 0
        if row.number <= terms.interest_grace:
            assert row.interest == 0
    if terms.amortization in (Amortization.INTEREST_ONLY, Amortization.BULLET):
        assert all(r.principal == 0 for r in rows[:-1])
        assert rows[-1].principal == terms.principal
