"""Collections' own table: the contacts an agent logs on a case between the case's contact tasks
(docs/post-loan.md, "Collections"). The case itself is its `collections` process instance."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.loan import Money
from app.models.types import BigId, UTCDateTime, utcnow


class CollectionContact(Model):
    """One contact with the borrower, logged on the case's page by an agent of the organisation working
    the case: when it happened, how, what came of it and any promise to pay; who logged it and when."""

    __tablename__ = "collection_contacts"
    __table_args__ = (Index("ix_collection_contacts_instance", "instance_id", "contacted_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(BigId, ForeignKey("process_instances.id", ondelete="CASCADE"))
    loan_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("loans.id"))
    contacted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))
    promise_date: Mapped[date | None] = mapped_column(Date)
    promise_amount: Mapped[Decimal | None] = mapped_column(Money)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
