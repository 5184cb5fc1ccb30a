"""Disbursement's service-task operators (`processes/disbursement.bpmn`, docs/signing.md).

| operator | params | result |
|---|---|---|
| `disbursement.prepare` | — | `number`, `amount`, `borrower`, `funder`, `payee` (`name`, `number`, `bank`: the default), `attempt`, `failure` (the last attempt's reason, or None) |
| `disbursement.order` | `payee_name`, `payee_account`, `payee_bank` (what finance confirmed) | `order_id`, `idempotency_key` (`<number>:disbursement:<attempt>`), `attempt`, `amount` |
| `disbursement.query` | `order_id`, `queries` (made so far) | the gateway's `OrderStatus` (`order_id`, `status`, `settled_at`, `failure_reason`) and `queries`; fails after 30 pending answers |
| `disbursement.stop` | `reason` (finance's, required) | `status` (expired), `reason` |
| `disbursement.settle` | `answer` (a `payment_settled` notification or a query's answer) | `outcome` (succeeded, failed, pending, stale), `order_id`, `loan_id`, `failure` |

Each finds the deal by the instance's business key (the application's number). Who released the
funds is whoever completed the instance's `release_funds` task last.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from app.engine.said import said
from app.extensions import db
from app.models import HumanTask
from app.services.signing import disbursements
from app.services.workflow.operators import HandlerContext, HandlerRegistry
from handlers.payments import Account


def _atomic(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """`call()` in a savepoint: an operator that fails half way (a settlement whose borrower notice
    could not be queued after the loan was booked) leaves nothing behind when its task is parked for
    a retry, and the retry does it all again (the loan was booked and the borrower never told)."""
    with db.session.begin_nested():
        return call()


def prepare(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return _atomic(lambda: disbursements.prepare(ctx.business_key))


def _released_by(ctx: HandlerContext) -> int | None:
    if ctx.instance_id is None:
        return None
    return db.session.scalar(select(HumanTask.completed_by_id).where(
        HumanTask.instance_id == ctx.instance_id, HumanTask.element_id == "release_funds",
        HumanTask.state == "completed").order_by(HumanTask.completed_at.desc(), HumanTask.id.desc()).limit(1))


def order(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    payee = Account(name=str(params.get("payee_name") or "").strip(),
                    number=str(params.get("payee_account") or "").strip(),
                    bank=str(params.get("payee_bank") or "").strip())
    return _atomic(lambda: disbursements.order(ctx.business_key, payee, _released_by(ctx)))


def query(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return _atomic(lambda: disbursements.query(ctx.business_key, str(params.get("order_id") or ""),
                                               int(params.get("queries") or 0)))


def settle(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    answer = params.get("answer")
    if not isinstance(answer, dict):
        raise ValueError(said("disbursement.settle needs `answer`: a payment notification or an order status"))
    return _atomic(lambda: disbursements.settle(ctx.business_key, answer))


def stop(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return _atomic(lambda: disbursements.stop(ctx.business_key, str(params.get("reason") or ""), _released_by(ctx)))


def register(registry: HandlerRegistry) -> None:
    registry.register("disbursement.prepare")(prepare)
    registry.register("disbursement.order")(order)
    registry.register("disbursement.query")(query)
    registry.register("disbursement.settle")(settle)
    registry.register("disbursement.stop")(stop)
