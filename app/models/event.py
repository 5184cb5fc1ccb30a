"""The append-only history of every instance."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.types import BigId, JsonType, UTCDateTime, utcnow


class InstanceEvent(Model):
    __tablename__ = "instance_events"
    __table_args__ = (Index("ix_instance_events_instance_id", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(BigId, ForeignKey("process_instances.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    element_id: Mapped[str | None] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    details: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    # The tamper-evident chain (app/services/workflow/history_chain.py): SHA-256 of this event's
    # content and `prev_hash`, the hash of the instance's event before it (NULL for the first, and
    # both NULL for events written before the chain existed).
    hash: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str | None] = mapped_column(String(64))
