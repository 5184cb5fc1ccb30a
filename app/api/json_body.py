"""What the API accepts as a JSON body: standard JSON, nested at most MAX_DEPTH levels.

Python's decoder takes `NaN`, `Infinity` and `1e999` (read as infinity), and a `"\\ud800"` escape
that pairs with nothing (a lone surrogate, not a character), which PostgreSQL's JSON columns then
refuse (a 500 on one database and not the other), and fails with RecursionError, not a decode error, on input
nested some thousand levels deep (a 500 as well). Instance data that deep would also outgrow the
recursive walks every step makes over it. Each of these is a 400 here, before any work is done.
"""
from __future__ import annotations

import json
import math
from typing import Any, NoReturn

import flask_smorest
from flask import Request
from flask_babel import gettext
from webargs import core
from webargs.flaskparser import FlaskParser, abort, is_json_request

from app.api.field_messages import said
from app.api.openapi import DocumentedErrors
from app.text_input import NUL, REFUSED_CHARACTER

MAX_DEPTH = 64


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e999 overflows to inf
        raise ValueError(f"{text} is too large a JSON number")
    return number


def loads(text: str) -> Any:
    """Decode a request body; json.JSONDecodeError (the parser's 400) for anything refused."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except RecursionError:
        raise json.JSONDecodeError(f"nested more than {MAX_DEPTH} levels", text[:100], 0) from None
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise
        raise json.JSONDecodeError(str(exc), text[:100], 0) from None
    pending = [(value, 1)]  # one walk: the depth, and no NUL or lone surrogate in any key or text
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            refused = REFUSED_CHARACTER.search(item)
            if refused:
                reason = "NUL characters are not allowed" if refused.group() == NUL else \
                    "lone surrogates (\\ud800-\\udfff escapes that pair with nothing) are not allowed"
                raise json.JSONDecodeError(reason, text[:100], 0)
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise json.JSONDecodeError(f"nested more than {MAX_DEPTH} levels", text[:100], 0)
            if isinstance(item, dict):
                pending.extend((key, depth) for key in item)
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return value


class StrictJSONParser(FlaskParser):
    """flask-smorest's argument parser, decoding JSON bodies with `loads`."""

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            return core.missing
        return loads(req.get_data(cache=True).decode("utf-8"))  # not UTF-8: webargs' 400

    def _handle_invalid_json_error(self, error: Any, req: Request, *args: Any, **kwargs: Any) -> NoReturn:
        reason = getattr(error, "msg", None) or str(error)
        abort(400, exc=error, messages={"json": [gettext("Invalid JSON body: %(reason)s.", reason=said(reason))]})


class Blueprint(DocumentedErrors, flask_smorest.Blueprint):
    """The API's blueprints: flask-smorest's, with the strict JSON body parser and every error documented."""

    ARGUMENTS_PARSER = StrictJSONParser()
