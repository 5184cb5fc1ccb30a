"""One JSON error shape for the whole API: {"error": {"code", "message", "fields"}}."""
from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from flask_babel import gettext
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from app.api.field_messages import said
from app.services.errors import ErrorKind, ServiceError

# What each kind of service error answers, for the API and the pages alike.
STATUS_BY_KIND: dict[ErrorKind, int] = {
    ErrorKind.BAD_REQUEST: 400,
    ErrorKind.UNAUTHORIZED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.TOO_LARGE: 413,
    ErrorKind.INVALID: 422,
}


def status_of(exc: ServiceError) -> int:
    """The HTTP status a service error answers."""
    return STATUS_BY_KIND[exc.kind]


def error_response(status: int, code: str, message: str, fields: dict[str, Any] | None = None):
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    response = jsonify({"error": body})
    response.status_code = status
    return response


def service_error_response(exc: ServiceError):
    return error_response(status_of(exc), exc.code, exc.message, exc.fields)


def _flatten_webargs(messages: dict[str, Any]) -> dict[str, list[str]]:
    """webargs nests errors by location ('json', 'query'); the API reports them by field, each message in the
    reader's language (`field_messages`)."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            flat.setdefault(prefix or "_request", []).extend(said(v) for v in value)
        else:
            flat.setdefault(prefix or "_request", []).append(said(str(value)))

    for _location, errors in messages.items():
        walk("", errors)
    return flat


def http_error_response(error: HTTPException):
    data = getattr(error, "data", None) or {}
    fields = _flatten_webargs(data["messages"]) if "messages" in data else data.get("errors")
    message = said(str(data.get("message") or error.description or error.name))  # werkzeug's words too
    if error.code == 422 and fields:
        message = gettext("The request has invalid fields.")
    return error_response(error.code or 500, error.name.lower().replace(" ", "_"), message, fields)


def install_error_handlers(app: Flask, api: Api) -> None:
    """The API's error shape; `app.web` registers the app-wide handlers that choose JSON or HTML."""
    api.handle_http_exception = http_error_response
