"""Who is calling: bearer tokens now, the browser session once sign-in exists."""
from __future__ import annotations

from flask import g, request

from app.services.errors import Forbidden, Unauthorized
from app.services.identity import Principal, user_for_token


def require_admin() -> None:
    """Blueprint hook: the caller must be a signed-in platform admin (wider rules arrive with the inbox)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("sign in or send 'Authorization: Bearer <token>'")
    user = user_for_token(token.strip())
    if not user.has_role("platform_admin"):
        raise Forbidden("this API is open to platform admins until role-based access arrives")
    g.user = user


def current_user() -> Principal:
    return g.user
