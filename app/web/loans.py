"""The loans pages (issue 15): the loans a user sees, and one loan's page with its schedule, bills,
payments and online repayments; for the borrower's applicants the "Pay online" form (it places a
collection order and sends the browser to the payment gateway's page), and for everyone who sees the
loan the early repayment quote (full pay-off, or a part in either mode with the schedule after it).
What a user sees and may do comes from the services (`ledger.loans`, `signing.online_repayments`)."""
from __future__ import annotations

import secrets
from datetime import date
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.services.errors import ErrorKind, ServiceError
from app.services.ledger import loans, repayments
from app.services.signing import online_repayments
from app.web.money_input import money_format_hint, parse_money
from app.web.paging import page_number

bp = Blueprint("loan_pages", __name__, template_folder="templates")
PER_PAGE = 20
LOAN_STATUS = {"active": _l("Active"), "closed": _l("Paid off"), "written_off": _l("Written off")}
BILL_STATUS = {"pending": _l("Not yet due"), "overdue": _l("Overdue"), "paid": _l("Paid"),
               "written_off": _l("Written off")}
PAYMENT_STATUS = {"pending": _l("Awaiting confirmation"), "booked": _l("Booked"), "rejected": _l("Rejected")}
CHANNEL = {"online": _l("Online"), "offline": _l("Bank transfer"), "auto_debit": _l("Automatic debit")}
ORDER_STATUS = {"pending": _l("Waiting for payment"), "succeeded": _l("Paid"), "failed": _l("Failed")}
MODES = {"shorten_term": _l("Shorten the term"), "reduce_instalment": _l("Lower the instalment")}
NAMES = {"loan_status": LOAN_STATUS, "bill_status": BILL_STATUS, "payment_status": PAYMENT_STATUS,
         "channel": CHANNEL, "order_status": ORDER_STATUS, "modes": MODES}


@bp.app_context_processor
def loan_pages() -> dict[str, Any]:
    """Whether the header links to the loans page (the service says)."""
    if not current_user.is_authenticated:
        return {"may_see_loans": False}
    return {"may_see_loans": online_repayments.sees_loans(current_user.principal)}


@bp.route("/loans")
@login_required
def index() -> ResponseReturnValue:
    listed = loans.list_loans(current_user.principal, page_number(), PER_PAGE)
    pages = max(1, -(-int(str(listed["total"])) // PER_PAGE))
    return render_template("loans.html", listed=listed, pages=pages, names=NAMES)


def _page(loan_id: int, pay_form: dict[str, str] | None = None, pay_errors: list[str] | None = None,
          status: int = 200) -> ResponseReturnValue:
    principal = current_user.principal
    detail = loans.loan_detail(principal, loan_id)
    quote_form = {name: request.args.get(name, "").strip() for name in ("date", "amount", "mode")}
    quote: dict[str, Any] | None = None
    quote_errors: dict[str, str] = {}
    if request.args.get("quote"):
        quote, quote_errors = _quote(loan_id, quote_form)
    return render_template(
        "loan.html", loan=detail.loan, detail=detail, names=NAMES,
        payments=repayments.loan_payments(principal, loan_id),
        orders=online_repayments.orders_of(principal, loan_id),
        may_pay=online_repayments.may_pay(principal, loan_id),
        payoff=repayments.quote_payoff(detail.loan.id) if detail.loan.status == "active" else None,
        pay_form=pay_form or {"key": secrets.token_urlsafe(12)}, pay_errors=pay_errors or [], money_hint=money_format_hint(),
        quote_form=quote_form, quote=quote, quote_errors=quote_errors), status


def _quote(loan_id: int, form: dict[str, str]) -> tuple[dict[str, Any] | None, dict[str, str]]:
    errors: dict[str, str] = {}
    on = amount = None
    try:
        on = date.fromisoformat(form["date"]) if form["date"] else None
    except ValueError:
        errors["date"] = _("Write the date as YYYY-MM-DD.")
    try:
        amount = parse_money(form["amount"]) if form["amount"] else None
        if amount is not None and amount <= 0:
            errors["amount"] = _("The amount must be more than zero.")
    except ValueError as exc:
        errors["amount"] = str(exc)
    mode = form["mode"] or "shorten_term"
    if mode not in MODES:
        errors["mode"] = _("Choose how the prepayment changes the schedule.")
    if errors:
        return None, errors
    try:
        return repayments.quote_early_repayment(current_user.principal, loan_id, on, amount, mode), {}
    except ServiceError as exc:
        if exc.kind is not ErrorKind.INVALID:
            raise
        field = next(iter(exc.fields or {"date": []}))
        return None, {field: _("No quote for this date: it is before the loan began or its last payment.")
                      if field == "date" else _("This amount cannot be quoted.")}


@bp.route("/loans/<int:loan_id>")
@login_required
def show(loan_id: int) -> ResponseReturnValue:
    return _page(loan_id)


@bp.route("/loans/<int:loan_id>/pay-online", methods=["POST"])
@login_required
def pay_online(loan_id: int) -> ResponseReturnValue:
    """Place the collection order and send the browser to the payment gateway's page."""
    form = {"amount": request.form.get("amount", "").strip(), "key": request.form.get("key", "").strip()}
    try:
        amount = parse_money(form["amount"])
    except ValueError as exc:
        return _page(loan_id, form, [str(exc)], 422)
    if amount <= 0:
        return _page(loan_id, form, [_("The amount must be more than zero.")], 422)
    try:
        placed = online_repayments.order(current_user.principal, loan_id, amount, form["key"])
    except ServiceError as exc:
        if exc.kind not in (ErrorKind.INVALID, ErrorKind.CONFLICT):
            raise
        message = (_("The amount is more than what settles the loan today.") if exc.kind is ErrorKind.INVALID
                   and "amount" in (exc.fields or {}) else _("This payment could not be placed: %(reason)s",
                                                            reason=exc.message))
        return _page(loan_id, form, [message], 422 if exc.kind is ErrorKind.INVALID else 409)
    back = url_for("loan_pages.show", loan_id=loan_id)
    return redirect(f"{placed.pay_url}?{urlencode({'back': back})}", 303)
