"""The case's reads and records: the loan's position as collections sees it, the contact window,
the reminder SMS, the referral, a contact kept and a promise checked.

Every function runs inside the engine's step (an operator's call) and never commits.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, select

from app.engine.said import said
from app.extensions import db
from app.models import Instalment, InstanceParty, Loan, Organisation, Payment, Product, User
from app.models.identity import OrgKind
from app.models.loan import ZERO
from app.services import clock
from app.services.context import business_tz
from app.services.errors import Invalid
from app.services.identity import grants, policy
from app.services.ledger.loans import amounts_overdue, owed
from app.services.ledger.repayments import quote_payoff
from app.services.notices import sending

WINDOW_OPENS, WINDOW_CLOSES = time(8, 0), time(21, 0)  # borrowers are contacted only in these hours
AGENCY = "collection_agency"  # the party (org kind) that works a case's contacts, and buys debts
PLEDGE_KIND = "pledge_financing"  # a product whose deals have pledged goods: disposal, not litigation
FOLLOW_UP = timedelta(days=35)  # without a promise: decided again when the bucket moves, or after 35 days (91+ moves no more)
CHECK_AT = time(9, 0)  # a promise is checked at 09:00 China time the day after its date

# What each action is called, in both languages (the case's key data and the case list).
ACTIONS: dict[str, tuple[str, str]] = {
    "none": ("Nothing to do", "无需催收"),
    "sms_phone": ("SMS and phone call", "短信及电话催收"),
    "phone": ("Phone call", "电话催收"),
    "field_visit": ("Field visit", "上门催收"),
    "demand_letter": ("Formal demand letter", "正式催收函"),
    "litigation": ("Litigation", "诉讼"),
    "disposal": ("Collateral disposal", "处置质押物"),
}


def china() -> ZoneInfo:
    """China time: the business time zone (LOANFLOW_TIMEZONE, China's by default)."""
    return business_tz()


def bind_agency(instance_id: int, org_id: int) -> None:
    """`org_id` becomes the case's `collection_agency` party, whose collections agents work its
    contacts (within the step: the instance's row is the step's, its parties rows of their own)."""
    db.session.execute(delete(InstanceParty).where(InstanceParty.instance_id == instance_id,
                                                   InstanceParty.party == AGENCY))
    db.session.execute(insert(InstanceParty).values(instance_id=instance_id, party=AGENCY, org_id=org_id))


def platform_works(instance_id: int | None) -> None:
    """A case no agency works yet is the platform's: its own collections agents work it."""
    if instance_id is None or db.session.scalar(select(InstanceParty.org_id).where(
            InstanceParty.instance_id == instance_id, InstanceParty.party == AGENCY)) is not None:
        return
    platform = db.session.scalar(select(OrgKind.org_id).where(OrgKind.kind == grants.PLATFORM).order_by(OrgKind.org_id))
    if platform is not None:
        bind_agency(instance_id, platform)


def loan_of(business_key: str | None) -> Loan:
    loan = db.session.scalar(select(Loan).where(Loan.business_key == str(business_key or ""))
                             .execution_options(populate_existing=True))
    if loan is None:
        raise LookupError(said("no loan has the business key %(key)s", key=repr(business_key)))
    return loan


def amount_overdue(loan_id: int) -> Decimal:
    """What the overdue instalments still owe: principal, billed interest, penalties and fees."""
    return amounts_overdue([loan_id])[loan_id]


def penalty_owed(loan_id: int) -> Decimal:
    """The penalty interest billed and not yet paid or waived: what a waiver may forgive at most (`adjustments.waive`)."""
    return sum((r.penalty_due - r.penalty_paid - r.penalty_waived for r in db.session.scalars(
        select(Instalment).where(Instalment.loan_id == loan_id, Instalment.is_current)
        .execution_options(populate_existing=True))), ZERO)


def payoff(loan_id: int | None) -> str | None:
    """What settles the loan today (its payoff, the borrower's credit used): a promise to pay is at most it
    (`maximumFrom: payoff` on the contact form); None when the ledger quotes none (a loan no longer active)."""
    if loan_id is None:
        return None
    try:
        return str(quote_payoff(loan_id)["to_pay"])
    except Invalid:
        return None


def standing(loan_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each loan as it stands now (as of the last batch): dpd, bucket and what its overdue instalments owe."""
    owed = amounts_overdue(loan_ids)
    return {loan.id: {"dpd": loan.dpd, "bucket": loan.bucket, "amount_overdue": str(owed[loan.id])}
            for loan in db.session.scalars(select(Loan).where(Loan.id.in_(loan_ids)))} if loan_ids else {}


def overdue_bills(loan_id: int) -> list[dict[str, Any]]:
    """The loan's overdue bills as the collector asks for them (the collector has no loan page): number, due
    date and what each still owes, penalties included."""
    return [{"number": r.number, "due_date": r.due_date, "owed": owed(r)} for r in db.session.scalars(
        select(Instalment).where(Instalment.loan_id == loan_id, Instalment.is_current, Instalment.status == "overdue")
        .order_by(Instalment.number))]


def reach(org_ids: list[int]) -> dict[int, list[dict[str, str]]]:
    """How each borrower is reached: its active users' names, mobiles and e-mail addresses (those who have one)."""
    found: dict[int, list[dict[str, str]]] = {org_id: [] for org_id in org_ids}
    if not org_ids:
        return found
    for user in db.session.scalars(select(User).where(User.org_id.in_(org_ids), User.active,
                                                      (User.mobile.isnot(None)) | (User.email.isnot(None)))
                                   .order_by(User.id)):
        found[user.org_id].append({"name": user.display_name or user.username, "mobile": user.mobile or "",
                                   "email": user.email or ""})
    return found


def position(business_key: str | None) -> dict[str, Any]:
    """The case's view of its loan (`collections.open`): dpd and bucket as of the last batch; `as_of` the day it
    was read (its tasks show these figures as of that day: the case page shows them as they stand)."""
    loan = loan_of(business_key)
    borrower = db.session.get(Organisation, loan.borrower_org_id)
    kind = db.session.scalar(select(Product.kind).where(Product.id == loan.product_id))
    return {"loan_id": loan.id, "loan": loan.business_key, "borrower": borrower.name if borrower else "",
            "status": loan.status, "dpd": loan.dpd, "bucket": loan.bucket,
            "amount_overdue": str(amount_overdue(loan.id)), "penalty_owed": str(penalty_owed(loan.id)),
            "payoff": payoff(loan.id), "pledged": kind == PLEDGE_KIND,
            "as_of": clock.now().astimezone(china()).date().isoformat()}  # the day these figures were read


def action_names(action: str) -> dict[str, str]:
    english, chinese = ACTIONS.get(action, (action, action))
    return {"action": action, "name_en": english, "name_zh": chinese}


def in_window(at: datetime) -> bool:
    local = at.astimezone(china()).time()
    return WINDOW_OPENS <= local < WINDOW_CLOSES


def window(at: datetime | None = None) -> dict[str, Any]:
    """Whether borrowers may be contacted now, and when the window next opens (08:00 China time)."""
    at = at or clock.now()
    local = at.astimezone(china())
    opens_on = local.date() if local.time() < WINDOW_OPENS else local.date() + timedelta(days=1)
    opens_at = datetime.combine(opens_on, WINDOW_OPENS, tzinfo=china())
    return {"open": in_window(at), "opens_at": opens_at.isoformat(), "now": local.isoformat()}


def _borrower_roles() -> list[str]:
    return sorted(policy.party_roles("repayments.online", "borrower"))  # who pays the loan is told


def send_reminder(business_key: str | None, idempotency_key: str) -> dict[str, Any]:
    """The reminder SMS (and in-app notice) to the borrower's applicants; never outside the window."""
    if not in_window(clock.now()):
        raise RuntimeError(said("a reminder is sent only between 08:00 and 21:00 China time"))
    loan = loan_of(business_key)
    sent = sending.send("collections_reminder", {
        "loan": loan.business_key, "amount": f"{amount_overdue(loan.id):,.2f}", "dpd": loan.dpd},
        org_id=loan.borrower_org_id, roles=_borrower_roles(), business_key=loan.business_key,
        idempotency_key=f"collections:{idempotency_key}")
    return {"sent": len(sent), "at": clock.now().isoformat()}


def refer(business_key: str | None, action: str, idempotency_key: str) -> dict[str, Any]:
    """Litigation or disposal: the funder's finance is told; the case goes on recording contacts."""
    loan = loan_of(business_key)
    names = action_names(action)
    sending.send("collections_escalated", {"loan": loan.business_key, "dpd": loan.dpd,
                                           "action_en": names["name_en"], "action_zh": names["name_zh"],
                                           "amount": f"{amount_overdue(loan.id):,.2f}"},
                 org_id=loan.funder_org_id, roles=sorted(policy.party_roles("payments.confirm", "funder")),
                 business_key=loan.business_key, idempotency_key=f"collections:{idempotency_key}")
    return {"referred": action, "on": clock.now().astimezone(china()).date().isoformat()}


def _day(value: Any) -> date | None:
    return date.fromisoformat(str(value)) if value not in (None, "") else None


def record_contact(answer: dict[str, Any]) -> dict[str, Any]:
    """A contact as the agent recorded it (its form checked the hours); when the case checks next."""
    contacted_on = _day(answer.get("contact_date")) or clock.now().astimezone(china()).date()
    hour, minute = (int(p) for p in str(answer.get("contact_time") or "00:00").split(":"))
    at = datetime.combine(contacted_on, time(hour, minute), tzinfo=china())
    if not (WINDOW_OPENS <= at.time() <= WINDOW_CLOSES):  # the form refuses it first; a diagram's data cannot
        raise ValueError(said("a contact is recorded only between 08:00 and 21:00 China time"))
    promise_date = _day(answer.get("promise_date")) if answer.get("outcome") == "promised" else None
    now = clock.now().astimezone(china())
    if promise_date is not None:  # checked the morning after the promised date
        check = datetime.combine(promise_date + timedelta(days=1), CHECK_AT, tzinfo=china())
    else:
        check = datetime.combine(now.date() + FOLLOW_UP, CHECK_AT, tzinfo=china())
    promised = promise_date is not None
    return {"promised": promised, "contacted_at": at.isoformat(), "check_at": max(check, now + timedelta(minutes=1))
            .isoformat()}


def check_promise(business_key: str | None, promised: bool, promise_date: Any, promise_amount: Any,
                  contact_date: Any) -> dict[str, Any]:
    """Kept: the loan repaid, or booked payments from the contact to the promise date reach the amount."""
    loan = loan_of(business_key)
    if not promised:
        return {"outcome": "follow_up", "paid": "0.00"}
    start, end = _day(contact_date), _day(promise_date)
    paid = db.session.scalar(select(func.coalesce(func.sum(Payment.amount), 0)).where(
        Payment.loan_id == loan.id, Payment.status == "booked",
        Payment.booked_on >= start, Payment.booked_on <= end)) or ZERO
    kept = loan.status != "active" or Decimal(paid) >= Decimal(str(promise_amount or "0"))
    return {"outcome": "kept" if kept else "broken", "paid": f"{Decimal(paid):.2f}"}
