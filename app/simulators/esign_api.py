"""The e-signature simulator's JSON API, under `/simulators/esign/api/`:

- for the platform's client (`handlers.esign.HttpESignClient`, `Authorization: Bearer
  <SIMULATOR_API_KEY>`): `POST flows` (a `FlowRequest`, the PDF in base64) → `{"id", "status"}`;
  `GET flows/{id}/document` → the PDF as signed so far.
- for the signers (their bearer API token or their browser session, as `/api/v1` authenticates):
  `GET flows?business_key=NUMBER` → `{"items": [{"id", "status", "signers": [{"party", "username",
  "status", "signing_url"}]}]}` (the signer's own flows; with the simulator's key, every flow);
  `POST flows/{id}/sign` `{"username", "code"}` signs as that user, who must be the caller.
- for anyone who verifies a signed contract: `GET /simulators/esign/ca.pem`, the sandbox CA's
  certificate (a provider publishes its root; `flask contracts verify FILE.pdf --trust ca.pem`).

Errors in the platform's shape `{"error": {"code", "message"}}`: a refusal's code says why
(`app.services.simulators.esign`).
"""
from __future__ import annotations

import base64
import binascii
import hmac
import json
from typing import Any
from urllib.parse import quote

from flask import Response, current_app, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from app.api.auth import current_user, require_user
from app.api.errors import error_response, status_of
from app.services.errors import ServiceError, Unauthorized
from app.services.simulators import esign, esign_ca
from app.services.simulators.esign_callbacks import CALLBACK_PATH
from app.simulators import bp
from handlers.esign import FlowRequest, Signer


def _simulator_key() -> bool:
    """Whether the caller sent the simulator's API key (the platform's client)."""
    expected = str(current_app.config.get("SIMULATOR_API_KEY") or "")
    header = request.headers.get("Authorization", "")
    given = header[len("Bearer "):] if header.startswith("Bearer ") else ""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def _require_key() -> None:
    if not _simulator_key():
        raise Unauthorized("a simulator API needs Authorization: Bearer <the simulator's API key>")


def _body() -> dict[str, Any]:
    try:
        body = json.loads(request.get_data(cache=False) or b"")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ServiceError("the body is not JSON") from None
    if not isinstance(body, dict):
        raise ServiceError("the body is a JSON object")
    return body


def _flow_request(body: dict[str, Any]) -> FlowRequest:
    try:
        document = base64.b64decode(str(body.get("document", "")), validate=True)
        signers = tuple(Signer(party=str(s["party"]), name=str(s["name"]), identifier=str(s.get("identifier", "")),
                               username=str(s["username"]), mobile=str(s.get("mobile", "")),
                               field=str(s.get("field", "")), auto=s.get("auto") is True)
                        for s in body.get("signers") or [])
        return FlowRequest(business_key=str(body.get("business_key", "")),
                           document_name=str(body.get("document_name", "")), document=document, signers=signers)
    except (binascii.Error, KeyError, TypeError, ValueError) as exc:
        raise ServiceError(f"not a signing flow: {exc}") from None


def _flow_json(flow: esign.FlowView) -> dict[str, Any]:
    return {"id": flow.flow_id, "status": flow.status, "business_key": flow.business_key,
            "document_name": flow.document_name,
            "signers": [{"party": s.party, "username": s.username, "name": s.name, "status": s.status,
                         "signing_url": url_for("simulators.esign_sign_page", flow_id=flow.flow_id, _external=True),
                         "signed_at": s.signed_at.isoformat() if s.signed_at else ""}
                        for s in flow.signers]}


def _refused(exc: ServiceError) -> ResponseReturnValue:
    return error_response(status_of(exc), exc.code, exc.message, exc.fields or None)


@bp.route("/esign/api/flows", methods=["POST"])
def esign_create_flow() -> ResponseReturnValue:
    """A new signing flow (the platform's client); the platform is called back where it is served
    unless BASE_URL says otherwise."""
    try:
        _require_key()
        flow_request = _flow_request(_body())
        callback = "" if current_app.config.get("BASE_URL") else request.host_url.rstrip("/") + CALLBACK_PATH
        flow = esign.create_flow(flow_request, callback)
    except ServiceError as exc:
        return _refused(exc)
    return jsonify({"id": flow.flow_id, "status": flow.status}), 201


@bp.route("/esign/api/flows/<flow_id>/document")
def esign_document(flow_id: str) -> ResponseReturnValue:
    """The flow's PDF as signed so far (the platform's client)."""
    try:
        _require_key()
        name, pdf = esign.signed_document(flow_id)
    except ServiceError as exc:
        return _refused(exc)
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}"})


@bp.route("/esign/api/flows")
def esign_flows() -> ResponseReturnValue:
    """The flows of a business key: the caller's own as a signer, or every one with the simulator's key."""
    try:
        key = request.args.get("business_key", "").strip()
        if not key:
            raise ServiceError("say which flows: ?business_key=NUMBER")
        if _simulator_key():
            flows = esign.flows_for(key)
        else:
            require_user()
            flows = esign.flows_for(key, current_user().username)
    except ServiceError as exc:
        return _refused(exc)
    return jsonify({"items": [_flow_json(flow) for flow in flows]})


@bp.route("/esign/api/flows/<flow_id>/sign", methods=["POST"])
def esign_sign(flow_id: str) -> ResponseReturnValue:
    """Sign as `username` with the verification `code`; the caller must be that user."""
    try:
        require_user()
        body = _body()
        flow = esign.sign(flow_id, str(body.get("username", "")), str(body.get("code", "")), actor=current_user())
    except ServiceError as exc:
        return _refused(exc)
    return jsonify(_flow_json(flow))


@bp.route("/esign/ca.pem")
def esign_ca_certificate() -> ResponseReturnValue:
    """The sandbox CA's certificate, PEM: the trust root of every signature the simulator applies."""
    return Response(esign_ca.certificate_pem(), mimetype="application/x-pem-file",
                    headers={"Content-Disposition": "attachment; filename=loanflow-esign-sandbox-ca.pem"})


VIEWS = (esign_create_flow, esign_document, esign_flows, esign_sign)
