"""The audit log: who signed in, who failed to, and who changed what in the administration."""
from __future__ import annotations

from typing import Any

from app.extensions import db
from app.models import AuditEntry
from app.services.clock import now


def audit(action: str, actor_id: int | None = None, target: str | None = None, ip: str | None = None,
          **details: Any) -> None:
    """Append to the audit log, in the caller's transaction."""
    db.session.add(AuditEntry(at=now(), actor_id=actor_id, action=action, target=target, ip=ip, details=details))
