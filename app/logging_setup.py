"""Logs: a request id on every request and on every record logged while serving it; one JSON
object per line (LOANFLOW_LOG_FORMAT=json, production's default) or readable text.

The id comes from the caller's `X-Request-ID` when it is a sane token, is generated otherwise,
and goes back in the response's `X-Request-ID`, so a client, the reverse proxy and these logs
name the same request. Records logged outside a request (the background worker, the CLI) carry
none.
"""
from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from datetime import UTC, datetime
from typing import Any, TextIO

from flask import Flask, Response, has_request_context, request

HEADER = "X-Request-ID"
# Letters, digits and . _ : - only, at most 64: what a proxy or client id generator makes (UUIDs,
# hex, ULIDs), and nothing that could split a log line, forge a field or fill the disk.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_ENVIRON_KEY = "loanflow.request_id"
# The attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "request_id"}
HANDLER_NAME = "loanflow"
# Loggers at LOG_LEVEL: the app's (`loanflow.*`, Flask's `app.logger`) and the migrations'.
OWN_LOGGERS = ("loanflow", "app", "alembic.runtime.migration")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def request_id() -> str | None:
    """The current request's id (taken or generated on first use); None outside a request."""
    if not has_request_context():
        return None
    environ = request.environ
    rid = environ.get(_ENVIRON_KEY)
    if rid is None:
        given = request.headers.get(HEADER, "")
        rid = given if SAFE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        environ[_ENVIRON_KEY] = rid
    return str(rid)


class RequestIdFilter(logging.Filter):
    """Puts `request_id` on every record (None outside a request); lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id, the
    record's extras, and the exception's traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Readable lines for development; `-` where a record has no request id."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
            try:
                return super().format(record)
            finally:
                record.request_id = None
        return super().format(record)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of the record (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def make_handler(log_format: str) -> logging.Handler:
    handler = StderrHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.set_name(HANDLER_NAME)
    return handler


def configure_logging(config: dict[str, Any]) -> None:
    """Route the root logger through one handler of LOG_FORMAT; idempotent (a second app, as the
    tests make, replaces the handler rather than doubling every line).

    LOG_LEVEL is the level of Loanflow's own loggers (and alembic's, so `db upgrade` says what it
    ran); libraries log warnings and above: SpiffWorkflow logs a line per task state change at
    INFO, APScheduler one per worker pass.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(make_handler(config["LOG_FORMAT"]))
    level = logging.getLevelName(config["LOG_LEVEL"])
    root.setLevel(max(level, logging.WARNING))
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level)


def logging_configured() -> bool:
    """Whether `configure_logging` has set up this process's logging (migrations/env.py asks)."""
    return any(h.get_name() == HANDLER_NAME for h in logging.getLogger().handlers)


def install_request_id(app: Flask) -> None:
    """Every response carries its request's id in `X-Request-ID`."""

    @app.after_request
    def _send_request_id(response: Response) -> Response:
        response.headers[HEADER] = request_id() or ""
        return response
