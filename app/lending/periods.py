"""Repayment periods of a loan and the interest rate of each: dates, holiday shifts, nominal vs day-count."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.lending.daycount import (
    DaysInMonth,
    DaysInYear,
    Frequency,
    day_count,
    nominal_due_dates,
    nominal_period_days,
    year_fraction,
    year_length,
)
from app.lending.errors import TermsError
from app.lending.holidays import HolidayCalendar
from app.lending.money import HUNDRED, exact
from app.lending.terms import Amortization, InterestPeriod, LoanTerms


@dataclass(frozen=True)
class Period:
    """One repayment period: interest runs from `start` to `end` (the due date, after any holiday shift).

    `units` is the number of regular periods it spans: 1, or the whole term for a bullet loan.
    """

    number: int
    start: date
    end: date
    units: int = 1


def build_periods(terms: LoanTerms, calendar: HolidayCalendar | None = None) -> list[Period]:
    """The periods of the initial schedule, due dates moved off holidays when the terms say so."""
    dates = nominal_due_dates(terms.disbursed_on, terms.frequency, terms.every, terms.repayments,
                              terms.maturity_date)
    if terms.shift_due_dates_on_holidays:
        cal = calendar if calendar is not None else HolidayCalendar()
        dates = [cal.next_working_day(d) for d in dates]
        if any(later <= earlier for earlier, later in zip(dates, dates[1:], strict=False)):
            raise TermsError("shift_due_dates_on_holidays",
                             "moving due dates off holidays makes two of them coincide; "
                             "use a longer repayment frequency")
    if terms.amortization is Amortization.BULLET:
        return [Period(1, terms.disbursed_on, dates[-1], units=len(dates))]
    starts = [terms.disbursed_on, *dates[:-1]]
    return [Period(j + 1, s, e) for j, (s, e) in enumerate(zip(starts, dates, strict=True))]


def uses_nominal_rate(terms: LoanTerms) -> bool:
    """Monthly or weekly periods with interest per period: annual / 12 (or / 52) whatever the length."""
    return (terms.interest_period is InterestPeriod.SAME_AS_REPAYMENT
            and terms.frequency in (Frequency.MONTHS, Frequency.WEEKS))


def period_rate(terms: LoanTerms, period: Period) -> Decimal:
    """Interest per unit of balance for the whole period."""
    with exact():
        annual = terms.annual_rate / HUNDRED
        if uses_nominal_rate(terms):
            per_year = 12 if terms.frequency is Frequency.MONTHS else 52
            return annual * terms.every * period.units / per_year
        return annual * year_fraction(period.start, period.end, terms.days_in_year, terms.days_in_month)


def instalment_rate(terms: LoanTerms) -> Decimal:
    """The per-period rate the level instalment (annuity) is computed with.

    Nominal periods use their own rate; day-count periods use the rate of a regular period of
    30 days a month (7 a week, N days) on the days-in-year basis of the disbursement year.
    """
    with exact():
        annual = terms.annual_rate / HUNDRED
        if uses_nominal_rate(terms):
            return annual * terms.every / (12 if terms.frequency is Frequency.MONTHS else 52)
        if terms.days_in_month is DaysInMonth.D30 and terms.days_in_year is DaysInYear.ACTUAL:
            basis = 360
        else:
            basis = year_length(terms.disbursed_on.year, terms.days_in_year)
        return annual * nominal_period_days(terms.frequency, terms.every) / basis


def measure(terms: LoanTerms, start: date, end: date) -> Decimal:
    """How much of a period lies between two dates: days for nominal periods, year fraction otherwise."""
    if uses_nominal_rate(terms):
        return Decimal(day_count(start, end, terms.days_in_month))
    return year_fraction(start, end, terms.days_in_year, terms.days_in_month)


def weighted_portion(terms: LoanTerms, period: Period, start_balance: Decimal,
                     prepaid: Sequence[tuple[date, Decimal]]) -> Decimal:
    """Σ (balance of each stretch / start balance) × (its share of the period).

    1 for a period without prepayments; each prepayment lowers the balance from its date on.
    """
    total = measure(terms, period.start, period.end)
    if start_balance <= 0:
        return Decimal(0)
    with exact():
        if total == 0:
            return Decimal(1)
        portion = Decimal(0)
        balance, cursor = start_balance, period.start
        for on, amount in sorted(prepaid):
            stop = min(max(on, cursor), period.end)
            portion += balance / start_balance * measure(terms, cursor, stop) / total
            balance, cursor = balance - amount, stop
        portion += balance / start_balance * measure(terms, cursor, period.end) / total
        return portion


def annuity(balance: Decimal, rate: Decimal, count: int) -> Decimal:
    """The level payment that repays `balance` over `count` periods at `rate` per period."""
    if count <= 0:
        return balance
    with exact():
        if rate == 0:
            return balance / count
        return balance * rate / (1 - (1 + rate) ** -count)
