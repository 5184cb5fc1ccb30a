"""Origination's tables: leads and their channels, applications with their documents and events,
risk reports and the risk simulator's blacklist, and the notifications sent to people.

docs/origination.md says what each holds and who may read it.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.loan import Money, _one_of
from app.models.types import BigId, JsonType, UTCDateTime, utcnow

# Every status an application can take; later stages of the loan's life use the ones after `withdrawn`.
APPLICATION_STATUSES = ("draft", "submitted", "in_review", "returned", "approved", "rejected", "withdrawn",
                        "signing", "disbursing", "active", "expired", "closed")
PRODUCT_KINDS = ("order_financing", "pledge_financing", "credit_loan")
# What a borrower attaches; the platform adds the contract, the signed contract and the registration
# certificate (issue 14) itself.
DOCUMENT_KINDS = ("order", "invoice", "warehouse_receipt", "business_licence", "financial_statements", "id_card",
                  "other")
PLATFORM_DOCUMENT_KINDS = ("contract", "signed_contract", "registration_certificate", "settlement_certificate",
                           "demand_letter", "appraisal_report")
LEAD_STATUSES = ("new", "qualified", "dropped", "registered")
NOTIFICATION_CHANNELS = ("sms", "email", "in_app")


class Application(Model):
    """A borrower's application for a product: the deal until it becomes a loan."""

    __tablename__ = "applications"
    __table_args__ = (
        CheckConstraint(_one_of("status", APPLICATION_STATUSES), name="status"),
        Index("ix_applications_borrower", "borrower_org_id", "id"),
        Index("ix_applications_funder", "funder_org_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # APP-YYYY-NNNN: the deal's business key
    product_id: Mapped[int] = mapped_column(ForeignKey("loan_products.id"))
    borrower_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    funder_org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    term_months: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(500), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    stage: Mapped[str | None] = mapped_column(String(32))
    approved_amount: Mapped[Decimal | None] = mapped_column(Money)
    reason: Mapped[str | None] = mapped_column(Text)
    instance_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("process_instances.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lock_version: Mapped[int] = mapped_column(Integer, default=0)


class ApplicationEvent(Model):
    """One line of an application's timeline, in order; `data` holds what the line's text needs."""

    __tablename__ = "application_events"
    __table_args__ = (Index("ix_application_events_app", "application_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    application_id: Mapped[int] = mapped_column(BigId, ForeignKey("applications.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str | None] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApplicationDocument(Model):
    """A typed document the borrower attached to an application (order, invoice, receipt, ...)."""

    __tablename__ = "application_documents"
    __table_args__ = (
        CheckConstraint(_one_of("kind", DOCUMENT_KINDS + PLATFORM_DOCUMENT_KINDS), name="kind"),
        Index("ix_application_documents_app", "application_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    application_id: Mapped[int] = mapped_column(BigId, ForeignKey("applications.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))  # as sniffed from the content
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RiskReport(Model):
    """What the risk platform answered for a subject, kept with the deal that asked."""

    __tablename__ = "risk_reports"
    __table_args__ = (Index("ix_risk_reports_key", "business_key", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    business_key: Mapped[str | None] = mapped_column(String(128))
    report_id: Mapped[str] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(32))
    score: Mapped[int] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(String(4))
    blacklisted: Mapped[bool] = mapped_column(Boolean, default=False)
    report: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BlacklistEntry(Model):
    """An ID number or unified social credit code the risk simulator reports as blacklisted."""

    __tablename__ = "risk_blacklist"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(32), unique=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Channel(Model):
    """A loan marketplace or partner that posts leads with its API key (only its hash is kept)."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Lead(Model):
    """A prospective borrower, from a channel or entered by an operator."""

    __tablename__ = "leads"
    __table_args__ = (
        CheckConstraint(_one_of("status", LEAD_STATUSES), name="status"),
        Index("ix_leads_credit_code", "credit_code"),
        Index("ix_leads_id_number", "id_number"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # LEAD-YYYY-NNNN: the business key
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"))
    external_ref: Mapped[str | None] = mapped_column(String(128))
    company_name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str | None] = mapped_column(String(18))
    id_number: Mapped[str | None] = mapped_column(String(18))
    contact_name: Mapped[str] = mapped_column(String(100))
    mobile: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    product_code: Mapped[str | None] = mapped_column(String(64))
    amount: Mapped[Decimal | None] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(16), default="new")
    duplicate_of_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("leads.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Notification(Model):
    """A message to a person: an SMS or e-mail sent through the notify adapter, or an in-app notice."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(_one_of("channel", NOTIFICATION_CHANNELS), name="channel"),
        Index("ix_notifications_user", "user_id", "id"),
        Index("ix_notifications_org", "org_id", "id"),
        Index("ix_notifications_queued", "next_attempt_at", postgresql_where=text("status = 'queued'"),
              sqlite_where=text("status = 'queued'")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(254))  # a mobile number, an e-mail address, or a user name
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    template: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    business_key: Mapped[str | None] = mapped_column(String(128))
    provider: Mapped[str] = mapped_column(String(64), default="")
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    # queued (an SMS or e-mail waiting for the worker) | sent | failed; an in-app notice is sent at once
    status: Mapped[str] = mapped_column(String(16), default="sent")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a queued one's next try
    error: Mapped[str | None] = mapped_column(Text)  # why the provider refused it, or why it stayed down
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
