"""Loan products: limits on amount and term, the legal rate cap, and the terms a product grants a loan."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal

from app.lending.daycount import Frequency
from app.lending.errors import TermsError
from app.lending.terms import CURRENCY, LoanSettings, LoanTerms, check_charges

# Licensed lenders: courts may cut interest + penalty + fees above 24 % a year (SPC 2017).
LICENSED_LENDER_CAP = Decimal(24)


def private_lending_cap(one_year_lpr: Decimal) -> Decimal:
    """The judicial protection cap for private lending since 2020-08-20: 4 × the one-year LPR."""
    return one_year_lpr * 4


@dataclass(frozen=True)
class LoanProduct(LoanSettings):
    """A product as configured by the platform: limits, its rate, and the settings (`LoanSettings`,
    keywords only) every loan it grants takes. `legal_rate_cap` (a % a year) comes from configuration.

    Terms are counted in repayment periods (`repayments × every` months, weeks or days), or in days
    for a whole-term product (from disbursement to maturity).
    """

    code: str
    name: str
    annual_rate: Decimal
    min_amount: Decimal
    max_amount: Decimal
    min_term: int
    max_term: int
    legal_rate_cap: Decimal = LICENSED_LENDER_CAP

    def __post_init__(self) -> None:
        if not self.code.strip():
            raise TermsError("code", "must not be empty")
        if self.currency != CURRENCY:
            raise TermsError("currency", "only %(currency)s is supported", currency=CURRENCY)
        if self.min_amount <= 0 or self.max_amount < self.min_amount:
            raise TermsError("max_amount", "amounts must satisfy 0 < min_amount ≤ max_amount")
        if self.min_term < 1 or self.max_term < self.min_term:
            raise TermsError("max_term", "terms must satisfy 1 ≤ min_term ≤ max_term")
        check_rate_cap(self.annual_rate, self.legal_rate_cap)
        check_charges(self)

    def terms_for(self, principal: Decimal, repayments: int, disbursed_on: date,
                  maturity_date: date | None = None) -> LoanTerms:
        """The terms of a loan under this product; amount and term must be within its limits."""
        if not self.min_amount <= principal <= self.max_amount:
            raise TermsError("principal", "must be between %(least)s and %(most)s", least=self.min_amount,
                             most=self.max_amount)
        settings = {f.name: getattr(self, f.name) for f in fields(LoanSettings)}
        terms = LoanTerms(principal=principal, annual_rate=self.annual_rate, repayments=repayments,
                          disbursed_on=disbursed_on, maturity_date=maturity_date, **settings)
        length = term_length(terms)
        if not self.min_term <= length <= self.max_term:
            raise _term_outside(terms.frequency, length=length, least=self.min_term, most=self.max_term)
        return terms


def _term_outside(frequency: Frequency, **span: int) -> TermsError:
    """A term outside the product's, said in the unit of its repayment frequency."""
    if frequency is Frequency.MONTHS:
        return TermsError("repayments", "the term of %(length)s months is outside %(least)s–%(most)s", **span)
    if frequency is Frequency.WEEKS:
        return TermsError("repayments", "the term of %(length)s weeks is outside %(least)s–%(most)s", **span)
    return TermsError("repayments", "the term of %(length)s days is outside %(least)s–%(most)s", **span)


def term_length(terms: LoanTerms) -> int:
    """Repayment periods × every (months, weeks or days), or days to maturity for a whole-term loan."""
    if terms.frequency is Frequency.WHOLE_TERM:
        assert terms.maturity_date is not None
        return (terms.maturity_date - terms.disbursed_on).days
    return terms.repayments * terms.every


def check_rate_cap(annual_rate: Decimal, cap: Decimal) -> None:
    """Refuse a nominal annual rate (a %) above the configured legal cap."""
    if cap <= 0:
        raise TermsError("legal_rate_cap", "must be positive")
    if annual_rate < 0:
        raise TermsError("annual_rate", "must not be negative")
    if annual_rate > cap:
        raise TermsError("annual_rate", "%(rate)s%% a year is above the legal cap of %(cap)s%%", rate=annual_rate, cap=cap)
