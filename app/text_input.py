"""Text that comes in with a request: no NUL characters.

PostgreSQL's text columns cannot hold U+0000, so a query value, form field or JSON string with
one made any query that used it fail (a 500 on PostgreSQL, while SQLite took it). Every request's
query string and form fields are checked here before any view runs (400); JSON bodies are checked
by the API's decoder (`app/api/json_body.py`).
"""
from __future__ import annotations

from flask import Flask, abort, request

NUL = "\x00"


def has_nul(values: object) -> bool:
    """Whether any key or text in `values` (a MultiDict, or decoded JSON) contains NUL."""
    pending = [values]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif hasattr(item, "lists"):  # werkzeug MultiDict: every value of every key
            for key, found in item.lists():
                pending.append(key)
                pending.extend(found)
    return False


def _refuse_nul() -> None:
    if has_nul(request.args) or (request.method != "GET" and has_nul(request.form)):
        abort(400, description="NUL characters are not allowed in request text")


def install(app: Flask) -> None:
    app.before_request(_refuse_nul)
