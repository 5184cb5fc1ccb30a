"""Days past due, buckets, daily penalty interest (罚息) and the grace before an instalment is overdue."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.lending.codec import terms_from_mapping
from app.lending.overdue import (
    Bucket,
    UnpaidInstalment,
    accrue_penalty_interest,
    bucket_for,
    daily_penalty_rate,
    days_past_due,
    is_overdue,
    loan_days_past_due,
    penalty_interest,
)

D = Decimal
TERMS = {"principal": "10000", "annual_rate": "12", "repayments": 12, "disbursed_on": "2024-01-01"}


@pytest.mark.parametrize(("days", "bucket"), [
    (0, Bucket.CURRENT), (1, Bucket.DPD_1_30), (30, Bucket.DPD_1_30), (31, Bucket.DPD_31_60),
    (60, Bucket.DPD_31_60), (61, Bucket.DPD_61_90), (90, Bucket.DPD_61_90), (91, Bucket.DPD_91_PLUS),
    (4000, Bucket.DPD_91_PLUS),
])
def test_buckets(days: int, bucket: Bucket) -> None:
    assert bucket_for(days) is bucket


def test_bucket_labels_and_negative_days() -> None:
    assert [b.value for b in Bucket] == ["current", "1-30", "31-60", "61-90", "91+"]
    with pytest.raises(ValueError):
        bucket_for(-1)


def test_grace_days_delay_overdue_then_count_from_the_due_date() -> None:
    due = date(2024, 3, 1)
    assert not is_overdue(due, due) and is_overdue(due, due + timedelta(days=1))
    assert days_past_due(due, date(2024, 3, 4), grace_days=3) == 0
    assert days_past_due(due, date(2024, 3, 5), grace_days=3) == 4
    assert days_past_due(due, date(2024, 2, 20)) == 0


def test_the_loan_is_as_late_as_its_oldest_unpaid_instalment() -> None:
    unpaid = [UnpaidInstalment(1, date(2024, 2, 1), D(0), D(0)),  # fully paid: ignored
              UnpaidInstalment(2, date(2024, 3, 1), D(100), D(5)),
              UnpaidInstalment(3, date(2024, 4, 1), D(100), D(5))]
    assert loan_days_past_due(unpaid, date(2024, 4, 10)) == 40
    assert bucket_for(loan_days_past_due(unpaid, date(2024, 4, 10))) is Bucket.DPD_31_60
    assert loan_days_past_due(unpaid, date(2024, 3, 1)) == 0
    assert loan_days_past_due(unpaid[2:], date(2024, 4, 3), grace_days=3) == 0


def test_penalty_interest_is_the_contract_rate_times_the_multiplier_per_day_on_overdue_principal() -> None:
    terms = terms_from_mapping(TERMS)  # 12 % × 1.5 over 360 days
    assert abs(daily_penalty_rate(terms, date(2024, 3, 2)) - D("0.12") * D("1.5") / 360) < D("1e-25")
    ten_days = penalty_interest(terms, D(10000), D(300), date(2024, 3, 1), date(2024, 3, 11))
    assert ten_days == (D(10000) * D("0.12") * D("1.5") / 360 * 10).quantize(D("0.01"))
    assert ten_days == penalty_interest(terms, D(10000), D(0), date(2024, 3, 1), date(2024, 3, 11))
    with_interest = terms_from_mapping({**TERMS, "penalty_on_overdue_interest": True})
    assert penalty_interest(with_interest, D(10000), D(300), date(2024, 3, 1), date(2024, 3, 11)) == (
        D(10300) * D("0.12") * D("1.5") / 360 * 10).quantize(D("0.01"))
    custom = terms_from_mapping({**TERMS, "penalty_rate_multiplier": "1.3", "penalty_days_in_year": "365"})
    assert abs(daily_penalty_rate(custom, date(2024, 3, 2)) - D("0.12") * D("1.3") / 365) < D("1e-25")


def test_daily_accrual_skips_the_grace_then_catches_up_and_adds_up() -> None:
    terms = terms_from_mapping({**TERMS, "overdue_grace_days": 3})
    bill = UnpaidInstalment(1, date(2024, 3, 1), principal=D(10000), interest=D(100))
    postings = {date(2024, 3, 1) + timedelta(days=n): accrue_penalty_interest(terms, bill, date(2024, 3, 1)
                                                                               + timedelta(days=n))
                for n in range(0, 15)}
    per_day = penalty_interest(terms, D(10000), D(0), date(2024, 3, 1), date(2024, 3, 2))
    assert all(postings[date(2024, 3, d)] == 0 for d in (1, 2, 3, 4))  # due day and 3 grace days
    assert postings[date(2024, 3, 5)] == 4 * per_day  # first overdue day catches up from the due date
    assert all(postings[date(2024, 3, d)] == per_day for d in range(6, 16))
    assert sum(postings.values()) == penalty_interest(terms, D(10000), D(0), date(2024, 3, 1), date(2024, 3, 15))
