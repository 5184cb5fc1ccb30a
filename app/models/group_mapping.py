"""What an admin mapped each Camunda group to: one of Loanflow's roles."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.types import UTCDateTime, utcnow


class GroupMapping(Model):
    """A group a diagram offers user tasks to (`camunda:candidateGroups="management"`) and the role
    (`second_reviewer`) those tasks are offered to in Loanflow. Read when a diagram is deployed."""

    __tablename__ = "group_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_name: Mapped[str] = mapped_column(String(255), unique=True)
    role: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
