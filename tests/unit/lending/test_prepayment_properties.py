"""Properties of prepayment, payments and pay-off quotes: money is conserved and interest never rises."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.lending.account import apply_payment, open_account, payoff_quote
from app.lending.prepayment import current_index, prepay, principal_not_yet_due
from app.lending.schedule import Schedule, generate_schedule
from app.lending.simulator import Transaction, simulate
from app.lending.terms import Prepayment
from tests.unit.lending.strategies import CENT, loan_terms


def assert_consistent(schedule: Schedule) -> None:
    rows = schedule.instalments
    assert sum(r.principal for r in rows) == schedule.terms.principal
    balance = schedule.terms.principal
    for row in rows:
        balance -= row.principal
        assert row.balance == balance >= 0
        assert row.principal >= 0 and row.interest >= 0
    assert rows[-1].balance == 0
    assert schedule.total_interest == sum(r.accrued_interest for r in rows)


@settings(max_examples=300, deadline=None)
@given(st.data(), loan_terms(), st.sampled_from(Prepayment))
def test_a_prepayment_conserves_principal_and_never_raises_interest(data: st.DataObject, terms, mode) -> None:
    schedule = generate_schedule(terms)
    on = data.draw(st.dates(terms.disbursed_on, schedule.instalments[-1].due_date))
    room = principal_not_yet_due(schedule, on)
    if room == 0:
        return
    amount = data.draw(st.integers(1, int(room / CENT)).map(lambda n: Decimal(n) * CENT))
    k = current_index(schedule, on)
    assert k is not None
    after = prepay(schedule, on, amount, mode)
    assert after.version == schedule.version + 1
    assert_consistent(after)
    assert after.instalments[:k] == schedule.instalments[:k]
    assert after.total_interest <= schedule.total_interest
    assert len(after.instalments) <= len(schedule.instalments)
    # the new balance path never runs above the old one
    old = {r.number: r.balance for r in schedule.instalments}
    assert all(r.balance <= old[r.number] for r in after.instalments)
    if amount == room:
        assert after.instalments[-1].due_date == on
        assert after.instalments[-1].number == schedule.instalments[k].number


@settings(max_examples=200, deadline=None)
@given(st.data(), loan_terms(max_repayments=24), st.sampled_from(Prepayment))
def test_payments_on_any_dates_conserve_money(data: st.DataObject, terms, mode) -> None:
    schedule = generate_schedule(terms)
    dates = data.draw(st.lists(st.dates(terms.disbursed_on, schedule.instalments[-1].due_date
                                        + (schedule.instalments[-1].due_date - terms.disbursed_on) // 4),
                               max_size=6))
    top = int(terms.principal / CENT) // 2 + 1
    amounts = data.draw(st.lists(st.integers(1, top).map(lambda n: Decimal(n) * CENT),
                                 min_size=len(dates), max_size=len(dates)))
    transactions = [Transaction(d, a) for d, a in zip(dates, amounts, strict=True)]
    result = simulate(terms, transactions, mode)
    account = result.account
    assert_consistent(account.schedule)
    paid = sum((line.total for line in account.paid.values()), Decimal(0))
    assert paid + account.credit == sum(amounts, Decimal(0))
    assert account.credit >= 0
    for row in account.schedule.instalments:
        p = account.paid_on(row.number)
        assert 0 <= p.principal <= row.principal
        assert 0 <= p.interest <= row.interest
        assert 0 <= p.fees <= row.fees
    # every version kept, each a prepayment that never raised the interest
    versions = [*account.history, account.schedule]
    assert [v.version for v in versions] == list(range(1, len(versions) + 1))
    assert all(b.total_interest <= a.total_interest for a, b in zip(versions, versions[1:], strict=False))
    # credit arises only beyond the loan, or (with a fee) as change of a cent or two that cannot
    # buy another cent of principal plus its rounded fee
    change = 3 * CENT if terms.early_repayment_fee_percent else CENT
    for booked in result.payments:
        if booked.credit_added > 0:
            assert booked.account.outstanding == 0 or booked.credit_added < change


def _after_some_payment(data: st.DataObject, terms, mode):
    """A loan after one payment of any size on any date (or none), and a later date to look at it."""
    account = open_account(generate_schedule(terms))
    first = data.draw(st.dates(terms.disbursed_on, account.schedule.instalments[-1].due_date))
    partial = data.draw(st.integers(0, int(terms.principal / CENT)).map(lambda n: Decimal(n) * CENT))
    if partial:
        account = apply_payment(account, first, partial, mode).account
    return account, data.draw(st.dates(first, account.schedule.instalments[-1].due_date))


@settings(max_examples=300, deadline=None)
@given(st.data(), loan_terms(), st.sampled_from(Prepayment), st.integers(0, 10_000))
def test_a_payoff_quote_is_exactly_what_settles_the_loan(data: st.DataObject, terms, mode, cents_extra) -> None:
    account, on = _after_some_payment(data, terms, mode)
    quote = payoff_quote(account, on)
    assert quote.total == quote.dues + quote.principal + quote.interest + quote.fee
    if quote.total == 0:
        assert account.outstanding == 0
        return
    extra = Decimal(cents_extra) * CENT
    settled = apply_payment(account, on, quote.total + extra, mode).account
    assert settled.outstanding == 0
    assert settled.credit == account.credit + extra
    assert sum(r.principal for r in settled.schedule.instalments) == terms.principal



@settings(max_examples=300, deadline=None)
@given(st.data(), loan_terms(), st.sampled_from(Prepayment))
def test_a_cent_less_than_the_payoff_quote_never_settles_the_loan(data: st.DataObject, terms, mode) -> None:
    account, on = _after_some_payment(data, terms, mode)
    quote = payoff_quote(account, on)
    if quote.total <= CENT:
        return
    short = apply_payment(account, on, quote.total - CENT, mode)
    assert not short.settled and short.account.outstanding > 0
    assert short.credit_added < 3 * CENT  # nothing is parked as credit while the loan still owes


@settings(max_examples=300, deadline=None)
@given(st.data(), loan_terms(), st.sampled_from(Prepayment))
def test_paying_what_is_due_and_the_current_bill_early_changes_no_schedule(data: st.DataObject, terms, mode) -> None:
    account, on = _after_some_payment(data, terms, mode)
    bills = account.bills(on)
    amount = sum((d.total for d in [*account.dues(on), *bills]), Decimal(0))
    if amount == 0:
        return
    result = apply_payment(account, on, amount, mode)
    if result.settled:  # the last bill early costs more than settling the loan: it does, the rest is credit
        assert amount >= payoff_quote(account, on).total and result.account.outstanding == 0
        return
    assert result.account.schedule == account.schedule and result.prepaid_principal == 0
    assert result.credit_added == 0
    assert result.account.dues(on) == [] and result.account.bills(on) == []
