"""Collateral over the API: commodity prices of pledged goods (the platform's operators and admins),
each revaluing the pledges of its goods; the pledges with their LTV and zone, history, margin calls
and disposals (the platform's staff all, a deal's borrower, funder's finance and warehouse their
own); goods released in proportion to repayment (the deal's warehouse supervisor). docs/collateral.md."""
import json

from flask import request
from flask_babel import gettext
from werkzeug.exceptions import BadRequest

from app.api.auth import current_user, require_user
from app.api.json_body import Blueprint, loads
from app.schemas.collateral import (
    PRICES_BODY,
    MovementSchema,
    PledgeList,
    PricesRecordedSchema,
    ReleaseSchema,
)
from app.services.collateral import monitoring, prices
from app.services.errors import Invalid

blp = Blueprint("collateral", __name__, url_prefix="/collateral",
                description="Pledged goods: commodity prices and each pledge's loan-to-value")
blp.before_request(require_user)


def _json_prices() -> object:
    try:
        body = loads(request.get_data(cache=True).decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"Invalid JSON body: {exc}.") from None
    if not isinstance(body, dict) or set(body) != {"prices"}:
        message = gettext('Send {"prices": [{"goods", "unit", "price", "as_of"}, ...]}, or a CSV file.')
        raise Invalid(message, {"prices": [message]})
    return body["prices"]


@blp.route("/prices", methods=["POST"])
@blp.doc(requestBody=PRICES_BODY)
@blp.response(201, PricesRecordedSchema)
@blp.errors(400, 403, 422)
def record_prices():
    """Prices of goods (JSON, or a CSV file in the multipart field `file`); every pledge of each goods
    is revalued and a crossing into warning, margin call or liquidation is told once. One bad row:
    422 naming each row and field, nothing stored."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            message = gettext("Upload the prices as a CSV file in the field 'file'.")
            raise Invalid(message, {"file": [message]})
        recorded = prices.record_csv(current_user(), upload.filename, upload.stream.read(2 * 1024 * 1024))
    else:
        recorded = prices.record_json(current_user(), _json_prices())
    return {"accepted": len(recorded.prices), "revalued": recorded.revalued,
            "prices": prices.price_views(recorded.prices),
            "crossings": [{"application": c.number, "zone": c.zone, "ltv": f"{c.ltv:.4f}"}
                          for c in recorded.crossings]}


@blp.route("/pledges")
@blp.response(200, PledgeList)
@blp.errors(403)
def list_pledges():
    """The pledges the caller may read, each with its latest price, LTV, zone and the product's lines,
    its status, what was released and may be released now, its history (top-ups, releases, disposal),
    margin calls (with their deadlines) and disposals."""
    return {"items": monitoring.pledge_details(current_user())}


@blp.route("/pledges/<int:pledge_id>/releases", methods=["POST"])
@blp.arguments(ReleaseSchema())
@blp.response(201, MovementSchema)
@blp.errors(403, 404, 409, 422)
def release_goods(args, pledge_id):
    """The deal's warehouse supervisor releases goods in proportion to the principal repaid: at most
    the releasable quantity (else 422 naming `quantity`); the borrower is told. A pledge being
    disposed of is 409; one the caller cannot read 404."""
    return monitoring.release(current_user(), pledge_id, args["quantity"], args.get("note"))
