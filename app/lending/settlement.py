"""Settling a whole loan on a date: the pay-off quote and the closing schedule it pays, from one plan.

The instalments not yet due close on the date: all their principal, the interest accrued to the
date (including interest deferred by an interest grace), and the early-repayment fee on the
principal that is truly prepaid — the principal beyond the current bill, or all of it when no
bill is current. Whatever was already paid of these instalments counts: a current bill paid in
advance, or principal prepaid from its due date, is moved onto the closing instalment; interest
paid in advance is never refunded (the closing interest is at least what was paid).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from app.lending.allocation import AllocationLine
from app.lending.billing import current_bill_index
from app.lending.money import ZERO, percent_of
from app.lending.prepayment import current_index, prepay
from app.lending.schedule import Schedule
from app.lending.terms import Prepayment


@dataclass(frozen=True)
class Settlement:
    """What closes the instalments not yet due on `on`, and the account's schedule and payments after."""

    schedule: Schedule
    paid: dict[int, AllocationLine]  # the instalments from the closing one on, as paid once settled
    dropped: tuple[int, ...]  # instalment numbers the closing schedule no longer has
    principal: Decimal
    interest: Decimal
    fee: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.fee


def plan_settlement(schedule: Schedule, paid: Mapping[int, AllocationLine], on: date,
                    mode: Prepayment = Prepayment.SHORTEN_TERM) -> Settlement | None:
    """The plan that settles every instalment not yet due on `on`; None when they owe nothing."""
    k = current_index(schedule, on)
    if k is None:
        return None
    rows = schedule.instalments
    later = rows[k:]
    merged = _sum(rows[k].number, (paid.get(r.number, AllocationLine(r.number)) for r in later))
    principal_left = sum((r.principal for r in later), ZERO) - merged.principal
    if principal_left <= 0:  # a prepayment closed them already: only their interest or fees are left
        interest = sum((r.interest for r in later), ZERO) - merged.interest
        fees = sum((r.fees for r in later), ZERO) - merged.fees
        if interest + fees <= 0:
            return None
        full = {r.number: AllocationLine(r.number, paid.get(r.number, AllocationLine(r.number)).penalties,
                                         r.fees, r.interest, r.principal) for r in later}
        return Settlement(schedule, full, (), ZERO, interest, fees)
    row = rows[k]
    terms = schedule.terms
    bill_principal = ZERO
    if current_bill_index(schedule, on) == k:
        bill_principal = max(row.principal - paid.get(row.number, AllocationLine(row.number)).principal, ZERO)
    fee = percent_of(principal_left - bill_principal, terms.early_repayment_fee_percent, terms.rounding)
    closed = prepay(schedule, on, row.opening_balance - row.prepaid_principal, mode, fee)
    closing = closed.instalments[k]
    carried_fees = merged.fees - paid.get(row.number, AllocationLine(row.number)).fees
    interest = max(closing.interest, merged.interest)
    closing = replace(closing, interest=interest, fees=closing.fees + carried_fees,
                      accrued_interest=closing.accrued_interest + interest - closing.interest)
    closed = replace(closed, instalments=(*closed.instalments[:k], closing))
    settled = AllocationLine(closing.number, merged.penalties, closing.fees, closing.interest, closing.principal)
    return Settlement(closed, {closing.number: settled}, tuple(r.number for r in later[1:]),
                      principal_left, closing.interest - merged.interest, closing.fees - merged.fees)


def _sum(number: int, lines: Iterable[AllocationLine]) -> AllocationLine:
    total = AllocationLine(number)
    for line in lines:
        total = total.plus(line)
    return total
