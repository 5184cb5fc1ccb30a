"""Human tasks: the inbox's copy of every user task an engine step made ready."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.types import BigId, JsonType, UTCDateTime, utcnow

TASK_STATES = ("ready", "claimed", "completed", "cancelled")
OPEN_TASK_STATES = ("ready", "claimed")


class HumanTask(Model):
    __tablename__ = "human_tasks"
    __table_args__ = (
        Index("ix_human_tasks_instance_state", "instance_id", "state"),
        Index("ix_human_tasks_state_lane", "state", "lane"),
        Index("ix_human_tasks_claimed_by_state", "claimed_by_id", "state"),
        Index("ix_human_tasks_inbox", "org_id", "lane", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(BigId, ForeignKey("process_instances.id", ondelete="CASCADE"))
    engine_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    lane: Mapped[str | None] = mapped_column(String(64))
    # The organisation whose users holding the lane's role are offered the task (from the instance's
    # party of the org kind that role belongs to); None for platform lanes and tasks without a lane.
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    state: Mapped[str] = mapped_column(String(16), default="ready")
    form_id: Mapped[int | None] = mapped_column(ForeignKey("form_versions.id"))
    ui_form_id: Mapped[int | None] = mapped_column(ForeignKey("form_versions.id"))
    properties: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    priority: Mapped[int | None] = mapped_column(Integer)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
