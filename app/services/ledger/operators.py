"""The ledger's service-task operators, registered by the ledger itself.

| operator | params | result |
|---|---|---|
| `ledger.book_loan` | product_code, principal, repayments, borrower_org_id, [funder_org_id, disbursed_on, maturity_date] | loan_id, instalments, first_due_date |
| `ledger.take_payment` | amount, [channel, prepayment, idempotency_key] | payment_id, status, duplicate, allocation |
| `ledger.payoff_quote` | [on] | dues, principal, interest, fee, total, credit, to_pay |
| `ledger.loan_position` | — | status, dpd, bucket, balances |

The loan is the instance's business key (or `business_key` / `loan_id` in params). The idempotency
key of a payment defaults to the task's own, so a retried task books once.

Each runs inside the engine step's transaction and never commits. Bad input and loans in the wrong
state are business outcomes (`BusinessError`: a diagram can catch them with an error boundary
event); anything else is a failure the engine retries.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.lending.codec import parse_date, parse_int
from app.lending.errors import LendingError
from app.lending.money import parse_money
from app.models import Loan
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict, Invalid, NotFound
from app.services.ledger.journal import loan_balances
from app.services.ledger.loans import LoanRequest, book_loan, business_today, instalments
from app.services.ledger.repayments import PaymentNotice, quote_payoff, take_payment
from app.services.workflow.operators import BusinessError, HandlerContext, HandlerRegistry


@contextmanager
def _as_business_errors() -> Iterator[None]:
    try:
        yield
    except LendingError as exc:
        raise BusinessError("ledger_invalid", str(exc), {"field": exc.field}) from exc
    except Invalid as exc:
        raise BusinessError("ledger_invalid", exc.message, exc.fields) from exc
    except Conflict as exc:
        raise BusinessError("ledger_conflict", exc.message) from exc
    except NotFound as exc:
        raise BusinessError("loan_not_found", exc.message) from exc


def _optional(params: dict[str, Any], name: str, parse: Callable[[object, str], Any]) -> Any:
    value = params.get(name)
    return None if value in (None, "") else parse(value, name)


def book_loan_task(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    with _as_business_errors():
        key = params.get("business_key") or ctx.business_key
        if not key:
            raise Invalid(_l("a loan needs a business key"), {"business_key": [_l("is required")]})
        disbursed_on: date = _optional(params, "disbursed_on", parse_date) or business_today()
        loan = book_loan(LoanRequest(
            product_code=str(params.get("product_code", "")), business_key=str(key),
            borrower_org_id=parse_int(params.get("borrower_org_id"), "borrower_org_id"),
            principal=parse_money(params.get("principal"), "principal"),
            repayments=parse_int(params.get("repayments", 1), "repayments"), disbursed_on=disbursed_on,
            funder_org_id=_optional(params, "funder_org_id", parse_int),
            maturity_date=_optional(params, "maturity_date", parse_date)))
        rows = instalments(loan.id)
        return {"loan_id": loan.id, "business_key": loan.business_key, "instalments": len(rows),
                "first_due_date": rows[0].due_date.isoformat(), "principal": str(loan.principal)}

def take_payment_task(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    with _as_business_errors():
        loan = _loan(params, ctx)
        outcome = take_payment(PaymentNotice(
            loan_id=loan.id, idempotency_key=str(params.get("idempotency_key") or ctx.idempotency_key),
            amount=str(params.get("amount", "")), channel=str(params.get("channel", "online")),
            prepayment=str(params.get("prepayment", "shorten_term"))))
        payment = outcome.payment
        return {"payment_id": payment.id, "status": payment.status, "duplicate": outcome.duplicate,
                "allocation": payment.allocation}

def payoff_quote_task(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    with _as_business_errors():
        return quote_payoff(_loan(params, ctx).id, _optional(params, "on", parse_date))

def loan_position_task(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    with _as_business_errors():
        loan = _loan(params, ctx)
        balances = loan_balances(loan.id)
        return {"loan_id": loan.id, "status": loan.status, "dpd": loan.dpd, "bucket": loan.bucket,
                "balances": {k: str(v) for k, v in balances.items() if v != Decimal(0)}}

def _loan(params: dict[str, Any], ctx: HandlerContext) -> Loan:
    if params.get("loan_id") is not None:
        query = select(Loan).where(Loan.id == parse_int(params["loan_id"], "loan_id"))
    else:
        query = select(Loan).where(Loan.business_key == str(params.get("business_key") or ctx.business_key))
    loan = db.session.scalar(query.execution_options(populate_existing=True))
    if loan is None:
        raise NotFound(_l("no loan for this instance"))
    return loan


OPERATORS = {
    "ledger.book_loan": book_loan_task,
    "ledger.take_payment": take_payment_task,
    "ledger.payoff_quote": payoff_quote_task,
    "ledger.loan_position": loan_position_task,
}


def register(registry: HandlerRegistry) -> None:
    for operator, handler in OPERATORS.items():
        registry.register(operator)(handler)
