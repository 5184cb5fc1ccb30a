"""The browser session: Flask-Login's user is a thin wrapper around the request's Principal.

The signed cookie carries the user's id and the token of a session kept on the server
(`app.services.identity.sessions`): signing out, or a password, role or status change, ends that row, and
the cookie signs no one in from then on, whoever replays it.
"""
from __future__ import annotations

from flask import Flask, Request, current_app, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin, login_user, logout_user

from app.extensions import login_manager
from app.services.identity import sessions
from app.services.identity.directory import Principal

SESSION_TOKEN = "sid"  # the Flask session's field holding the server-side session's token
MAX_USER_ID = 2 ** 31 - 1  # users.id is a 32-bit integer: a bigger id is no one, not an overflow


class SessionUser(UserMixin):
    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    def get_id(self) -> str:
        return str(self.principal.id)


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, without building the cookie signer for requests that carry
    no session cookie: API clients with a bearer token send none."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def sign_in(principal: Principal) -> None:
    """Start a server-side session for the principal, in a fresh cookie (nothing of an earlier one kept)."""
    session.clear()
    session[SESSION_TOKEN] = sessions.start_session(principal.id, current_app.permanent_session_lifetime,
                                                    request.remote_addr, request.user_agent.string)
    session.permanent = True
    login_user(SessionUser(principal))


def sign_out() -> None:
    """End this browser's session on the server and forget the cookie's contents."""
    token = session.get(SESSION_TOKEN)
    if isinstance(token, str):
        sessions.end_session(token, "logout")
    logout_user()
    session.clear()


def _load_user(user_id: str) -> SessionUser | None:
    token = session.get(SESSION_TOKEN)
    try:
        row_id = int(user_id)
    except ValueError:
        return None
    if not isinstance(token, str) or not 0 < row_id <= MAX_USER_ID:
        return None
    principal = sessions.principal_for_session(row_id, token, request.user_agent.string)
    return SessionUser(principal) if principal else None


def install_session(app: Flask) -> None:
    app.session_interface = CookieSessionInterface()
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # Flask-Login flashes this when a page needs a signed-in user; `str` reads it in the request's language
    login_manager.login_message = _l("Please sign in to open this page.")  # type: ignore[assignment]
    login_manager.localize_callback = str
    # The server-side row binds the session to its browser (User-Agent); Flask-Login's own check
    # only marks permanent sessions stale, so it is off rather than a false promise.
    login_manager.session_protection = None
    login_manager.user_loader(_load_user)
