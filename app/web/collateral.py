"""The page of pledged goods: each pledge's LTV and zone, what may be released, its margin calls
(with their deadlines), its history (top-ups, releases, disposal) and its disposals; the platform's
operators upload a CSV of commodity prices, a deal's warehouse supervisor releases goods in
proportion to repayment. Who may do what is the services' (`prices.may_record`,
`pledges.may_read`, each pledge's `may_release`)."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.services.collateral import monitoring, pledges, prices
from app.services.errors import Conflict, Forbidden, Invalid

bp = Blueprint("collateral_pages", __name__, template_folder="templates")

ZONE_WORDS = {"normal": _l("Below the warning line"), "warning": _l("Warning"),
              "margin_call": _l("Margin call"), "liquidation": _l("Liquidation")}
WORDS = {
    # a pledge's status
    "active": _l("Pledged"), "disposing": _l("Being disposed of"), "disposed": _l("Disposed of"),  # also the movement
    # a margin call's kind and status
    "open": _l("Open: waiting for a top-up or repayment"), "answered": _l("Answered"),
    "disposal": _l("Handed to disposal"),
    # movements
    "top_up": _l("Goods added"), "release": _l("Goods released"),
    # disposals: reasons, channels, stages
    "margin_call_expired": _l("Margin call not answered by its deadline"), "overdue": _l("91+ days past due"),
    "platform_sale": _l("Sale by the platform"), "third_party": _l("Third-party disposer"), "auction": _l("Auction"),
    "appraisal": _l("Appraisal"), "sale": _l("Sale"), "allocated": _l("Proceeds booked"),
    "write_off": _l("Write-off under approval"), "closed": _l("Closed"),
}


@bp.app_template_filter("pledge_zone")
def pledge_zone(code: str | None) -> str:
    return str(ZONE_WORDS.get(code or "", _l("Not valued yet")))


@bp.app_template_filter("collateral_word")
def collateral_word(code: str | None) -> str:
    if not code:
        return ""
    return str(WORDS.get(code) or ZONE_WORDS.get(code) or code)


@bp.app_context_processor
def collateral_link() -> dict[str, bool]:
    signed_in = bool(current_user.is_authenticated)
    return {"may_record_prices": signed_in and prices.may_record(current_user.principal),
            "may_read_pledges": signed_in and pledges.may_read(current_user.principal)}


def _page(status: int = 200, **shown: object) -> ResponseReturnValue:
    principal = current_user.principal
    recorder = prices.may_record(principal)
    return render_template("collateral.html", pledges=monitoring.pledge_details(principal), may_upload=recorder,
                           prices=prices.recent_prices(principal) if recorder else [], **shown), status


@bp.route("/collateral")
@login_required
def index() -> ResponseReturnValue:
    if not pledges.may_read(current_user.principal):
        raise Forbidden(pledges.READERS)  # said: who reads pledged goods
    return _page(released=request.args.get("released"))


@bp.route("/collateral/prices", methods=["POST"])
@login_required
def upload() -> ResponseReturnValue:
    if not prices.may_record(current_user.principal):
        abort(403)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(422, error=_l("Choose a CSV file of prices to upload."), faults={})
    try:
        recorded = prices.record_csv(current_user.principal, upload.filename, upload.stream.read(2 * 1024 * 1024))
    except Invalid as exc:  # a fault that is the error itself (a wrong header) is said once
        faults = {where: said for where, said in exc.fields.items() if [str(s) for s in said] != [str(exc.message)]}
        return _page(422, error=exc.message, faults=faults)
    return _page(recorded=recorded)


@bp.route("/collateral/pledges/<int:pledge_id>/releases", methods=["POST"])
@login_required
def release(pledge_id: int) -> ResponseReturnValue:
    try:
        movement = monitoring.release(current_user.principal, pledge_id, request.form.get("quantity", ""),
                                      request.form.get("note") or None)
    except (Invalid, Conflict) as exc:
        status = 422 if isinstance(exc, Invalid) else 409
        return _page(status, release_error=exc.message, release_pledge=pledge_id)
    return redirect(url_for("collateral_pages.index", released=movement["id"]))
