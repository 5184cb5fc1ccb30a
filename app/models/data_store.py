"""BPMN data stores: values that outlive an instance and are shared by every instance naming the store."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.types import JsonType, UTCDateTime, utcnow


class DataStoreValue(Model):
    """The value of one data store (`app/engine/data_stores.py`), by its key: the store's name in the
    diagram (its id when it has none). `version` moves with every write: a step that read version n
    writes only over version n (compare-and-set), so two instances writing at once never lose a write."""

    __tablename__ = "data_store_values"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[Any] = mapped_column(JsonType, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_instance_id: Mapped[int | None] = mapped_column(Integer)
