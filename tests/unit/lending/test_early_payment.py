"""Paying a bill before its due date settles that bill as scheduled; only money above it prepays principal."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.lending.account import apply_payment, open_account, payoff_quote
from app.lending.billing import current_bill_index, prepayment_date
from app.lending.codec import terms_from_mapping
from app.lending.schedule import generate_schedule
from app.lending.simulator import simulate_request
from app.lending.terms import Prepayment
from tests.unit.lending.reference import schedule_cases

D = Decimal
CENT = D("0.01")
# the reference annuity: 5000 at 12 % over 18 months from 2022-11-01, instalment 305;
# bill 1 is due 2022-12-01 (255.00 principal + 50.00 interest), bill 2 on 2023-01-01 (257.55 + 47.45)
CASE = next(c for c in schedule_cases() if c["id"] == "declining-5000-12-18")


def account_after_bill_1(**more: object):
    account = open_account(generate_schedule(terms_from_mapping({**CASE["terms"], **more})))
    return apply_payment(account, date(2022, 12, 1), D(305)).account


def test_paying_the_bill_two_days_early_settles_it_and_changes_no_schedule() -> None:
    account = account_after_bill_1()
    result = apply_payment(account, date(2022, 12, 30), D(305))
    assert result.prepaid_principal == 0 and result.credit_added == 0 and not result.settled
    assert [(line.number, line.interest, line.principal) for line in result.allocation.lines] == [
        (2, D("47.45"), D("257.55"))]
    assert result.account.schedule == account.schedule and result.account.history == ()
    assert result.account.owed_on(result.account.schedule.instalments[1]).total == 0
    # on the due date nothing is owed any more, and the next bill is untouched
    assert result.account.dues(date(2023, 1, 1)) == []
    assert result.account.paid_on(3).total == 0


def test_a_partial_early_payment_pays_the_bills_interest_then_principal() -> None:
    account = account_after_bill_1()
    result = apply_payment(account, date(2022, 12, 29), D(100))
    line = result.allocation.lines[0]
    assert (line.number, line.interest, line.principal) == (2, D("47.45"), D("52.55"))
    assert result.account.schedule == account.schedule
    assert [d.total for d in result.account.bills(date(2022, 12, 30))] == [D(205)]


def test_money_above_the_current_bill_prepays_principal_from_the_bills_due_date() -> None:
    account = account_after_bill_1()
    result = apply_payment(account, date(2022, 12, 30), D(1305))
    assert result.prepaid_principal == D(1000)
    rows, before = result.account.schedule.instalments, account.schedule.instalments
    assert rows[:2] == before[:2]  # bill 2 stays as scheduled: no interest rebate for the days left
    assert rows[2].prepayments == ((date(2023, 1, 1), D(1000)),)
    assert rows[2].interest == ((before[1].balance - 1000) * D("0.01")).quantize(CENT)  # a whole period lower
    assert result.account.schedule.version == 2 and result.account.history == (account.schedule,)


def test_a_bill_counts_from_three_days_before_its_due_date() -> None:
    schedule = account_after_bill_1().schedule
    assert current_bill_index(schedule, date(2022, 12, 1)) is None  # paying on a due date pays that bill
    assert prepayment_date(schedule, date(2022, 12, 1)) == date(2022, 12, 1)
    assert current_bill_index(schedule, date(2022, 12, 28)) is None  # bill 2 not issued yet
    assert prepayment_date(schedule, date(2022, 12, 28)) == date(2022, 12, 28)
    for day in (29, 30, 31):  # issued on 29 December, due on 1 January
        assert current_bill_index(schedule, date(2022, 12, day)) == 1
        assert prepayment_date(schedule, date(2022, 12, day)) == date(2023, 1, 1)
    assert current_bill_index(schedule, date(2022, 11, 1)) is None  # the disbursement day


def test_before_the_bill_is_issued_money_above_what_is_due_prepays_on_its_date() -> None:
    account = account_after_bill_1()
    result = apply_payment(account, date(2022, 12, 20), D(305))
    assert result.allocation.lines == () and result.prepaid_principal == D(305)
    assert result.account.schedule.instalments[1].prepayments == ((date(2022, 12, 20), D(305)),)


def test_a_payoff_after_paying_the_bill_early_refunds_no_interest_and_charges_no_fee_on_the_bill() -> None:
    account = apply_payment(account_after_bill_1(early_repayment_fee_percent="2"), date(2022, 12, 29), D(305)).account
    quote = payoff_quote(account, date(2022, 12, 30))
    assert quote.interest == 0  # bill 2's interest, paid in full, is not refunded
    assert quote.principal == D("4487.45") and quote.fee == (D("4487.45") * D("0.02")).quantize(CENT)
    settled = apply_payment(account, date(2022, 12, 30), quote.total)
    assert settled.settled and settled.account.outstanding == 0 and settled.account.credit == 0


def test_a_payoff_inside_the_billing_period_charges_interest_to_the_date_and_the_fee_beyond_the_bill() -> None:
    account = account_after_bill_1(early_repayment_fee_percent="2")
    on = date(2022, 12, 30)
    quote = payoff_quote(account, on)
    assert quote.principal == D(4745)
    assert quote.interest < D("47.45")  # interest to the date: the rest of the period is rebated
    assert quote.fee == (D("4487.45") * D("0.02")).quantize(CENT)  # bill 2's principal is not prepaid
    short = apply_payment(account, on, quote.total - CENT)
    assert not short.settled and short.account.outstanding > 0
    assert short.account.owed_on(short.account.schedule.instalments[1]).total == 0  # it paid bill 2 as scheduled
    done = apply_payment(account, on, quote.total)
    assert done.settled and done.account.outstanding == 0 and done.account.credit == 0
    assert done.account.schedule.instalments[-1].due_date == on


def test_paying_the_last_bill_early_settles_the_loan_with_interest_to_the_date() -> None:
    account = open_account(generate_schedule(terms_from_mapping({**CASE["terms"], "repayments": 2})))
    rows = account.schedule.instalments
    account = apply_payment(account, rows[0].due_date, rows[0].total).account
    on = date(2022, 12, 30)
    result = apply_payment(account, on, rows[1].total)
    quote = payoff_quote(account, on)
    assert result.settled and result.account.outstanding == 0
    assert quote.total < rows[1].total and result.credit_added == rows[1].total - quote.total


def test_a_bullet_loan_is_billed_three_days_before_maturity() -> None:
    terms = terms_from_mapping({**CASE["terms"], "amortization": "bullet", "repayments": 12,
                                "instalment_multiple": None})
    account = open_account(generate_schedule(terms))
    (row,) = account.schedule.instalments
    assert row.due_date == date(2023, 11, 1)
    early = apply_payment(account, date(2023, 2, 1), D(1000))  # months before maturity: a prepayment from its date
    assert early.prepaid_principal == D(1000) and early.allocation.lines == ()
    assert early.account.schedule.instalments[0].prepayments == ((date(2023, 2, 1), D(1000)),)
    assert current_bill_index(account.schedule, date(2023, 10, 28)) is None
    late = apply_payment(account, date(2023, 10, 29), D(1000))  # the bill is issued: the bill, interest first
    assert late.prepaid_principal == 0 and late.allocation.lines[0].interest == row.interest
    assert late.account.schedule == account.schedule


def test_the_simulator_applies_the_same_rule() -> None:
    txs = [{"date": "2022-12-01", "amount": "305"}, {"date": "2022-12-30", "amount": "305"}]
    sim = simulate_request({"terms": CASE["terms"], "transactions": txs, "prepayment": Prepayment.SHORTEN_TERM.value})
    assert sim.schedule.version == 1 and len(sim.schedule.instalments) == 18
    assert sim.account.paid_on(2).total == D(305) and sim.account.credit == 0


def test_a_payoff_after_a_prepayment_from_the_bills_due_date_closes_on_the_payment_date() -> None:
    account = account_after_bill_1(early_repayment_fee_percent="1")
    account = apply_payment(account, date(2022, 12, 29), D("1315.00")).account  # bill 2, then 1000 + 10 fee
    assert account.paid_on(3).principal == D(1000) and account.paid_on(3).fees == D(10)
    quote = payoff_quote(account, date(2022, 12, 30))
    assert (quote.principal, quote.interest, quote.fee) == (D("3487.45"), D(0), D("34.87"))
    result = apply_payment(account, date(2022, 12, 30), quote.total)
    closing = result.account.schedule.instalments[-1]
    assert result.settled and result.account.outstanding == 0 and result.account.credit == 0
    assert (closing.number, closing.due_date, closing.principal) == (2, date(2022, 12, 30), D("4745.00"))
    assert closing.interest == D("47.45") and closing.fees == D("44.87")  # both fees, the bill's interest kept
    assert set(result.account.paid) == {1, 2}
