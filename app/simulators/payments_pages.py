"""The payment gateway simulator's page, for the platform's admins and operators: the orders it took
(newest first, paged) and what the next orders will suffer, with the form that sets it (fail the next
N with a reason, settle the next N late by some minutes, notify the next N twice).

Who may open it is the service's (`payments.may_simulate`, asking the access policy); others get 403.

The payer's page of a collection order (`/simulators/payments/orders/{id}/pay`, the `pay_url` of an
online repayment): a user of the payer's organisation sees the order and pays it; others get 404.
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.services.errors import ErrorKind, ServiceError
from app.services.simulators import payments
from app.simulators import bp
from app.web.auth import safe_next
from app.web.paging import page_number
from handlers.payments.store import SIMULATED_WORDS

PER_PAGE = 20
STATUS_NAMES = {"pending": _l("pending"), "succeeded": _l("succeeded"), "failed": _l("failed"), "closed": _l("closed")}
KIND_NAMES = {"disbursement": _l("Disbursement"), "collection": _l("Collection"), "debit": _l("Auto-debit")}
FIELDS = ("fail_next", "fail_reason", "late_next", "late_minutes", "twice_next")


def _page(form: dict[str, str] | None = None, errors: list[str] | None = None, status: int = 200) -> ResponseReturnValue:
    listed = payments.orders(current_user.principal, page_number(), PER_PAGE)
    plan = listed["injection"]
    shown = form or {"fail_next": str(plan.fail_next), "fail_reason": plan.fail_reason,
                     "late_next": str(plan.late_next), "late_minutes": str(int(plan.late_by.total_seconds() // 60)),
                     "twice_next": str(plan.twice_next)}
    pages = max(1, -(-listed["total"] // PER_PAGE))
    return render_template("simulators/payments.html", listed=listed, plan=plan, form=shown, errors=errors or [],
                           pages=pages, status_names=STATUS_NAMES, kind_names=KIND_NAMES,
                           failure_codes=SIMULATED_WORDS), status


@bp.route("/payments/")
@login_required
def payments_page() -> ResponseReturnValue:
    """The orders, newest first, and the injection form."""
    return _page()


@bp.route("/payments/injection", methods=["POST"])
@login_required
def payments_inject() -> ResponseReturnValue:
    """Set what the next orders suffer."""
    form = {name: request.form.get(name, "").strip() for name in FIELDS}
    try:
        counts = {name: int(form[name] or ("10" if name == "late_minutes" else "0"))
                  for name in FIELDS if name != "fail_reason"}
    except ValueError:
        counts = None
    try:
        if counts is None:
            raise ServiceError("not a number", code="invalid")
        payments.inject(current_user.principal, fail_reason=form["fail_reason"], **counts)
    except ServiceError as exc:
        if exc.kind not in (ErrorKind.INVALID, ErrorKind.BAD_REQUEST):
            raise
        return _page(form, [_("Counts are whole numbers, zero or more; failing orders need a reason; a delay is at "
                              "least one minute.")], 422)
    flash(_("The next orders will suffer what you set."))
    return redirect(url_for("simulators.payments_page"), 303)


# --- the payer's page: a collection order paid as the borrower would (online repayment) ------------------

def _pay_page(order_id: str, errors: list[str] | None = None, status: int = 200) -> ResponseReturnValue:
    stored = payments.payer_order(current_user.principal, order_id)
    back = safe_next(request.args.get("back")) if request.args.get("back") else ""
    return render_template("simulators/payments_pay.html", stored=stored, order=stored.order, errors=errors or [],
                           status_names=STATUS_NAMES, back=back), status


@bp.route("/payments/orders/<order_id>/pay")
@login_required
def payments_pay_page(order_id: str) -> ResponseReturnValue:
    """A collection order as its payer sees it: the amount, whom it pays, and the button that pays it."""
    return _pay_page(order_id)


@bp.route("/payments/orders/<order_id>/pay", methods=["POST"])
@login_required
def payments_pay_submit(order_id: str) -> ResponseReturnValue:
    try:
        payments.pay(current_user.principal, order_id)
    except ServiceError as exc:
        if exc.kind is not ErrorKind.CONFLICT:
            raise
        return _pay_page(order_id, [_("This payment order is settled already.")], 409)
    flash(_("Paid. The simulator tells the platform in a moment."))
    back = request.args.get("back")
    page = url_for("simulators.payments_pay_page", order_id=order_id)
    return redirect(f"{page}?{urlencode({'back': back})}" if back else page, 303)
