"""Hypothesis strategies for loan terms, dates inside a loan's life and payment amounts."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from app.lending.daycount import DaysInMonth, DaysInYear, Frequency
from app.lending.money import Rounding
from app.lending.terms import Amortization, InterestMethod, InterestPeriod, LoanTerms

CENT = Decimal("0.01")


def cents(low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.integers(low, high).map(lambda n: Decimal(n) * CENT)


@st.composite
def loan_terms(draw: st.DrawFn, max_repayments: int = 36) -> LoanTerms:
    amortization = draw(st.sampled_from(Amortization))
    frequency = draw(st.sampled_from([Frequency.MONTHS, Frequency.MONTHS, Frequency.WEEKS, Frequency.DAYS,
                                      Frequency.WHOLE_TERM]))
    disbursed_on = draw(st.dates(date(2020, 1, 1), date(2026, 12, 31)))
    repayments = 1 if frequency is Frequency.WHOLE_TERM else draw(st.integers(1, max_repayments))
    every = draw(st.integers(7, 31)) if frequency is Frequency.DAYS else draw(st.integers(1, 3))
    maturity = None
    if frequency is Frequency.WHOLE_TERM:
        maturity = disbursed_on + timedelta(days=draw(st.integers(1, 720)))
    count = 1 if amortization is Amortization.BULLET or frequency is Frequency.WHOLE_TERM else repayments
    principal_grace = draw(st.integers(0, count - 1)) if count > 1 else 0
    interest_grace = draw(st.integers(0, count - 1)) if count > 1 else 0
    return LoanTerms(
        principal=draw(cents(100_00, 2_000_000_00)),
        annual_rate=Decimal(draw(st.integers(0, 3600))) / 100,
        repayments=repayments,
        disbursed_on=disbursed_on,
        interest_method=draw(st.sampled_from(InterestMethod)),
        amortization=amortization,
        interest_period=draw(st.sampled_from(InterestPeriod)),
        days_in_year=draw(st.sampled_from(DaysInYear)),
        days_in_month=draw(st.sampled_from(DaysInMonth)),
        instalment_multiple=draw(st.sampled_from([None, None, Decimal(1), Decimal("0.5"), Decimal(10)])),
        rounding=draw(st.sampled_from(Rounding)),
        principal_grace=principal_grace,
        interest_grace=interest_grace,
        frequency=frequency,
        every=every,
        maturity_date=maturity,
        early_repayment_fee_percent=draw(st.sampled_from([Decimal(0), Decimal(0), Decimal(1), Decimal("2.5")])),
    )

