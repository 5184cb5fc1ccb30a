"""The simulators' pages, for platform staff: the index, the risk simulator (try an assessment; the
blacklist: list, add with a reason, remove) and the notify simulator's outbox (SMS and e-mail,
newest first, paged). Every page carries the banner that it is a simulator (`_banner.html`).

Who may open what is the services' (`risk.may_try`, `risk.may_edit_blacklist`,
`outbox.may_read_outbox`, each asking the access policy); a page a user may not open is 403.
"""
from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.api.errors import status_of
from app.services.errors import ErrorKind, ServiceError
from app.services.notices import outbox
from app.services.origination import risk
from app.services.simulators import payments
from app.simulators import bp
from app.web.paging import page_number
from handlers.errors import ProviderError
from handlers.risk import SUBJECT_KINDS

PER_PAGE = 20
PRODUCT_KINDS = ("order_financing", "pledge_financing", "credit_loan")
SUBJECT_KIND_NAMES = {"id_number": _l("ID number (person)"), "credit_code": _l("Unified social credit code (company)")}
PRODUCT_KIND_NAMES = {"order_financing": _l("Order financing"), "pledge_financing": _l("Pledge financing"),
                      "credit_loan": _l("Credit loan")}
CHANNEL_NAMES = {"sms": _l("SMS"), "email": _l("E-mail")}


def _principal():  # noqa: ANN202
    return current_user.principal



def _offers() -> dict[str, bool]:
    """Which simulators' pages the signed-in user may open."""
    me = _principal()
    return {"risk": risk.may_try(me), "notify": outbox.may_read_outbox(me), "payments": payments.may_simulate(me)}


@bp.app_context_processor
def simulators_link() -> dict[str, bool]:
    """Whether the page header links to the simulators (platform staff), and the simulators' tabs to
    the payment gateway's page."""
    offers = _offers() if current_user.is_authenticated else {}
    return {"may_open_simulators": any(offers.values()), "may_open_payments_simulator": offers.get("payments", False)}


@bp.route("/")
@login_required
def index() -> ResponseReturnValue:
    offers = _offers()
    if not any(offers.values()):
        abort(403)
    return render_template("simulators/index.html", offers=offers)


def _risk_page(form: dict[str, Any] | None = None, report: Any = None, errors: list[str] | None = None,
               status: int = 200) -> ResponseReturnValue:
    me = _principal()
    if not risk.may_try(me):
        abort(403)
    editable = risk.may_edit_blacklist(me)
    return render_template("simulators/risk.html", form=form or {"subject_kind": "credit_code",
                                                                 "product_kind": "credit_loan", "amount": "500000.00"},
                           report=report, errors=errors or [], entries=risk.blacklist(me) if editable else None,
                           subject_kinds=[(k, SUBJECT_KIND_NAMES[k]) for k in SUBJECT_KINDS],
                           product_kinds=list(PRODUCT_KIND_NAMES.items())), status


@bp.route("/risk/")
@login_required
def risk_page() -> ResponseReturnValue:
    return _risk_page()


@bp.route("/risk/", methods=["POST"])
@login_required
def risk_try() -> ResponseReturnValue:
    """Try an assessment: the simulator's report for the form's request (nothing is stored)."""
    form = {name: request.form.get(name, "").strip() for name in ("subject", "subject_kind", "name", "amount",
                                                                 "product_kind")}
    try:
        report = risk.try_assessment(_principal(), form)
    except ServiceError as exc:
        if exc.kind is not ErrorKind.INVALID:
            raise
        return _risk_page(form, errors=[_("Fill in every field: an identifier, its kind and an amount such as "
                                          "500000.00.")], status=422)
    except ProviderError as exc:
        return _risk_page(form, errors=[_("The simulator refused the request: %(reason)s", reason=exc.message)],
                          status=422)
    return _risk_page(form, report=report)


_BLACKLIST_REFUSALS = {
    ErrorKind.INVALID: _l("Not a valid ID number or unified social credit code (18 characters, with its check "
                          "character)."),
    ErrorKind.CONFLICT: _l("This identifier is already on the blacklist."),
    ErrorKind.NOT_FOUND: _l("This entry is no longer on the blacklist."),
}


def _blacklist_refused(exc: ServiceError) -> ResponseReturnValue:
    said = _BLACKLIST_REFUSALS.get(exc.kind)
    if said is None:
        raise exc
    return _risk_page(errors=[str(said)], status=status_of(exc))


@bp.route("/risk/blacklist", methods=["POST"])
@login_required
def add_to_blacklist() -> ResponseReturnValue:
    try:
        entry = risk.add_to_blacklist(_principal(), request.form.get("subject", ""), request.form.get("reason", ""))
    except ServiceError as exc:
        return _blacklist_refused(exc)
    flash(_("%(subject)s is on the blacklist: the simulator now reports it as blacklisted.", subject=entry.subject))
    return redirect(url_for("simulators.risk_page"), 303)


@bp.route("/risk/blacklist/<int:entry_id>/remove", methods=["POST"])
@login_required
def remove_from_blacklist(entry_id: int) -> ResponseReturnValue:
    try:
        risk.remove_from_blacklist(_principal(), entry_id)
    except ServiceError as exc:
        return _blacklist_refused(exc)
    flash(_("Removed from the blacklist."))
    return redirect(url_for("simulators.risk_page"), 303)


@bp.route("/notify/")
@login_required
def notify_page() -> ResponseReturnValue:
    """The outbox: every SMS and e-mail the notify simulator delivered, newest first."""
    channel = request.args.get("channel") if request.args.get("channel") in CHANNEL_NAMES else None
    box = outbox.outbox(_principal(), page_number(), PER_PAGE, channel)
    pages = max(1, -(-box["total"] // PER_PAGE))
    return render_template("simulators/notify.html", box=box, pages=pages, channel=channel,
                           channel_names=CHANNEL_NAMES)
