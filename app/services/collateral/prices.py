"""Recording commodity prices (platform operators and admins, `collateral.prices`): from the API's
JSON or an uploaded CSV file, all rows checked first (one fault: 422, nothing stored), then stored,
and every pledge of each priced goods revalued at its latest price, in one transaction, with the
margin-call and liquidation messages written to the outbox (`pledges.signal_pending`): the
worker delivers them, starting the loan's `pledge_monitoring`."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models.collateral import CommodityPrice
from app.services import clock
from app.services.collateral import pledges, price_input
from app.services.collateral.price_input import PriceRow, match_key
from app.services.identity import policy
from app.services.identity.directory import Principal
from app.services.ledger.loans import business_today


@dataclass
class Recorded:
    prices: list[CommodityPrice]
    crossings: list[pledges.Crossing] = field(default_factory=list)
    revalued: int = 0


def record_json(principal: Principal, raw: object, source: str = "api") -> Recorded:
    policy.require(principal, "collateral.prices")
    return _record(principal, price_input.from_json(raw, business_today()), source)


def record_csv(principal: Principal, filename: str, content: bytes) -> Recorded:
    policy.require(principal, "collateral.prices")
    rows = price_input.from_csv(content, business_today())
    return _record(principal, rows, f"csv:{filename}"[:64])


def _record(principal: Principal, rows: list[PriceRow], source: str) -> Recorded:
    at = clock.now()
    stored = [CommodityPrice(goods=row.goods, goods_key=match_key(row.goods), unit=row.unit,
                             unit_key=match_key(row.unit), price=row.price, as_of=row.as_of, source=source,
                             recorded_by_id=principal.id, created_at=at) for row in rows]
    db.session.add_all(stored)
    db.session.flush()
    pledges.sync_pledges()
    outcome = Recorded(stored)
    for goods_key, unit_key in dict.fromkeys((p.goods_key, p.unit_key) for p in stored):
        revaluation = pledges.revalue(goods_key, unit_key)
        outcome.revalued += revaluation.valued
        outcome.crossings += revaluation.crossings
    pledges.signal_pending()  # the crossings' messages in the outbox, then commit: together or not at all
    return outcome


def recent_prices(principal: Principal, limit: int = 50) -> list[dict[str, Any]]:
    """The latest prices recorded, newest first (the operators' page)."""
    policy.require(principal, "collateral.prices")
    return price_views(db.session.scalars(select(CommodityPrice).order_by(CommodityPrice.id.desc()).limit(limit)))


def price_views(rows: Iterable[CommodityPrice]) -> list[dict[str, Any]]:
    return [{"goods": r.goods, "unit": r.unit, "price": f"{r.price:.2f}", "as_of": r.as_of.isoformat(),
             "source": r.source} for r in rows]


def may_record(principal: Principal) -> bool:
    """Whether the principal records prices (the page's link and guard)."""
    return policy.may_ever(principal, "collateral.prices")
