"""Overdue rules: days past due, buckets, penalty interest per day (罚息) and the per-instalment penalty charge."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from app.lending.daycount import DaysInYear, year_length
from app.lending.money import HUNDRED, ZERO, Rounding, exact, percent_of, to_cents
from app.lending.terms import LoanTerms, PenaltyChargeBasis


class Bucket(StrEnum):
    CURRENT = "current"
    DPD_1_30 = "1-30"
    DPD_31_60 = "31-60"
    DPD_61_90 = "61-90"
    DPD_91_PLUS = "91+"


def bucket_for(days_past_due: int) -> Bucket:
    if days_past_due < 0:
        raise ValueError("days past due cannot be negative")
    if days_past_due == 0:
        return Bucket.CURRENT
    if days_past_due <= 30:
        return Bucket.DPD_1_30
    if days_past_due <= 60:
        return Bucket.DPD_31_60
    if days_past_due <= 90:
        return Bucket.DPD_61_90
    return Bucket.DPD_91_PLUS


def is_overdue(due_date: date, as_of: date, grace_days: int = 0) -> bool:
    """An unpaid instalment is overdue once the grace days after its due date have passed."""
    return as_of > due_date + timedelta(days=grace_days)


def days_past_due(due_date: date, as_of: date, grace_days: int = 0) -> int:
    """Days since the due date, counted only once the instalment is overdue (0 within the grace)."""
    return (as_of - due_date).days if is_overdue(due_date, as_of, grace_days) else 0


@dataclass(frozen=True)
class UnpaidInstalment:
    """An instalment with something unpaid: its due date and what is still owed of it."""

    number: int
    due_date: date
    principal: Decimal
    interest: Decimal = ZERO


def loan_days_past_due(unpaid: Iterable[UnpaidInstalment], as_of: date, grace_days: int = 0) -> int:
    """Days past due of the loan: those of its oldest overdue instalment that still owes something."""
    overdue = [u.due_date for u in unpaid if u.principal + u.interest > 0
               and is_overdue(u.due_date, as_of, grace_days)]
    return (as_of - min(overdue)).days if overdue else 0


def daily_penalty_rate(terms: LoanTerms, day: date) -> Decimal:
    """Penalty interest per day: contract rate × multiplier over the penalty day basis (default 360)."""
    basis = year_length(day.year, terms.penalty_days_in_year) if (
        terms.penalty_days_in_year is DaysInYear.ACTUAL) else int(terms.penalty_days_in_year.value)
    with exact():
        return terms.annual_rate / HUNDRED * terms.penalty_rate_multiplier / basis


def penalty_base(terms: LoanTerms, overdue_principal: Decimal, overdue_interest: Decimal) -> Decimal:
    """What penalty interest runs on: overdue principal, plus overdue interest when the terms say so."""
    return overdue_principal + (overdue_interest if terms.penalty_on_overdue_interest else ZERO)


def penalty_interest(terms: LoanTerms, overdue_principal: Decimal, overdue_interest: Decimal,
                     start: date, end: date) -> Decimal:
    """Penalty interest for the days after `start` up to and including `end`, at a constant overdue base."""
    base = penalty_base(terms, overdue_principal, overdue_interest)
    with exact():
        total = Decimal(0)
        day = start + timedelta(days=1)
        while day <= end:
            total += base * daily_penalty_rate(terms, day)
            day += timedelta(days=1)
        return to_cents(total, terms.rounding)


def accrue_penalty_interest(terms: LoanTerms, instalment: UnpaidInstalment, as_of: date) -> Decimal:
    """Penalty interest to post for `as_of` on one instalment.

    Nothing within the grace days; on the first day past the grace it catches up from the due
    date (the grace forgives only a payment made within it); after that one day at a time.
    """
    if not is_overdue(instalment.due_date, as_of, terms.overdue_grace_days):
        return ZERO
    first_overdue = instalment.due_date + timedelta(days=terms.overdue_grace_days + 1)
    start = instalment.due_date if as_of == first_overdue else as_of - timedelta(days=1)
    return penalty_interest(terms, instalment.principal, instalment.interest, start, as_of)


def penalty_charge(percent: Decimal, overdue_amount: Decimal, terms: LoanTerms | None = None) -> Decimal:
    """`percent` % of an overdue amount, in cents (the Fineract-style overdue-instalment charge)."""
    rounding = terms.rounding if terms is not None else Rounding.HALF_EVEN
    return percent_of(overdue_amount, percent, rounding)


def instalment_penalty_charge(terms: LoanTerms, instalment: UnpaidInstalment) -> Decimal:
    """The product's penalty charge on one overdue instalment (principal, or principal + interest)."""
    base = instalment.principal
    if terms.penalty_charge_basis is PenaltyChargeBasis.PRINCIPAL_AND_INTEREST:
        base += instalment.interest
    return penalty_charge(terms.penalty_charge_percent, base, terms)
