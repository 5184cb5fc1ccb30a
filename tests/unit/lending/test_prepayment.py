"""Early repayment: pay-off quotes, partial prepayments both ways, and versioned schedules."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.lending.account import apply_payment, open_account, payoff_quote
from app.lending.codec import terms_from_mapping
from app.lending.errors import LoanStateError
from app.lending.prepayment import prepay
from app.lending.schedule import generate_schedule
from app.lending.terms import Prepayment
from tests.unit.lending.reference import schedule_cases

D = Decimal
CENT = D("0.01")
# the reference annuity: 5000 at 12 % over 18 months from 2022-11-01, instalment 305
CASE = next(c for c in schedule_cases() if c["id"] == "declining-5000-12-18")


def loan(**more: object):
    return generate_schedule(terms_from_mapping({**CASE["terms"], **more}))


def test_shorten_term_keeps_the_instalment_and_ends_earlier() -> None:
    before = loan()
    after = prepay(before, date(2023, 3, 1), D(1000), Prepayment.SHORTEN_TERM)
    assert after.version == 2 and before.version == 1
    assert after.instalments[:4] == before.instalments[:4]  # what was already due is untouched
    assert after.instalments[4].principal - D(1000) + after.instalments[4].interest == D(305)
    assert all(r.total == D(305) for r in after.instalments[5:-1])
    assert len(after.instalments) < len(before.instalments)
    assert after.total_interest < before.total_interest
    assert after.total_principal == D(5000)


def test_reduce_instalment_keeps_the_term_with_a_lower_instalment() -> None:
    before = loan()
    after = prepay(before, date(2023, 3, 1), D(1000), Prepayment.REDUCE_INSTALMENT)
    assert len(after.instalments) == len(before.instalments)
    level = after.level_payment
    assert level is not None and level < D(305) and level == level.to_integral_value()  # multiple of 1
    assert all(r.total == level for r in after.instalments[5:-1])
    assert after.total_interest < before.total_interest
    assert after.instalments[-1].due_date == before.instalments[-1].due_date


@pytest.mark.parametrize("day", [2, 11, 20, 28])
def test_reduce_instalment_mid_period_leaves_the_last_instalment_level_with_the_others(day: int) -> None:
    """The days before a prepayment earn interest on the old balance: the new instalment amortises that too, so the
    last instalment is the others' to the cent's rounding (it carried what the first paid as interest: a ¥50,000
    prepayment of a ¥300,000 loan mid-period left it ¥69.16 above the others)."""
    before = loan(principal="300000", instalment_multiple="0.01")
    after = prepay(before, date(2023, 3, day), D(50000), Prepayment.REDUCE_INSTALMENT)
    level = after.level_payment
    assert level is not None and level < before.level_payment
    current, *rest = after.instalments[4:]
    assert current.principal - D(50000) + current.interest == level  # the current one pays the level too
    assert all(r.total == level for r in rest[:-1])
    assert abs(rest[-1].total - level) <= D("0.10"), (rest[-1].total, level)  # the cents the rounding leaves
    assert after.total_principal == D(300000)


def test_interest_of_the_current_period_runs_on_the_lower_balance_from_the_prepayment_date() -> None:
    before = loan(interest_period="daily", days_in_year="365")
    on = date(2023, 3, 11)  # 10 days into the period 1 Mar – 1 Apr
    after = prepay(before, on, D(1000), Prepayment.SHORTEN_TERM)
    row, opening = after.instalments[4], before.instalments[4].opening_balance
    expected = (opening * 10 + (opening - 1000) * 21) * D("0.12") / 365
    assert row.interest == expected.quantize(CENT)
    assert row.prepayments == ((on, D(1000)),)


def test_a_prepayment_must_fit_the_principal_not_yet_due() -> None:
    schedule = loan()
    with pytest.raises(LoanStateError):
        prepay(schedule, date(2023, 3, 1), D(0), Prepayment.SHORTEN_TERM)
    with pytest.raises(LoanStateError):
        prepay(schedule, date(2023, 3, 1), schedule.instalments[3].balance + CENT, Prepayment.SHORTEN_TERM)
    with pytest.raises(LoanStateError):
        prepay(schedule, date(2024, 5, 1), D(1), Prepayment.SHORTEN_TERM)  # every instalment is due


def test_payoff_quote_is_principal_plus_interest_to_date_plus_fee_plus_arrears() -> None:
    account = open_account(loan(early_repayment_fee_percent="2", interest_period="daily",
                                days_in_year="365"))
    rows = account.schedule.instalments
    on = date(2023, 3, 11)
    account = apply_payment(account, date(2022, 12, 1), rows[0].total).account  # then stops paying
    quote = payoff_quote(account, on)
    assert quote.dues == sum(r.total for r in rows[1:4])  # three instalments in arrears
    assert quote.principal == rows[3].balance
    assert quote.interest == (rows[3].balance * D("0.12") * 10 / 365).quantize(CENT)
    # instalment 5 (due 1 Apr) is not billed yet on 11 Mar: the fee is on all the principal not yet due
    assert quote.fee == (rows[3].balance * D("0.02")).quantize(CENT)
    result = apply_payment(account, on, quote.total)
    assert result.account.outstanding == 0 and result.account.credit == 0
    closing = result.account.schedule.instalments[-1]
    assert closing.due_date == on and closing.fees == quote.fee
    assert len(result.account.history) == 1 and result.account.history[0] == account.schedule


def test_payoff_on_a_due_date_after_paying_it_needs_no_interest() -> None:
    account = open_account(loan())
    rows = account.schedule.instalments
    on = rows[2].due_date
    quote = payoff_quote(account, on)
    assert quote.interest == 0 and quote.principal == rows[2].balance
    assert quote.dues == sum(r.total for r in rows[:3])


def test_payoff_during_interest_grace_collects_the_deferred_interest() -> None:
    account = open_account(loan(interest_grace=3))
    rows = account.schedule.instalments
    on = rows[1].due_date
    quote = payoff_quote(account, on)
    assert quote.interest == rows[0].accrued_interest + rows[1].accrued_interest
    assert apply_payment(account, on, quote.total).account.outstanding == 0


def test_payoff_quote_after_the_loan_is_paid_is_zero() -> None:
    account = open_account(loan())
    account = apply_payment(account, date(2022, 11, 1), payoff_quote(account, date(2022, 11, 1)).total).account
    quote = payoff_quote(account, date(2022, 12, 1))
    assert quote.total == 0
    with pytest.raises(LoanStateError):
        payoff_quote(account, date(2022, 10, 1))
