"""The terms of one loan: amounts, rate, method, periods, grace, fees and penalty settings, validated."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from app.lending.daycount import DaysInMonth, DaysInYear, Frequency
from app.lending.errors import TermsError
from app.lending.money import CENT, MAX_AMOUNT, Rounding

CURRENCY = "CNY"


class InterestMethod(StrEnum):
    DECLINING_BALANCE = "declining_balance"
    FLAT = "flat"


class Amortization(StrEnum):
    EQUAL_INSTALMENTS = "equal_instalments"  # 等额本息
    EQUAL_PRINCIPAL = "equal_principal"  # 等额本金
    INTEREST_ONLY = "interest_only"  # 先息后本: interest each period, principal at maturity
    BULLET = "bullet"  # 到期一次还本付息: principal and interest at maturity


class InterestPeriod(StrEnum):
    SAME_AS_REPAYMENT = "same_as_repayment"
    DAILY = "daily"


class PenaltyChargeBasis(StrEnum):
    """What the per-instalment penalty charge is a percentage of."""

    PRINCIPAL = "principal"
    PRINCIPAL_AND_INTEREST = "principal_and_interest"


class Prepayment(StrEnum):
    """What a partial prepayment does to the rest of the schedule."""

    SHORTEN_TERM = "shorten_term"  # keep the instalment, fewer instalments
    REDUCE_INSTALMENT = "reduce_instalment"  # keep the term, a lower instalment


@dataclass(frozen=True, kw_only=True)
class LoanSettings:
    """How a loan is priced and repaid, apart from its amount, rate and dates: what a product sets
    for every loan it grants, and each loan's terms carry.

    Penalty interest accrues per day at `annual_rate × penalty_rate_multiplier / penalty_days_in_year`
    on overdue principal (and on overdue interest when `penalty_on_overdue_interest`); the penalty
    charge is `penalty_charge_percent` of each overdue instalment (its principal, or principal + interest).
    """

    interest_method: InterestMethod = InterestMethod.DECLINING_BALANCE
    amortization: Amortization = Amortization.EQUAL_INSTALMENTS
    interest_period: InterestPeriod = InterestPeriod.SAME_AS_REPAYMENT
    days_in_year: DaysInYear = DaysInYear.ACTUAL
    days_in_month: DaysInMonth = DaysInMonth.ACTUAL
    instalment_multiple: Decimal | None = None
    rounding: Rounding = Rounding.HALF_EVEN
    principal_grace: int = 0
    interest_grace: int = 0
    frequency: Frequency = Frequency.MONTHS
    every: int = 1
    currency: str = CURRENCY
    early_repayment_fee_percent: Decimal = Decimal(0)
    penalty_rate_multiplier: Decimal = Decimal("1.5")
    penalty_days_in_year: DaysInYear = DaysInYear.D360
    penalty_on_overdue_interest: bool = False
    penalty_charge_percent: Decimal = Decimal(0)
    penalty_charge_basis: PenaltyChargeBasis = PenaltyChargeBasis.PRINCIPAL
    overdue_grace_days: int = 0
    shift_due_dates_on_holidays: bool = False


@dataclass(frozen=True)
class LoanTerms(LoanSettings):
    """Everything the schedule, allocation, prepayment and overdue rules need about one loan.

    Rates are percentages per year (`annual_rate=12` is 12 %); the settings (keywords only) are
    `LoanSettings`'.
    """

    principal: Decimal
    annual_rate: Decimal
    repayments: int
    disbursed_on: date
    maturity_date: date | None = None

    def __post_init__(self) -> None:
        _check_amounts(self)
        _check_periods(self)
        _check_grace(self)
        check_charges(self)

    @property
    def instalment_count(self) -> int:
        """Rows in the initial schedule: one for a bullet or whole-term loan, else `repayments`."""
        if self.amortization is Amortization.BULLET or self.frequency is Frequency.WHOLE_TERM:
            return 1
        return self.repayments


def _check_amounts(t: LoanTerms) -> None:
    if t.currency != CURRENCY:
        raise TermsError("currency", "only %(currency)s is supported", currency=CURRENCY)
    if t.principal <= 0:
        raise TermsError("principal", "must be positive")
    if t.principal >= MAX_AMOUNT:
        raise TermsError("principal", "is too large")
    if t.principal != t.principal.quantize(CENT):
        raise TermsError("principal", "has more than two decimals")
    if t.annual_rate < 0:
        raise TermsError("annual_rate", "must not be negative")
    if t.annual_rate > 100:
        raise TermsError("annual_rate", "is a percentage per year and must be at most 100")
    multiple = t.instalment_multiple
    if multiple is not None and not (CENT <= multiple < MAX_AMOUNT and multiple % CENT == 0):
        raise TermsError("instalment_multiple", "must be a positive whole number of cents")


def _check_periods(t: LoanTerms) -> None:
    if t.repayments < 1:
        raise TermsError("repayments", "must be at least 1")
    if t.repayments > 1200:
        raise TermsError("repayments", "must be at most 1200")
    if t.every < 1:
        raise TermsError("every", "must be at least 1")
    if t.frequency is Frequency.WHOLE_TERM:
        if t.maturity_date is None:
            raise TermsError("maturity_date", "is required for a whole-term loan")
        if t.maturity_date <= t.disbursed_on:
            raise TermsError("maturity_date", "must be after the disbursement date")
        if t.repayments != 1:
            raise TermsError("repayments", "a whole-term loan has exactly 1 repayment")
    elif t.maturity_date is not None:
        raise TermsError("maturity_date", "applies only to frequency whole_term")


def _check_grace(t: LoanTerms) -> None:
    for name, value in (("principal_grace", t.principal_grace), ("interest_grace", t.interest_grace)):
        if value < 0:
            raise TermsError(name, "must not be negative")
        if value and value >= t.instalment_count:
            raise TermsError(name, "must leave at least one instalment after the grace")


def check_charges(t: LoanSettings) -> None:
    """The fee and penalty settings a product fixes for its loans (checked when the product is made, and again
    on each loan's terms)."""
    if not 0 <= t.early_repayment_fee_percent <= 100:
        raise TermsError("early_repayment_fee_percent", "must be between 0 and 100")
    if t.penalty_rate_multiplier < 0:
        raise TermsError("penalty_rate_multiplier", "must not be negative")
    if not 0 <= t.penalty_charge_percent <= 100:
        raise TermsError("penalty_charge_percent", "must be between 0 and 100")
    if t.overdue_grace_days < 0:
        raise TermsError("overdue_grace_days", "must not be negative")
