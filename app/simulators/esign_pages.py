"""The e-signature simulator's signing page, one per flow (`signing_url`): the signed-in signer sees
the contract's name and its parties, downloads the PDF as signed so far, and signs in turn with the
sandbox's verification code. Only the flow's signers may open it (`esign.flow_for_signer`)."""
from __future__ import annotations

from urllib.parse import quote

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.api.errors import status_of
from app.services.errors import ErrorKind, ServiceError
from app.services.simulators import esign
from app.simulators import bp

PARTY_NAMES = {"borrower": _l("Borrower"), "core_enterprise": _l("Core enterprise"), "funder": _l("Funder")}
FLOW_STATUS_NAMES = {"signing": _l("Being signed"), "completed": _l("Signed by every party"),
                     "expired": _l("Expired unsigned"), "cancelled": _l("Flow cancelled")}
SIGNER_STATUS_NAMES = {"waiting": _l("Not yet signed"), "signed": _l("Has signed")}


def _page(flow_id: str, errors: list[str] | None = None, status: int = 200) -> ResponseReturnValue:
    me = current_user.principal
    flow = esign.flow_for_signer(flow_id, me)
    return render_template("simulators/esign_sign.html", flow=flow, me=me, errors=errors or [],
                           sandbox_code=esign.SANDBOX_CODE, party_names=PARTY_NAMES,
                           flow_status_names=FLOW_STATUS_NAMES, signer_status_names=SIGNER_STATUS_NAMES), status


@bp.route("/esign/flows/<flow_id>/sign")
@login_required
def esign_sign_page(flow_id: str) -> ResponseReturnValue:
    return _page(flow_id)


@bp.route("/esign/flows/<flow_id>/sign", methods=["POST"])
@login_required
def esign_sign_submit(flow_id: str) -> ResponseReturnValue:
    me = current_user.principal
    try:
        esign.sign(flow_id, me.username, request.form.get("code", ""), actor=me)
    except ServiceError as exc:
        if exc.kind not in (ErrorKind.CONFLICT, ErrorKind.INVALID):
            raise
        return _page(flow_id, errors=[exc.message], status=status_of(exc))
    flash(_("Signed. Your signature is in the contract."))
    return redirect(url_for("simulators.esign_sign_page", flow_id=flow_id), 303)


@bp.route("/esign/flows/<flow_id>/document")
@login_required
def esign_download(flow_id: str) -> ResponseReturnValue:
    """The contract as signed so far, for a signer of the flow."""
    name, pdf = esign.document_for(flow_id, current_user.principal)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}"})
