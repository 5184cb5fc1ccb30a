"""Payments settle dues oldest first, penalties → fees → interest → principal, and lose nothing."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.lending.allocation import PARTS, Due, allocate_payment
from app.lending.errors import LoanStateError
from tests.unit.lending.strategies import cents

D = Decimal


def test_oldest_instalment_first_and_penalties_fees_interest_principal_within_it() -> None:
    newer = Due(2, date(2024, 3, 1), penalties=D(5), fees=D(2), interest=D(30), principal=D(300))
    older = Due(1, date(2024, 2, 1), penalties=D(10), fees=D(3), interest=D(40), principal=D(400))
    allocation = allocate_payment(D("470"), [newer, older])
    first, second = allocation.lines
    assert (first.number, first.penalties, first.fees, first.interest, first.principal) == (1, 10, 3, 40, 400)
    assert (second.number, second.penalties, second.fees, second.interest, second.principal) == (2, 5, 2, 10, 0)
    assert allocation.remainder == 0


def test_a_partial_payment_stops_inside_the_order() -> None:
    due = Due(1, date(2024, 2, 1), penalties=D("1.50"), fees=D(2), interest=D(40), principal=D(400))
    line = allocate_payment(D("20"), [due]).lines[0]
    assert (line.penalties, line.fees, line.interest, line.principal) == (D("1.50"), 2, D("16.50"), 0)


def test_what_is_left_after_everything_due_is_the_remainder() -> None:
    due = Due(1, date(2024, 2, 1), interest=D(40), principal=D(400))
    allocation = allocate_payment(D("500.01"), [due])
    assert allocation.applied == 440 and allocation.remainder == D("60.01")
    assert allocate_payment(D(7), []).remainder == 7


def test_negative_payments_are_refused() -> None:
    with pytest.raises(LoanStateError):
        allocate_payment(D(-1), [])


dues_strategy = st.lists(
    st.builds(lambda n, days, p, f, i, pr: (n, days, p, f, i, pr), st.integers(1, 60), st.integers(0, 400),
              cents(0, 5000), cents(0, 5000), cents(0, 50000), cents(0, 500000)),
    max_size=12, unique_by=lambda t: t[0])


@settings(max_examples=300, deadline=None)
@given(dues_strategy, cents(0, 2_000_000))
def test_allocation_conserves_money_and_respects_the_order(raw: list[tuple], amount: Decimal) -> None:
    dues = [Due(n, date(2024, 1, 1) + timedelta(days=days), p, f, i, pr) for n, days, p, f, i, pr in raw]
    allocation = allocate_payment(amount, dues)
    assert allocation.applied + allocation.remainder == amount
    assert allocation.remainder >= 0
    by_number = {d.number: d for d in dues}
    ordered = sorted(dues, key=lambda d: (d.due_date, d.number))
    paid = {line.number: line for line in allocation.lines}
    seen_short = False  # once something is left unpaid, nothing after it in the order gets money
    for due in ordered:
        flat = [(part, getattr(due, part)) for part in PARTS]
        for part, owed in flat:
            got = getattr(paid[due.number], part) if due.number in paid else D(0)
            assert 0 <= got <= owed
            if seen_short:
                assert got == 0
            if got < owed:
                seen_short = True
    if allocation.remainder > 0:
        assert all(paid.get(n) is not None and paid[n].total == d.total for n, d in by_number.items()
                   if d.total > 0)
