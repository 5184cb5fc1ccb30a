"""Products as origination sees them: the ledger's product plus its kind and origination terms.

A product's `kind` names its application process (the diagram of the same name in `processes/`);
`origination` holds the product's English name (`name_en`: English pages show it, `Product.name_in`;
`name` is the platform's, in Chinese), the advance ratio (orders), the pledge's loan-to-value lines and the
documents required before an application is submitted. Both are checked here on every write.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Product
from app.models.origination import DOCUMENT_KINDS, PRODUCT_KINDS
from app.services.context import lazy_gettext as _l
from app.services.errors import Invalid, NotFound, Text
from app.services.identity import policy
from app.services.identity.directory import Principal
from app.services.ledger import loans
from app.text_input import is_whole

LTV_LINES = ("lend", "warning", "margin_call", "liquidation")  # in increasing order
ORIGINATION_KEYS = frozenset({"kind", "name_en", "advance_ratio", "order_grace_days", "ltv", "documents"})
# Order financing: the loan is repaid from what the core enterprise pays for the order, so it may end at most this
# many days after the order is due (a product sets its own; products made before the rule take this).
ORDER_GRACE_DAYS = 30
ORDER_GRACE_IN_WORDS = _l("The days a loan may end after its order is due: a whole number from 0 to 365.")
RATIO_NAMES: dict[str, Text] = {
    "advance_ratio": _l("The advance ratio"), "ltv.lend": _l("The lending loan-to-value line"),
    "ltv.warning": _l("The warning loan-to-value line"), "ltv.margin_call": _l("The margin call loan-to-value line"),
    "ltv.liquidation": _l("The liquidation loan-to-value line")}
KINDS_IN_WORDS = _l("The kind of product must be order financing, pledge financing or a credit loan.")
DOCUMENTS_IN_WORDS = _l("Each required document must be one of the kinds listed: an order, an invoice, a warehouse "
                        "receipt, a business licence, financial statements, an ID card or another document.")
LTV_IN_WORDS = _l("A pledge product needs four loan-to-value lines, each a ratio above 0 and at most 1: lending, "
                  "warning, margin call and liquidation, each higher than the one before.")
NAME_FORMAT = _l("A name of 1 to 200 characters.")


def _name(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 200:
        raise Invalid(NAME_FORMAT, {field: [NAME_FORMAT]})
    return value.strip()


@dataclass(frozen=True)
class ProductTerms:
    """What origination reads of a product, checked."""

    code: str
    name: str
    kind: str
    min_amount: Decimal
    max_amount: Decimal
    min_term: int
    max_term: int
    annual_rate: Decimal
    advance_ratio: Decimal | None
    order_grace_days: int | None  # order financing only
    ltv: dict[str, Decimal]
    documents: tuple[str, ...]


def _ratio(value: object, field: str) -> Decimal:
    try:
        ratio = Decimal(str(value))
    except InvalidOperation:
        raise Invalid(_l("%(ratio)s must be a number such as 0.80.", ratio=RATIO_NAMES[field]),
                      {field: [_l("A number such as 0.80.")]}) from None
    if not ratio.is_finite() or not Decimal(0) < ratio <= Decimal(1) or ratio != ratio.quantize(Decimal("0.0001")):
        raise Invalid(_l("%(ratio)s must be above 0 and at most 1, with at most 4 decimals.", ratio=RATIO_NAMES[field]),
                      {field: [_l("A ratio above 0 and at most 1, with at most 4 decimals, like 0.80.")]})
    return ratio


def check_origination(kind: object, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The origination terms of a product of `kind`, checked and normalised (422 naming the field)."""
    if kind not in PRODUCT_KINDS:
        raise Invalid(KINDS_IN_WORDS, {"kind": [KINDS_IN_WORDS]})
    out: dict[str, Any] = {}
    if settings.get("name_en") is not None:  # optional: without it English pages show the name
        out["name_en"] = _name(settings["name_en"], "name_en")
    documents = settings.get("documents", [])
    if not isinstance(documents, list) or not all(d in DOCUMENT_KINDS for d in documents):
        raise Invalid(DOCUMENTS_IN_WORDS, {"documents": [DOCUMENTS_IN_WORDS]})
    out["documents"] = sorted(set(documents), key=DOCUMENT_KINDS.index)
    if kind == "order_financing":
        if "advance_ratio" not in settings:
            message = _l("An order-financing product needs an advance ratio, such as 0.80.")
            raise Invalid(message, {"advance_ratio": [message]})
        out["advance_ratio"] = str(_ratio(settings["advance_ratio"], "advance_ratio"))
        grace = settings.get("order_grace_days", ORDER_GRACE_DAYS)
        if isinstance(grace, str) and is_whole(grace.strip()):
            grace = int(grace.strip())  # as a form sends it
        if isinstance(grace, bool) or not isinstance(grace, int) or not 0 <= grace <= 365:
            raise Invalid(ORDER_GRACE_IN_WORDS, {"order_grace_days": [ORDER_GRACE_IN_WORDS]})
        out["order_grace_days"] = grace
    if kind == "pledge_financing":
        ltv = settings.get("ltv")
        if not isinstance(ltv, Mapping) or set(ltv) != set(LTV_LINES):
            raise Invalid(LTV_IN_WORDS, {"ltv": [LTV_IN_WORDS]})
        lines = [_ratio(ltv[name], f"ltv.{name}") for name in LTV_LINES]
        if any(a >= b for a, b in zip(lines, lines[1:], strict=False)):
            message = _l("The loan-to-value lines must increase: lending < warning < margin call < liquidation.")
            raise Invalid(message, {"ltv": [message]})
        out["ltv"] = {name: str(value) for name, value in zip(LTV_LINES, lines, strict=True)}
    return out


def create_product(actor: Principal | None, data: Mapping[str, Any]) -> Product:
    """A product offered to borrowers: the ledger's terms, its kind and origination terms.

    `actor` None: the platform's own seed. Its application process is the diagram named after its kind.
    """
    if actor is not None:
        policy.require(actor, "products.administer")
    settings = {k: v for k, v in data.items() if k not in ORIGINATION_KEYS}
    origination = check_origination(data.get("kind"), data)
    settings["application_process"] = data["kind"]
    row = loans.create_product(settings)
    row.kind = str(data["kind"])
    row.origination = origination
    db.session.flush()
    return row


def update_product(actor: Principal, code: str, data: Mapping[str, Any]) -> Product:
    """Change a product's origination terms, name, or whether it is offered (pricing is the ledger's, fixed)."""
    policy.require(actor, "products.administer")
    row = _product(code)
    unknown = set(data) - {"name", "name_en", "active", "advance_ratio", "order_grace_days", "ltv", "documents"}
    if unknown:
        raise Invalid(_l("Only the name, whether the product is offered, the advance ratio, the days a loan may end "
                         "after its order is due, the loan-to-value lines and the required documents can change."),
                      {k: [_l("This cannot change once the product exists.")] for k in sorted(unknown)})
    if "name" in data:
        row.name = _name(data["name"], "name")
    if "active" in data:
        if not isinstance(data["active"], bool):
            message = _l("Whether the product is offered must be true or false.")
            raise Invalid(message, {"active": [message]})
        row.active = data["active"]
    merged = {**row.origination, **{k: v for k, v in data.items() if k in ORIGINATION_KEYS}}
    row.origination = check_origination(row.kind, merged)
    db.session.flush()
    return row


def _product(code: str) -> Product:
    row = db.session.scalar(select(Product).where(Product.code == code, Product.kind.is_not(None)))
    if row is None:
        raise NotFound(_l("There is no product %(code)s.", code=code))
    return row


def product_row(product_id: int) -> Product:
    row = db.session.get(Product, product_id)
    if row is None:
        raise NotFound(_l("No such product."))
    return row


def terms_of(row: Product) -> ProductTerms:
    settings = row.origination or {}
    return ProductTerms(
        code=row.code, name=row.name, kind=str(row.kind), min_amount=row.min_amount, max_amount=row.max_amount,
        min_term=row.min_term, max_term=row.max_term, annual_rate=row.annual_rate,
        advance_ratio=Decimal(settings["advance_ratio"]) if "advance_ratio" in settings else None,
        order_grace_days=int(settings.get("order_grace_days", ORDER_GRACE_DAYS)) if row.kind == "order_financing"
        else None,
        ltv={k: Decimal(v) for k, v in settings.get("ltv", {}).items()},
        documents=tuple(settings.get("documents", ())))


def offered_product(code: object) -> Product:
    """An active product with a kind (one borrowers can apply for); 422 naming `product` otherwise."""
    row = db.session.scalar(select(Product).where(Product.code == str(code), Product.active.is_(True),
                                                  Product.kind.is_not(None))) if isinstance(code, str) else None
    if row is None:
        message = _l("Choose a product that is offered.")
        raise Invalid(message, {"product": [message]})
    return row


def product_view(row: Product, language: str | None = None) -> dict[str, Any]:
    """The product as the API shows it (`name` and `name_en`); a page passes its `language`, and its `title` is
    the name that page shows."""
    settings = row.origination or {}
    rules = loans.product_rules(row)
    return {
        "code": row.code, "name": row.name, "name_en": settings.get("name_en"), "title": row.name_in(language),
        "kind": row.kind, "currency": row.currency, "active": row.active,
        "annual_rate": f"{row.annual_rate.normalize():f}", "min_amount": f"{row.min_amount:.2f}",
        "max_amount": f"{row.max_amount:.2f}", "min_term": row.min_term, "max_term": row.max_term,
        "amortization": str(rules.amortization), "interest_method": str(rules.interest_method),
        "early_repayment_fee_percent": f"{rules.early_repayment_fee_percent.normalize():f}",
        "overdue_grace_days": rules.overdue_grace_days,
        "penalty_rate_multiplier": f"{rules.penalty_rate_multiplier.normalize():f}",
        "frequency": str(rules.frequency), "advance_ratio": settings.get("advance_ratio"),
        "order_grace_days": settings.get("order_grace_days", ORDER_GRACE_DAYS) if row.kind == "order_financing"
        else None,
        "ltv": settings.get("ltv"), "documents": list(settings.get("documents", [])),
        "application_process": row.application_process,
    }


def list_products(principal: Principal, include_inactive: bool = False,
                  language: str | None = None) -> list[dict[str, Any]]:
    """The products borrowers can apply for (the platform also sees those withdrawn from offer)."""
    query = select(Product).where(Product.kind.is_not(None)).order_by(Product.code)
    if not (include_inactive and principal.is_platform):
        query = query.where(Product.active.is_(True))
    return [product_view(row, language) for row in db.session.scalars(query)]


def get_product(principal: Principal, code: str, language: str | None = None) -> dict[str, Any]:
    row = _product(code)
    if not row.active and not principal.is_platform:
        raise NotFound(_l("There is no product %(code)s.", code=code))
    return product_view(row, language)
