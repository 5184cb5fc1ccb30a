"""The double-entry ledger: the chart of accounts, each product's accounts, the journal, the
end-of-day runs that post to it, and the outbox of their messages.

A journal line's `amount` is signed: debits positive, credits negative, so every entry and the
whole ledger sum to zero. Lines carry their loan, so a loan's balances are sums of its lines.
The chart (`gl_accounts`) is data: each product maps every posting role to one of its accounts
(`product_accounts`; the rules are `app.services.ledger.posting`), and lines are posted there.
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

ACCOUNT_KINDS = ("asset", "liability", "equity", "income", "expense")
# What an account is used for by a product's postings (`app.services.ledger.posting.Role`).
ACCOUNT_ROLES = (
    "fund_source", "loan_portfolio", "interest_receivable", "fee_receivable", "penalty_receivable",
    "interest_income", "fee_income", "penalty_income", "losses_written_off", "overpayment_liability",
)
EOD_STATUSES = ("running", "completed", "failed")


class GlAccount(Model):
    """One account of the chart. Journal lines name it by `code`; `kind` says which side of the
    balance sheet (or of profit and loss) it is on. Accounts are added as rows, never in code."""

    __tablename__ = "gl_accounts"
    __table_args__ = (CheckConstraint(f"kind IN ({', '.join(repr(k) for k in ACCOUNT_KINDS)})", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))


class ProductAccount(Model):
    """A product's account for one posting role (Fineract's product-to-GL mapping): every product
    has one row per role, written with the product; the services and the batch post through it."""

    __tablename__ = "product_accounts"
    __table_args__ = (CheckConstraint(f"role IN ({', '.join(repr(r) for r in ACCOUNT_ROLES)})", name="role"),)

    product_id: Mapped[int] = mapped_column(ForeignKey("loan_products.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    account: Mapped[str] = mapped_column(String(32), ForeignKey("gl_accounts.code"))


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
        Index("ix_journal_lines_loan_account", "loan_id", "account"),
        Index("ix_journal_lines_entry", "entry_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(BigId, ForeignKey("journal_entries.id", ondelete="CASCADE"))
    # An account of the chart: the product's (`product_accounts`, whose foreign key checks it). No
    # foreign key here: every line would lock its account's row (FOR KEY SHARE), in every posting.
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
    """A message written in a business transaction (the batch's, a step's, ...); the worker delivers it afterwards.

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
    name: Mapped[str] = mapped_column(String(255))
    correlation_key: Mapped[str] = mapped_column(String(128))
    loan_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("loans.id", ondelete="CASCADE"))
    payload: Mapped[Any] = mapped_column(JsonType)
    dedup_key: Mapped[str] = mapped_column(String(255))
    business_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When set, the message starts this process for its correlation key (unless one is open already).
    start_process: Mapped[str | None] = mapped_column(String(64))
    # The instance whose process threw it (a BPMN message): a process it starts gets that instance's parties.
    sender_instance_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("process_instances.id",
                                                                              ondelete="SET NULL"))
