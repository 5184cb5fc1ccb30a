"""Documents uploaded into an instance (order, invoice, warehouse receipt, transfer voucher, ...)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.types import BigId, UTCDateTime, utcnow


class Document(Model):
    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_instance", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(BigId, ForeignKey("process_instances.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("human_tasks.id"))
    field: Mapped[str | None] = mapped_column(String(255))  # the form field it was uploaded in
    kind: Mapped[str] = mapped_column(String(32))  # pdf | image | spreadsheet | ...
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))  # as sniffed from the content, not as claimed
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
