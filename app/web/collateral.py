"""The operators' page of pledged goods: upload a CSV of commodity prices, see each pledge's LTV and
zone and the latest prices. Who may is the service's (`prices.may_record`)."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.services.collateral import pledges, prices
from app.services.errors import Invalid

bp = Blueprint("collateral_pages", __name__, template_folder="templates")

ZONE_WORDS = {"normal": _l("Below the warning line"), "warning": _l("Warning"),
              "margin_call": _l("Margin call"), "liquidation": _l("Liquidation")}


@bp.app_template_filter("pledge_zone")
def pledge_zone(code: str | None) -> str:
    return str(ZONE_WORDS.get(code or "", _l("Not valued yet")))


@bp.app_context_processor
def collateral_link() -> dict[str, bool]:
    return {"may_record_prices": bool(current_user.is_authenticated and prices.may_record(current_user.principal))}


@bp.before_request
@login_required
def only_price_recorders():
    if not prices.may_record(current_user.principal):
        abort(403)


def _page(status: int = 200, **shown: object) -> ResponseReturnValue:
    principal = current_user.principal
    return render_template("collateral.html", pledges=pledges.pledge_views(principal),
                           prices=prices.recent_prices(principal), **shown), status


@bp.route("/collateral")
def index() -> ResponseReturnValue:
    return _page()


@bp.route("/collateral/prices", methods=["POST"])
def upload() -> ResponseReturnValue:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(422, error=_l("Choose a CSV file of prices to upload."), faults={})
    try:
        recorded = prices.record_csv(current_user.principal, upload.filename, upload.stream.read(2 * 1024 * 1024))
    except Invalid as exc:
        return _page(422, error=exc.message, faults=exc.fields)
    return _page(recorded=recorded)
