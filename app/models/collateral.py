"""Collateral's tables: commodity prices, the pledges of active pledge-financing deals, each pledge's
valuations (its LTV history), the zone crossings it made, its movements (top-ups, releases), its
margin calls and its disposals (docs/collateral.md)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.models.loan import Money, _one_of
from app.models.types import BigId, UTCDateTime, utcnow

ZONES = ("normal", "warning", "margin_call", "liquidation")
CROSSINGS = ("warning", "margin_call", "liquidation")
PLEDGE_STATUSES = ("active", "disposing", "disposed")
MOVEMENTS = ("top_up", "release", "disposed")
MARGIN_CALL_STATUSES = ("open", "answered", "disposal")
DISPOSAL_STATUSES = ("appraisal", "sale", "allocated", "write_off", "closed")
DISPOSAL_CHANNELS = ("platform_sale", "third_party", "auction")
Quantity = Numeric(18, 4)
# wide enough for any quantity × price and principal / value the inputs allow (no overflow on PostgreSQL)
Ratio = Numeric(28, 4)
Value = Numeric(32, 2)


class CommodityPrice(Model):
    """A price of a goods per unit on a day, as a price source reported it; the latest `as_of` counts."""

    __tablename__ = "commodity_prices"
    __table_args__ = (Index("ix_commodity_prices_goods", "goods_key", "unit_key", "as_of", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    goods: Mapped[str] = mapped_column(String(200))
    goods_key: Mapped[str] = mapped_column(String(200))  # spaces collapsed, case folded: what pledges match on
    unit: Mapped[str] = mapped_column(String(20))
    unit_key: Mapped[str] = mapped_column(String(20))
    price: Mapped[Decimal] = mapped_column(Money)
    as_of: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(64))  # api | csv:<file name>
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Pledge(Model):
    """The goods an active pledge-financing deal pledged, and where its LTV stands now."""

    __tablename__ = "pledges"
    __table_args__ = (
        CheckConstraint(_one_of("zone", ZONES), name="zone"),
        CheckConstraint(_one_of("status", PLEDGE_STATUSES), name="status"),
        Index("ix_pledges_goods", "goods_key", "unit_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    application_id: Mapped[int] = mapped_column(BigId, ForeignKey("applications.id"), unique=True)
    loan_id: Mapped[int] = mapped_column(BigId, ForeignKey("loans.id"))
    goods: Mapped[str] = mapped_column(String(200))
    goods_key: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(20))
    unit_key: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    principal: Mapped[Decimal | None] = mapped_column(Money)  # outstanding at the last valuation
    price_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("commodity_prices.id"))
    value: Mapped[Decimal | None] = mapped_column(Value)
    ltv: Mapped[Decimal | None] = mapped_column(Ratio)
    zone: Mapped[str | None] = mapped_column(String(16))  # None until first valued
    valued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    released: Mapped[Decimal] = mapped_column(Quantity, default=Decimal(0), server_default="0")  # released so far


class PledgeValuation(Model):
    """One point of a pledge's LTV history: the price, principal and LTV it was valued at."""

    __tablename__ = "pledge_valuations"
    __table_args__ = (
        CheckConstraint(_one_of("zone", ZONES), name="zone"),
        Index("ix_pledge_valuations_pledge", "pledge_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pledge_id: Mapped[int] = mapped_column(BigId, ForeignKey("pledges.id", ondelete="CASCADE"))
    price_id: Mapped[int] = mapped_column(BigId, ForeignKey("commodity_prices.id"))
    price: Mapped[Decimal] = mapped_column(Money)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    principal: Mapped[Decimal] = mapped_column(Money)
    value: Mapped[Decimal] = mapped_column(Value)
    ltv: Mapped[Decimal] = mapped_column(Ratio)
    zone: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PledgeEvent(Model):
    """A pledge's LTV crossed into a worse zone: the borrower and the funder's finance were told;
    a margin call or a liquidation is also signalled to the processes (`message`, once `signalled_at`)."""

    __tablename__ = "pledge_events"
    __table_args__ = (
        CheckConstraint(_one_of("kind", CROSSINGS), name="kind"),
        Index("ix_pledge_events_pledge", "pledge_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pledge_id: Mapped[int] = mapped_column(BigId, ForeignKey("pledges.id", ondelete="CASCADE"))
    valuation_id: Mapped[int] = mapped_column(BigId, ForeignKey("pledge_valuations.id"))
    kind: Mapped[str] = mapped_column(String(16))  # the zone entered
    ltv: Mapped[Decimal] = mapped_column(Ratio)
    message: Mapped[str | None] = mapped_column(String(64))  # ltv_margin_call | ltv_liquidation
    signalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PledgeMovement(Model):
    """Goods added to a pledge (a margin call's top-up), released from it in proportion to the
    principal repaid, or gone with its disposal; each confirmed by the warehouse (`by_id`)."""

    __tablename__ = "pledge_movements"
    __table_args__ = (
        CheckConstraint(_one_of("kind", MOVEMENTS), name="kind"),
        Index("ix_pledge_movements_pledge", "pledge_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pledge_id: Mapped[int] = mapped_column(BigId, ForeignKey("pledges.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    quantity_after: Mapped[Decimal] = mapped_column(Quantity)  # what stays pledged after it
    principal_repaid: Mapped[Decimal | None] = mapped_column(Money)  # a release's basis
    note: Mapped[str | None] = mapped_column(Text)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MarginCall(Model):
    """A margin call (the borrower's deadline to top up goods or repay) or a liquidation crossing,
    as its `pledge_monitoring` instance keeps it: open, answered (LTV back under the margin-call
    line), or handed to disposal."""

    __tablename__ = "margin_calls"
    __table_args__ = (
        CheckConstraint(_one_of("kind", ("margin_call", "liquidation")), name="kind"),
        CheckConstraint(_one_of("status", MARGIN_CALL_STATUSES), name="status"),
        Index("ix_margin_calls_pledge", "pledge_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pledge_id: Mapped[int] = mapped_column(BigId, ForeignKey("pledges.id", ondelete="CASCADE"))
    loan_id: Mapped[int] = mapped_column(BigId, ForeignKey("loans.id"))
    event_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("pledge_events.id"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    ltv: Mapped[Decimal] = mapped_column(Ratio)  # at the crossing
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_ltv: Mapped[Decimal | None] = mapped_column(Ratio)


class Disposal(Model):
    """Turning a loan's pledged goods into money (`collateral_disposal`): the appraisal, the channel,
    the sale, the proceeds booked through the ledger, the remainder written off (a maker and a
    different checker) and the surplus returned to the borrower."""

    __tablename__ = "disposals"
    __table_args__ = (
        CheckConstraint(_one_of("status", DISPOSAL_STATUSES), name="status"),
        CheckConstraint(_one_of("channel", DISPOSAL_CHANNELS), name="channel"),
        Index("ix_disposals_loan", "loan_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    loan_id: Mapped[int] = mapped_column(BigId, ForeignKey("loans.id"))
    pledge_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("pledges.id"))
    reason: Mapped[str] = mapped_column(String(32))  # margin_call_ignored | liquidation | overdue | ...
    status: Mapped[str] = mapped_column(String(16), default="appraisal")
    appraised_value: Mapped[Decimal | None] = mapped_column(Money)
    report_document_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("application_documents.id"))
    channel: Mapped[str | None] = mapped_column(String(16))
    disposer: Mapped[str | None] = mapped_column(String(200))
    buyer: Mapped[str | None] = mapped_column(String(200))
    price: Mapped[Decimal | None] = mapped_column(Money)
    costs: Mapped[Decimal | None] = mapped_column(Money)
    sold_on: Mapped[date | None] = mapped_column(Date)
    payment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("payments.id"))
    shortfall: Mapped[Decimal | None] = mapped_column(Money)  # owed after the proceeds
    written_off: Mapped[Decimal | None] = mapped_column(Money)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # the write-off's maker
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # its checker
    surplus: Mapped[Decimal | None] = mapped_column(Money)  # returned to the borrower
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
