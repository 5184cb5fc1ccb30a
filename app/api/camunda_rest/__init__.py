"""The part of Camunda 7's REST API that Camunda's tools and the applications of a Camunda user speak
(`/engine-rest`): an analyst who draws in Camunda Modeler deploys to Loanflow and starts a test instance from its own
Deploy and Run buttons, as to a Camunda engine; the external task workers a Camunda user runs do Loanflow's service
tasks; and the applications that correlated messages, sent signals, read instances and worked user tasks over
Camunda's API do so here by changing the address they call.

| Camunda's API | Loanflow answers | module |
|---|---|---|
| `GET /version`, `GET /deployment?maxResults=0` (Modeler's connection check), `POST /deployment/create`, `POST /process-definition/{id}/start`, `/process-definition/key/{key}/start` | the files checked and deployed together as `file_sets` does; `instances.start` on the newest version | `deployments` |
| `POST /external-task/fetchAndLock`, `/external-task/{id}/complete`, `bpmnError`, `failure`, `extendLock`, `unlock`, `GET .../errorDetails`; `GET /external-task`, `/count`, `/{id}`; `PUT .../retries` | the tasks of topics mapped to `camunda.external_task` (`workflow.external_tasks`) | `external_tasks` |
| `POST /message`, `POST /signal` | `messages.deliver_message` (by business key, instance id, correlation keys), `signals.send_signal` | `events` |
| `GET /process-definition`, `/process-definition/count`, `/key/{key}`, `/{id}`, `.../xml` | the newest version of each process (an older one by its id) and its diagram, for whoever reads the catalogue (`definitions.read`) | `process_definitions` |
| `GET /process-instance`, `GET /process-instance/{id}`, `.../variables`, `.../variables/{name}`, `DELETE /process-instance/{id}` | the instances the caller may see (`queries`), cancelled as the console cancels | `process_instances` |
| `GET /history/process-instance`, `/count`, `/{id}`, `GET /history/variable-instance?processInstanceId=` | every instance the caller may see, ended or not (`COMPLETED`, `EXTERNALLY_TERMINATED`, `ACTIVE`), and the variables it holds or ended with | `history` |
| `GET /task`, `/task/count`, `/task/{id}`, `.../variables`, `.../form-variables`, `POST .../claim`, `unclaim`, `complete` | the caller's inbox (`queries.list_tasks`), worked as on the task page (`tasks`) | `user_tasks` |

Only an API token opens these routes: as a bearer token (Modeler's "Bearer token" authentication), or as the password
of HTTP Basic authentication with the token's owner as the user name (what Camunda's clients send when an engine asks
for Basic authentication) — never a session cookie, never an account's password, so any origin may call them (Modeler
calls from its own window) with no risk of a forged request. No answer asks a browser for Basic credentials
(no `WWW-Authenticate`), and a request authenticated by Basic sends JSON, which no form of another site can send. Errors answer in Camunda's shape, `{"type", "message"}`,
in the reader's language; a refused deploy lists each finding by file (`details`, as Camunda's ParseException).
Typed variables (`values`): String, Boolean, Integer, Short, Long, Double, Date (kept as the text sent), Json (read),
Null; File answers a task form's file field (a document of the instance); Object, Bytes and Xml values are
refused.
"""
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


from app.api.camunda_rest import (  # noqa: E402,F401 - the routes
    deployments,
    events,
    external_tasks,
    history,
    process_definitions,
    process_instances,
    user_tasks,
)
