"""What an admin mapped each Camunda service implementation to: one of Loanflow's operators."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.types import JsonType, UTCDateTime, utcnow

MAPPING_KINDS = ("class", "delegateExpression", "expression", "topic")


class OperatorMapping(Model):
    """`camunda:class`, `delegateExpression`, `expression`, an external task's `topic`, a `connector`'s id,
    a Camunda 8 `job` type or the name of a `task` that names no implementation (kind) with its value,
    and the registered operator a diagram's service task naming it calls, with parameters
    (name -> Python expression on the task's data). Read when a diagram is deployed."""

    __tablename__ = "operator_mappings"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(500))
    operator: Mapped[str] = mapped_column(String(255))
    parameters: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
