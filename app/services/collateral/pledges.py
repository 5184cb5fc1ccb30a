"""Pledges of active pledge-financing deals and their loan-to-value: valued against the latest price
of their goods, each valuation kept (the LTV history), each crossing into a worse zone recorded
(`pledge_events`) and told to the borrower and the funder's finance; a margin call or a liquidation
is also written to the outbox (`ltv_margin_call`, `ltv_liquidation`) under the loan's business key,
starting the loan's `pledge_monitoring` instance (or delivered to the one open).

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
from app.services.workflow.outbox import enqueue

PLEDGE_KIND = "pledge_financing"
TEMPLATES = {"warning": "ltv_warning", "margin_call": "ltv_margin_call", "liquidation": "ltv_liquidation"}
# The message a crossing signals to the processes (the margin call's timer and top-up, disposal).
MESSAGES = {"margin_call": "ltv_margin_call", "liquidation": "ltv_liquidation"}
READERS = _l("Pledged goods are read by the platform's staff, and by a deal's borrower, its funder's finance and its "
             "warehouse.")


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


def _value(pledge: Pledge, price: CommodityPrice, force: bool = False) -> tuple[bool, Crossing | None]:
    """Value the pledge at `price`; `force`: even when the price and principal are unchanged (its
    quantity changed: a top-up or a release)."""
    loan = db.session.get(Loan, pledge.loan_id)
    application = db.session.get(Application, pledge.application_id)
    if loan is None or application is None or loan.status != "active" or pledge.status != "active":
        return False, None  # a closed loan's goods are being released, disposed goods are sold: nothing to watch
    principal = loan_position(loan.id)[Role.LOAN_PORTFOLIO]
    if not force and pledge.price_id == price.id and pledge.principal == principal:
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


def revalue_one(pledge: Pledge) -> Crossing | None:
    """Value one pledge again at its goods' latest price (its quantity or principal changed); the
    crossing it made, if any. A pledge whose goods have no price yet stays unvalued."""
    price = latest_price(pledge.goods_key, pledge.unit_key)
    if price is None:
        return None
    return _value(pledge, price, force=True)[1]


def deal_parties(application: Application) -> dict[str, str]:
    """The deal's organisations by party, as codes (what an outbox message's `parties` binds):
    the borrower, the funder and the warehouse of the goods (origination's `deal_parties`, read here
    from the application's row: collateral may not import origination)."""
    ids = [application.borrower_org_id, application.funder_org_id]
    codes = dict(db.session.execute(select(Organisation.id, Organisation.code).where(Organisation.id.in_(ids))).all())
    parties = {"borrower": codes[application.borrower_org_id]}
    if application.funder_org_id in codes:
        parties["funder"] = codes[application.funder_org_id]
    warehouse = (application.details or {}).get("warehouse")
    if warehouse:
        parties["warehouse"] = str(warehouse)
    return parties


def signal_pending() -> int:
    """Write the margin-call and liquidation messages of crossings not yet signalled to the outbox,
    each under the loan's business key, starting its `pledge_monitoring` (or going to the one open);
    deduplicated by the event, so twice is once. The worker's `deliver_outbox` delivers them. Commits."""
    return signal(commit=True)


def signal(commit: bool) -> int:
    """`signal_pending`, committing or not (an operator's step commits with the engine's)."""
    pending = list(db.session.execute(
        select(PledgeEvent, Pledge, Application, Loan)
        .join(Pledge, Pledge.id == PledgeEvent.pledge_id).join(Application, Application.id == Pledge.application_id)
        .join(Loan, Loan.id == Pledge.loan_id)
        .where(PledgeEvent.message.is_not(None), PledgeEvent.signalled_at.is_(None)).order_by(PledgeEvent.id)))
    for event, pledge, application, loan in pending:
        payload = {"event_id": event.id, "pledge_id": pledge.id, "loan_id": loan.id, "application": application.number,
                   "zone": event.kind, "ltv": f"{event.ltv:.4f}", "parties": deal_parties(application)}
        enqueue(str(event.message), loan.business_key, payload, f"pledge-event:{event.id}", loan_id=loan.id,
                start_process="pledge_monitoring")
        event.signalled_at = clock.now()
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return len(pending)


# -- reading -------------------------------------------------------------------------------------

def visible(principal: Principal, application: Application) -> bool:
    """Whether the principal reads the deal's pledge (`collateral.read`)."""
    return _visible(principal, application)


def party_ids(application: Application) -> dict[str, int | None]:
    """The deal's organisations by party, as ids: the borrower, the funder and the goods' warehouse."""
    code = (application.details or {}).get("warehouse")
    warehouse = db.session.scalar(select(Organisation.id).where(Organisation.code == str(code))) if code else None
    return {"borrower": application.borrower_org_id, "funder": application.funder_org_id, "warehouse": warehouse}


def _visible(principal: Principal, application: Application) -> bool:
    return policy.allowed(principal, "collateral.read", parties=party_ids(application))


def may_read(principal: Principal) -> bool:
    """Whether the principal could read some pledge (the page's link and guard)."""
    return policy.may_ever(principal, "collateral.read")


def pledge_views(principal: Principal) -> list[dict[str, Any]]:
    """The pledges the principal may read (the platform's staff all; a deal's borrower and funder's
    finance and warehouse supervisor their own), each with its latest price, LTV, zone and the
    product's lines; 403 for those who can read none (a reviewer, a core enterprise)."""
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
