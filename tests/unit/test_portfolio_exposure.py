"""The dashboard's exposure figures (`origination.portfolio.exposure`, pure): whatever the loans, the
buckets partition them — their counts and outstanding principal add up to the totals exactly — and
PAR30 is the share, to the hundredth of a percent, of the principal on loans more than 30 days past
due."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from app.lending.overdue import Bucket
from app.services.origination.portfolio import LoanPosition, exposure

cents = st.integers(min_value=0, max_value=10**13).map(lambda n: Decimal(n).scaleb(-2))
positions = st.lists(st.builds(LoanPosition, st.integers(min_value=0, max_value=2000), cents), max_size=60)


@given(positions)
def test_the_buckets_add_up_to_the_total_outstanding(loans):
    figures = exposure(loans)
    assert [b.bucket for b in figures.buckets] == list(Bucket)
    assert sum((b.outstanding for b in figures.buckets), Decimal(0)) == figures.outstanding
    assert sum(b.loans for b in figures.buckets) == figures.loans == len(loans)
    assert figures.outstanding == sum((p.outstanding for p in loans), Decimal(0))
    over_30 = [b for b in figures.buckets if b.bucket in (Bucket.DPD_31_60, Bucket.DPD_61_90, Bucket.DPD_91_PLUS)]
    assert figures.at_risk == sum((b.outstanding for b in over_30), Decimal(0))


@given(positions)
def test_par30_is_the_share_of_principal_more_than_30_days_past_due(loans):
    figures = exposure(loans)
    if figures.outstanding == 0:
        assert figures.par30 is None
        return
    late = sum((p.outstanding for p in loans if p.dpd > 30), Decimal(0))
    assert figures.par30 == (late * 100 / figures.outstanding).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert Decimal(0) <= figures.par30 <= Decimal(100)


def test_a_loan_30_days_past_due_is_not_at_risk_and_31_is():
    figures = exposure([LoanPosition(30, Decimal("100.00")), LoanPosition(31, Decimal("300.00"))])
    assert figures.par30 == Decimal("75.00") and figures.at_risk == Decimal("300.00")
    assert {b.bucket: b.loans for b in figures.buckets}[Bucket.DPD_1_30] == 1
