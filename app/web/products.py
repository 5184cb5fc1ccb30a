"""The platform's product pages: the products offered, a new one with its kind's terms (advance
ratio, loan-to-value lines, required documents), and changes to name, offer, ratios and documents."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.services.context import language
from app.services.errors import ErrorKind, ServiceError
from app.services.origination import deal_views, products, views
from app.services.origination.products import DOCUMENT_KINDS, LTV_LINES, PRODUCT_KINDS
from app.text_input import is_whole
from app.web.money_input import money_format_error, parse_money
from app.web.ratio_input import parse_ratio, ratio_format_error
from app.web.vocabulary import REPAYMENT_METHODS

bp = Blueprint("product_pages", __name__, url_prefix="/products", template_folder="templates")
LTV_LABELS = {"lend": _l("Lending line"), "warning": _l("Warning line"), "margin_call": _l("Margin call line"),
              "liquidation": _l("Liquidation line")}
LTV_EXAMPLES = {"lend": "60%", "warning": "70%", "margin_call": "75%", "liquidation": "85%"}  # each above the last
MONEY_FIELDS = ("min_amount", "max_amount")
# How a new product's loans are repaid and charged, as the form starts them (the ledger's defaults; the fee and the
# penalty as the People's Bank's usual practice: penalty interest at 1.5 times the rate). Fixed once the product
# exists: its loans' contracts say them.
REPAYMENT_DEFAULTS = {"amortization": "equal_instalments", "early_repayment_fee_percent": "0",
                      "overdue_grace_days": "0", "penalty_rate_multiplier": "1.5"}


@bp.before_request
@login_required
def only_the_platform():
    """The list is read by the platform's staff; a product is made and changed by those who administer them."""
    principal = current_user.principal
    readable = request.endpoint == "product_pages.index" and deal_views.may_read_products(principal)
    if not (readable or deal_views.may_administer_products(principal)):
        abort(403)


def _messages(fields: dict[str, list[str]]) -> dict[str, list[str]]:
    """The services' field errors as what each field wants, in the reader's language."""
    ratio = ratio_format_error()
    sentences = {
        "code": _("A code of capital letters, digits and dashes, not used by another product."),
        "name": _("A name of 1 to 200 characters."), "name_en": _("A name of 1 to 200 characters."),
        "kind": _("Choose the kind of product."),
        "annual_rate": _("An annual rate in percent within the legal cap, like 12."),
        "min_amount": _("Amounts above zero, the smallest not above the largest."),
        "max_amount": _("Amounts above zero, the smallest not above the largest."),
        "min_term": _("Whole months, the shortest not above the longest."),
        "max_term": _("Whole months, the shortest not above the longest."),
        "advance_ratio": ratio, "ltv": _("Each line a percentage above 0% and at most 100%; lending < warning < "
                                         "margin call < liquidation."),
        "documents": _("Choose among the document kinds listed."),
        "order_grace_days": _("A whole number of days from 0 to 365."),
        "overdue_grace_days": _("A whole number of days from 0 to 365."),
        "amortization": _("Choose how the loans are repaid."),
        "early_repayment_fee_percent": _("A percentage of the principal prepaid, from 0 to 100, like 1 or 0.5."),
        "penalty_rate_multiplier": _("A number of 0 or more, like 1.5: penalty interest is the loan's rate times "
                                     "this."),
    }
    said = {name: [sentences.get(name.split(".")[0], ratio if name.startswith("ltv.") else _("Check this field."))]
            for name in fields}
    if fields.get("annual_rate"):  # why, in the reader's words: "年利率 500% 高于法定上限 24%", "不能为负数"
        said["annual_rate"] = [str(reason) for reason in fields["annual_rate"]] + said["annual_rate"]
    return said


def _percent(typed: str) -> str:
    """A rate in percent as typed, its percent sign (`5%`, `5 ％`) read as the field's own unit."""
    return typed.strip().removesuffix("%").removesuffix("％").strip()


def _ratio(form: Any, name: str, errors: dict[str, list[str]]) -> str:
    """A ratio field as typed (80%, 80 or 0.80), as the ratio the service checks; unread, its error."""
    try:
        return str(parse_ratio(form.get(name, "")))
    except ValueError as exc:
        errors[name] = [str(exc)]
        return ""


def _origination_terms(form: Any, kind: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    data: dict[str, Any] = {"documents": [k for k in form.getlist("documents") if k],
                            "name_en": form.get("name_en", "").strip() or None}  # none: English pages show the name
    errors: dict[str, list[str]] = {}
    if kind == "order_financing":
        data["advance_ratio"] = _ratio(form, "advance_ratio", errors)
        if form.get("order_grace_days", "").strip():  # left empty: 30 for a new product, unchanged for one that exists
            data["order_grace_days"] = form.get("order_grace_days", "").strip()
    if kind == "pledge_financing":
        data["ltv"] = {line: _ratio(form, f"ltv.{line}", errors) for line in LTV_LINES}
    return data, errors


def _new_product(form: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
    kind = form.get("kind", "")
    data: dict[str, Any] = {"code": form.get("code", "").strip(), "name": form.get("name", "").strip(), "kind": kind,
                            "annual_rate": _percent(form.get("annual_rate", "")),
                            "min_term": form.get("min_term", "").strip(), "max_term": form.get("max_term", "").strip()}
    errors: dict[str, list[str]] = {}
    for name in MONEY_FIELDS:
        try:
            data[name] = f"{parse_money(form.get(name, '')):.2f}"
        except ValueError:
            errors[name] = [money_format_error()]
    for name, default in REPAYMENT_DEFAULTS.items():
        data[name] = form.get(name, "").strip() or default
    for name in ("min_term", "max_term", "overdue_grace_days"):
        if is_whole(data[name]):
            data[name] = int(data[name])
    terms, unread = _origination_terms(form, kind)
    data.update(terms)
    return data, {**errors, **unread}


def _form_page(product: dict[str, Any] | None, values: Any, errors: dict[str, list[str]], status: int = 200):
    return render_template("product_form.html", product=product, values=values, errors=errors,
                           kinds=PRODUCT_KINDS, document_kinds=DOCUMENT_KINDS, ltv_lines=LTV_LINES,
                           ltv_labels=LTV_LABELS, ltv_examples=LTV_EXAMPLES, methods=REPAYMENT_METHODS, defaults=REPAYMENT_DEFAULTS), status


def _refusal(exc: ServiceError) -> dict[str, list[str]]:
    if exc.kind is ErrorKind.INVALID and exc.fields:
        return _messages(exc.fields)
    if exc.kind is ErrorKind.CONFLICT:
        return {"code": [_("A product with this code exists already.")]}
    raise exc


@bp.route("/")
def index():
    return render_template("products.html", products=products.list_products(current_user.principal,
                                                                             include_inactive=True, language=language()),
                           may_administer=deal_views.may_administer_products(current_user.principal))


@bp.route("/new", methods=["GET", "POST"])
def new():
    if request.method == "GET":
        return _form_page(None, {}, {})
    data, errors = _new_product(request.form)
    if not errors:
        try:
            code = views.add_product(current_user.principal, data)["code"]
        except ServiceError as exc:
            errors = _refusal(exc)
        else:
            flash(_("Product %(code)s created.", code=code))
            return redirect(url_for("product_pages.index"))
    return _form_page(None, request.form, errors, 422)


@bp.route("/<code>", methods=["GET", "POST"])
def edit(code: str):
    product = products.get_product(current_user.principal, code, language())
    if request.method == "GET":
        return _form_page(product, {}, {})
    terms, unread = _origination_terms(request.form, str(product["kind"]))
    data: dict[str, Any] = {"name": request.form.get("name", "").strip(), "active": bool(request.form.get("active")),
                            **terms}
    if unread:
        return _form_page(product, request.form, unread, 422)
    try:
        views.change_product(current_user.principal, code, data)
    except ServiceError as exc:
        return _form_page(product, request.form, _refusal(exc), 422)
    flash(_("Product %(code)s saved.", code=code))
    return redirect(url_for("product_pages.index"))
