"""Booking loans and keeping their schedules: products, booking with disbursement, the account as stored.

The money rules are `app.lending`'s; this module maps them to rows. `load_state` rebuilds a
loan's `LoanAccount` from its current instalments, `save_account` writes a changed account back
(a new schedule version as new rows, the old rows kept), and `loan_position` reads the loan's
balances from its instalments — which must equal the balances of its journal lines.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, false, func, or_, select, true, update

from app.extensions import db
from app.lending import LoanAccount, LoanTerms, Schedule, generate_schedule
from app.lending.allocation import AllocationLine
from app.lending.codec import product_from_mapping, product_to_mapping, terms_from_mapping, terms_to_mapping
from app.lending.daycount import DaysInYear
from app.lending.errors import LendingError
from app.lending.overdue import bucket_for
from app.lending.product import LoanProduct
from app.lending.schedule import Instalment as ScheduledInstalment
from app.models import EodRun, Instalment, Loan, Organisation, Product, ScheduleVersion
from app.models.loan import ZERO
from app.services import clock, context
from app.services.context import lazy_gettext as _l
from app.services.context import readable
from app.services.errors import Conflict, Invalid, NotFound, Text
from app.services.identity import policy
from app.services.identity.access import oversees_organisation, party_kinds
from app.services.identity.directory import Principal
from app.services.ledger.journal import cents_sum, from_cents, hold_sqlite_write_lock
from app.services.ledger.posting import (
    AccountMap,
    Role,
    new_product_accounts,
    post_event,
    product_accounts,
    write_product_accounts,
)
from app.services.workflow.outbox import enqueue


def business_tz() -> ZoneInfo:
    """The business time zone: LOANFLOW_TIMEZONE, checked at start-up (`app.config`)."""
    return context.business_tz()


def business_today() -> date:
    """The platform's business date: today in the business time zone by the injected clock — or the day
    after the last completed end-of-day run when that is later (a batch run ahead, `eod run --date D`,
    moves the business date with it, as a core banking system's close of business does: nothing is
    then booked on a date the batch has closed)."""
    return business_date_of(clock.now())


def business_date_of(moment: datetime) -> date:
    """The business date something that happened at `moment` is booked on (see `business_today`)."""
    day = moment.astimezone(business_tz()).date()
    closed = db.session.scalar(select(func.max(EodRun.business_date)).where(EodRun.status == "completed"))
    return max(day, closed + timedelta(days=1)) if closed is not None else day


LOAN_IS: dict[str, Text] = {"active": _l("the loan is active"), "closed": _l("the loan is closed"),
                            "written_off": _l("the loan is written_off")}


def loan_is(status: str) -> Text:
    """`the loan is <status>` (a conflict's message): the status's code in English, its word in Chinese."""
    found = LOAN_IS.get(status)
    return found if found is not None else _l("the loan is %(status)s", status=status)


def invalid(exc: LendingError) -> Invalid:
    """The lending domain's refusal, in the reader's language, on its field when it names one."""
    return Invalid(readable(exc), {exc.field: [readable(exc)]} if exc.field else None)


# -- products ---------------------------------------------------------------------------------

def create_product(data: Mapping[str, object]) -> Product:
    """A product from its settings, checked by `app.lending` (limits, the legal rate cap).

    `application_process` (optional) names the process a borrower's applicant starts to apply for
    it: the only process an applicant may start (`app.services.workflow.instances`). `accounts`
    (optional, role → account code) overrides the default accounts it posts to (`posting`).
    """
    settings = dict(data)
    application_process = _application_process(settings.pop("application_process", None))
    overrides = settings.pop("accounts", None)
    if overrides is not None and not isinstance(overrides, Mapping):
        raise Invalid(_l("accounts must map posting roles to account codes"), {"accounts": [_l("must be an object")]})
    accounts = new_product_accounts(overrides)
    try:
        product = product_from_mapping(settings)
    except LendingError as exc:
        raise invalid(exc) from None
    if db.session.scalar(select(Product.id).where(Product.code == product.code)) is not None:
        raise Conflict(_l("product %(code)s exists already", code=repr(product.code)))
    row = Product(code=product.code, name=product.name, currency=product.currency, annual_rate=product.annual_rate,
                  min_amount=product.min_amount, max_amount=product.max_amount, min_term=product.min_term,
                  max_term=product.max_term, settings=product_to_mapping(product),
                  application_process=application_process)
    db.session.add(row)
    db.session.flush()
    write_product_accounts(row.id, accounts)
    return row


PROCESS_ID = re.compile(r"[A-Za-z_][\w.-]{0,254}", re.ASCII)  # an XML id, as BPMN process ids are
PROCESS_ID_RULE = _l("a BPMN process id: a letter or _, then letters, digits, _ . or -, at most 255 in all")


def _application_process(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not PROCESS_ID.fullmatch(value):
        raise Invalid(_l("application_process must be %(rule)s", rule=PROCESS_ID_RULE),
                      {"application_process": [PROCESS_ID_RULE]})
    return value


def product_rules(row: Product) -> LoanProduct:
    return product_from_mapping(row.settings)


# -- booking ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LoanRequest:
    product_code: str
    business_key: str
    borrower_org_id: int
    principal: Decimal
    repayments: int
    disbursed_on: date
    funder_org_id: int | None = None
    maturity_date: date | None = None


def book_loan(request: LoanRequest) -> Loan:
    """Book a disbursed loan: its terms from the product, schedule version 1, the disbursement entry.

    Booking the same business key again returns the loan booked before (a retried service task),
    unless the request differs, which is a conflict.
    """
    existing = db.session.scalar(select(Loan).where(Loan.business_key == request.business_key))
    if existing is not None:
        if existing.principal != request.principal or existing.disbursed_on != request.disbursed_on:
            raise Conflict(_l("loan %(key)s is booked already with other terms", key=repr(request.business_key)))
        return existing
    product = db.session.scalar(select(Product).where(Product.code == request.product_code, Product.active))
    if product is None:
        raise NotFound(_l("no active product %(code)s", code=repr(request.product_code)))
    try:
        terms = product_rules(product).terms_for(request.principal, request.repayments, request.disbursed_on,
                                                 request.maturity_date)
        schedule = generate_schedule(terms)
    except LendingError as exc:
        raise invalid(exc) from None
    loan = Loan(business_key=request.business_key, product_id=product.id, borrower_org_id=request.borrower_org_id,
                funder_org_id=request.funder_org_id, principal=terms.principal, currency=terms.currency,
                annual_rate=terms.annual_rate, terms=terms_to_mapping(terms), status="active",
                disbursed_on=terms.disbursed_on, schedule_version=1, credit_balance=ZERO, dpd=0, bucket="current",
                **penalty_columns(terms))
    db.session.add(loan)
    db.session.flush()
    db.session.add(ScheduleVersion(loan_id=loan.id, version=1, level_payment=schedule.level_payment,
                                   reason="booked", effective_on=terms.disbursed_on))
    db.session.add_all(Instalment(loan_id=loan.id, version=1, is_current=True, status="pending",
                                  **schedule_columns(row)) for row in schedule.instalments)
    post_event("disbursement", terms.disbursed_on, {"principal": terms.principal}, product_accounts(product.id),
               loan_id=loan.id)
    db.session.flush()
    return loan


def penalty_columns(terms: LoanTerms) -> dict[str, object]:
    """What the end-of-day batch needs from the terms, as plain columns it can use in SQL."""
    basis = 0 if terms.penalty_days_in_year is DaysInYear.ACTUAL else int(terms.penalty_days_in_year.value)
    return {
        "overdue_grace_days": terms.overdue_grace_days,
        "penalty_annual_rate": terms.annual_rate * terms.penalty_rate_multiplier,
        "penalty_basis": basis,
        "penalty_on_interest": terms.penalty_on_overdue_interest,
        "penalty_charge_percent": terms.penalty_charge_percent,
        "penalty_charge_on_interest": terms.penalty_charge_basis.value == "principal_and_interest",
    }


def schedule_columns(row: ScheduledInstalment) -> dict[str, object]:
    return {
        "number": row.number, "start_date": row.start_date, "due_date": row.due_date,
        "principal_due": row.principal, "interest_due": row.interest, "fee_due": row.fees,
        "balance": row.balance, "accrued_interest": row.accrued_interest, "base_interest": str(row.base_interest),
        "prepayments": [[on.isoformat(), str(amount)] for on, amount in row.prepayments],
    }


# -- the account as stored --------------------------------------------------------------------

@dataclass
class LoanState:
    """A loan, its current instalment rows (by number) and the `LoanAccount` they make."""

    loan: Loan
    rows: dict[int, Instalment]
    account: LoanAccount

    @property
    def terms(self) -> LoanTerms:
        return self.account.schedule.terms


def load_loan(loan_id: int, lock: bool = False) -> Loan:
    """The loan as committed now; with `lock`, locked until the transaction ends (its row on
    PostgreSQL, the database's write lock on SQLite), so a money decision reads what it changes."""
    if lock:
        hold_sqlite_write_lock()
    query = select(Loan).where(Loan.id == loan_id).execution_options(populate_existing=True)
    loan = db.session.scalar(query.with_for_update() if lock else query)
    if loan is None:
        raise NotFound(_l("loan not found"))
    return loan


def load_state(loan_id: int, lock: bool = False) -> LoanState:
    """The loan (locked when `lock`, see `load_loan`) and its account rebuilt from current rows."""
    loan = load_loan(loan_id, lock)
    rows = list(db.session.scalars(
        select(Instalment).where(Instalment.loan_id == loan.id, Instalment.is_current)
        .order_by(Instalment.number).execution_options(populate_existing=True)))
    level = db.session.scalar(select(ScheduleVersion.level_payment).where(
        ScheduleVersion.loan_id == loan.id, ScheduleVersion.version == loan.schedule_version))
    schedule = Schedule(terms_from_mapping(loan.terms), tuple(_scheduled(r) for r in rows),
                        level_payment=level, version=loan.schedule_version)
    account = LoanAccount(
        schedule=schedule,
        paid=MappingProxyType({r.number: settled(r) for r in rows}),
        penalties=MappingProxyType({r.number: r.penalty_due for r in rows if r.penalty_due}),
        credit=ZERO, last_payment_on=loan.last_payment_on)
    return LoanState(loan, {r.number: r for r in rows}, account)


def _scheduled(r: Instalment) -> ScheduledInstalment:
    return ScheduledInstalment(
        number=r.number, start_date=r.start_date, due_date=r.due_date, principal=r.principal_due,
        interest=r.interest_due, balance=r.balance, accrued_interest=r.accrued_interest,
        base_interest=Decimal(r.base_interest), fees=r.fee_due,
        prepayments=tuple((date.fromisoformat(on), Decimal(amount)) for on, amount in r.prepayments))


def settled(r: Instalment) -> AllocationLine:
    """What no longer is owed of an instalment, paid or waived (the domain's `paid`)."""
    return AllocationLine(r.number, penalties=r.penalty_paid + r.penalty_waived, fees=r.fee_paid + r.fee_waived,
                          interest=r.interest_paid + r.interest_waived, principal=r.principal_paid)


def owed(r: Instalment) -> Decimal:
    s = settled(r)
    return r.principal_due + r.interest_due + r.fee_due + r.penalty_due - s.total


def save_account(state: LoanState, account: LoanAccount, on: date, payment_id: int | None = None,
                 reason: str = "payment") -> list[Instalment]:
    """Write a changed account back; a new schedule version becomes new current rows. Returns them."""
    loan = state.loan
    rows = state.rows
    if account.schedule.version != loan.schedule_version:
        db.session.execute(update(Instalment).where(Instalment.loan_id == loan.id, Instalment.is_current)
                           .values(is_current=False))
        fresh = {}
        for scheduled in account.schedule.instalments:
            old = rows.get(scheduled.number)
            new = Instalment(loan_id=loan.id, version=account.schedule.version, is_current=True,
                             status=old.status if old is not None else "pending", **schedule_columns(scheduled))
            if old is not None:
                for name in ("penalty_due", "interest_waived", "fee_waived", "penalty_waived", "interest_billed",
                             "overdue_on", "penalty_accrued_to", "paid_on"):
                    setattr(new, name, getattr(old, name))
            else:
                new.penalty_due = new.interest_waived = new.fee_waived = new.penalty_waived = ZERO
                new.interest_billed = ZERO
            fresh[scheduled.number] = new
        db.session.add_all(fresh.values())
        db.session.add(ScheduleVersion(loan_id=loan.id, version=account.schedule.version,
                                       level_payment=account.schedule.level_payment, reason=reason,
                                       effective_on=on, payment_id=payment_id))
        loan.schedule_version = account.schedule.version
        rows = fresh
    for number, row in rows.items():
        paid = account.paid.get(number, AllocationLine(number))
        row.principal_paid = paid.principal
        row.interest_paid = paid.interest - row.interest_waived
        row.fee_paid = paid.fees - row.fee_waived
        row.penalty_paid = paid.penalties - row.penalty_waived
    loan.last_payment_on = account.last_payment_on
    mark_settled(loan, rows, on)
    db.session.flush()
    return list(rows.values())


def mark_settled(loan: Loan, rows: dict[int, Instalment], on: date) -> None:
    """Instalments that owe nothing and are due, or are the current bill paid in advance, are paid.

    A loan that owes nothing at all is closed, and says so to its instances (`loan_closed`).
    """
    closed = all(owed(r) == 0 for r in rows.values())
    for r in rows.values():
        if r.status in ("pending", "overdue") and owed(r) == 0 and (closed or r.due_date <= on or r.start_date < on):
            r.status, r.paid_on = "paid", on
    if closed and loan.status == "active":
        loan.status, loan.closed_on = "closed", on
        ended(loan, "loan_closed", on)
    past_due_again(loan, rows)


def past_due_again(loan: Loan, rows: Mapping[int, Instalment]) -> None:
    """A loan late at the last batch and paid (or waived) since is as late as its oldest overdue instalment still
    owing principal or interest, counted to that batch's day as the batch counts: back to current when none is
    (the borrower read 45 days overdue on a loan paid up that morning until the night's run). A changed bucket is
    said to the loan's instances (`bucket_changed`, as the batch says it: a collections case paid up ends cured),
    once per change; days past due only fall between batches."""
    if loan.dpd == 0 or loan.status != "active":
        return
    owing = [r.due_date for r in rows.values() if r.status == "overdue"
             and r.principal_due - r.principal_paid + r.interest_due - r.interest_paid - r.interest_waived > 0]
    batch = db.session.scalar(select(func.max(EodRun.business_date)).where(EodRun.status == "completed"))
    dpd = max((batch - min(owing)).days, 0) if owing and batch is not None else 0
    if dpd >= loan.dpd:
        return
    bucket = bucket_for(dpd).value
    if bucket != loan.bucket:
        enqueue("bucket_changed", loan.business_key, {
            "loan_id": loan.id, "business_date": batch.isoformat() if batch else None, "from": loan.bucket,
            "to": bucket, "dpd": dpd}, f"bucket_changed:{loan.id}:{batch}:paid:{dpd}", loan_id=loan.id,
            business_date=batch)
    loan.dpd, loan.bucket = dpd, bucket


def ended(loan: Loan, name: str, on: date) -> None:
    """The message that a loan's life ended (`loan_closed`, `loan_written_off`), once per loan."""
    enqueue(name, loan.business_key, {"loan_id": loan.id, "on": on.isoformat(), "status": loan.status},
            f"{name}:{loan.id}", loan_id=loan.id, business_date=on)


def bill_settled_interest(loan_id: int, rows: list[Instalment], on: date, accounts: AccountMap) -> Decimal:
    """Recognise interest that is being settled before the batch billed it (due today, or closing)."""
    total = ZERO
    for r in rows:
        settled_interest = r.interest_paid + r.interest_waived
        if settled_interest > r.interest_billed:
            total += settled_interest - r.interest_billed
            r.interest_billed = settled_interest
    post_event("interest_billed", on, {"interest": total}, accounts, loan_id=loan_id)
    return total


def loan_position(loan_id: int) -> dict[str, Decimal]:
    """The loan's balances from its instalments and credit, by posting role in the journal's signs
    (`posting.in_accounts` turns them into the balances its journal lines must have)."""
    loan = load_loan(loan_id)
    rows = list(db.session.scalars(select(Instalment).where(Instalment.loan_id == loan_id, Instalment.is_current)
                                   .execution_options(populate_existing=True)))
    open_rows = [r for r in rows if r.status != "written_off"]
    return {
        Role.LOAN_PORTFOLIO: sum((r.principal_due - r.principal_paid for r in open_rows), ZERO),
        Role.INTEREST_RECEIVABLE: sum((r.interest_billed - r.interest_paid - r.interest_waived for r in open_rows),
                                      ZERO),
        Role.PENALTY_RECEIVABLE: sum((r.penalty_due - r.penalty_paid - r.penalty_waived for r in open_rows), ZERO),
        Role.FEE_RECEIVABLE: sum((r.fee_due - r.fee_paid - r.fee_waived for r in open_rows), ZERO),
        Role.OVERPAYMENT_LIABILITY: -loan.credit_balance,
    }


def amounts_overdue(loan_ids: list[int]) -> dict[int, Decimal]:
    """What each loan's overdue instalments still owe (principal, billed interest, penalties and fees), in one query."""
    found = dict.fromkeys(loan_ids, ZERO)
    if not loan_ids:
        return found
    for r in db.session.scalars(select(Instalment).where(Instalment.loan_id.in_(loan_ids), Instalment.is_current,
                                                         Instalment.status == "overdue")
                                .execution_options(populate_existing=True)):
        found[r.loan_id] += ((r.principal_due - r.principal_paid) + (r.interest_billed - r.interest_paid
                                                                     - r.interest_waived)
                             + (r.penalty_due - r.penalty_paid - r.penalty_waived) + (r.fee_due - r.fee_paid
                                                                                      - r.fee_waived))
    return found


def principals_outstanding(loan_ids: list[int]) -> dict[int, Decimal]:
    """Each loan's principal not yet repaid (written-off instalments left out, as `loan_position` does), in one query."""
    found = dict.fromkeys(loan_ids, ZERO)
    if loan_ids:
        for loan_id, due, paid in db.session.execute(
                select(Instalment.loan_id, cents_sum(Instalment.principal_due), cents_sum(Instalment.principal_paid))
                .where(Instalment.loan_id.in_(loan_ids), Instalment.is_current, Instalment.status != "written_off")
                .group_by(Instalment.loan_id)):
            found[loan_id] = from_cents(due) - from_cents(paid)  # exact in cents on both databases
    return found


def instalments(loan_id: int, version: int | None = None) -> list[Instalment]:
    """The instalments of the current schedule version, or of an earlier one."""
    query = select(Instalment).where(Instalment.loan_id == loan_id).order_by(Instalment.number)
    if version is None:
        query = query.where(Instalment.is_current)
    else:
        query = query.where(Instalment.version == version)
    return list(db.session.scalars(query.execution_options(populate_existing=True)))


# -- who sees which loan (the API) -------------------------------------------------------------

def loan_visible(principal: Principal) -> ColumnElement[bool]:
    """SQL condition on Loan: platform staff see every loan; a borrower's applicants their own; a
    funder's staff (reviewers, finance) their funder's; a team lead every loan of their organisation."""
    if principal.is_platform:
        return true()
    kinds, lead = party_kinds(principal), oversees_organisation(principal)
    sides = [column == principal.org_id for kind, column in (("borrower", Loan.borrower_org_id),
                                                            ("funder", Loan.funder_org_id))
             if lead or kind in kinds]
    return or_(*sides) if sides else false()


def visible_loan(principal: Principal, loan_id: int) -> Loan:
    """The loan, when the user may see it; 404 otherwise (another organisation's loan included)."""
    loan = db.session.scalar(select(Loan).where(Loan.id == loan_id, loan_visible(principal))
                             .execution_options(populate_existing=True))
    if loan is None:
        raise NotFound(_l("loan not found"))
    return loan


def require_on_loan(principal: Principal, loan: Loan, action: str) -> None:
    """403 unless the access policy lets the user do `action` to the loan, whose deal's parties are
    its borrower and its funder (the platform admin acts across organisations)."""
    policy.require(principal, action, parties={"borrower": loan.borrower_org_id, "funder": loan.funder_org_id})


@dataclass(frozen=True)
class InstalmentView:
    """An instalment as the API shows it: the row and what is still owed on it."""

    row: Instalment
    owed: Decimal

    @property
    def settled(self) -> Decimal:
        """What no longer is owed of it, paid or waived: principal, interest, fees and penalties less this is
        `owed`."""
        return settled(self.row).total

    @property
    def prepaid(self) -> Decimal:
        """The principal prepaid early within this instalment's period (part of its principal, and of `settled`)."""
        return sum((Decimal(amount) for _on, amount in self.row.prepayments), ZERO)


def instalment_views(rows: list[Instalment]) -> list[InstalmentView]:
    return [InstalmentView(r, owed(r)) for r in rows]


@dataclass(frozen=True)
class ScheduleVersionView:
    """One schedule version of a loan with its instalments as they were (or are, when current)."""

    version: ScheduleVersion
    instalments: list[InstalmentView]
    current: bool


@dataclass(frozen=True)
class LoanView:
    """A loan as the API shows it: the row, its product, and for the detail its schedule and balances;
    what its overdue instalments owe (`amounts_overdue`), its borrower's name and the principal outstanding."""

    loan: Loan
    product_code: str
    schedule: ScheduleVersionView | None = None
    balances: dict[str, Decimal] | None = None
    amount_overdue: Decimal = ZERO
    borrower: str = ""
    outstanding: Decimal = ZERO

    @property
    def overdue(self) -> bool:
        """Running with instalments past their grace days unpaid (`dpd` days late as of the last batch)."""
        return self.loan.status == "active" and self.amount_overdue > 0


def list_loans(principal: Principal, page: int, per_page: int, status: str | None = None,
               business_key: str | None = None) -> dict[str, object]:
    query = (select(Loan, Product.code, Organisation.name).join(Product, Product.id == Loan.product_id)
             .join(Organisation, Organisation.id == Loan.borrower_org_id)
             .where(loan_visible(principal)).order_by(Loan.id.desc()))
    if status is not None:
        query = query.where(Loan.status == status)
    if business_key is not None:
        query = query.where(Loan.business_key == business_key)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    ids = [loan.id for loan, _code, _name in rows]
    overdue, outstanding = amounts_overdue(ids), principals_outstanding(ids)
    return {"items": [LoanView(loan, code, amount_overdue=overdue[loan.id], borrower=name,
                               outstanding=outstanding[loan.id]) for loan, code, name in rows],
            "total": total, "page": page, "per_page": per_page}


def loan_detail(principal: Principal, loan_id: int) -> LoanView:
    """The loan with its current schedule version, its bills and its balances."""
    loan = visible_loan(principal, loan_id)
    code = db.session.scalar(select(Product.code).where(Product.id == loan.product_id)) or ""
    version = db.session.get(ScheduleVersion, (loan.id, loan.schedule_version))
    if version is None:
        raise NotFound(_l("the loan's schedule is missing"))
    schedule = ScheduleVersionView(version, instalment_views(instalments(loan.id)), True)
    position = loan_position(loan.id)
    return LoanView(loan, code, schedule, position, amounts_overdue([loan.id])[loan.id],
                    db.session.scalar(select(Organisation.name).where(Organisation.id == loan.borrower_org_id)) or "",
                    position[Role.LOAN_PORTFOLIO])


def schedule_versions(principal: Principal, loan_id: int) -> list[ScheduleVersionView]:
    """Every schedule version of the loan, oldest first, each with its instalments as they were."""
    loan = visible_loan(principal, loan_id)
    versions = db.session.scalars(select(ScheduleVersion).where(ScheduleVersion.loan_id == loan.id)
                                  .order_by(ScheduleVersion.version)).all()
    rows: dict[int, list[Instalment]] = {}
    for row in db.session.scalars(select(Instalment).where(Instalment.loan_id == loan.id)
                                  .order_by(Instalment.version, Instalment.number)):
        rows.setdefault(row.version, []).append(row)
    return [ScheduleVersionView(v, instalment_views(rows.get(v.version, [])), v.version == loan.schedule_version)
            for v in versions]
