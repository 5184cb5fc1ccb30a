"""The double-entry ledger, the end-of-day runs that post to it, and the outbox of their messages.

A journal line's `amount` is signed: debits positive, credits negative, so every entry and the
whole ledger sum to zero. Lines carry their loan, so a loan's balances are sums of its lines.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.loan import Money
from app.models.types import BigId, JsonType, UTCDateTime, utcnow

ACCOUNTS = (
    "loan_principal", "interest_receivable", "penalty_receivable", "fee_receivable", "cash_clearing",
    "interest_income", "penalty_income", "fee_income", "borrower_credit", "write_off_expense",
)
EOD_STATUSES = ("running", "completed", "failed")


class JournalEntry(Model):
    """One balanced posting: a disbursement, a payment, a waiver, a write-off or an end-of-day step.

    Entries of the batch cover many loans (their lines name each loan); the others one loan.
    """

    __tablename__ = "journal_entries"
    __table_args__ = (Index("ix_journal_entries_loan", "loan_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    business_date: Mapped[date] = mapped_column(Date)
    loan_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("loans.id", ondelete="CASCADE"))
    payment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("payments.id"))
    eod_run_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("eod_runs.id"))
    memo: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JournalLine(Model):
    __tablename__ = "journal_lines"
    __table_args__ = (
        CheckConstraint(f"account IN ({', '.join(repr(a) for a in ACCOUNTS)})", name="account"),
        Index("ix_journal_lines_loan_account", "loan_id", "account"),
        Index("ix_journal_lines_entry", "entry_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(BigId, ForeignKey("journal_entries.id", ondelete="CASCADE"))
    account: Mapped[str] = mapped_column(String(32))
    loan_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("loans.id", ondelete="CASCADE"))
    amount: Mapped[Decimal] = mapped_column(Money)  # debit > 0, credit < 0


class EodRun(Model):
    """The end-of-day batch for one business date: a run that crashed stays `running` and is redone."""

    __tablename__ = "eod_runs"
    __table_args__ = (
        UniqueConstraint("business_date"),
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in EOD_STATUSES)})", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    business_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    counts: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxMessage(Model):
    """A message the batch emitted in its transaction; the worker delivers it afterwards.

    `dedup_key` makes each emission unique (the same bill's notice is written once), and is the
    key the delivery hands to the message inbox, so a repeated delivery is taken once.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("dedup_key"),
        Index("ix_outbox_pending", "id", postgresql_where=text("delivered_at IS NULL"),
              sqlite_where=text("delivered_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    correlation_key: Mapped[str] = mapped_column(String(128))
    loan_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("loans.id", ondelete="CASCADE"))
    payload: Mapped[Any] = mapped_column(JsonType)
    dedup_key: Mapped[str] = mapped_column(String(255))
    business_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
