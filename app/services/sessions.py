"""Browser sessions kept on the server: a session ends at sign-out, and all of a user's sessions
end when their password, roles or status change (a signed cookie alone cannot be taken back)."""
from __future__ import annotations

from sqlalchemy import update

from app.extensions import db
from app.models import UserSession
from app.services.clock import now


def end_user_sessions(user_id: int, reason: str) -> int:
    """End every open session of the user, in the caller's transaction; how many were open."""
    result = db.session.execute(update(UserSession)
                                .where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
                                .values(ended_at=now(), ended_reason=reason[:32]))
    return int(result.rowcount)  # type: ignore[attr-defined]
