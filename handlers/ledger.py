"""Ledger operators for service tasks: book the loan, take a payment, quote a pay-off, read its position.

The ledger lives in the application's database, which handlers do not reach (no Flask here), so
these operators forward to a `LedgerPort` that the application injects when it builds the
registry (`app.services.ledger_tasks.LedgerTasks`). Without one they are still registered, so
diagrams using them validate, but calling them fails — the engine retries, then opens an incident.

| operator | params | result |
|---|---|---|
| `ledger.book_loan` | product_code, principal, repayments, borrower_org_id, [funder_org_id, disbursed_on, maturity_date] | loan_id, instalments, first_due_date |
| `ledger.take_payment` | amount, [channel, prepayment, idempotency_key] | payment_id, status, duplicate, allocation |
| `ledger.payoff_quote` | [on] | dues, principal, interest, fee, total, credit, to_pay |
| `ledger.loan_position` | — | status, dpd, bucket, balances |

The loan is the instance's business key (or `business_key` / `loan_id` in params). The idempotency
key of a payment defaults to the task's own, so a retried task books once.
"""
from __future__ import annotations

from typing import Any, Protocol

from handlers.registry import Handler, HandlerContext, HandlerRegistry


class LedgerPort(Protocol):
    def book_loan(self, params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]: ...

    def take_payment(self, params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]: ...

    def payoff_quote(self, params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]: ...

    def loan_position(self, params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]: ...


OPERATIONS = {
    "ledger.book_loan": "book_loan",
    "ledger.take_payment": "take_payment",
    "ledger.payoff_quote": "payoff_quote",
    "ledger.loan_position": "loan_position",
}


class LedgerNotConnected(RuntimeError):
    pass


def _forward(port: LedgerPort | None, method: str) -> Handler:
    def handler(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
        if port is None:
            raise LedgerNotConnected("no ledger is connected to this handler registry")
        result: dict[str, Any] = getattr(port, method)(params, ctx)
        return result

    handler.__name__ = method
    return handler


def register(registry: HandlerRegistry, port: LedgerPort | None = None) -> None:
    for operator, method in OPERATIONS.items():
        registry.register(operator)(_forward(port, method))
