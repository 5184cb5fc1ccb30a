"""Loans as booked: products, loans, their schedule versions and instalments (bills), and payments.

Amounts are NUMERIC(18,2) (`Money`), read back as `Decimal`. The money rules themselves live in
`app.lending`; these rows are what the services persist around it.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.types import BigId, JsonType, UTCDateTime, utcnow

Money = Numeric(18, 2)
Rate = Numeric(12, 6)  # a percentage a year, e.g. 18.000000 for 12 % × 1.5
ZERO = Decimal("0.00")

LOAN_STATUSES = ("active", "closed", "written_off")
INSTALMENT_STATUSES = ("pending", "overdue", "paid", "written_off")
PAYMENT_CHANNELS = ("online", "offline", "auto_debit", "disposal", "debt_sale")  # disposal: a pledge's sale proceeds; debt_sale: the price a collection agency paid for the debt
PAYMENT_STATUSES = ("pending", "booked", "rejected")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Product(Model):
    """A loan product as the platform configured it; `settings` holds every other product term.

    The row is checked through `app.lending.codec.product_from_mapping` when it is written.
    """

    __tablename__ = "loan_products"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    annual_rate: Mapped[Decimal] = mapped_column(Rate)
    min_amount: Mapped[Decimal] = mapped_column(Money)
    max_amount: Mapped[Decimal] = mapped_column(Money)
    min_term: Mapped[int] = mapped_column(Integer)
    max_term: Mapped[int] = mapped_column(Integer)
    settings: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The process a borrower's applicant starts to apply for this product (None: not offered to
    # applicants); an applicant starts nothing else.
    application_process: Mapped[str | None] = mapped_column(String(255))
    # What origination needs (app/services/origination/products.py checks both): the kind of
    # product (order_financing, pledge_financing, credit_loan; None: a ledger-only product) and its
    # advance ratio, pledge loan-to-value lines and required documents.
    kind: Mapped[str | None] = mapped_column(String(32))
    origination: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict, server_default="{}")

    def name_in(self, language: str | None) -> str:
        """The product's name as a page in `language` shows it: its English name (`origination["name_en"]`) on
        English pages when it has one, else its name."""
        english = (self.origination or {}).get("name_en") if language == "en" else None
        return str(english) if english else self.name


class Loan(Model):
    """One booked loan. Its process instances share `business_key`; `terms` is the full LoanTerms.

    The penalty columns repeat what the end-of-day batch needs from the terms, so it runs as SQL.
    `dpd` and `bucket` are as of the last end-of-day run.
    """

    __tablename__ = "loans"
    __table_args__ = (
        CheckConstraint(_one_of("status", LOAN_STATUSES), name="status"),
        Index("ix_loans_dpd", "dpd", postgresql_where=text("dpd > 0"), sqlite_where=text("dpd > 0")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    business_key: Mapped[str] = mapped_column(String(128), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("loan_products.id"))
    borrower_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    funder_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    principal: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    annual_rate: Mapped[Decimal] = mapped_column(Rate)
    terms: Mapped[dict[str, Any]] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(16), default="active")
    disbursed_on: Mapped[date] = mapped_column(Date)
    schedule_version: Mapped[int] = mapped_column(Integer, default=1)
    credit_balance: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    last_payment_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    dpd: Mapped[int] = mapped_column(Integer, default=0)
    bucket: Mapped[str] = mapped_column(String(8), default="current")
    overdue_grace_days: Mapped[int] = mapped_column(Integer, default=0)
    penalty_annual_rate: Mapped[Decimal] = mapped_column(Rate)  # contract rate × penalty multiplier
    penalty_basis: Mapped[int] = mapped_column(SmallInteger)  # 360, 365, or 0 for the actual year
    penalty_on_interest: Mapped[bool] = mapped_column(Boolean, default=False)
    penalty_charge_percent: Mapped[Decimal] = mapped_column(Rate, default=ZERO)
    penalty_charge_on_interest: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScheduleVersion(Model):
    """A version of a loan's schedule: 1 at booking, one more per prepayment. Old ones are kept."""

    __tablename__ = "schedule_versions"

    loan_id: Mapped[int] = mapped_column(BigId, ForeignKey("loans.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    level_payment: Mapped[Decimal | None] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(String(32))  # booked | shorten_term | reduce_instalment
    effective_on: Mapped[date] = mapped_column(Date)
    payment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("payments.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Instalment(Model):
    """One instalment (bill) of one schedule version: what falls due, what was paid or waived.

    Only rows with `is_current` belong to the loan's current version; earlier versions keep their
    rows as they were when replaced. `interest_billed` is the interest recognised as receivable
    (on the due date by the batch, or earlier when a payment settles it); `base_interest` is the
    exact period interest the prepayment rules need, kept as text to keep every digit.
    """

    __tablename__ = "instalments"
    __table_args__ = (
        UniqueConstraint("loan_id", "version", "number"),
        CheckConstraint(_one_of("status", INSTALMENT_STATUSES), name="status"),
        # The batch's working set: open instalments of current versions, by status and due date.
        Index("ix_instalments_open", "status", "due_date",
              postgresql_where=text("is_current AND status IN ('pending', 'overdue')"),
              sqlite_where=text("is_current AND status IN ('pending', 'overdue')")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    loan_id: Mapped[int] = mapped_column(BigId, ForeignKey("loans.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    start_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    principal_due: Mapped[Decimal] = mapped_column(Money)
    interest_due: Mapped[Decimal] = mapped_column(Money)
    fee_due: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    penalty_due: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    principal_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    interest_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    fee_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    penalty_paid: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    interest_waived: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    fee_waived: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    penalty_waived: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    interest_billed: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    balance: Mapped[Decimal] = mapped_column(Money)  # scheduled principal balance after this instalment
    accrued_interest: Mapped[Decimal] = mapped_column(Money)
    base_interest: Mapped[str] = mapped_column(String(64))
    prepayments: Mapped[list[list[str]]] = mapped_column(JsonType, default=list)  # [[date, amount], ...]
    overdue_on: Mapped[date | None] = mapped_column(Date)
    penalty_accrued_to: Mapped[date | None] = mapped_column(Date)
    paid_on: Mapped[date | None] = mapped_column(Date)


class Payment(Model):
    """A repayment as notified. The same `idempotency_key` twice is one payment.

    Online and auto-debit payments are booked at once; offline ones wait (`pending`) until
    finance confirms the transfer voucher. `allocation` records how the booking split it.
    """

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        CheckConstraint(_one_of("channel", PAYMENT_CHANNELS), name="channel"),
        CheckConstraint(_one_of("status", PAYMENT_STATUSES), name="status"),
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_payments_loan_status", "loan_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    loan_id: Mapped[int] = mapped_column(BigId, ForeignKey("loans.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money)
    prepayment: Mapped[str] = mapped_column(String(32), default="shorten_term")
    status: Mapped[str] = mapped_column(String(16))
    received_on: Mapped[date] = mapped_column(Date)
    booked_on: Mapped[date | None] = mapped_column(Date)
    document_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("documents.id"))  # offline voucher
    allocation: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reference: Mapped[str | None] = mapped_column(String(100))  # the transfer's reference, as the borrower gave it
    reject_reason: Mapped[str | None] = mapped_column(Text)  # finance's, shown to the borrower
    voucher_filename: Mapped[str | None] = mapped_column(String(255))  # the offline voucher, kept with the payment
    voucher_content_type: Mapped[str | None] = mapped_column(String(64))
    voucher_sha256: Mapped[str | None] = mapped_column(String(64))
    voucher: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
