"""The product-specific part of an application (`details`), checked per kind.

- order financing: `core_enterprise` (the core enterprise's organisation code), `order_number`,
  `order_amount`, `order_due_date` (ISO date, not in the past, at most 3 years ahead: `ORDER_DUE_WITHIN`, as the
  core enterprise's confirmation form's `notAfter`);
- pledge financing: `warehouse` (the supervising warehouse's code), `receipt_number`, `goods`,
  `quantity`, `unit`, `unit_price`;
- credit loan: `id_number` (a person's 18-character resident ID) or `credit_code` (a company's
  unified social credit code), each with its check character verified;
- every kind: the borrower's receiving account, `payee_account` (8 to 40 digits, spaces between them) and
  `payee_bank` (the bank and branch): where the funds go. A draft may lack them; a submission may not
  (`PAYEE_KEYS`), and the funds are released to no other account (`disbursements.order`, `release-funds.json`).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.lending.errors import LendingError
from app.lending.money import parse_money
from app.models import Organisation
from app.services import clock
from app.services.context import lazy_gettext as _l
from app.services.errors import Invalid
from handlers.identifiers import valid_credit_code, valid_id_number

KEYS = {
    "order_financing": ("core_enterprise", "order_number", "order_amount", "order_due_date"),
    "pledge_financing": ("warehouse", "receipt_number", "goods", "quantity", "unit", "unit_price"),
    "credit_loan": ("id_number", "credit_code"),
}
ORDER_DUE_WITHIN = "P3Y"  # an order's receivable falls due within 3 years (forms/confirm-receivable.json says the same)
PAYEE_KEYS = ("payee_account", "payee_bank")  # every kind's: where the funds go
ACCOUNT = re.compile(r"[0-9](?: ?[0-9]){7,39}")  # 8 to 40 digits, single spaces between them (as the forms take it)
ACCOUNT_FORMAT = _l("A bank account number: 8 to 40 digits, spaces allowed between them.")
# The party each kind binds to the deal, from the organisation code in its details.
PARTY_FIELDS = {"core_enterprise": "core_enterprise", "warehouse": "warehouse"}
PARTY_MISSING = {"core_enterprise": _l("Choose a core enterprise registered on the platform."),
                 "warehouse": _l("Choose a warehouse registered on the platform.")}
MONEY_FORMAT = _l("An amount above zero with at most two decimals, such as 1,000,000.00.")


def _text(raw: Mapping[str, Any], key: str, errors: dict[str, list[str]], limit: int = 100) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        errors[f"details.{key}"] = [_l("Required, at most %(limit)s characters.", limit=limit)]
        return ""
    return value.strip()


def _org(raw: Mapping[str, Any], key: str, errors: dict[str, list[str]]) -> str:
    code = raw.get(key)
    org = db.session.scalar(select(Organisation).where(Organisation.code == code)) if isinstance(code, str) else None
    if org is None or key not in org.kind_codes:
        errors[f"details.{key}"] = [PARTY_MISSING[key]]
        return ""
    return org.code


def _amount(raw: Mapping[str, Any], key: str, errors: dict[str, list[str]]) -> str:
    value = raw.get(key)
    try:
        amount = parse_money(value if isinstance(value, str | int) and not isinstance(value, bool) else "x", key)
    except LendingError:
        errors[f"details.{key}"] = [MONEY_FORMAT]
        return ""
    if amount <= 0:
        errors[f"details.{key}"] = [_l("Must be above zero.")]
    return f"{amount:.2f}"


def _quantity(raw: Mapping[str, Any], key: str, errors: dict[str, list[str]]) -> str:
    value = raw.get(key)
    try:
        quantity = Decimal(str(value)) if isinstance(value, str | int) and not isinstance(value, bool) else None
    except InvalidOperation:
        quantity = None
    if quantity is None or not quantity.is_finite() or quantity <= 0 or quantity >= Decimal(10) ** 12 \
            or quantity != quantity.quantize(Decimal("0.0001")):
        errors[f"details.{key}"] = [_l("A positive number with at most 4 decimals.")]
        return ""
    return f"{quantity.normalize():f}"


def check(kind: str, raw: object, today: date) -> dict[str, str]:
    """The details of an application for a product of `kind`, normalised; 422 naming `details.<key>`."""
    if not isinstance(raw, Mapping):
        raise Invalid(_l("The details must be an object."), {"details": [_l("Must be an object.")]})
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(raw) - set(KEYS[kind]) - set(PAYEE_KEYS))
    for key in unknown:
        errors[f"details.{key}"] = [_l("Not a detail of this product.")]
    out: dict[str, str] = _payee(raw, errors)
    if kind == "order_financing":
        out["core_enterprise"] = _org(raw, "core_enterprise", errors)
        out["order_number"] = _text(raw, "order_number", errors, 64)
        out["order_amount"] = _amount(raw, "order_amount", errors)
        due = raw.get("order_due_date")
        try:
            due_date = date.fromisoformat(due) if isinstance(due, str) and len(due) == 10 else None
        except ValueError:
            due_date = None
        latest = clock.ahead(today, ORDER_DUE_WITHIN)
        if due_date is None or due_date < today or (latest is not None and due_date > latest):
            errors["details.order_due_date"] = [_l("A date (YYYY-MM-DD), today or later, at most 3 years ahead "
                                                   "(%(latest)s).", latest=latest.isoformat() if latest else "")]
        out["order_due_date"] = due_date.isoformat() if due_date else ""
    elif kind == "pledge_financing":
        out["warehouse"] = _org(raw, "warehouse", errors)
        out["receipt_number"] = _text(raw, "receipt_number", errors, 64)
        out["goods"] = _text(raw, "goods", errors, 200)
        out["quantity"] = _quantity(raw, "quantity", errors)
        out["unit"] = _text(raw, "unit", errors, 20)
        out["unit_price"] = _amount(raw, "unit_price", errors)
    else:
        id_number, credit_code = raw.get("id_number"), raw.get("credit_code")
        if (id_number is None) == (credit_code is None):
            errors["details"] = [_l("Give either an ID number (a person) or a unified social credit code (a company), not both.")]
        elif id_number is not None:
            if not isinstance(id_number, str) or not valid_id_number(id_number.upper()):
                errors["details.id_number"] = [_l("An 18-character resident ID number with a valid check character.")]
            else:
                out["id_number"] = id_number.upper()
        elif not isinstance(credit_code, str) or not valid_credit_code(credit_code.upper()):
            errors["details.credit_code"] = [_l("An 18-character unified social credit code with a valid check character.")]
        else:
            out["credit_code"] = credit_code.upper()
    if errors:
        raise Invalid(_l("Some details are missing or wrong."), errors)
    return out


def _payee(raw: Mapping[str, Any], errors: dict[str, list[str]]) -> dict[str, str]:
    """The receiving account, when given (a draft may leave it for later): its number's spaces kept single."""
    out: dict[str, str] = {}
    account, bank = raw.get("payee_account"), raw.get("payee_bank")
    if account not in (None, ""):
        number = " ".join(account.split()) if isinstance(account, str) else ""
        if not ACCOUNT.fullmatch(number):
            errors["details.payee_account"] = [ACCOUNT_FORMAT]
        out["payee_account"] = number
    if bank not in (None, ""):
        if not isinstance(bank, str) or not 2 <= len(bank.strip()) <= 100:
            errors["details.payee_bank"] = [_l("The bank and branch, 2 to 100 characters.")]
        out["payee_bank"] = bank.strip() if isinstance(bank, str) else ""
    return out


def payee_missing(details: Mapping[str, Any]) -> dict[str, list[Any]]:
    """What a submission lacks of the receiving account, by field."""
    return {f"details.{key}": [_l("Where the funds go: required to submit.")]
            for key in PAYEE_KEYS if not str(details.get(key) or "").strip()}


def parties(details: Mapping[str, Any]) -> dict[str, str]:
    """The organisations the details bind to the deal, by party."""
    return {party: str(details[key]) for key, party in PARTY_FIELDS.items() if details.get(key)}


def collateral_value(kind: str, details: Mapping[str, Any]) -> Decimal | None:
    """What the borrower declares the collateral is worth: the order's amount, or quantity × unit price."""
    if kind == "order_financing":
        return Decimal(details["order_amount"])
    if kind == "pledge_financing":
        return (Decimal(details["quantity"]) * Decimal(details["unit_price"])).quantize(Decimal("0.01"))
    return None
