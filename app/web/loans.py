"""The loans pages (issue 15): the loans a user sees, and one loan's page with its schedule, bills,
payments and online repayments; for the borrower's applicants the "Pay online" form (it places a
collection order and sends the browser to the payment gateway's page), and for everyone who sees the
loan the early repayment quote (full pay-off, or a part in either mode with the schedule after it).
What a user sees and may do comes from the services (`ledger.loans`, `signing.online_repayments`)."""
from __future__ import annotations

import secrets
from datetime import date
from decimal import Decimal
from io import BytesIO
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.services.collections import views as collection_views
from app.services.errors import ErrorKind, ServiceError
from app.services.ledger import loans, repayments
from app.services.origination.deal_views import loan_application
from app.services.signing import offline_repayments, online_repayments
from app.text_input import is_whole
from app.web.i18n import money
from app.web.money_input import money_format_hint, parse_money
from app.web.paging import page_number

bp = Blueprint("loan_pages", __name__, template_folder="templates")
PER_PAGE = 20
LOAN_STATUS = {"active": _l("Active"), "closed": _l("Paid off"), "written_off": _l("Written off")}
BILL_STATUS = {"pending": _l("Not yet due"), "overdue": _l("Overdue"), "paid": _l("Paid"),
               "written_off": _l("Written off")}
PAYMENT_STATUS = {"pending": _l("Awaiting confirmation"), "booked": _l("Booked"), "rejected": _l("Rejected")}
CHANNEL = {"online": _l("Online"), "offline": _l("Bank transfer"), "auto_debit": _l("Automatic debit")}
ORDER_STATUS = {"pending": _l("Waiting for payment"), "succeeded": _l("Payment received"), "failed": _l("Failed"),
                "closed": _l("Closed, not paid: a later order replaced it")}
MODES = {"shorten_term": _l("Shorten the term"), "reduce_instalment": _l("Lower the instalment")}
SCHEDULE_REASON = {**MODES, "payoff": _l("Paid off early")}  # why a schedule version replaced the one before
NAMES = {"loan_status": LOAN_STATUS, "bill_status": BILL_STATUS, "payment_status": PAYMENT_STATUS,
         "channel": CHANNEL, "order_status": ORDER_STATUS, "modes": MODES, "schedule_reason": SCHEDULE_REASON}


@bp.app_context_processor
def loan_pages() -> dict[str, Any]:
    """Whether the header links to the loans page (the service says); the task page's loan panel (`loan_panel`:
    the loan whose business key a task has, as it stands now, if the reader sees it)."""
    if not current_user.is_authenticated:
        return {"may_see_loans": False}
    principal = current_user.principal
    return {"may_see_loans": online_repayments.sees_loans(principal), "loan_names": NAMES,
            "loan_panel": lambda key: _loan_now(principal, key)}


def _loan_now(principal: Any, business_key: str) -> loans.LoanView | None:
    """The loan of `business_key` as the loans list shows it (status, amount overdue, outstanding), if seen."""
    found: list[loans.LoanView] = list(loans.list_loans(principal, 1, 1, business_key=business_key)["items"])  # type: ignore[call-overload]
    return found[0] if found else None


@bp.route("/loans")
@login_required
def index() -> ResponseReturnValue:
    listed = loans.list_loans(current_user.principal, page_number(), PER_PAGE)
    pages = max(1, -(-int(str(listed["total"])) // PER_PAGE))
    return render_template("loans.html", listed=listed, pages=pages, names=NAMES,
                           may_monitor=repayments.may_monitor(current_user.principal))


def _page(loan_id: int, pay_form: dict[str, str] | None = None, pay_errors: list[str] | None = None,
          status: int = 200, offline_form: dict[str, str] | None = None,
          offline_errors: list[str] | None = None, decide_errors: dict[int, str] | None = None,
          confirm_errors: list[str] | None = None) -> ResponseReturnValue:
    principal = current_user.principal
    detail = loans.loan_detail(principal, loan_id)
    quote_form = {name: request.args.get(name, "").strip() for name in ("date", "amount", "mode")}
    quote: dict[str, Any] | None = None
    quote_errors: dict[str, str] = {}
    may_quote = detail.loan.status == "active"  # a settled or written-off loan has nothing to repay early
    if request.args.get("quote") and may_quote:
        quote, quote_errors = _quote(loan_id, quote_form)
    due = f"{detail.amount_overdue:,.2f}" if detail.overdue else ""  # an overdue loan's forms start with what is late
    return render_template(
        "loan.html", loan=detail.loan, detail=detail, names=NAMES,
        application=loan_application(principal, loan_id),
        collections_case=collection_views.case_of_loan(principal, detail.loan.business_key),
        payments=repayments.loan_payments(principal, loan_id),
        orders=online_repayments.orders_of(principal, loan_id),
        may_pay=online_repayments.may_pay(principal, loan_id),
        payoff=repayments.quote_payoff(detail.loan.id) if may_quote else None, may_quote=may_quote,
        pay_form=pay_form or {"key": secrets.token_urlsafe(12), "amount": due}, pay_errors=pay_errors or [], money_hint=money_format_hint(),
        quote_form=quote_form, quote=quote, quote_errors=quote_errors,
        may_record=repayments.may_record(principal, loan_id),
        may_decide=repayments.may_decide(principal, loan_id),
        offline_form=offline_form or {"key": secrets.token_urlsafe(12), "amount": due}, offline_errors=offline_errors or [],
        decide_errors=decide_errors or {}, confirm=_confirm(quote), confirm_errors=confirm_errors or [],
        today=loans.business_today().isoformat(), today_date=loans.business_today()), status


def _confirm(quote: dict[str, Any] | None) -> dict[str, str] | None:
    """What the quote's "Confirm and pay" places: the pay-off's amount (also when the part asked for covers
    it), else the part in the quoted mode; with a fresh key, so one click is one order."""
    if quote is None:
        return None
    part = quote["prepayment"]
    amount = quote["to_pay"] if part is None or part["settled"] else part["amount"]
    if Decimal(amount) <= 0:
        return None
    return {"amount": f"{Decimal(amount):.2f}", "mode": quote["mode"], "key": secrets.token_urlsafe(12),
            "payoff": "1" if part is None or part["settled"] else ""}


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
        field, said = next(iter((exc.fields or {"date": []}).items()))
        if said:  # the service says what the field may be (a date up to the last due date, at most the pay-off)
            return None, {field: str(said[0])}
        return None, {field: _("No quote for this date: it is before the loan began or its last payment.")
                      if field == "date" else _("This amount cannot be quoted.")}


@bp.route("/loans/<int:loan_id>")
@login_required
def show(loan_id: int) -> ResponseReturnValue:
    return _page(loan_id)


@bp.route("/loans/<int:loan_id>/pay-online", methods=["POST"])
@login_required
def pay_online(loan_id: int) -> ResponseReturnValue:
    """Place the collection order and send the browser to the payment gateway's page. From the early
    repayment quote ("Confirm and pay") the form also carries the prepayment mode the borrower chose."""
    form = {"amount": request.form.get("amount", "").strip(), "key": request.form.get("key", "").strip()}
    mode = request.form.get("mode", "").strip() or "shorten_term"
    errors_at = "confirm_errors" if request.form.get("from") == "quote" else "pay_errors"

    def refused(message: str, status: int) -> ResponseReturnValue:
        if errors_at == "confirm_errors":
            return _page(loan_id, status=status, confirm_errors=[message])
        return _page(loan_id, form, [message], status)

    if mode not in MODES:
        return refused(_("Choose how the prepayment changes the schedule."), 422)
    try:
        amount = parse_money(form["amount"])
    except ValueError as exc:
        return refused(str(exc), 422)
    if amount <= 0:
        return refused(_("The amount must be more than zero."), 422)
    try:
        placed = online_repayments.order(current_user.principal, loan_id, amount, form["key"], mode)
    except ServiceError as exc:
        if exc.kind not in (ErrorKind.INVALID, ErrorKind.CONFLICT):
            raise
        message = (_("The amount is more than the %(amount)s that settles the loan today.",
                     amount=money(repayments.quote_payoff(loan_id)["to_pay"]))
                   if exc.kind is ErrorKind.INVALID and "amount" in (exc.fields or {})
                   else _("This payment could not be placed: %(reason)s", reason=exc.message))
        return refused(message, 422 if exc.kind is ErrorKind.INVALID else 409)
    back = url_for("loan_pages.show", loan_id=loan_id,  # from the quote: back to the schedule it changed
                   _anchor="loan-schedule" if errors_at == "confirm_errors" else None)
    return redirect(f"{placed.pay_url}?{urlencode({'back': back})}", 303)


@bp.route("/loans/<int:loan_id>/pay-offline", methods=["POST"])
@login_required
def pay_offline(loan_id: int) -> ResponseReturnValue:
    """The borrower reports a bank transfer with its voucher; it waits for the funder's finance."""
    form = {name: request.form.get(name, "").strip() for name in ("amount", "date", "reference", "key")}
    errors: list[str] = []
    amount = received_on = None
    try:
        amount = parse_money(form["amount"])
        if amount <= 0:
            errors.append(_("The amount must be more than zero."))
    except ValueError as exc:
        errors.append(str(exc))
    try:
        received_on = date.fromisoformat(form["date"])
    except ValueError:  # nothing chosen is asked for; something else is told its form
        errors.append(_("Choose the date of the transfer.") if not form["date"].strip()
                      else _("Write the date as YYYY-MM-DD."))
    upload = request.files.get("voucher")
    if upload is None or not upload.filename:
        errors.append(_("Attach the transfer voucher (PDF, PNG or JPEG)."))
    if len(form["reference"]) > 100:
        errors.append(_("The reference is at most 100 characters."))
    if errors or amount is None or upload is None:
        return _page(loan_id, offline_form=form, offline_errors=errors, status=422)
    voucher = repayments.Voucher(upload.filename or "", upload.stream.read(repayments.voucher_limit() + 1))
    try:
        repayments.record_offline_payment(current_user.principal, loan_id, amount, "web:" + form["key"],
                                          received_on=received_on, reference=form["reference"] or None,
                                          voucher=voucher)
    except ServiceError as exc:
        if exc.kind not in (ErrorKind.INVALID, ErrorKind.CONFLICT, ErrorKind.TOO_LARGE):
            raise
        fields = exc.fields or {}
        message = (str(next(iter(fields.values()))[0]) if exc.kind is ErrorKind.CONFLICT and fields  # reported before
                   else _("The voucher must be a PDF, PNG or JPEG file.") if "voucher" in fields
                   else _("The transfer date must be between the disbursement and today.") if "received_on" in fields
                   else str(fields["amount"][0]) if fields.get("amount")
                   else _("The voucher file is too large.") if exc.kind is ErrorKind.TOO_LARGE
                   else _("This payment could not be recorded: %(reason)s", reason=exc.message))
        return _page(loan_id, offline_form=form, offline_errors=[message],
                     status=413 if exc.kind is ErrorKind.TOO_LARGE else 422 if exc.kind is ErrorKind.INVALID else 409)
    return redirect(url_for("loan_pages.show", loan_id=loan_id, _anchor="loan-payments"), 303)


# Why finance's confirmation or rejection of a transfer was not taken.
DECIDE_REFUSALS = {"reason": _l("Give the reason for the rejection; the borrower sees it."),
                   "decided": _l("This payment was decided already, or its loan is no longer active.")}


@bp.route("/loans/<int:loan_id>/payments/<int:payment_id>/<any(confirm, reject):decision>", methods=["POST"])
@login_required
def decide(loan_id: int, payment_id: int, decision: str) -> ResponseReturnValue:
    """Finance confirms a transfer (booked today) or rejects it with the reason the borrower sees."""
    reason = request.form.get("reason", "").strip()
    try:
        offline_repayments.decide(current_user.principal, loan_id, payment_id, confirm=decision == "confirm",
                                  reason=reason or None)
    except ServiceError as exc:
        if exc.kind not in (ErrorKind.INVALID, ErrorKind.CONFLICT):
            raise
        why = "reason" if exc.kind is ErrorKind.INVALID else "decided"
        if request.form.get("back") == "monitor":  # back to the page the form is on, saying why there
            return redirect(url_for("loan_pages.monitor", refused=payment_id, why=why,
                                    _anchor=f"payment-{payment_id}"), 303)
        return _page(loan_id, decide_errors={payment_id: str(DECIDE_REFUSALS[why])},
                     status=422 if exc.kind is ErrorKind.INVALID else 409)
    if request.form.get("back") == "monitor":
        return redirect(url_for("loan_pages.monitor", _anchor="awaiting"), 303)
    return redirect(url_for("loan_pages.show", loan_id=loan_id, _anchor="loan-payments"), 303)


@bp.route("/loans/<int:loan_id>/payments/<int:payment_id>/voucher")
@login_required
def voucher(loan_id: int, payment_id: int) -> ResponseReturnValue:
    """The transfer voucher, shown in the browser (whoever sees the loan)."""
    payment = repayments.voucher_of(current_user.principal, loan_id, payment_id)
    response = send_file(BytesIO(payment.voucher or b""), mimetype=payment.voucher_content_type,
                         download_name=payment.voucher_filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


BUCKETS = {"1-30": _l("1 to 30 days past due"), "31-60": _l("31 to 60 days past due"),
           "61-90": _l("61 to 90 days past due"), "91+": _l("More than 90 days past due")}


@bp.route("/loans/monitor")
@login_required
def monitor() -> ResponseReturnValue:
    """Finance's monitoring page: bills due this week, overdue loans by bucket, transfers awaiting confirmation;
    a refused decision (`refused`, `why`) said next to its transfer."""
    watched = repayments.monitor(current_user.principal)
    refused = request.args.get("refused", "")
    why = DECIDE_REFUSALS.get(request.args.get("why", ""))
    decide_errors = {int(refused): str(why)} if why is not None and is_whole(refused) else {}
    return render_template("loans_monitor.html", watched=watched, buckets=BUCKETS, names=NAMES,
                           decide_errors=decide_errors)
