"""Schedule rules beyond the reference cases: dates, day counts, grace, and the other repayment methods."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.lending.codec import terms_from_mapping
from app.lending.periods import annuity
from app.lending.schedule import generate_schedule
from tests.unit.lending.reference import schedule_cases

D = Decimal
CENT = D("0.01")
BASE = {"principal": "12000", "annual_rate": "12", "repayments": 6, "disbursed_on": "2024-01-31"}


def schedule(**more: object):
    return generate_schedule(terms_from_mapping({**BASE, **more}))


def test_monthly_due_dates_keep_the_disbursement_day_clamped_to_month_end() -> None:
    due = [r.due_date for r in schedule().instalments]
    assert due[:3] == [date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)]
    assert [r.due_date for r in schedule(every=2, repayments=2).instalments] == [date(2024, 3, 31),
                                                                                   date(2024, 5, 31)]


def test_weekly_and_daily_frequencies() -> None:
    weekly = schedule(frequency="weeks", every=2, repayments=3).instalments
    assert [r.due_date for r in weekly] == [date(2024, 2, 14), date(2024, 2, 28), date(2024, 3, 13)]
    assert weekly[0].interest == (D(12000) * D("0.12") * 2 / 52).quantize(CENT)
    daily = schedule(frequency="days", every=10, repayments=2, days_in_year="365").instalments
    assert [r.due_date for r in daily] == [date(2024, 2, 10), date(2024, 2, 20)]
    assert daily[0].interest == (D(12000) * D("0.12") * 10 / 365).quantize(CENT)


def test_actual_days_in_year_is_366_in_a_leap_year_for_daily_interest() -> None:
    rows = schedule(interest_period="daily", days_in_year="actual", disbursed_on="2024-01-01").instalments
    assert rows[1].start_date == date(2024, 2, 1) and rows[1].due_date == date(2024, 3, 1)
    assert rows[1].interest == (rows[0].balance * D("0.12") * 29 / 366).quantize(CENT)
    rows_365 = schedule(interest_period="daily", days_in_year="365", disbursed_on="2024-01-01").instalments
    assert rows_365[1].interest == (rows_365[0].balance * D("0.12") * 29 / 365).quantize(CENT)


def test_a_daily_period_across_new_year_splits_the_year_basis() -> None:
    rows = schedule(interest_period="daily", days_in_year="actual", disbursed_on="2023-12-15",
                    repayments=1).instalments
    expected = D(12000) * D("0.12") * (D(17) / 365 + D(14) / 366)
    assert rows[0].interest == expected.quantize(CENT)


def test_principal_grace_pays_interest_only_then_an_annuity_over_the_rest() -> None:
    rows = schedule(principal_grace=2).instalments
    assert [r.principal for r in rows[:2]] == [0, 0]
    assert rows[0].interest == rows[1].interest == D(120)
    level = annuity(D(12000), D("0.01"), 4).quantize(CENT)
    assert all(r.total == level for r in rows[2:-1])


def test_interest_grace_defers_interest_to_the_first_period_after_it() -> None:
    plain, graced = schedule().instalments, schedule(interest_grace=2).instalments
    assert [r.interest for r in graced[:2]] == [0, 0]
    assert graced[2].interest == sum(r.interest for r in plain[:3])
    assert [r.principal for r in graced] == [r.principal for r in plain]
    assert sum(r.interest for r in graced) == sum(r.interest for r in plain)


def test_interest_only_pays_interest_each_period_and_principal_at_maturity() -> None:
    rows = schedule(amortization="interest_only").instalments
    assert len(rows) == 6
    assert all(r.principal == 0 and r.interest == D(120) for r in rows[:-1])
    assert rows[-1].principal == D(12000) and rows[-1].interest == D(120)


def test_bullet_pays_everything_once_at_maturity() -> None:
    rows = schedule(amortization="bullet").instalments
    assert len(rows) == 1 and rows[0].due_date == date(2024, 7, 31)
    assert rows[0].principal == D(12000) and rows[0].interest == D(720)


def test_whole_term_loan_runs_to_the_order_payment_date() -> None:
    rows = schedule(frequency="whole_term", repayments=1, maturity_date="2024-05-30",
                    days_in_year="365").instalments
    assert len(rows) == 1 and rows[0].due_date == date(2024, 5, 30)
    assert rows[0].interest == (D(12000) * D("0.12") * 120 / 365).quantize(CENT)


def test_rounding_mode_is_a_product_setting() -> None:
    case = next(c for c in schedule_cases() if c["id"] == "flat-1250-15-4")
    even = generate_schedule(terms_from_mapping(case["terms"])).instalments
    up = generate_schedule(terms_from_mapping({**case["terms"], "rounding": "half_up"})).instalments
    assert even[0].interest == D("15.62") and up[0].interest == D("15.63")  # 15.625 either way
    assert sum(r.principal for r in up) == D(1250)


def test_equal_principal_with_a_multiple_ignores_the_multiple() -> None:
    rows = schedule(amortization="equal_principal", instalment_multiple="1", principal="1000",
                    repayments=3).instalments
    assert [r.principal for r in rows] == [D("333.33"), D("333.33"), D("333.34")]
