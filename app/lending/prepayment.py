"""Prepaying principal on a date: a new schedule version that shortens the term or lowers the instalment."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from app.lending.errors import LoanStateError
from app.lending.money import ZERO, exact, round_to_multiple, to_cents
from app.lending.periods import Period, annuity, instalment_rate, period_rate, weighted_portion
from app.lending.schedule import Instalment, RowsStart, Schedule, build_rows
from app.lending.terms import Amortization, InterestMethod, Prepayment


def current_index(schedule: Schedule, on: date) -> int | None:
    """Index of the first instalment not yet due on `on` (the period `on` falls in), or None."""
    for i, row in enumerate(schedule.instalments):
        if row.due_date > on:
            return i
    return None


def principal_not_yet_due(schedule: Schedule, on: date) -> Decimal:
    """Principal that is neither due nor prepaid on `on`: what a prepayment can still reduce."""
    k = current_index(schedule, on)
    if k is None:
        return ZERO
    row = schedule.instalments[k]
    return row.opening_balance - row.prepaid_principal


def deferred_interest_before(schedule: Schedule, k: int) -> Decimal:
    """Interest earned by instalments before index k but not yet fallen due (interest-payment grace)."""
    rows = schedule.instalments[:k]
    return sum((r.accrued_interest - r.interest for r in rows), ZERO)


def prepay(schedule: Schedule, on: date, amount: Decimal, mode: Prepayment, fee: Decimal = ZERO) -> Schedule:
    """The next version of the schedule after prepaying `amount` of principal on `on`.

    Instalments already due are kept as they are. The period `on` falls in earns interest on the
    old balance up to `on` and on the new one after; the prepaid principal (and `fee`) is booked on
    that period's instalment. Later instalments are recomputed: `shorten_term` keeps each instalment
    (equal principal: each principal part) so the loan ends earlier; `reduce_instalment` keeps the
    term and lowers the instalment. Interest-only and bullet loans keep their maturity either way.
    Repaying everything closes the loan on `on`, with the interest accrued to that date.
    """
    k = current_index(schedule, on)
    if k is None:
        raise LoanStateError("every instalment is already due; nothing can be prepaid")
    terms, old = schedule.terms, schedule.instalments
    row = old[k]
    before = row.opening_balance - row.prepaid_principal
    if amount <= 0 or amount > before:
        raise LoanStateError("a prepayment must be between 0.01 and %(most)s", most=before)
    if on < terms.disbursed_on:
        raise LoanStateError("a prepayment cannot precede the disbursement")
    after = before - amount
    with exact():
        ratio = after / before
    prepayments = (*row.prepayments, (on, amount))
    periods = [_period(schedule, r) for r in old[k:]]
    old_by_number = {r.number: r for r in old}
    with exact():  # the current period's interest on the old balance before `on`, above what `after` alone earns
        extra = row.base_interest * (weighted_portion(terms, periods[0], row.opening_balance, prepayments)
                                     - after / row.opening_balance) if row.opening_balance > 0 else ZERO
    level = _new_level(schedule, k, after, mode, extra if row.number > terms.principal_grace else ZERO)
    amortizing = sum(1 for r in old[k:] if r.number > terms.principal_grace)
    with exact():
        equal_part = to_cents(after / max(amortizing, 1), terms.rounding)

    def interest_for(i: int, period: Period, balance: Decimal) -> tuple[Decimal, Decimal]:
        with exact():
            if i == 0:
                base = row.base_interest
                accrued = base * weighted_portion(terms, period, row.opening_balance, prepayments)
                return base, to_cents(accrued, terms.rounding)
            if terms.interest_method is InterestMethod.FLAT:
                base = old_by_number[period.number].base_interest * ratio
            else:
                base = balance * period_rate(terms, period)
            return base, to_cents(base, terms.rounding)

    def principal_for(_: int, period: Period, balance: Decimal, accrued: Decimal) -> Decimal:
        previous = old_by_number[period.number]
        if period.number <= terms.principal_grace or terms.amortization in (
                Amortization.INTEREST_ONLY, Amortization.BULLET):
            return ZERO
        if mode is Prepayment.SHORTEN_TERM:
            regular = previous.principal - previous.prepaid_principal
            if terms.amortization is Amortization.EQUAL_PRINCIPAL:
                return regular
            return regular + previous.accrued_interest - accrued  # same instalment, less interest
        if level is not None:
            return level - accrued
        return equal_part

    def floor(number: int) -> Decimal:
        return old_by_number[number].balance

    start = RowsStart(balance=after, deferred_interest=deferred_interest_before(schedule, k),
                      first_prepayments=prepayments, first_fees=row.fees + fee, close_on=on)
    rows = build_rows(terms, periods, start, interest_for, principal_for, floor)
    return replace(schedule, instalments=(*old[:k], *rows), level_payment=level,
                   version=schedule.version + 1)


def _new_level(schedule: Schedule, k: int, after: Decimal, mode: Prepayment, extra: Decimal = ZERO) -> Decimal | None:
    """The equal instalment after a prepayment: unchanged, or re-amortised (never higher) over the term.

    The current instalment pays `extra` interest besides the new balance's (the days before the prepayment ran on
    the old one): it is amortised with the balance (its value at the period's start), so that the instalments
    stay equal to the last instead of the last one carrying what the first paid as interest (a ¥50,000
    prepayment mid-period left the last instalment ¥69.16 above the others)."""
    terms, level = schedule.terms, schedule.level_payment
    if level is None or mode is Prepayment.SHORTEN_TERM:
        return level
    remaining = sum(1 for r in schedule.instalments[k:] if r.number > terms.principal_grace)
    rate = instalment_rate(terms)
    with exact():
        owed = after + (extra / (1 + rate) if terms.interest_method is not InterestMethod.FLAT else ZERO)
    fresh = round_to_multiple(annuity(owed, rate, remaining), terms.instalment_multiple, terms.rounding)
    return min(level, fresh)


def _period(schedule: Schedule, row: Instalment) -> Period:
    terms = schedule.terms
    units = terms.repayments if terms.amortization is Amortization.BULLET else 1
    return Period(row.number, row.start_date, row.due_date, units)
