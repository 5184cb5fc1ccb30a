"""Text that comes in with a request: no NUL characters.

PostgreSQL's text columns cannot hold U+0000, so a query value, form field, uploaded file's name
or JSON string with one made any query that used it fail (a 500 on PostgreSQL, while SQLite took
it). Every request's query string, form fields and file names are checked here before any view
runs (400); JSON bodies are checked by the API's decoder (`app/api/json_body.py`), which also
refuses lone surrogates (URL and form decoding replace those, JSON escapes can make them).
"""
from __future__ import annotations

import re

from flask import Flask, abort, request
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage, MultiDict

NUL = "\x00"
ASCII_DIGITS = re.compile("[0-9]+")
REFUSED_CHARACTER = re.compile("[\x00\ud800-\udfff]")  # NUL, and surrogates that pair with nothing


def is_whole(text: str) -> bool:
    """Whether `text` is a whole number as written with ASCII digits. `str.isdigit()` is no such test: it takes
    '²' (which int() refuses: a 500 where a clear error was due) and '１２' or '١٢' (which int() reads as 12)."""
    return ASCII_DIGITS.fullmatch(text) is not None


def has_nul(fields: MultiDict) -> bool:
    """Whether any name or value of a query string or form contains NUL."""
    # a multipart part without a readable name (no `name=`, or a CR or LF in it) comes with name None
    return any(NUL in (name or "") or any(NUL in value for value in values) for name, values in fields.lists())


def has_nul_file_name(files: MultiDict[str, FileStorage]) -> bool:
    """Whether any uploaded file's field name or file name contains NUL."""
    return any(NUL in (name or "") or NUL in (upload.filename or "") for name, upload in files.items(multi=True))


def _refuse_nul() -> None:
    if has_nul(request.args) or (request.method != "GET" and (has_nul(request.form)
                                                             or has_nul_file_name(request.files))):
        abort(400, description=_l("NUL characters are not allowed in request text"))


def install(app: Flask) -> None:
    app.before_request(_refuse_nul)
