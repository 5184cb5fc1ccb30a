"""Margin calls and releases: what the loan's `pledge_monitoring` instance does with a crossing, and
the goods released in proportion to the principal repaid (docs/collateral.md).

A margin call gives the borrower a deadline (the diagram's `deadline_days`, or the product's
`origination.margin_call_days`) to top up goods, which the warehouse supervisor confirms
(`top_up`), or repay. The LTV is then recomputed at the goods' latest price: under the margin-call
line the call is answered; at the deadline (`at_deadline`) a call not answered hands the goods to
disposal. A liquidation crossing does that at once. Disposal is asked for through the outbox
(`disposal_requested`, starting `collateral_disposal`), as collections will for a loan 91+ days past
due.
"""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Application, Loan, Product
from app.models.collateral import MarginCall, Pledge, PledgeEvent, PledgeMovement
from app.services import clock
from app.services.collateral import disposal, pledges
from app.services.context import business_tz
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.identity import policy
from app.services.identity.audit import audit
from app.services.identity.directory import Principal
from app.services.ledger.loans import loan_position
from app.services.ledger.posting import Role
from app.services.notices.sending import send
from app.services.workflow.outbox import enqueue

QUANTUM = Decimal("0.0001")  # quantities are kept to 4 places
WRITTEN = re.compile(r"[0-9]+(\.[0-9]+)?")  # a quantity as people write it: digits, a decimal point ("1e1" is no quantity)
DEFAULT_DEADLINE_DAYS = 3
RELEASERS = _l("Goods are released by the warehouse supervisor of the deal's warehouse.")


class MonitoringError(RuntimeError):
    """A `pledge_monitoring` instance whose loan has no pledge or crossing to act on."""


def _pledge_of(business_key: str | None, lock: bool = True) -> tuple[Pledge, Loan, Application]:
    loan = db.session.scalar(select(Loan).where(Loan.business_key == str(business_key or "")))
    if loan is None:
        raise MonitoringError(f"no loan {business_key!r}")
    query = select(Pledge).where(Pledge.loan_id == loan.id)
    pledge = db.session.scalar(query.with_for_update() if lock else query)
    if pledge is None:
        raise MonitoringError(f"loan {business_key} has no pledge")
    application = db.session.get(Application, pledge.application_id)
    assert application is not None
    return pledge, loan, application


def _lines(application: Application) -> dict[str, Decimal]:
    product = db.session.get(Product, application.product_id)
    ltv = (product.origination or {}).get("ltv", {}) if product is not None else {}
    return {name: Decimal(str(value)) for name, value in ltv.items()}


def _deadline_days(application: Application, default: int) -> int:
    product = db.session.get(Product, application.product_id)
    value = (product.origination or {}).get("margin_call_days") if product is not None else None
    try:
        days = int(value) if value is not None else int(default)
    except (TypeError, ValueError):
        days = DEFAULT_DEADLINE_DAYS
    return max(1, min(days, 90))


def _open_call(pledge: Pledge) -> MarginCall | None:
    return db.session.scalar(select(MarginCall).where(MarginCall.pledge_id == pledge.id, MarginCall.status == "open")
                             .order_by(MarginCall.id.desc()).limit(1))


def _summary(call: MarginCall, pledge: Pledge, application: Application) -> dict[str, Any]:
    deadline = call.deadline.astimezone(business_tz()) if call.deadline else None
    return {"margin_call_id": call.id, "kind": call.kind, "status": call.status, "pledge_id": pledge.id,
            "loan_id": pledge.loan_id, "application": application.number, "goods": pledge.goods,
            "unit": pledge.unit, "quantity": f"{pledge.quantity.normalize():f}", "ltv": f"{call.ltv:.4f}",
            "deadline": deadline.isoformat() if deadline else None,
            "deadline_text": deadline.strftime("%Y-%m-%d %H:%M") if deadline else None}


def open_margin_call(business_key: str | None, deadline_days: int = DEFAULT_DEADLINE_DAYS) -> dict[str, Any]:
    """The crossing that started the instance, kept as a margin call: a margin call gets its deadline
    (told to the borrower); a liquidation asks for disposal at once. The same instance retried
    finds the call it made."""
    pledge, loan, application = _pledge_of(business_key)
    event = db.session.scalar(
        select(PledgeEvent).where(PledgeEvent.pledge_id == pledge.id, PledgeEvent.message.is_not(None),
                                  ~select(MarginCall.id).where(MarginCall.event_id == PledgeEvent.id).exists())
        .order_by(PledgeEvent.id.desc()).limit(1))
    if event is None:
        existing = _open_call(pledge)
        if existing is not None:
            return _summary(existing, pledge, application)
        raise MonitoringError(f"loan {business_key} has no margin call or liquidation to act on")
    at = clock.now()
    kind = "liquidation" if event.kind == "liquidation" else "margin_call"
    call = MarginCall(pledge_id=pledge.id, loan_id=loan.id, event_id=event.id, kind=kind, status="open", ltv=event.ltv,
                      opened_at=at)
    if kind == "margin_call":
        call.deadline = at + timedelta(days=_deadline_days(application, deadline_days))
    db.session.add(call)
    db.session.flush()
    if kind == "liquidation":
        _to_disposal(call, pledge, loan, application, "liquidation")
    else:
        summary = _summary(call, pledge, application)
        send("margin_call_deadline", {"number": application.number, "goods": pledge.goods, "unit": pledge.unit,
                                      "ltv": f"{event.ltv * 100:.2f}%", "deadline": summary["deadline_text"]},
             org_id=application.borrower_org_id, roles=policy.party_roles("collateral.read", "borrower"),
             business_key=application.number, idempotency_key=f"margin-call:{call.id}")
    return _summary(call, pledge, application)


def _check(call: MarginCall, pledge: Pledge, loan: Loan, application: Application) -> bool:
    """Whether the LTV is back under the margin-call line (at the latest price, the principal now);
    a loan no longer active owes nothing to cover."""
    if loan.status != "active":
        return True
    pledges.revalue_one(pledge)
    if pledge.ltv is None:
        return False
    line = _lines(application).get("margin_call")
    answered = line is not None and pledge.ltv < line
    if answered:
        pledges.signal(commit=False)  # a worse crossing cannot come of a top-up or a repayment; kept for form
    return answered


def _answered(call: MarginCall, pledge: Pledge) -> None:
    call.status, call.resolved_at, call.resolved_ltv = "answered", clock.now(), pledge.ltv


def top_up(business_key: str | None, quantity: object, user_id: int | None, note: str | None = None) -> dict[str, Any]:
    """The warehouse confirmed goods added to the pledge: the quantity grows, the LTV is recomputed;
    `answered` when it is back under the margin-call line."""
    try:
        added = _quantity(quantity, "quantity_added")
    except Invalid:
        added = Decimal(0)  # nothing added (the form lets 0 through): the LTV is checked all the same
    pledge, loan, application = _pledge_of(business_key)
    call = _open_call(pledge)
    if call is None:
        raise MonitoringError(f"loan {business_key} has no open margin call")
    if added > 0:
        pledge.quantity += added
        pledge.lock_version += 1
        db.session.add(PledgeMovement(pledge_id=pledge.id, kind="top_up", quantity=added,
                                      quantity_after=pledge.quantity, note=note or None, by_id=user_id, at=clock.now()))
        db.session.flush()
    answered = _check(call, pledge, loan, application)
    if answered:
        _answered(call, pledge)
    audit("collateral.top_up", user_id, target=application.number, pledge=pledge.id, quantity=str(added),
          ltv=None if pledge.ltv is None else str(pledge.ltv))
    return {"answered": answered, "quantity": f"{pledge.quantity.normalize():f}",
            "ltv": None if pledge.ltv is None else f"{pledge.ltv:.4f}", "zone": pledge.zone}


def at_deadline(business_key: str | None) -> dict[str, Any]:
    """The deadline passed (or the loan was repaid): answered when the LTV is under the margin-call
    line now, else the goods go to disposal."""
    pledge, loan, application = _pledge_of(business_key)
    call = _open_call(pledge)
    if call is None:
        return {"answered": True, "ltv": None}
    answered = _check(call, pledge, loan, application)
    if answered:
        _answered(call, pledge)
    else:
        _to_disposal(call, pledge, loan, application, "margin_call_expired")
    return {"answered": answered, "ltv": None if pledge.ltv is None else f"{pledge.ltv:.4f}"}


def liquidate(business_key: str | None) -> dict[str, Any]:
    """A liquidation crossing while a margin call was open: disposal at once."""
    pledge, loan, application = _pledge_of(business_key)
    call = _open_call(pledge)
    if call is None:
        return {"disposal": False}
    event = db.session.scalar(select(PledgeEvent).where(PledgeEvent.pledge_id == pledge.id,
                                                        PledgeEvent.kind == "liquidation")
                              .order_by(PledgeEvent.id.desc()).limit(1))
    if event is not None and call.event_id is not None and event.id > call.event_id:
        call.kind, call.ltv = "liquidation", event.ltv
    _to_disposal(call, pledge, loan, application, "liquidation")
    return {"disposal": True}


def _to_disposal(call: MarginCall, pledge: Pledge, loan: Loan, application: Application, reason: str) -> None:
    at = clock.now()
    call.status, call.resolved_at, call.resolved_ltv = "disposal", at, pledge.ltv
    for event in db.session.scalars(select(PledgeEvent).where(PledgeEvent.pledge_id == pledge.id,
                                                              PledgeEvent.signalled_at.is_(None))):
        event.signalled_at = at  # the goods go to disposal: a crossing made on the way starts nothing more
    request_disposal(loan, reason, pledges.deal_parties(application), f"margin-call:{call.id}",
                     pledge_id=pledge.id, margin_call_id=call.id)


def request_disposal(loan: Loan, reason: str, parties: dict[str, str], dedup: str, **extra: Any) -> bool:
    """Ask for the loan's collateral to be disposed of: the outbox message `disposal_requested`
    under the loan's key, starting `collateral_disposal` (collections asks the same way)."""
    payload = {"loan_id": loan.id, "reason": reason, "parties": parties, **extra}
    return enqueue("disposal_requested", loan.business_key, payload, f"disposal:{dedup}", loan_id=loan.id,
                   start_process="collateral_disposal")


# -- releases in proportion to repayment -----------------------------------------------------------

def _quantity(value: object, name: str) -> Decimal:
    text = str(value).strip()
    try:
        amount = Decimal(text) if WRITTEN.fullmatch(text) else Decimal(-1)
    except ArithmeticError:
        amount = Decimal(-1)
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(QUANTUM) or amount >= Decimal("1e14"):
        message = _l("Give a quantity above 0 with at most 4 decimals.")
        raise Invalid(message, {name: [message]})
    return amount


def releasable(pledge: Pledge, loan: Loan) -> Decimal:
    """What may be released now: the quantity ever pledged × principal repaid / principal, less what
    was released (rounded down to 4 places; at most what is pledged)."""
    if pledge.status != "active" or loan.principal <= 0:
        return Decimal(0)
    outstanding = loan_position(loan.id)[Role.LOAN_PORTFOLIO] if loan.status == "active" else Decimal(0)
    repaid = max(loan.principal - outstanding, Decimal(0))
    ever = pledge.quantity + pledge.released
    due = (ever * repaid / loan.principal).quantize(QUANTUM, rounding=ROUND_DOWN) - pledge.released
    return max(min(due, pledge.quantity), Decimal(0))


def may_release(principal: Principal, pledge_id: int) -> bool:
    row = db.session.execute(select(Pledge, Application).join(Application, Application.id == Pledge.application_id)
                             .where(Pledge.id == pledge_id)).first()
    return row is not None and policy.allowed(principal, "collateral.release", parties=pledges.party_ids(row[1]))


def release(principal: Principal, pledge_id: int, quantity: object, note: str | None = None) -> dict[str, Any]:
    """The warehouse supervisor releases goods of the pledge: at most the releasable quantity (else
    422 naming `quantity`); the release is recorded, the LTV recomputed, the borrower told."""
    row = db.session.execute(select(Pledge, Application).join(Application, Application.id == Pledge.application_id)
                             .where(Pledge.id == pledge_id).with_for_update(of=Pledge)).first()
    if row is None or not pledges.visible(principal, row[1]):
        raise NotFound(_l("No such pledge."))
    pledge, application = row
    if not policy.allowed(principal, "collateral.release", parties=pledges.party_ids(application)):
        raise Forbidden(RELEASERS)
    wanted = _quantity(quantity, "quantity")
    loan = db.session.get(Loan, pledge.loan_id)
    assert loan is not None
    if pledge.status != "active":
        raise Conflict(_l("The pledge is being disposed of: nothing can be released."))
    available = releasable(pledge, loan)
    if wanted > available:
        message = _l("At most %(quantity)s %(unit)s can be released now (in proportion to the principal repaid).",
                     quantity=f"{available.normalize():f}", unit=pledge.unit)
        raise Invalid(message, {"quantity": [message]})
    repaid = loan.principal - (loan_position(loan.id)[Role.LOAN_PORTFOLIO] if loan.status == "active" else 0)
    pledge.quantity -= wanted
    pledge.released += wanted
    pledge.lock_version += 1
    movement = PledgeMovement(pledge_id=pledge.id, kind="release", quantity=wanted, quantity_after=pledge.quantity,
                              principal_repaid=repaid, note=note or None, by_id=principal.id, at=clock.now())
    db.session.add(movement)
    db.session.flush()
    if pledge.quantity > 0:
        pledges.revalue_one(pledge)
    audit("collateral.release", principal.id, target=application.number, pledge=pledge.id, quantity=str(wanted),
          principal_repaid=str(repaid))
    send("pledge_released", {"number": application.number, "goods": pledge.goods, "unit": pledge.unit,
                             "quantity": f"{wanted.normalize():f}", "left": f"{pledge.quantity.normalize():f}"},
         org_id=application.borrower_org_id, roles=policy.party_roles("collateral.read", "borrower"),
         business_key=application.number, idempotency_key=f"pledge-release:{movement.id}")
    db.session.commit()
    return movement_view(movement, pledge.unit)


def movement_view(movement: PledgeMovement, unit: str) -> dict[str, Any]:
    return {"id": movement.id, "kind": movement.kind, "quantity": f"{movement.quantity.normalize():f}",
            "quantity_after": f"{movement.quantity_after.normalize():f}", "unit": unit,
            "principal_repaid": None if movement.principal_repaid is None else f"{movement.principal_repaid:.2f}",
            "note": movement.note, "at": movement.at}


def history(pledge_id: int) -> list[dict[str, Any]]:
    """A pledge's movements (top-ups, releases, disposal), oldest first (callers check who reads)."""
    pledge = db.session.get(Pledge, pledge_id)
    if pledge is None:
        return []
    return [movement_view(m, pledge.unit) for m in db.session.scalars(
        select(PledgeMovement).where(PledgeMovement.pledge_id == pledge_id).order_by(PledgeMovement.id))]


def margin_call_views(pledge_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each pledge's margin calls, newest first."""
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in pledge_ids}
    if not pledge_ids:
        return found
    for call in db.session.scalars(select(MarginCall).where(MarginCall.pledge_id.in_(pledge_ids))
                                   .order_by(MarginCall.id.desc())):
        found[call.pledge_id].append({
            "id": call.id, "kind": call.kind, "status": call.status, "ltv": f"{call.ltv:.4f}",
            "deadline": call.deadline, "opened_at": call.opened_at, "resolved_at": call.resolved_at,
            "resolved_ltv": None if call.resolved_ltv is None else f"{call.resolved_ltv:.4f}"})
    return found


def pledge_details(principal: Principal) -> list[dict[str, Any]]:
    """`pledges.pledge_views` with what monitoring adds: the pledge's status, what was released and
    may be released now (and whether the principal may release it), its history of movements, its
    margin calls with their deadlines, and its disposals."""
    views = pledges.pledge_views(principal)
    ids = [view["id"] for view in views]
    calls = margin_call_views(ids)
    sales = disposal.disposal_views(ids)
    rows = {p.id: p for p in db.session.scalars(select(Pledge).where(Pledge.id.in_(ids)))} if ids else {}
    for view in views:
        pledge = rows[view["id"]]
        loan = db.session.get(Loan, pledge.loan_id)
        assert loan is not None
        view.update({"status": pledge.status, "released": f"{pledge.released.normalize():f}",
                     "releasable": f"{releasable(pledge, loan).normalize():f}",
                     "may_release": may_release(principal, pledge.id), "history": history(pledge.id),
                     "margin_calls": calls[pledge.id], "disposals": sales[pledge.id]})
    return views
