"""The browser session: Flask-Login's user is a thin wrapper around the request's Principal."""
from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import UserMixin

from app.extensions import login_manager
from app.services.identity import Principal, principal_for_user


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


def install_session(app: Flask) -> None:
    app.session_interface = CookieSessionInterface()
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str) -> SessionUser | None:
        try:
            principal = principal_for_user(int(user_id))
        except ValueError:
            return None
        return SessionUser(principal) if principal else None
