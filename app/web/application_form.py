"""The application form: its fields per product kind with labels in both languages, what a posted
form means to `applications.create_application` / `update_application`, and the services' field
errors (`amount`, `details.order_amount`, ...) as sentences in the reader's language."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.text_input import is_whole
from app.web.i18n import money
from app.web.money_input import money_format_error, parse_money
from app.web.vocabulary import document_kind_label


@dataclass(frozen=True)
class Field:
    name: str  # the form's input name: the service's field, `details.<key>` for the product's details
    label: Any
    kind: str  # text, money, date, quantity, core_enterprise, warehouse (chosen by name), textarea
    limit: int | None = None
    hint: Any = None  # a sentence under the input, e.g. examples of what to write


CORE = (Field("amount", _l("Amount applied for"), "money"), Field("term_months", _l("Term (months)"), "integer"),
        Field("purpose", _l("Purpose of the loan"), "textarea", 500), Field("funder", _l("Funder"), "funder"))
DETAILS = {
    "order_financing": (
        Field("details.core_enterprise", _l("Core enterprise"), "core_enterprise"),
        Field("details.order_number", _l("Order number"), "text", 64),
        Field("details.order_amount", _l("Order amount"), "money"),
        Field("details.order_due_date", _l("Order due date"), "date")),
    "pledge_financing": (
        Field("details.warehouse", _l("Supervising warehouse"), "warehouse"),
        Field("details.receipt_number", _l("Warehouse receipt number"), "text", 64),
        Field("details.goods", _l("Goods"), "text", 200),
        Field("details.quantity", _l("Quantity"), "quantity"),
        Field("details.unit", _l("Unit"), "text", 20, _l("For example tonnes or pieces.")),
        Field("details.unit_price", _l("Unit price"), "money")),
    "credit_loan": (
        Field("details.id_number", _l("Resident ID number (a person)"), "text", 18),
        Field("details.credit_code", _l("Unified social credit code (a company)"), "text", 18)),
}
# Every kind's: where the funds go (the borrower's own account; the funds are released to no other).
PAYEE = (Field("details.payee_account", _l("Receiving account number"), "text", 49,
               _l("Your company's account the loan is paid to; the contract names it and no other is paid.")),
         Field("details.payee_bank", _l("Bank and branch of the receiving account"), "text", 100))
DETAIL_LABELS = {f.name.removeprefix("details."): f for fields in (*DETAILS.values(), PAYEE) for f in fields}


def fields_of(kind: str) -> tuple[Field, ...]:
    return (*DETAILS.get(kind, ()), *PAYEE) if kind in DETAILS else ()


def parse(form: Mapping[str, str], kind: str, product: str | None) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(what the service is sent, errors found before asking it) from a posted application form."""
    data: dict[str, Any] = {"purpose": form.get("purpose", "").strip(), "funder": form.get("funder", "")}
    if product is not None:
        data["product"] = product
    errors: dict[str, list[str]] = {}
    amount = _money(form.get("amount", ""), "amount", errors)
    if amount is not None:
        data["amount"] = amount
    term = form.get("term_months", "").strip()
    if is_whole(term):
        data["term_months"] = int(term)
    else:
        errors["term_months"] = [_("A whole number of months.")]
    details: dict[str, str] = {}
    for field in fields_of(kind):
        key = field.name.removeprefix("details.")
        value = form.get(field.name, "").strip()
        if field.kind == "money":
            parsed = _money(value, field.name, errors)
            details[key] = parsed or value
        elif kind == "credit_loan" and field not in PAYEE:
            if value:
                details[key] = value.upper()
        else:
            details[key] = value
    data["details"] = details
    return data, errors


def _money(text: str, name: str, errors: dict[str, list[str]]) -> str | None:
    if not text.strip():  # nothing written: say so, not how to write it
        errors[name] = [_("Enter the amount.")]
        return None
    try:
        return f"{parse_money(text):.2f}"
    except ValueError:
        errors[name] = [money_format_error()]
        return None


def _required_text(field: Field) -> str:
    return _("Required, at most %(n)d characters.", n=field.limit or 0)


# Fields the service says one of several things about (the product's range or the order's amount; a purpose too
# long or missing; a term out of range or ending too late for its order): its own words, in the reader's language,
# rather than one sentence per field.
SAID_BY_THE_SERVICE = ("amount", "term_months", "purpose")


def messages(fields: Mapping[str, list[Any]], terms: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """The services' field errors as what each field wants, in the reader's language."""
    out: dict[str, list[str]] = {}
    for name, said in fields.items():
        out[name] = [str(s) for s in said] if name in SAID_BY_THE_SERVICE and said else [_message(name, terms or {})]
    return out


def _message(name: str, terms: Mapping[str, Any]) -> str:
    sentences = {
        "product": lambda: _("Choose a product that is offered."),
        "amount": lambda: _("An amount from %(min)s to %(max)s for this product.",
                            min=money(terms.get("min_amount")), max=money(terms.get("max_amount"))),
        "term_months": lambda: _("A whole number of months from %(min)s to %(max)s.",
                                 min=terms.get("min_term"), max=terms.get("max_term")),
        "purpose": lambda: _("At most %(n)d characters.", n=500),
        "funder": lambda: _("Choose the funder."),
        "details": lambda: _("Give either a resident ID number (a person) or a unified social credit code "
                             "(a company), not both."),
        "details.core_enterprise": lambda: _("Choose the core enterprise."),
        "details.warehouse": lambda: _("Choose the supervising warehouse."),
        "details.order_amount": lambda: _("An amount above zero, like 1,000,000.00."),
        "details.unit_price": lambda: _("An amount above zero, like 1,000,000.00."),
        "details.order_due_date": lambda: _("A date, today or later."),
        "details.quantity": lambda: _("A number above zero with at most 4 decimals."),
        "details.id_number": lambda: _("An 18-character resident ID number whose check character is right."),
        "details.credit_code": lambda: _("An 18-character unified social credit code whose check character is "
                                         "right."),
        "details.payee_account": lambda: _("The account number: 8 to 40 digits, spaces allowed between them."),
        "details.payee_bank": lambda: _("The bank and branch, 2 to 100 characters."),
        "documents": lambda: _("Attach these documents first: %(kinds)s.", kinds="、".join(
            document_kind_label(k) for k in terms.get("documents", []))),
        "kind": lambda: _("Choose what kind of document this is."),
        "file": lambda: _("Choose a file: PDF, PNG, JPEG, XLSX or DOCX, not empty."),
    }
    if name in sentences:
        return sentences[name]()
    key = name.removeprefix("details.")
    if key in DETAIL_LABELS and DETAIL_LABELS[key].limit:
        return _required_text(DETAIL_LABELS[key])
    return _("Check this field.")
