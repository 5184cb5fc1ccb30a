"""Who is calling the API: a bearer token, or the browser session (whose writes need the CSRF token)."""
from __future__ import annotations

from flask import g, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user as session_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from app.services.errors import Unauthorized
from app.services.identity.directory import Principal, TokenUse, authenticate_token

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def require_user() -> None:
    """Blueprint hook: resolve the caller into `g.principal`, or answer 401."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized(_l("send 'Authorization: Bearer <token>' or sign in"))
        g.token_use = authenticate_token(token.strip())
        g.principal = g.token_use.principal
        return
    if session_user.is_authenticated:
        if request.method not in SAFE_METHODS:
            try:
                validate_csrf(request.headers.get("X-CSRFToken", ""))
            except (ValidationError, CSRFError) as exc:
                raise Unauthorized(_l("the CSRF token is missing or wrong: %(problem)s", problem=str(exc))) from None
        g.principal = session_user.principal
        return
    raise Unauthorized(_l("sign in or send 'Authorization: Bearer <token>'"))


def current_user() -> Principal:
    return g.principal


def current_token() -> TokenUse | None:
    """The bearer token of this request (None for a browser session)."""
    return g.get("token_use")
