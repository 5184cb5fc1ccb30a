"""Releasing a signed deal's funds through the payment gateway, and booking the loan on its confirmation.

`disbursement.bpmn` calls these through `disbursement_operators`: `prepare` (status `disbursing`,
stage `disbursement`: the amount, the payee by default, the attempt, the last failure), `order`
(a `Disbursement` row and a payment order at the gateway under `<number>:disbursement:<attempt>`,
notified to the platform's payments callback), `query` (where the order stands, when its notification
is late) and `settle` (the notification or the query's answer: the loan booked, or the failure).

A settlement acts once: `settle` locks the deal and the `Disbursement` row and acts only on a row
still `requested` whose order is the one settled; the same settlement again (a second notification,
a query racing a notification), or one of an earlier attempt, changes nothing.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.engine.said import said
from app.extensions import db
from app.models import Application, Disbursement, Organisation, Product
from app.services import context
from app.services.identity import policy
from app.services.ledger import loans
from app.services.ledger.journal import hold_sqlite_write_lock
from app.services.notices import sending
from app.services.origination.applications import deal_parties, events_of
from app.services.signing import deals
from app.services.signing.gateway import gateway
from app.services.workflow.outbox import enqueue
from handlers.payments import Account, PaymentOrder
from handlers.payments.model import parse_time

CALLBACK_PATH = "/api/v1/callbacks/payments"
MAX_QUERIES = 30  # status queries of one order (two minutes apart) before the task fails


class PaymentStillPending(RuntimeError):
    """The gateway still reports the order pending after `MAX_QUERIES` queries: the task fails (an incident)."""


def idempotency_key(number: str, attempt: int) -> str:
    return f"{number}:disbursement:{attempt}"


def loan_key(number: str) -> str:
    return f"LOAN-{number}"


def notify_url() -> str:
    """The platform's payments callback where the platform is served (`context.served_url`)."""
    return context.served_url() + CALLBACK_PATH


def attempts(application_id: int) -> list[Disbursement]:
    """The deal's disbursements, oldest first."""
    return list(db.session.scalars(select(Disbursement).where(Disbursement.application_id == application_id)
                                   .order_by(Disbursement.id)))


def _org_name(org_id: int | None) -> str:
    org = db.session.get(Organisation, org_id) if org_id is not None else None
    return org.name if org is not None else ""


def default_payee(row: Application) -> dict[str, str]:
    """The borrower's account as the deal knows it: the details' account if any, else the borrower's name only."""
    details = dict(row.details or {})
    return {"name": str(details.get("payee_name") or _org_name(row.borrower_org_id)),
            "number": str(details.get("payee_account") or details.get("account_number") or ""),
            "bank": str(details.get("payee_bank") or details.get("bank") or "")}


def prepare(business_key: str | None) -> dict[str, Any]:
    """Status `disbursing`, stage `disbursement`; what finance is asked to release."""
    row = deals.deal(business_key, for_update=True)
    if row.approved_amount is None:
        raise deals.DealStateError(f"application {row.number} has no approved amount to disburse")
    earlier = attempts(row.id)
    if any(d.status == "succeeded" for d in earlier):
        raise deals.DealStateError(f"application {row.number} is disbursed already")
    deals.move(row, "disbursing", "disbursement", "disbursement_ready", amount=f"{row.approved_amount:.2f}")
    failure = next((d.failure_reason for d in reversed(earlier) if d.status == "failed"), None)
    return {"number": row.number, "amount": f"{row.approved_amount:.2f}", "borrower": _org_name(row.borrower_org_id),
            "funder": _org_name(row.funder_org_id), "payee": default_payee(row), "attempt": len(earlier) + 1,
            "failure": failure}


def order(business_key: str | None, payee: Account, actor_id: int | None = None) -> dict[str, Any]:
    """Place the next attempt's payment order at the gateway and record it; its order id and key.
    The payee is the borrower (`default_payee`): `payee` (what finance confirmed) gives only the
    account and bank the deal does not know."""
    row = deals.deal(business_key, for_update=True)
    if row.status != "disbursing" or row.approved_amount is None:
        raise deals.DealStateError(f"application {row.number} is {row.status}: its funds cannot be released")
    earlier = attempts(row.id)
    open_ = [d for d in earlier if d.status in ("requested", "succeeded")]
    if open_:
        raise deals.DealStateError(f"application {row.number} has disbursement {open_[0].idempotency_key} "
                                   f"{open_[0].status} already")
    attempt = len(earlier) + 1
    key = idempotency_key(row.number, attempt)
    # The money goes to the borrower: the account holder is always the borrower, and an account the
    # deal knows (its details) is the one paid; the form's answers fill only what the deal does not know.
    known = default_payee(row)
    payee = Account(name=known["name"], number=known["number"] or payee.number, bank=known["bank"] or payee.bank)
    funder = db.session.get(Organisation, row.funder_org_id)
    payer = Account(name=funder.name if funder else "funder", number=(funder.credit_code or funder.code) if funder
                    else "funder", bank=funder.name if funder else "funder")
    amount = f"{row.approved_amount:.2f}"
    receipt = gateway().create_order(PaymentOrder(
        kind="disbursement", idempotency_key=key, amount=amount, payer=payer, payee=payee, notify_url=notify_url(),
        memo=f"放款 Disbursement {row.number}", business_key=row.number))
    db.session.add(Disbursement(application_id=row.id, idempotency_key=key, order_id=receipt.order_id,
                                amount=row.approved_amount, status="requested", requested_by_id=actor_id))
    deals.note(row, "disbursement_ordered", actor_id=actor_id, amount=amount, order_id=receipt.order_id,
               attempt=attempt, payee=payee.name, account=payee.number, bank=payee.bank)
    db.session.flush()
    return {"order_id": receipt.order_id, "idempotency_key": key, "attempt": attempt, "amount": amount}


def query(business_key: str | None, order_id: str, queries: int) -> dict[str, Any]:
    """Where the order stands at the gateway (`OrderStatus` as data) and how many queries have been made.
    `PaymentStillPending` when it is still pending at the `MAX_QUERIES`th."""
    answer = gateway().query(order_id)
    count = int(queries) + 1
    if answer.status == "pending" and count >= MAX_QUERIES:
        raise PaymentStillPending(f"payment order {order_id} of {business_key} is still pending after {count} "
                                  "status queries: ask the gateway about the order, then retry this incident")
    return {**answer.to_dict(), "queries": count}


def settle(business_key: str | None, answer: dict[str, Any]) -> dict[str, Any]:
    """Act on an order's settlement (a notification or a query's answer, as data): `outcome` succeeded
    (the loan booked: `loan_id`), failed (`failure`), pending, or stale (not the deal's open order:
    nothing changes). A settlement acted on before answers its outcome again and changes nothing."""
    hold_sqlite_write_lock()  # SQLite: two settlements at once take turns (PostgreSQL: the row locks below)
    row = deals.deal(business_key, for_update=True)
    order_id = str(answer.get("order_id") or "")
    current = db.session.scalar(select(Disbursement).where(Disbursement.application_id == row.id)
                                .order_by(Disbursement.id.desc()).limit(1).with_for_update())
    if current is None or current.order_id != order_id:
        return {"outcome": "stale", "order_id": order_id, "loan_id": None, "failure": None}
    if current.status != "requested":
        return {"outcome": current.status, "order_id": order_id, "loan_id": current.loan_id,
                "failure": current.failure_reason, "duplicate": True}
    status = answer.get("status")
    if status == "succeeded":
        settled_at = parse_time(answer.get("settled_at"))
        if settled_at is None:
            raise ValueError(said("the settlement of order %(order)s has no settled_at", order=order_id))
        loan = _book(row, loans.business_date_of(settled_at))
        current.status, current.loan_id, current.settled_at = "succeeded", loan.id, settled_at
        deals.move(row, "active", "loan", "loan_booked", loan_id=loan.id, loan=loan.business_key,
                   amount=f"{loan.principal:.2f}", disbursed_on=loan.disbursed_on.isoformat(), order_id=order_id)
        _tell_borrower(row, loan)
        _start_post_loan(row, loan)
        db.session.flush()
        return {"outcome": "succeeded", "order_id": order_id, "loan_id": loan.id, "failure": None}
    if status == "failed":
        reason = str(answer.get("failure_reason") or "")  # the gateway's words; none is said in the reader's language
        current.status, current.failure_reason = "failed", reason
        current.settled_at = parse_time(answer.get("settled_at"))
        deals.note(row, "disbursement_failed", reason=reason, order_id=order_id,
                   attempt=len(attempts(row.id)))
        db.session.flush()
        return {"outcome": "failed", "order_id": order_id, "loan_id": None, "failure": reason}
    return {"outcome": "pending", "order_id": order_id, "loan_id": None, "failure": None}


def stop(business_key: str | None, reason: str, actor_id: int | None = None) -> dict[str, Any]:
    """Finance stops a disbursement that cannot or must not be paid (the account is closed or frozen, the deal
    must not go on): the deal is `expired` at stage `disbursement` with the reason, which every party reads and is
    told. Refused while an attempt's payment is under way or once one succeeded (the money may be paid)."""
    row = deals.deal(business_key, for_update=True)
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise deals.DealStateError(said("a disbursement is stopped with a reason: every party reads it"))
    under_way = [d for d in attempts(row.id) if d.status in ("requested", "succeeded")]
    if under_way:
        raise deals.DealStateError(said("application %(number)s has disbursement %(key)s %(status)s: it cannot be "
                                        "stopped", number=row.number, key=under_way[0].idempotency_key,
                                        status=under_way[0].status))
    deals.move(row, "expired", "disbursement", "disbursement_stopped", actor_id=actor_id, reason=reason)
    sending.send("disbursement_stopped", {"number": row.number, "reason": reason}, user_ids=deals.parties_users(row),
                 business_key=row.number, idempotency_key=f"{row.number}:disbursement_stopped")
    db.session.flush()
    return {"status": "expired", "reason": reason}


def _book(row: Application, disbursed_on: date) -> Any:
    product = db.session.get(Product, row.product_id)
    if product is None or row.approved_amount is None:
        raise deals.DealStateError(f"application {row.number} has no product or approved amount to book")
    return loans.book_loan(loans.LoanRequest(
        product_code=product.code, business_key=loan_key(row.number), borrower_org_id=row.borrower_org_id,
        principal=Decimal(row.approved_amount), repayments=row.term_months, disbursed_on=disbursed_on,
        funder_org_id=row.funder_org_id))


POST_LOAN = "post_loan"


def _start_post_loan(row: Application, loan: Any) -> None:
    """The loan's post-loan life starts when the outbox is next delivered (`docs/post-loan.md`)."""
    enqueue("loan_booked", loan.business_key,
            {"loan_id": loan.id, "application_number": row.number, "parties": deal_parties(row)},
            f"loan_booked:{loan.id}", loan_id=loan.id, start_process=POST_LOAN, business_date=loan.disbursed_on)


def _tell_borrower(row: Application, loan: Any) -> None:
    sending.send("loan_disbursed", {"number": row.number, "loan": loan.business_key,
                                    "amount": f"{loan.principal:,.2f}", "account": _payee_account(row)},
                 org_id=row.borrower_org_id, roles=sorted(policy.party_roles("applications.draft", "borrower")),
                 business_key=loan.business_key, idempotency_key=f"{loan.business_key}:loan_disbursed")  # opens the loan


def _payee_account(row: Application) -> str:
    """The account the last order paid (from its timeline line)."""
    return paid_to(row).number


def paid_to(row: Application) -> Account:
    """The borrower's account the deal's last disbursement order paid (from its timeline line): where
    the auto-debit the contract authorises collects from."""
    ordered = [e for e in events_of(row.id) if e.kind == "disbursement_ordered"]
    data = (ordered[-1].data or {}) if ordered else {}
    return Account(name=str(data.get("payee", "")), number=str(data.get("account", "")), bank=str(data.get("bank", "")))
