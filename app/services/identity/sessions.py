"""Browser sessions kept on the server: a session ends at sign-out, and all of a user's sessions
end when their password, roles or status change (a signed cookie alone cannot be taken back).

The cookie carries a random token; only its SHA-256 is stored. A request's cookie signs someone
in only while that row is open, unexpired and presented by the browser that started it.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, delete, func, update

from app.extensions import db
from app.models import User, UserSession
from app.services.clock import now
from app.services.identity.directory import _PRINCIPAL, Principal, _principal

USER_AGENT_LENGTH = 255  # user_sessions.user_agent
KEEP_ENDED = timedelta(days=90)  # ended and expired sessions stay this long (who signed in when, from where)
# Built once, run on the session's connection with its values bound (as identity's principal queries).
_SESSION_PRINCIPAL = _PRINCIPAL.join(UserSession, UserSession.user_id == User.id).where(
    User.id == bindparam("user_id"), UserSession.token_hash == bindparam("digest"), UserSession.ended_at.is_(None),
    UserSession.expires_at > bindparam("at"), func.coalesce(UserSession.user_agent, "") == bindparam("agent"))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user_id: int, lifetime: timedelta, ip: str | None, user_agent: str | None) -> str:
    """Open a session for the user (committed) and return its token, for the cookie only; the
    user's sessions that expired more than KEEP_ENDED ago go."""
    token = secrets.token_urlsafe(32)
    at = now()
    db.session.execute(delete(UserSession).where(UserSession.user_id == user_id,
                                                 UserSession.expires_at < at - KEEP_ENDED))
    db.session.add(UserSession(user_id=user_id, token_hash=_digest(token), created_at=at, expires_at=at + lifetime,
                               ip=(ip or "")[:64] or None, user_agent=(user_agent or "")[:USER_AGENT_LENGTH] or None))
    db.session.commit()
    return token


def principal_for_session(user_id: int, token: str, user_agent: str | None) -> Principal | None:
    """Who the session signs in: its user while the session is open and unexpired and the browser
    is the one that started it; None otherwise. One query, the principal's own."""
    rows = db.session.connection().execute(_SESSION_PRINCIPAL, {
        "user_id": user_id, "digest": _digest(token), "at": now(),
        "agent": (user_agent or "")[:USER_AGENT_LENGTH]}).all()
    return _principal(rows)


def end_session(token: str, reason: str = "logout") -> None:
    """End the one session of this token (committed); nothing if it has ended already."""
    db.session.execute(update(UserSession).where(UserSession.token_hash == _digest(token),
                                                 UserSession.ended_at.is_(None))
                       .values(ended_at=now(), ended_reason=reason[:32]))
    db.session.commit()


def end_user_sessions(user_id: int, reason: str) -> int:
    """End every open session of the user, in the caller's transaction; how many were open."""
    result = db.session.execute(update(UserSession)
                                .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
                                .values(ended_at=now(), ended_reason=reason[:32]))
    return int(result.rowcount)  # type: ignore[attr-defined]
