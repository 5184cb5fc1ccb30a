"""Pledges of active pledge-financing deals and their loan-to-value: valued against the latest price
of their goods, each valuation kept (the LTV history), each crossing into a worse zone recorded
(`pledge_events`) and told to the borrower and the funder's finance; a margin call or a liquidation
is also signalled to the processes as a durable message (`ltv_margin_call`, `ltv_liquidation`)
correlated by the application's number, for the later pledge-monitoring diagram to catch.

A pledge is made the first time prices are recorded after its deal became `active` with its loan
booked (`LOAN-<number>`), from the application's details (goods, quantity, unit). The LTV arithmetic
is `app.lending.ltv`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.lending.ltv import entered, loan_to_value, zone_of
from app.models import Application, Loan, Organisation, Product
from app.models.collateral import CommodityPrice, Pledge, PledgeEvent, PledgeValuation
from app.services import clock
from app.services.collateral.price_input import match_key
from app.services.context import lazy_gettext as _l
from app.services.errors import Forbidden
from app.services.identity import policy
from app.services.identity.directory import Principal
from app.services.ledger.loans import loan_position
from app.services.ledger.posting import Role
from app.services.notices.sending import send
from app.services.workflow.messages import deliver_message

PLEDGE_KIND = "pledge_financing"
TEMPLATES = {"warning": "ltv_warning", "margin_call": "ltv_margin_call", "liquidation": "ltv_liquidation"}
# The message a crossing signals to the processes (the margin call's timer and top-up, disposal).
MESSAGES = {"margin_call": "ltv_margin_call", "liquidation": "ltv_liquidation"}
READERS = _l("Pledges are read by the platform's staff, and by a deal's borrower and its funder's finance.")


@dataclass(frozen=True)
class Crossing:
    event_id: int
    number: str
    zone: str
    ltv: Decimal


def sync_pledges() -> list[Pledge]:
    """Make the pledge of every active pledge-financing deal with a booked loan that has none yet."""
    rows = db.session.execute(
        select(Application, Loan).join(Product, Product.id == Application.product_id)
        .join(Loan, Loan.business_key == "LOAN-" + Application.number)
        .where(Application.status == "active", Product.kind == PLEDGE_KIND,
               ~select(Pledge.id).where(Pledge.application_id == Application.id).exists())
        .order_by(Application.id)).all()
    made = []
    for application, loan in rows:
        details = application.details or {}
        goods, unit = str(details.get("goods", "")), str(details.get("unit", ""))
        pledge = Pledge(application_id=application.id, loan_id=loan.id, goods=goods, goods_key=match_key(goods),
                        unit=unit, unit_key=match_key(unit), quantity=Decimal(str(details.get("quantity", "0"))),
                        created_at=clock.now(), lock_version=0)
        try:
            with db.session.begin_nested():  # another upload made it at the same moment: theirs stands
                db.session.add(pledge)
        except IntegrityError:
            continue
        made.append(pledge)
    return made


def latest_price(goods_key: str, unit_key: str) -> CommodityPrice | None:
    return db.session.scalar(select(CommodityPrice).where(
        CommodityPrice.goods_key == goods_key, CommodityPrice.unit_key == unit_key)
        .order_by(CommodityPrice.as_of.desc(), CommodityPrice.id.desc()).limit(1))


def _lines(application: Application) -> dict[str, Decimal]:
    product = db.session.get(Product, application.product_id)
    ltv = (product.origination or {}).get("ltv", {}) if product is not None else {}
    return {name: Decimal(str(value)) for name, value in ltv.items()}


def _percent(ratio: Decimal) -> str:
    return f"{ratio * 100:.2f}%"


@dataclass
class Revaluation:
    valued: int = 0  # pledges given a new valuation
    crossings: list[Crossing] = field(default_factory=list)


def revalue(goods_key: str, unit_key: str) -> Revaluation:
    """Value every open pledge of these goods at their latest price; the crossings it made."""
    outcome = Revaluation()
    price = latest_price(goods_key, unit_key)
    if price is None:
        return outcome
    pledges = list(db.session.scalars(select(Pledge).where(Pledge.goods_key == goods_key, Pledge.unit_key == unit_key)
                                      .order_by(Pledge.id).with_for_update()))
    for pledge in pledges:
        valued, crossing = _value(pledge, price)
        outcome.valued += valued
        if crossing is not None:
            outcome.crossings.append(crossing)
    return outcome


def _value(pledge: Pledge, price: CommodityPrice) -> tuple[bool, Crossing | None]:
    loan = db.session.get(Loan, pledge.loan_id)
    application = db.session.get(Application, pledge.application_id)
    if loan is None or application is None or loan.status != "active":
        return False, None  # a closed loan's goods are being released: nothing to watch
    principal = loan_position(loan.id)[Role.LOAN_PORTFOLIO]
    if pledge.price_id == price.id and pledge.principal == principal:
        return False, None  # nothing new: the same price and principal give the same LTV
    lines = _lines(application)
    ltv = loan_to_value(principal, pledge.quantity, price.price)
    zone = zone_of(ltv, lines)
    at = clock.now()
    value = (pledge.quantity * price.price).quantize(Decimal("0.01"))
    valuation = PledgeValuation(pledge_id=pledge.id, price_id=price.id, price=price.price, quantity=pledge.quantity,
                                principal=principal, value=value, ltv=ltv, zone=zone, at=at)
    db.session.add(valuation)
    db.session.flush()
    crossed = entered(pledge.zone, zone)
    pledge.principal, pledge.price_id, pledge.value, pledge.ltv, pledge.zone, pledge.valued_at = \
        principal, price.id, value, ltv, zone, at
    pledge.lock_version += 1
    if crossed is None:
        return True, None
    event = PledgeEvent(pledge_id=pledge.id, valuation_id=valuation.id, kind=crossed, ltv=ltv,
                        message=MESSAGES.get(crossed), at=at)
    db.session.add(event)
    db.session.flush()
    params = {"number": application.number, "goods": pledge.goods, "unit": pledge.unit, "price": f"{price.price:,.2f}",
              "as_of": price.as_of.isoformat(), "value": f"{value:,.2f}", "principal": f"{principal:,.2f}",
              "ltv": _percent(ltv), "line": _percent(lines[crossed])}
    for party, org_id in (("borrower", application.borrower_org_id), ("funder", application.funder_org_id)):
        send(TEMPLATES[crossed], params, org_id=org_id, roles=policy.party_roles("collateral.read", party),
             business_key=application.number, idempotency_key=f"pledge-event:{event.id}:{party}")
    return True, Crossing(event.id, application.number, crossed, ltv)


def signal_pending() -> int:
    """Deliver the margin-call and liquidation messages of crossings not yet signalled (after the
    crossing committed); each a durable message deduplicated by its event, so twice is once."""
    pending = list(db.session.execute(
        select(PledgeEvent.id, PledgeEvent.message, PledgeEvent.kind, PledgeEvent.ltv, Pledge.id, Pledge.loan_id,
               Application.number)
        .join(Pledge, Pledge.id == PledgeEvent.pledge_id).join(Application, Application.id == Pledge.application_id)
        .where(PledgeEvent.message.is_not(None), PledgeEvent.signalled_at.is_(None)).order_by(PledgeEvent.id)))
    db.session.commit()
    for event_id, message, kind, ltv, pledge_id, loan_id, number in pending:
        payload = {"event_id": event_id, "pledge_id": pledge_id, "loan_id": loan_id, "application": number,
                   "zone": kind, "ltv": f"{ltv:.4f}"}
        deliver_message(str(message), number, payload, durable=True, dedup_key=f"pledge-event:{event_id}")
        row = db.session.get(PledgeEvent, event_id)
        if row is not None:
            row.signalled_at = clock.now()
        db.session.commit()
    return len(pending)


# -- reading -------------------------------------------------------------------------------------

def _visible(principal: Principal, application: Application) -> bool:
    return policy.allowed(principal, "collateral.read",
                          parties={"borrower": application.borrower_org_id, "funder": application.funder_org_id})


def pledge_views(principal: Principal) -> list[dict[str, Any]]:
    """The pledges the principal may read (the platform's staff all; a deal's borrower and funder's
    finance their own), each with its latest price, LTV, zone and the product's lines; 403 for those
    who can read none (a reviewer, a core enterprise, a warehouse)."""
    if not policy.may_ever(principal, "collateral.read"):
        raise Forbidden(READERS)
    rows = db.session.execute(
        select(Pledge, Application, Organisation.name, CommodityPrice)
        .join(Application, Application.id == Pledge.application_id)
        .join(Organisation, Organisation.id == Application.borrower_org_id)
        .outerjoin(CommodityPrice, CommodityPrice.id == Pledge.price_id).order_by(Pledge.id)).all()
    return [_view(pledge, application, borrower, price) for pledge, application, borrower, price in rows
            if _visible(principal, application)]


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _view(pledge: Pledge, application: Application, borrower: str, price: CommodityPrice | None) -> dict[str, Any]:
    return {
        "id": pledge.id, "application": application.number, "borrower": borrower, "loan_id": pledge.loan_id,
        "goods": pledge.goods, "unit": pledge.unit, "quantity": f"{pledge.quantity.normalize():f}",
        "principal": _money(pledge.principal), "price": _money(price.price if price else None),
        "price_as_of": price.as_of.isoformat() if price else None, "value": _money(pledge.value),
        "ltv": None if pledge.ltv is None else f"{pledge.ltv:.4f}", "zone": pledge.zone,
        "lines": {name: f"{value:.4f}" for name, value in _lines(application).items()},
        "valued_at": pledge.valued_at,
    }
