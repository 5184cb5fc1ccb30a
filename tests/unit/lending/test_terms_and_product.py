"""Loan terms and products are validated: ranges, consistency, and the configurable legal rate cap."""
from __future__ import annotations

from dataclasses import fields
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from app.lending.codec import TERM_NAMES, product_from_mapping, product_to_mapping, terms_from_mapping
from app.lending.daycount import Frequency
from app.lending.errors import TermsError
from app.lending.product import (
    LICENSED_LENDER_CAP,
    LoanProduct,
    check_rate_cap,
    private_lending_cap,
    term_length,
)
from app.lending.terms import Amortization, LoanTerms

BASE = {"principal": "10000", "annual_rate": "12", "repayments": 12, "disbursed_on": "2024-01-31"}


def product(**overrides: Any) -> LoanProduct:
    values: dict[str, Any] = {"code": "credit-12", "name": "Credit loan", "annual_rate": Decimal(12),
                              "min_amount": Decimal(1000), "max_amount": Decimal(200000),
                              "min_term": 3, "max_term": 36}
    return LoanProduct(**{**values, **overrides})


@pytest.mark.parametrize(("change", "field"), [
    ({"principal": "0"}, "principal"),
    ({"principal": "-5"}, "principal"),
    ({"principal": "100.001"}, "principal"),
    ({"annual_rate": "-1"}, "annual_rate"),
    ({"repayments": 0}, "repayments"),
    ({"every": 0}, "every"),
    ({"instalment_multiple": "0"}, "instalment_multiple"),
    ({"instalment_multiple": "0.001"}, "instalment_multiple"),
    ({"annual_rate": "100.5"}, "annual_rate"),
    ({"principal_grace": 12}, "principal_grace"),
    ({"interest_grace": -1}, "interest_grace"),
    ({"currency": "USD"}, "currency"),
    ({"frequency": "whole_term"}, "maturity_date"),
    ({"frequency": "whole_term", "repayments": 1, "maturity_date": "2024-01-31"}, "maturity_date"),
    ({"frequency": "whole_term", "maturity_date": "2024-06-30"}, "repayments"),
    ({"maturity_date": "2024-06-30"}, "maturity_date"),
    ({"amortization": "bullet", "interest_grace": 1}, "interest_grace"),
    ({"early_repayment_fee_percent": "101"}, "early_repayment_fee_percent"),
    ({"penalty_charge_percent": "-1"}, "penalty_charge_percent"),
    ({"overdue_grace_days": -3}, "overdue_grace_days"),
    ({"amortization": "balloon"}, "amortization"),
    ({"days_in_year": "364"}, "days_in_year"),
    ({"disbursed_on": "2024-02-30"}, "disbursed_on"),
    ({"repayments": "12.5"}, "repayments"),
    ({"surprise": 1}, "surprise"),
])
def test_bad_terms_are_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(TermsError) as caught:
        terms_from_mapping({**BASE, **change})
    assert caught.value.field == field


def test_every_loan_term_can_be_read_from_json() -> None:
    assert set(TERM_NAMES) == {f.name for f in fields(LoanTerms)}


def test_missing_required_terms_are_refused() -> None:
    for key in BASE:
        with pytest.raises(TermsError) as caught:
            terms_from_mapping({k: v for k, v in BASE.items() if k != key})
        assert caught.value.field == key


def test_terms_parse_strings_numbers_and_defaults() -> None:
    terms = terms_from_mapping({**BASE, "instalment_multiple": None, "days_in_year": "360"})
    assert terms.principal == Decimal("10000.00") and terms.annual_rate == Decimal(12)
    assert terms.instalment_multiple is None
    assert terms.amortization is Amortization.EQUAL_INSTALMENTS and terms.frequency is Frequency.MONTHS
    with pytest.raises(TermsError):
        terms_from_mapping({**BASE, "principal": 1.5e300})


def test_terms_and_products_in_the_old_spelling_are_read_as_the_new() -> None:
    """Loans and products stored before migration 0008, and the shared reference cases, spell two
    names the American way; they read as the British ones."""
    new = {**BASE, "amortization": "equal_instalments", "instalment_multiple": "1"}
    old = {**BASE, "amortization": "Equal_Installments", "installment_multiple": "1"}
    assert terms_from_mapping(old) == terms_from_mapping(new)
    assert terms_from_mapping(old).instalment_multiple == Decimal(1)
    stored = product_to_mapping(product(instalment_multiple=Decimal(10)))
    assert stored["amortization"] == "equal_instalments" and stored["instalment_multiple"] == "10"
    renamed = {("installment_multiple" if k == "instalment_multiple" else k): v for k, v in stored.items()}
    assert product_from_mapping({**renamed, "amortization": "equal_installments"}) == product_from_mapping(stored)
    with pytest.raises(TermsError) as caught:
        terms_from_mapping({**new, "installment_multiple": "1"})
    assert caught.value.field == "installment_multiple"


def test_the_legal_cap_is_configurable() -> None:
    assert private_lending_cap(Decimal("3.85")) == Decimal("15.40")
    check_rate_cap(Decimal("15.4"), private_lending_cap(Decimal("3.85")))
    with pytest.raises(TermsError, match="above the legal cap of 15.40%"):
        check_rate_cap(Decimal("15.41"), private_lending_cap(Decimal("3.85")))
    check_rate_cap(Decimal(24), LICENSED_LENDER_CAP)
    with pytest.raises(TermsError):
        check_rate_cap(Decimal("24.01"), LICENSED_LENDER_CAP)


def test_a_product_above_its_legal_cap_is_refused() -> None:
    assert product(annual_rate=Decimal(24)).annual_rate == 24
    with pytest.raises(TermsError) as caught:
        product(annual_rate=Decimal(25))
    assert caught.value.field == "annual_rate"
    with pytest.raises(TermsError):
        product(annual_rate=Decimal(16), legal_rate_cap=private_lending_cap(Decimal("3.85")))


@pytest.mark.parametrize("overrides", [
    {"min_amount": Decimal(0)}, {"max_amount": Decimal(500)}, {"min_term": 0}, {"max_term": 2},
    {"code": " "}, {"currency": "HKD"},
])
def test_inconsistent_product_limits_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(TermsError):
        product(**overrides)


def test_a_product_grants_terms_within_its_limits() -> None:
    p = product(early_repayment_fee_percent=Decimal(2), amortization=Amortization.EQUAL_PRINCIPAL)
    terms = p.terms_for(Decimal(50000), 12, date(2024, 3, 1))
    assert terms.early_repayment_fee_percent == 2 and terms.amortization is Amortization.EQUAL_PRINCIPAL
    assert term_length(terms) == 12
    with pytest.raises(TermsError) as caught:
        p.terms_for(Decimal(999), 12, date(2024, 3, 1))
    assert caught.value.field == "principal"
    with pytest.raises(TermsError) as caught:
        p.terms_for(Decimal(5000), 48, date(2024, 3, 1))
    assert caught.value.field == "repayments"


def test_a_whole_term_product_counts_its_term_in_days() -> None:
    p = product(frequency=Frequency.WHOLE_TERM, amortization=Amortization.BULLET, min_term=30, max_term=180)
    terms = p.terms_for(Decimal(80000), 1, date(2024, 3, 1), maturity_date=date(2024, 6, 29))
    assert term_length(terms) == 120
    with pytest.raises(TermsError):
        p.terms_for(Decimal(80000), 1, date(2024, 3, 1), maturity_date=date(2025, 3, 1))
