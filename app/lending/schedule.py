"""Repayment schedules: instalments, the schedule of a loan, and generating one from its terms."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.lending.holidays import HolidayCalendar
from app.lending.money import ZERO, Rounding, exact, round_to_multiple, to_cents
from app.lending.periods import (
    Period,
    annuity,
    build_periods,
    instalment_rate,
    period_rate,
    uses_nominal_rate,
)
from app.lending.terms import Amortization, InterestMethod, LoanTerms


@dataclass(frozen=True)
class Instalment:
    """One instalment (bill). `principal` includes principal prepaid within its period.

    `interest` is what falls due with it; `accrued_interest` is what its period earned (they
    differ under interest-payment grace, whose interest is deferred to the first period after).
    `base_interest` is the exact interest of the whole period on the balance at its start;
    `prepayments` are (date, principal) prepaid inside the period, `fees` the early-repayment fees.
    """

    number: int
    start_date: date
    due_date: date
    principal: Decimal
    interest: Decimal
    balance: Decimal
    accrued_interest: Decimal
    base_interest: Decimal
    fees: Decimal = ZERO
    prepayments: tuple[tuple[date, Decimal], ...] = ()

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.fees

    @property
    def prepaid_principal(self) -> Decimal:
        return sum((amount for _, amount in self.prepayments), ZERO)

    @property
    def opening_balance(self) -> Decimal:
        return self.balance + self.principal


@dataclass(frozen=True)
class Schedule:
    """A version of a loan's schedule. `level_payment` is the equal instalment (when there is one)."""

    terms: LoanTerms
    instalments: tuple[Instalment, ...]
    level_payment: Decimal | None = None
    version: int = 1

    @property
    def total_principal(self) -> Decimal:
        return sum((i.principal for i in self.instalments), ZERO)

    @property
    def total_interest(self) -> Decimal:
        return sum((i.interest for i in self.instalments), ZERO)

    @property
    def total_repayment(self) -> Decimal:
        return sum((i.total for i in self.instalments), ZERO)


InterestRule = Callable[[int, Period, Decimal], tuple[Decimal, Decimal]]
PrincipalRule = Callable[[int, Period, Decimal, Decimal], Decimal]


@dataclass(frozen=True)
class RowsStart:
    """Where a run of rows starts: opening balance (after prepayments in the first period) and carry-overs."""

    balance: Decimal
    deferred_interest: Decimal = ZERO
    first_prepayments: tuple[tuple[date, Decimal], ...] = ()
    first_fees: Decimal = ZERO
    close_on: date | None = None


def build_rows(terms: LoanTerms, periods: Sequence[Period], start: RowsStart, interest_for: InterestRule,
               principal_for: PrincipalRule, floor: Callable[[int], Decimal] | None = None) -> list[Instalment]:
    """Walk the periods: interest, then principal (clamped to the balance), last period takes the rest.

    `interest_for(i, period, balance)` gives (exact base interest, rounded accrued interest);
    `principal_for(i, period, balance, accrued)` the regular principal. `floor(number)` is a
    balance the row must not end above (the previous version's), so a prepayment never slows
    repayment. Interest of interest-grace periods is deferred to the next row that is due.
    """
    rows: list[Instalment] = []
    balance, deferred = start.balance, start.deferred_interest
    for i, period in enumerate(periods):
        base, accrued = interest_for(i, period, balance)
        last = i == len(periods) - 1 or balance == 0
        principal = balance if last else min(max(principal_for(i, period, balance, accrued), ZERO), balance)
        if floor is not None and not last:
            principal = max(principal, min(balance, balance - floor(period.number)))
        closing = last or principal == balance
        deferred += accrued
        due = ZERO if period.number <= terms.interest_grace and not closing else deferred
        deferred -= due
        prepaid = start.first_prepayments if i == 0 else ()
        due_date = start.close_on if (i == 0 and start.close_on and balance == 0) else period.end
        rows.append(Instalment(
            number=period.number, start_date=period.start, due_date=due_date,
            principal=principal + sum((a for _, a in prepaid), ZERO), interest=due,
            balance=balance - principal, accrued_interest=accrued, base_interest=base,
            fees=start.first_fees if i == 0 else ZERO, prepayments=prepaid,
        ))
        balance -= principal
        if closing:
            break
    return rows


def generate_schedule(terms: LoanTerms, calendar: HolidayCalendar | None = None) -> Schedule:
    """The initial schedule of a loan, following the conventions of shared/reference/README.md."""
    periods = build_periods(terms, calendar)
    if terms.interest_method is InterestMethod.FLAT:
        return _flat_schedule(terms, periods)
    return _declining_schedule(terms, periods)


def _in_principal_grace(terms: LoanTerms, period: Period) -> bool:
    return period.number <= terms.principal_grace


def _declining_schedule(terms: LoanTerms, periods: list[Period]) -> Schedule:
    amortizing = len(periods) - terms.principal_grace
    level: Decimal | None = None
    if terms.amortization is Amortization.EQUAL_INSTALMENTS:
        level = round_to_multiple(annuity(terms.principal, instalment_rate(terms), amortizing),
                                  terms.instalment_multiple, terms.rounding)
    with exact():
        equal_part = to_cents(terms.principal / amortizing, terms.rounding)

    def interest_for(_: int, period: Period, balance: Decimal) -> tuple[Decimal, Decimal]:
        with exact():
            base = balance * period_rate(terms, period)
        return base, to_cents(base, terms.rounding)

    def principal_for(_: int, period: Period, balance: Decimal, accrued: Decimal) -> Decimal:
        if _in_principal_grace(terms, period):
            return ZERO
        if level is not None:
            return level - accrued
        if terms.amortization is Amortization.EQUAL_PRINCIPAL:
            return equal_part
        return ZERO  # interest only / bullet: principal at maturity

    rows = build_rows(terms, periods, RowsStart(terms.principal), interest_for, principal_for)
    return Schedule(terms, tuple(rows), level_payment=level)


def _flat_schedule(terms: LoanTerms, periods: list[Period]) -> Schedule:
    """Flat: interest on the original principal, spread evenly; principal evenly after any grace."""
    n, mode = len(periods), terms.rounding
    amortizing = n - terms.principal_grace
    with exact():
        exact_interest = [terms.principal * period_rate(terms, p) for p in periods]
        raw_principal = terms.principal / amortizing
    interests = _flat_interests(exact_interest, uses_nominal_rate(terms), mode)
    multiple = terms.instalment_multiple if terms.amortization is Amortization.EQUAL_INSTALMENTS else None

    def principal_for(i: int, period: Period, _balance: Decimal, _accrued: Decimal) -> Decimal:
        if _in_principal_grace(terms, period) or terms.amortization in (
                Amortization.INTEREST_ONLY, Amortization.BULLET):
            return ZERO
        if multiple is None:
            return to_cents(raw_principal, mode)
        # the instalment is a whole multiple: round principal and interest up/down to it, keep the interest
        return (round_to_multiple(raw_principal, multiple, mode)
                + round_to_multiple(interests[i], multiple, mode) - interests[i])

    def interest_for(i: int, _period: Period, _balance: Decimal) -> tuple[Decimal, Decimal]:
        return interests[i], interests[i]

    rows = build_rows(terms, periods, RowsStart(terms.principal), interest_for, principal_for)
    return Schedule(terms, tuple(rows))


def _flat_interests(exact_interest: list[Decimal], equal: bool, mode: Rounding) -> list[Decimal]:
    """Each period's flat interest: round(total / n) (or its own rounded amount), the last the rest.

    When rounding every period up would leave the last one negative (tiny interest over many
    periods), cumulative rounding spreads the total instead; it is never negative.
    """
    with exact():
        total_exact = sum(exact_interest, Decimal(0))
        total = to_cents(total_exact, mode)
        n = len(exact_interest)
        interests = [to_cents(total_exact / n, mode)] * n if equal else [to_cents(x, mode) for x in exact_interest]
        interests[-1] = total - sum(interests[:-1], ZERO)
        if interests[-1] >= 0:
            return interests
        cumulative, previous, spread = Decimal(0), ZERO, []
        for x in exact_interest:
            cumulative += x
            rounded = to_cents(cumulative, mode)
            spread.append(rounded - previous)
            previous = rounded
        return spread
