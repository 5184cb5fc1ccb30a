"""The portfolio dashboard: the loans booked from the platform's deals and how their deals were decided.

Read by the platform's staff over every funder (or one, when they choose) and by a funder's own staff
over the loans and applications their organisation funds, never another's (`portfolio.read`, a party
grant naming the caller's organisation as the funder, as the funder's trial balance does).

The figures, as of the business date:
- outstanding principal: per active loan, the principal due on its current instalments less what was
  paid of it (written-off instalments excluded), summed in whole cents by the database (exact on
  SQLite too: `ledger.journal.cents_sum`);
- loans per days-past-due bucket (`app.lending.overdue.bucket_for` over the batch's `loans.dpd`) with
  their outstanding principal; PAR30, the share of the outstanding principal on loans more than 30
  days past due;
- disbursed (loans' principal by disbursement date) and repaid (booked repayments by booking date)
  per calendar month, the last 12 months;
- per product: the applications decided, the share approved and the median time from submission to
  decision.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import ColumnElement, select, true

from app.extensions import db
from app.lending.money import ZERO
from app.lending.overdue import Bucket, bucket_for
from app.models import Application, Loan, Organisation, OrgKind, Payment
from app.models.loan import Instalment
from app.services.context import lazy_gettext as _l
from app.services.errors import NotFound
from app.services.identity import policy
from app.services.identity.directory import Principal
from app.services.ledger.journal import cents_sum, from_cents
from app.services.ledger.loans import business_today
from app.services.origination.products import product_row

MONTHS = 12
PAR_DAYS = 30  # PAR30: loans more than this many days past due
BUCKETS = tuple(Bucket)  # current, 1-30, 31-60, 61-90, 91+
HUNDREDTH = Decimal("0.01")
NO_SUCH_FUNDER = _l("There is no such funder.")


@dataclass(frozen=True)
class LoanPosition:
    """One loan as the dashboard counts it: its days past due and its outstanding principal."""

    dpd: int
    outstanding: Decimal


@dataclass(frozen=True)
class BucketFigures:
    bucket: Bucket
    loans: int
    outstanding: Decimal


@dataclass(frozen=True)
class Exposure:
    """The outstanding principal, by bucket, and PAR30."""

    loans: int
    outstanding: Decimal
    buckets: list[BucketFigures]  # every bucket, in order, empty ones too
    at_risk: Decimal  # outstanding principal of the loans more than PAR_DAYS past due
    par30: Decimal | None  # at_risk / outstanding, in percent to two places; None with nothing outstanding


def exposure(positions: Iterable[LoanPosition]) -> Exposure:
    """The loans' outstanding principal in total and per bucket, and PAR30 (pure: no database)."""
    counts: dict[Bucket, int] = dict.fromkeys(BUCKETS, 0)
    sums: dict[Bucket, Decimal] = dict.fromkeys(BUCKETS, ZERO)
    at_risk, total, loans = ZERO, ZERO, 0
    for position in positions:
        bucket = bucket_for(position.dpd)
        counts[bucket] += 1
        sums[bucket] += position.outstanding
        total += position.outstanding
        loans += 1
        if position.dpd > PAR_DAYS:
            at_risk += position.outstanding
    par30 = (at_risk * 100 / total).quantize(HUNDREDTH, ROUND_HALF_UP) if total > 0 else None
    return Exposure(loans, total, [BucketFigures(b, counts[b], sums[b]) for b in BUCKETS], at_risk, par30)


@dataclass(frozen=True)
class MonthFigures:
    month: str  # YYYY-MM
    disbursed: Decimal
    repaid: Decimal


@dataclass(frozen=True)
class ProductFigures:
    product_id: int
    name: str
    code: str  # the deals list's product filter: its counts open the deals they count
    decided: int
    approved: int
    approval_rate: Decimal | None  # percent to two places
    median_days_to_decision: Decimal | None  # days to one decimal place


@dataclass(frozen=True)
class Funder:
    org_id: int
    name: str
    code: str = ""  # the deals list's funder filter


@dataclass(frozen=True)
class Portfolio:
    as_of: date
    funder: Funder | None  # whose loans; None: every funder's
    funders: list[Funder]  # whom the reader may choose (platform staff); empty for a funder's staff
    exposure: Exposure
    months: list[MonthFigures]  # oldest first
    products: list[ProductFigures]


def _scope(actor: Principal, funder_org_id: int | None) -> tuple[int | None, list[Funder]]:
    """Whose loans the reader sees: the chosen funder's or everyone's (platform), their own (a funder)."""
    grant = policy.require(actor, "portfolio.read", parties={"funder": actor.org_id})
    if grant.side is not policy.Side.PLATFORM:
        return actor.org_id, []
    funders = [Funder(i, n, c) for i, n, c in db.session.execute(
        select(Organisation.id, Organisation.name, Organisation.code).join(OrgKind, OrgKind.org_id == Organisation.id)
        .where(OrgKind.kind == "funder").order_by(Organisation.name, Organisation.id))]
    if funder_org_id is not None and funder_org_id not in {f.org_id for f in funders}:
        raise NotFound(NO_SUCH_FUNDER)
    return funder_org_id, funders


def _month_keys(today: date) -> list[str]:
    year, month = today.year, today.month
    keys = []
    for _ in range(MONTHS):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return keys[::-1]


def _first_day(key: str) -> date:
    return date(int(key[:4]), int(key[5:7]), 1)


def positions(loan_condition: ColumnElement[bool]) -> list[LoanPosition]:
    """Every active loan's days past due and outstanding principal (summed in whole cents: exact)."""
    rows = db.session.execute(
        select(Loan.id, Loan.dpd, cents_sum(Instalment.principal_due), cents_sum(Instalment.principal_paid))
        .join(Instalment, Instalment.loan_id == Loan.id)
        .where(loan_condition, Loan.status == "active", Instalment.is_current.is_(True),
               Instalment.status != "written_off")
        .group_by(Loan.id, Loan.dpd).order_by(Loan.id))
    return [LoanPosition(int(dpd), from_cents(due) - from_cents(paid)) for _id, dpd, due, paid in rows]


def _months(loan_condition: ColumnElement[bool], today: date) -> list[MonthFigures]:
    """Disbursed and repaid per month, summed per day in the database (in cents) and per month here."""
    keys = _month_keys(today)
    start = _first_day(keys[0])
    disbursed: dict[str, Decimal] = defaultdict(lambda: ZERO)
    repaid: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for on, cents in db.session.execute(
            select(Loan.disbursed_on, cents_sum(Loan.principal))
            .where(loan_condition, Loan.disbursed_on >= start, Loan.disbursed_on <= today)
            .group_by(Loan.disbursed_on)):
        disbursed[on.strftime("%Y-%m")] += from_cents(cents)
    for booked_on, cents in db.session.execute(
            select(Payment.booked_on, cents_sum(Payment.amount)).join(Loan, Loan.id == Payment.loan_id)
            .where(loan_condition, Payment.status == "booked", Payment.booked_on >= start,
                   Payment.booked_on <= today)
            .group_by(Payment.booked_on)):
        if booked_on is not None:  # a booked payment has its date
            repaid[booked_on.strftime("%Y-%m")] += from_cents(cents)
    return [MonthFigures(k, disbursed[k], repaid[k]) for k in keys]


def _products(funder_org_id: int | None, language: str | None) -> list[ProductFigures]:
    condition = Application.funder_org_id == funder_org_id if funder_org_id is not None else true()
    decided: dict[int, int] = defaultdict(int)
    approved: dict[int, int] = defaultdict(int)
    days: dict[int, list[float]] = defaultdict(list)
    names: dict[int, str] = {}
    codes: dict[int, str] = {}
    for product_id, status, submitted_at, decided_at in db.session.execute(
            select(Application.product_id, Application.status, Application.submitted_at, Application.decided_at)
            .where(condition, Application.decided_at.is_not(None))):
        if product_id not in names:  # named as the reader's pages name it (`Product.name_in`)
            product = product_row(product_id)
            names[product_id], codes[product_id] = product.name_in(language), product.code
        decided[product_id] += 1
        approved[product_id] += status != "rejected"
        if submitted_at is not None and decided_at is not None:
            days[product_id].append((decided_at - submitted_at).total_seconds() / 86400)
    figures = []
    for product_id in sorted(names, key=lambda i: (names[i], i)):
        rate = (Decimal(approved[product_id] * 100) / decided[product_id]).quantize(HUNDREDTH, ROUND_HALF_UP)
        median = (Decimal(str(statistics.median(days[product_id]))).quantize(Decimal("0.1"), ROUND_HALF_UP)
                  if days[product_id] else None)
        figures.append(ProductFigures(product_id, names[product_id], codes[product_id], decided[product_id],
                                      approved[product_id], rate, median))
    return figures


def portfolio(actor: Principal, funder_org_id: int | None = None, today: date | None = None,
              language: str | None = None) -> Portfolio:
    """The dashboard's figures for the loans the reader may see (platform staff: every funder's, or the
    one chosen; a funder's staff: their own organisation's, whatever they choose). 403 for anyone else.
    Its products are named in `language` (the page's)."""
    funder_id, funders = _scope(actor, funder_org_id)
    as_of = today or business_today()
    condition = Loan.funder_org_id == funder_id if funder_id is not None else true()
    funder = None
    if funder_id is not None:
        name, code = db.session.execute(select(Organisation.name, Organisation.code)
                                        .where(Organisation.id == funder_id)).one()
        funder = Funder(funder_id, name, code)
    return Portfolio(as_of, funder, funders, exposure(positions(condition)), _months(condition, as_of),
                     _products(funder_id, language))


def may_read(actor: Principal) -> bool:
    """Whether the header offers the dashboard: platform staff, and a funder's staff for their own loans."""
    return policy.allowed(actor, "portfolio.read", parties={"funder": actor.org_id})
