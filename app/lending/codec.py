"""JSON-shaped mappings to and from lending objects: terms in, schedules out (amounts as decimal strings)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from app.lending.daycount import DaysInMonth, DaysInYear, Frequency
from app.lending.errors import TermsError
from app.lending.money import Rounding, parse_decimal, parse_money
from app.lending.product import LoanProduct
from app.lending.schedule import Schedule
from app.lending.terms import (
    Amortization,
    InterestMethod,
    InterestPeriod,
    LoanTerms,
    PenaltyChargeBasis,
)


def parse_date(value: object, field: str) -> date:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise TermsError(field, "must be a date YYYY-MM-DD")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise TermsError(field, "%(value)s is not a date YYYY-MM-DD", value=repr(value)) from None


def parse_int(value: object, field: str) -> int:
    number = parse_decimal(value, field)
    if number != number.to_integral_value():
        raise TermsError(field, "must be a whole number")
    return int(number)


def parse_bool(value: object, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no", "1", "0"):
        return value.strip().lower() in ("true", "yes", "1")
    raise TermsError(field, "must be true or false")


# The American spellings that terms and products stored before migration 0008, and the shared
# reference cases, still use: read as the British ones everywhere terms or products come in.
OLD_NAMES = {"installment_multiple": "instalment_multiple"}
OLD_VALUES = {"equal_installments": "equal_instalments"}


def current_spelling(data: Mapping[str, object]) -> dict[str, object]:
    """`data` with its old names renamed; an old name given beside its new one is an error."""
    renamed: dict[str, object] = {}
    for key, value in data.items():
        name = OLD_NAMES.get(key, key)
        if name != key and name in data:
            raise TermsError(key, "is the old name of %(name)s: give only one", name=name)
        renamed[name] = value
    return renamed


def _enum(kind: type[StrEnum]) -> Callable[[object, str], StrEnum]:
    def parse(value: object, field: str) -> StrEnum:
        text = str(value).strip().lower() if isinstance(value, str | int) else ""
        try:
            return kind(OLD_VALUES.get(text, text))
        except ValueError:
            allowed = ", ".join(m.value for m in kind)
            raise TermsError(field, "%(value)s is not one of: %(allowed)s", value=repr(value), allowed=allowed) from None
    return parse


def _optional_multiple(value: object, field: str) -> Decimal | None:
    return None if value is None else parse_decimal(value, field)


def _optional_date(value: object, field: str) -> date | None:
    return None if value is None else parse_date(value, field)


_PARSERS: dict[str, Callable[[object, str], Any]] = {
    "principal": parse_money,
    "annual_rate": parse_decimal,
    "repayments": parse_int,
    "disbursed_on": parse_date,
    "interest_method": _enum(InterestMethod),
    "amortization": _enum(Amortization),
    "interest_period": _enum(InterestPeriod),
    "days_in_year": _enum(DaysInYear),
    "days_in_month": _enum(DaysInMonth),
    "instalment_multiple": _optional_multiple,
    "rounding": _enum(Rounding),
    "principal_grace": parse_int,
    "interest_grace": parse_int,
    "frequency": _enum(Frequency),
    "every": parse_int,
    "maturity_date": _optional_date,
    "currency": lambda v, f: str(v),
    "early_repayment_fee_percent": parse_decimal,
    "penalty_rate_multiplier": parse_decimal,
    "penalty_days_in_year": _enum(DaysInYear),
    "penalty_on_overdue_interest": parse_bool,
    "penalty_charge_percent": parse_decimal,
    "penalty_charge_basis": _enum(PenaltyChargeBasis),
    "overdue_grace_days": parse_int,
    "shift_due_dates_on_holidays": parse_bool,
}
TERM_NAMES = tuple(_PARSERS)
REQUIRED = ("principal", "annual_rate", "repayments", "disbursed_on")


def terms_from_mapping(data: Mapping[str, object]) -> LoanTerms:
    """LoanTerms from a JSON object such as a case's `terms` in reference/loan-cases.json.

    Unknown keys and missing required keys are errors; `null` means "the default" except for
    `instalment_multiple` and `maturity_date`, where it means "none". Old spellings are read too
    (`OLD_NAMES`, `OLD_VALUES`).
    """
    if not isinstance(data, Mapping):
        raise TermsError("terms", "must be an object")
    data = current_spelling(data)
    unknown = sorted(set(data) - set(TERM_NAMES))
    if unknown:
        raise TermsError(unknown[0], "is not a loan term")
    missing = [k for k in REQUIRED if data.get(k) is None]
    if missing:
        raise TermsError(missing[0], "is required")
    values = {key: _PARSERS[key](value, key) for key, value in data.items()
              if value is not None or key in ("instalment_multiple", "maturity_date")}
    return LoanTerms(**values)


def schedule_to_dict(schedule: Schedule) -> dict[str, Any]:
    """`{"instalments": [{number, due_date, principal, interest, total, balance}], totals}`."""
    return {
        "instalments": [
            {
                "number": row.number,
                "due_date": row.due_date.isoformat(),
                "principal": str(row.principal),
                "interest": str(row.interest),
                "total": str(row.total),
                "balance": str(row.balance),
            }
            for row in schedule.instalments
        ],
        "total_interest": str(schedule.total_interest),
        "total_repayment": str(schedule.total_repayment),
    }


def _jsonable(value: object) -> object:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def terms_to_mapping(terms: LoanTerms) -> dict[str, object]:
    """The inverse of `terms_from_mapping`: every term as JSON (decimals and dates as strings)."""
    return {name: _jsonable(getattr(terms, name)) for name in TERM_NAMES}


_PRODUCT_PARSERS: dict[str, Callable[[object, str], Any]] = {
    "code": lambda v, f: str(v).strip(),
    "name": lambda v, f: str(v).strip(),
    "min_amount": parse_money,
    "max_amount": parse_money,
    "min_term": parse_int,
    "max_term": parse_int,
    "legal_rate_cap": parse_decimal,
    **{k: v for k, v in _PARSERS.items() if k not in ("principal", "repayments", "disbursed_on", "maturity_date")},
}
PRODUCT_REQUIRED = ("code", "name", "annual_rate", "min_amount", "max_amount", "min_term", "max_term")


def product_from_mapping(data: Mapping[str, object]) -> LoanProduct:
    """A LoanProduct from JSON: the product's limits plus any loan term a product fixes."""
    if not isinstance(data, Mapping):
        raise TermsError("product", "must be an object")
    data = current_spelling(data)
    unknown = sorted(set(data) - set(_PRODUCT_PARSERS))
    if unknown:
        raise TermsError(unknown[0], "is not a product setting")
    missing = [k for k in PRODUCT_REQUIRED if data.get(k) is None]
    if missing:
        raise TermsError(missing[0], "is required")
    values = {key: _PRODUCT_PARSERS[key](value, key) for key, value in data.items()
              if value is not None or key == "instalment_multiple"}
    return LoanProduct(**values)


def product_to_mapping(product: LoanProduct) -> dict[str, object]:
    """The inverse of `product_from_mapping`."""
    return {name: _jsonable(getattr(product, name)) for name in _PRODUCT_PARSERS}
