"""The blueprint of `/engine-rest` and what every route of it shares: API tokens only (bearer, or Basic's password),
any origin, errors in Camunda's shape, Camunda's 404 for what Loanflow does not answer (`app/api/camunda_rest/`)."""
from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from flask_babel import lazy_gettext as _l

from app.api.errors import status_of
from app.services.errors import NotFound, ServiceError, Unauthorized
from app.services.identity.directory import authenticate_token
from app.services.workflow.deployment import DiagramRefused
from app.services.workflow.diagram_reasons import in_language

bp = Blueprint("camunda_rest", __name__, url_prefix="/engine-rest")
API_LEVEL = "7.21.0"
EXCEPTION_TYPE = {401: "AuthenticationException", 403: "AuthorizationException", 404: "RestException"}
NO_TOKEN = _l("Camunda's API here needs an API token of yours: choose \"Bearer token\" as the authentication (in "
              "Camunda Modeler) and paste a token made on your page API tokens (/account/tokens), or send it as the "
              "password of Basic authentication with your user name.")

BASIC_SENDS_JSON = _l("With Basic authentication a request sends its body as JSON (Content-Type: application/json); "
                      "a deploy from Camunda Modeler uses a bearer token.")


@bp.before_request
def token_only() -> Response | None:
    """Preflights pass (CORS); everything else needs an API token (bearer, or Basic's password), never a session."""
    if request.method == "OPTIONS":
        return Response(status=204)
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        g.principal = authenticate_token(credentials.strip()).principal
        return None
    if scheme.lower() == "basic":
        if request.method not in ("GET", "HEAD") and request.mimetype != "application/json":
            raise Unauthorized(BASIC_SENDS_JSON)  # a browser may keep Basic credentials; no form of another site
        username, token = _basic(credentials.strip())
        principal = authenticate_token(token).principal
        if principal.username != username:
            raise Unauthorized(NO_TOKEN)
        g.principal = principal
        return None
    raise Unauthorized(NO_TOKEN)


def _basic(credentials: str) -> tuple[str, str]:
    """Basic authentication's user name and password (here: an API token of that user)."""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized(NO_TOKEN) from None
    username, colon, token = decoded.partition(":")
    if not colon or not username or not token:
        raise Unauthorized(NO_TOKEN)
    return username, token


@bp.after_request
def any_origin(response: Response) -> Response:
    """Camunda Modeler calls from its own window, another origin; a bearer token is no cookie a page could borrow."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Accept"
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, DELETE, OPTIONS"
    return response


@bp.errorhandler(ServiceError)
def camunda_error(exc: ServiceError) -> tuple[Response, int]:
    status = status_of(exc)
    kind = getattr(exc, "camunda_type", None) or EXCEPTION_TYPE.get(status, "InvalidRequestException")
    body: dict[str, Any] = {"type": kind, "message": exc.message}
    if isinstance(exc, DiagramRefused):  # by file and element, as Camunda's ParseException
        body["type"], body["details"] = "ParseException", _details(exc.problems)
    if exc.fields:
        body["message"] = "\n".join([exc.message] + [f"{name}: {m}" for name, said in exc.fields.items() for m in said])
    return jsonify(body), 400 if status in (409, 422) else status


def _details(problems: list[Any]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Camunda's ParseException details: for each file, its errors and warnings, each with its element and line."""
    details: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for p in problems:
        found = details.setdefault(p.file, {"errors": [], "warnings": []})
        found["errors" if p.severity == "error" else "warnings"].append({
            "message": in_language(p.reason), "line": p.line, "column": None, "mainElementId": p.element_id,
            "elementIds": [p.element_id] if p.element_id else []})
    return details


@bp.route("/<path:unknown>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
def not_answered(unknown: str) -> Response:
    """Any other part of Camunda's REST API: said in Camunda's shape, not as a page, so that the application that
    called it learns what Loanflow does not answer (`docs/from-camunda.md` lists what it does)."""
    raise NotFound(_l("Loanflow does not answer %(method)s /engine-rest/%(path)s: it answers the part of Camunda's "
                      "REST API that docs/from-camunda.md lists.", method=request.method, path=unknown[:200]))
