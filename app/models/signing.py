"""Signing and disbursement's tables (issue 14): the simulators' own state (the e-signature
provider's flows and signers, the payment gateway's orders, their settings such as the sandbox CA
and the gateway's injected failures), the platform's record of its disbursements, and the nonces
of accepted provider callbacks (a nonce is taken once).

The simulators' tables are theirs as a provider's database would be: the platform reads them only
through the simulators' services and APIs.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.loan import Money, _one_of
from app.models.types import BigId, JsonType, UTCDateTime, utcnow

FLOW_STATUSES = ("signing", "completed", "expired", "cancelled")
SIGNER_STATUSES = ("waiting", "signed")
ORDER_STATUSES = ("pending", "succeeded", "failed", "closed")  # closed: a collection never paid
DISBURSEMENT_STATUSES = ("requested", "succeeded", "failed")
REPAYMENT_ORDER_STATUSES = ("pending", "succeeded", "failed", "closed")


class SimulatorState(Model):
    """A simulator's setting by name (`esign.ca`: the sandbox CA's PEMs; `payments.injection`: the
    gateway's injected failures), JSON."""

    __tablename__ = "simulator_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EsignFlow(Model):
    """The e-signature simulator's signing flow: one document, its signers in order."""

    __tablename__ = "esign_flows"
    __table_args__ = (
        CheckConstraint(_one_of("status", FLOW_STATUSES), name="status"),
        Index("ix_esign_flows_key", "business_key", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    flow_id: Mapped[str] = mapped_column(String(40), unique=True)  # the provider's id, e.g. EF-...
    business_key: Mapped[str] = mapped_column(String(128))
    document_name: Mapped[str] = mapped_column(String(255))
    document: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # signed so far
    original_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="signing")
    callback_url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EsignSigner(Model):
    """A signer of a flow, in signing order (borrower, core enterprise, funder)."""

    __tablename__ = "esign_signers"
    __table_args__ = (
        CheckConstraint(_one_of("status", SIGNER_STATUSES), name="status"),
        UniqueConstraint("flow_id", "position"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    flow_id: Mapped[int] = mapped_column(BigId, ForeignKey("esign_flows.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    party: Mapped[str] = mapped_column(String(32))
    username: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200), default="")  # the person or company signing
    field: Mapped[str] = mapped_column(String(64))  # the PDF's signature field
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PaymentOrder(Model):
    """The payment gateway simulator's order (`handlers.payments.store.StoredOrder` as a row)."""

    __tablename__ = "payment_orders"
    __table_args__ = (
        CheckConstraint(_one_of("status", ORDER_STATUSES), name="status"),
        Index("ix_payment_orders_due", "settle_at", postgresql_where=text("status = 'pending'"),
              sqlite_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[str] = mapped_column(String(40), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    order: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)  # PaymentOrder.to_dict()
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    fail_reason: Mapped[str] = mapped_column(String(500), default="")  # injected: settles as a failure
    copies: Mapped[int] = mapped_column(Integer, default=1)  # injected: notified this many times
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settle_at: Mapped[datetime] = mapped_column(UTCDateTime)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failure_reason: Mapped[str] = mapped_column(String(500), default="")


class Disbursement(Model):
    """The platform's record of releasing a deal's funds: the payment order it placed, its outcome,
    the loan booked on success."""

    __tablename__ = "disbursements"
    __table_args__ = (CheckConstraint(_one_of("status", DISBURSEMENT_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    application_id: Mapped[int] = mapped_column(BigId, ForeignKey("applications.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    order_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(16), default="requested")
    failure_reason: Mapped[str | None] = mapped_column(Text)
    loan_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("loans.id"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RepaymentOrder(Model):
    """A borrower's online repayment (issue 15): the collection order placed at the payment gateway
    under the borrower's idempotency key, its outcome, and the payment booked when it succeeded."""

    __tablename__ = "repayment_orders"
    __table_args__ = (CheckConstraint(_one_of("status", REPAYMENT_ORDER_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    loan_id: Mapped[int] = mapped_column(BigId, ForeignKey("loans.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)  # online:<loan id>:<the caller's key>
    order_id: Mapped[str] = mapped_column(String(40), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    prepayment: Mapped[str] = mapped_column(String(32), default="shorten_term", server_default="shorten_term")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    failure_reason: Mapped[str | None] = mapped_column(Text)  # the gateway's words
    failure_code: Mapped[str | None] = mapped_column(String(32))  # the cause it names (handlers.payments.FAILURE_CODES)
    payment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("payments.id"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CallbackNonce(Model):
    """A nonce of an accepted provider callback: the same nonce again is a replay."""

    __tablename__ = "callback_nonces"
    __table_args__ = (UniqueConstraint("provider", "nonce"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    nonce: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
