"""Online repayment (issue 15, docs/post-loan.md): the borrower pays a loan through the payment gateway.

`order` places a `collection` payment order at the gateway (`signing.gateway`: the configured one,
else the simulator in process) for the borrower's user: payer the borrower, payee the funder's
collection account, business key the loan's, notified to the platform's payments callback. The
borrower's idempotency key is theirs per loan: the same key again answers the order placed first.
The payer pays on the gateway's page (`pay_url`); the gateway's signed notification reaches
`callbacks.receive_payment`, which hands a collection's to `settle`: a succeeded order books the
payment in the ledger once (`ledger.repayments.take_payment`, the order id as the payment's key)
and tells the borrower; a failed one books nothing and is kept with its reason.

This lives with signing because it is the platform's side of the payments adapter, which signing
owns (rank 4 may use the ledger below it).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.lending import Prepayment
from app.models import Loan, Organisation
from app.models.signing import RepaymentOrder
from app.services import clock, context
from app.services.context import either
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict, Invalid, NotFound, ServiceError
from app.services.identity import policy
from app.services.identity.access import party_kinds
from app.services.identity.directory import Principal
from app.services.ledger import loans, repayments
from app.services.ledger.journal import hold_sqlite_write_lock
from app.services.notices import sending
from app.services.notices.templates import reason_in
from app.services.signing.disbursements import notify_url
from app.services.signing.gateway import gateway
from app.services.simulators.payments import pay_path
from handlers.errors import ProviderError
from handlers.payments import FAILURE_CODES, Account, IdempotencyConflict, PaymentOrder
from handlers.payments.model import parse_time

log = logging.getLogger("loanflow.repayments")

KEY_PREFIX = "online:{loan_id}:"  # the borrower's keys, per loan
AUTO_DEBIT_PREFIX = "autodebit:"  # the auto-debits' keys (`servicing.auto_debit`)
MAX_KEY = 100
MODES = tuple(mode.value for mode in Prepayment)  # what a payment beyond the bills does to the schedule


@dataclass(frozen=True)
class OrderView:
    """A repayment order as its borrower sees it: the row, their own key, where to pay it."""

    row: RepaymentOrder
    idempotency_key: str
    pay_url: str
    duplicate: bool = False

    @property
    def failure(self) -> str:
        """Why it failed, in the reader's language: the cause the gateway named, else its own words."""
        return reason_in(self.row.failure_code, self.row.failure_reason, context.language())

    @property
    def failure_text(self) -> str | None:
        """`failure` for a failed order; for another, what the platform noted (received but not booked), if anything."""
        return self.failure if self.row.status == "failed" else self.row.failure_reason

    @property
    def auto_debit(self) -> bool:
        """Placed by `post_loan` under the contract's authorisation: the gateway collects it, nobody pays it by hand."""
        return _debit(self.row)


def view(row: RepaymentOrder, duplicate: bool = False) -> OrderView:
    prefix = KEY_PREFIX.format(loan_id=row.loan_id)
    key = row.idempotency_key[len(prefix):] if row.idempotency_key.startswith(prefix) else row.idempotency_key
    return OrderView(row, key, pay_url(row.order_id), duplicate)


def pay_url(order_id: str) -> str:
    """The gateway's page where the payer pays the order: under `PAYMENTS_URL` when a gateway is
    configured (the simulator's base), else the simulator served by this platform."""
    base = str(context.config("PAYMENTS_URL", "") or "").rstrip("/")
    if base:
        return f"{base}/orders/{order_id}/pay"
    return context.served_url() + pay_path(order_id)


def _account(org: Organisation | None, fallback: str) -> Account:
    if org is None:
        return Account(name=fallback, number=fallback, bank=fallback)
    return Account(name=org.name, number=org.credit_code or org.code, bank=org.name)


def order(principal: Principal, loan_id: int, amount: Decimal, idempotency_key: str,
          prepayment: str = Prepayment.SHORTEN_TERM.value) -> OrderView:
    """A collection order for the borrower's user (their own loan: 404 otherwise; 403 for another
    party who sees it), committed. The same key again answers the first order (`duplicate`); the key
    with another amount or another `prepayment` mode is a conflict. The amount is at most what settles
    the loan today; what it pays beyond the bills prepays principal in `prepayment` (shorten_term or
    reduce_instalment), which the order keeps until its notification books it."""
    loan = loans.visible_loan(principal, loan_id)
    policy.require(principal, "repayments.online", parties={"borrower": loan.borrower_org_id,
                                                            "funder": loan.funder_org_id})
    if not idempotency_key or len(idempotency_key) > MAX_KEY:
        raise Invalid(_l("The payment is not valid."),
                      {"idempotency_key": [_l("1 to %(most)s characters", most=MAX_KEY)]})
    if prepayment not in MODES:
        raise Invalid(_l("The payment is not valid."),
                      {"prepayment": [_l("must be %(choices)s", choices=either(MODES))]})
    key = KEY_PREFIX.format(loan_id=loan.id) + idempotency_key
    hold_sqlite_write_lock()  # SQLite: requests with one key take turns (PostgreSQL: the unique keys decide)
    existing = _by_key(key)
    if existing is not None:
        return _same(existing, amount, prepayment)
    if loan.status != "active":
        raise Conflict(_l("The loan is not active: nothing is left to pay."))
    _close_waiting(loan.id)
    to_pay = Decimal(repayments.quote_payoff(loan.id)["to_pay"])
    if amount > to_pay:
        raise Invalid(_l("The payment is not valid."),
                      {"amount": [_l("at most %(amount)s, what settles the loan today", amount=f"¥{to_pay:,.2f}")]})
    payer = _account(db.session.get(Organisation, loan.borrower_org_id), "borrower")
    funder = db.session.get(Organisation, loan.funder_org_id) if loan.funder_org_id is not None else None
    payee = _account(funder, "LOANFLOW")
    try:
        receipt = gateway().create_order(PaymentOrder(
            kind="collection", idempotency_key=key, amount=f"{amount:.2f}", payer=payer, payee=payee,
            notify_url=notify_url(), memo=f"还款 Repayment {loan.business_key}", business_key=loan.business_key))
        row = RepaymentOrder(loan_id=loan.id, idempotency_key=key, order_id=receipt.order_id, amount=amount,
                             prepayment=prepayment, status="pending", requested_by_id=principal.id,
                             created_at=clock.now())  # the clock's: a payment is never received before it is placed
        db.session.add(row)
        db.session.commit()
    except IdempotencyConflict:
        db.session.rollback()
        raise Conflict(_l("This idempotency key was used for another payment.")) from None
    except IntegrityError:  # the same key from a request at the same moment
        db.session.rollback()
        existing = _by_key(key)
        if existing is None:
            raise
        return _same(existing, amount, prepayment)
    except Exception:
        db.session.rollback()
        raise
    return view(row)


def _close_waiting(loan_id: int) -> None:
    """The borrower's own orders of the loan still waiting for their payer are closed at the gateway before
    another is placed: an abandoned order stayed payable, and paying it after the new one paid twice (the second
    as a prepayment). One its payer paid meanwhile stays pending (the gateway says so): its notification settles
    it; one the gateway cannot close now stays pending too, as it was."""
    waiting = db.session.scalars(select(RepaymentOrder).where(
        RepaymentOrder.loan_id == loan_id, RepaymentOrder.status == "pending",
        RepaymentOrder.idempotency_key.startswith(KEY_PREFIX.format(loan_id=loan_id))).with_for_update()).all()
    for row in waiting:
        try:
            status = gateway().close(row.order_id)
        except ProviderError as exc:
            log.warning("order %s of loan %s not closed: %s", row.order_id, loan_id, exc)
            continue
        if status.status == "closed":
            row.status, row.settled_at = "closed", status.settled_at


def _by_key(key: str) -> RepaymentOrder | None:
    return db.session.scalar(select(RepaymentOrder).where(RepaymentOrder.idempotency_key == key)
                             .execution_options(populate_existing=True))


def _same(existing: RepaymentOrder, amount: Decimal, prepayment: str) -> OrderView:
    if existing.amount != amount or existing.prepayment != prepayment:
        raise Conflict(_l("This idempotency key was used for another payment."))
    return view(existing, duplicate=True)


def orders_of(principal: Principal, loan_id: int) -> list[OrderView]:
    """The loan's online repayment orders, newest first, for whoever sees the loan (404 otherwise)."""
    loan = loans.visible_loan(principal, loan_id)
    rows = db.session.scalars(select(RepaymentOrder).where(RepaymentOrder.loan_id == loan.id)
                              .order_by(RepaymentOrder.id.desc()).execution_options(populate_existing=True))
    return [view(row) for row in rows]


def settle(notification: dict[str, Any]) -> dict[str, Any]:
    """A collection order's notification (as data), in the callback's transaction, which the caller
    commits: succeeded → the payment booked once (its key `online-order:<order_id>`), the order
    `succeeded`, the borrower told; failed → the order `failed` with the gateway's reason, nothing
    booked. A notification of an order settled before (a copy, or one arriving after the query
    answered) changes nothing: `duplicate`. An order the platform did not place is `unknown`."""
    hold_sqlite_write_lock()
    order_id = str(notification.get("order_id") or "")
    row = db.session.scalar(select(RepaymentOrder).where(RepaymentOrder.order_id == order_id).with_for_update()
                            .execution_options(populate_existing=True))
    if row is None:
        log.warning("collection notification for order %s, which the platform did not place; nothing done", order_id)
        return {"outcome": "unknown", "duplicate": False}
    if row.status != "pending":
        return {"outcome": row.status, "duplicate": True}
    settled_at = parse_time(notification.get("settled_at"))
    row.settled_at = settled_at
    loan = db.session.get(Loan, row.loan_id)
    if loan is None:
        raise NotFound(_l("loan not found"))
    if notification.get("status") != "succeeded":
        row.status = "failed"
        row.failure_reason = str(notification.get("failure_reason") or "") or None  # the gateway's words, if any
        code = str(notification.get("failure_code") or "")
        row.failure_code = code if code in FAILURE_CODES else None  # the cause, said in the reader's language
        _tell(loan, "auto_debit_failed" if _debit(row) else "repayment_failed", row, reason=row.failure_reason or "",
              reason_code=row.failure_code or "")
        db.session.flush()
        return {"outcome": "failed", "duplicate": False}
    on = loans.business_date_of(settled_at) if settled_at else loans.business_today()
    amount = Decimal(str(notification.get("amount") or row.amount))
    row.status = "succeeded"
    try:
        with db.session.begin_nested():
            taken = repayments.take_payment(repayments.PaymentNotice(
                loan.id, f"online-order:{order_id}", amount, channel="online", prepayment=row.prepayment,
                received_on=on))
    except ServiceError as exc:  # the money came but cannot be booked (the loan closed meanwhile): kept, logged
        row.failure_reason = f"received but not booked: {exc.message}"
        log.error("collection order %s of loan %s received but not booked: %s", order_id, loan.business_key,
                  exc.message)
        db.session.flush()
        return {"outcome": "succeeded", "duplicate": False, "booked": False}
    row.payment_id = taken.payment.id
    if _debit(row):
        _tell(loan, *_debit_notice(loan, row, taken.payment.allocation or {}), date=on.isoformat())
    else:
        _tell(loan, "repayment_received", row, date=on.isoformat())
    db.session.flush()
    return {"outcome": "succeeded", "duplicate": taken.duplicate, "booked": True, "payment_id": taken.payment.id}


def _debit(row: RepaymentOrder) -> bool:
    """An auto-debit `post_loan` placed (`servicing.auto_debit`), not the borrower's own payment."""
    return row.idempotency_key.startswith(AUTO_DEBIT_PREFIX)


def _debit_notice(loan: Loan, row: RepaymentOrder, allocation: dict[str, Any]) -> tuple[str, RepaymentOrder, dict[str, str]]:
    """The notice of a booked auto-debit: `auto_debit_received`, or — when the money went first to older bills still
    overdue (oldest first), leaving the debited bill owing — `auto_debit_overdue_first`, saying how much went to
    which older bills and what the debited bill still owes (the plain notice read as "this bill is paid")."""
    parts = ("penalties", "fees", "interest", "principal")
    bill = int(row.idempotency_key.removeprefix(AUTO_DEBIT_PREFIX).split(":")[1])
    older = [line for line in allocation.get("instalments") or [] if int(line["number"]) < bill]
    to_older = sum((Decimal(str(line[part])) for line in older for part in parts), Decimal(0))
    left = next((loans.owed(r) for r in loans.instalments(loan.id) if r.number == bill), Decimal(0))
    if to_older <= 0 or left <= 0:
        return "auto_debit_received", row, {}
    numbers = [str(line["number"]) for line in older]
    return "auto_debit_overdue_first", row, {
        "bill": str(bill), "older": ", ".join(numbers), "older_zh": "、".join(numbers),
        "to_older": f"{to_older:,.2f}", "bill_left": f"{left:,.2f}"}


def _tell(loan: Loan, template: str, row: RepaymentOrder, more_params: dict[str, str] | None = None,
          **more: str) -> None:
    sending.send(template, {"loan": loan.business_key, "amount": f"{row.amount:,.2f}", **(more_params or {}), **more},
                 org_id=loan.borrower_org_id, roles=sorted(policy.party_roles("repayments.online", "borrower")),
                 business_key=loan.business_key, idempotency_key=f"{row.order_id}:{template}")


def may_pay(principal: Principal, loan_id: int) -> bool:
    """Whether the page offers this user the "Pay online" form for the loan (they see it: 404 otherwise)."""
    loan = loans.visible_loan(principal, loan_id)
    return loan.status == "active" and policy.allowed(principal, "repayments.online", parties={
        "borrower": loan.borrower_org_id, "funder": loan.funder_org_id})


def sees_loans(principal: Principal) -> bool:
    """Whether the header offers the loans page: platform staff, and users of a borrower or a funder."""
    return principal.is_platform or bool(party_kinds(principal) & {"borrower", "funder"})
