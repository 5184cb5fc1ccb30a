"""Human tasks: the inbox's copy of every user task an engine step made ready."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.types import BigId, JsonType, UTCDateTime, utcnow

TASK_STATES = ("ready", "claimed", "completed", "cancelled")
OPEN_TASK_STATES = ("ready", "claimed")
# What the inbox filters and sorts on, carried in its indexes (PostgreSQL's INCLUDE) so that a
# branch of the group view is counted and filtered without reading the table (0006_inbox_scale).
INBOX_COLUMNS = ["instance_id", "process_version_id", "element_id", "title", "priority", "created_at"]
READY_UNLANED = text("state = 'ready' AND lane IS NULL")


class HumanTask(Model):
    __tablename__ = "human_tasks"
    __table_args__ = (
        Index("ix_human_tasks_instance_state", "instance_id", "state"),
        # the inbox's branches, each in due-date order: one lane of an organisation; one lane anywhere
        # (the platform's, and the platform admin's view lane by lane); tasks without a lane
        Index("ix_human_tasks_inbox", "org_id", "lane", "state", "due_at", "id", postgresql_include=INBOX_COLUMNS),
        Index("ix_human_tasks_state_lane", "state", "lane", "due_at", "id", postgresql_include=INBOX_COLUMNS),
        Index("ix_human_tasks_ready_unlaned", "due_at", "id", postgresql_include=INBOX_COLUMNS,
              postgresql_where=READY_UNLANED, sqlite_where=READY_UNLANED),
        Index("ix_human_tasks_claimed_by_state", "claimed_by_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(BigId, ForeignKey("process_instances.id", ondelete="CASCADE"))
    # The instance's process version, copied (an instance never changes version): the inbox's process
    # filter reads it from its indexes instead of probing the instance of every task.
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
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
    # What the task shows while open (its key data's values in its own scope; None before 0013)
    shown: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TaskCandidate(Model):
    """A user a task is offered to by name (Camunda's `camunda:candidateUsers`, a list of users): the task's
    lane is then `CANDIDATES_LANE` (`app/services/identity/grants.py`), and each of them may claim it."""

    __tablename__ = "task_candidates"
    __table_args__ = (Index("ix_task_candidates_user", "user_id", "task_id"),)

    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("human_tasks.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
