"""Error pages in the reader's language: a title and a sentence per status, written here.

Werkzeug's descriptions and the services' messages are English. A page shows ours, and the
detail the raiser gave only where it reads in the page's language: in English, or where the
catalogue has the message (a detail with no translation stays out of the Chinese page).
"""
from __future__ import annotations

from flask import current_app, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from app.api.errors import status_of
from app.services.errors import ServiceError

_PAGES = {
    400: (_l("Request not understood"), _l("The page could not read what was sent. Go back and try again.")),
    401: (_l("Please sign in"), _l("Sign in to open this page.")),
    403: (_l("Not allowed"), _l("You may not open this page or do this.")),
    404: (_l("Not found"), _l("There is no such page, or it is not one you may see.")),
    405: (_l("Not allowed"), _l("This page cannot be used this way.")),
    409: (_l("Changed in the meantime"), _l("Someone changed this in the meantime. Reload the page and try again.")),
    422: (_l("Not accepted"), _l("What was sent cannot be accepted. Check it and try again.")),
    429: (_l("Too many attempts"), _l("Too many attempts in a short time. Wait a minute and try again.")),
    500: (_l("Something went wrong"),
          _l("Something went wrong on our side. Try again later; if it keeps happening, tell an administrator.")),
}
_OTHER = (_l("The request could not be completed"), _l("Go back and try again."))


def _readable(detail: str | None) -> str | None:
    """The detail in the page's language, or None where it has no translation."""
    if not detail:
        return None
    translated = _(detail)
    if translated != detail or str(get_locale()) == "en":
        return translated
    return None


def _megabytes(key: str) -> str:
    return f"{(current_app.config.get(key) or 0) / 2 ** 20:g}"


def upload_size_hint() -> str:
    """What a file field says before a file is chosen: the largest file, and the most at once, in MB."""
    return _("Each file at most %(file)s MB; at most %(total)s MB in one submission.",
             file=_megabytes("MAX_DOCUMENT_BYTES"), total=_megabytes("MAX_CONTENT_LENGTH"))


def _back() -> str | None:
    """The page the reader came from, on this site (a form whose upload was too large: its typed values are on it)."""
    referrer = request.referrer or ""
    return referrer if referrer.startswith(request.host_url) else None


def _page(status: int, detail: str | None, translated: bool = False):
    title, message = _PAGES.get(status, _OTHER)
    if status == 413:
        title = _l("Too large")
        message = _l("The request is larger than this site accepts (at most %(size)s MB at once). "
                     "Go back and send smaller files.", size=_megabytes("MAX_CONTENT_LENGTH"))
        detail = None
    readable = detail if translated else _readable(detail)
    return render_template("error.html", status=status, title=title, message=message, back=_back(),
                           detail=readable if readable != str(message) else None), status


def service_error_page(exc: ServiceError):
    return _page(status_of(exc), exc.message, exc.translated)  # translated: in the reader's language already


def http_error_page(exc: HTTPException):
    status = exc.code or 500
    # werkzeug's own description for the status says no more than our sentence; one a raiser gave does
    default = getattr(type(exc), "description", None)
    return _page(status, exc.description if exc.description != default else None)
