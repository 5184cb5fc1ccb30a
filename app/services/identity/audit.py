"""The audit log: who signed in, who failed to, and who changed what in the administration."""
from __future__ import annotations

from typing import Any

from app.extensions import db
from app.models import AuditEntry
from app.services.clock import now

TARGET_LENGTH = 255  # audit_log.target


def audit(action: str, actor_id: int | None = None, target: str | None = None, ip: str | None = None,
          **details: Any) -> None:
    """Append to the audit log, in the caller's transaction.

    `target` often holds what someone typed (a failed sign-in's user name): kept to the column's
    255 characters (PostgreSQL refuses longer text; the rest would say nothing more).
    """
    if target is not None and len(target) > TARGET_LENGTH:
        target = target[:TARGET_LENGTH - 1] + "…"
    db.session.add(AuditEntry(at=now(), actor_id=actor_id, action=action, target=target, ip=ip and ip[:64],
                              details=details))
