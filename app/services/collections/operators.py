"""The collections case's service-task operators (`processes/collections.bpmn`, docs/post-loan.md).

| operator | params | result |
|---|---|---|
| `collections.open` | — | loan_id, loan, borrower, status, dpd, bucket, amount_overdue, pledged |
| `collections.plan` | action | action, name_en, name_zh |
| `collections.contact_window` | — | open, opens_at (the next 08:00 China time), now |
| `collections.send_reminder` | — | sent, at (the SMS to the borrower; only inside the window) |
| `collections.demand_letter` | — | document (`document:<id>`), number, pay_by, amount_overdue |
| `collections.refer` | action | referred, on (the funder's finance told) |
| `collections.record_contact` | contact_date, contact_time, channel, outcome, promise_date, promise_amount, note | promised, contacted_at, check_at |
| `collections.check_promise` | promised, promise_date, promise_amount, contact_date | outcome (kept, broken, follow_up), paid |
| `collections.check_sale` | agency, discount_percent | ok, price, outstanding, agency_name, error_en, error_zh |
| `collections.decide_sale` | decision, agency, discount_percent, price, reason, note | outcome (sold, rejected), ... |
| `collections.decide_write_off` | decision, reason, note | outcome (written_off, rejected), ... |
| `collections.decide_waiver` | decision, amount (empty: all), reason, note | outcome (waived, rejected, refused), waived |

The loan is the instance's business key. Each runs in a savepoint: one that fails half way leaves
nothing behind when its task is retried.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.extensions import db
from app.services.collections import cases, decisions, letters
from app.services.workflow.operators import HandlerContext, HandlerRegistry

Operator = Callable[[dict[str, Any], HandlerContext], dict[str, Any]]


def _atomic(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    with db.session.begin_nested():
        return call()


def _open(ctx: HandlerContext) -> dict[str, Any]:
    cases.platform_works(ctx.instance_id)
    return cases.position(ctx.business_key)


CONTACT_FIELDS = ("contact_date", "contact_time", "channel", "outcome", "promise_date", "promise_amount", "note")

OPERATORS: dict[str, Operator] = {
    "collections.open": lambda p, ctx: _atomic(lambda: _open(ctx)),
    "collections.plan": lambda p, ctx: cases.action_names(str(p.get("action") or "")),
    "collections.contact_window": lambda p, ctx: cases.window(),
    "collections.send_reminder": lambda p, ctx: _atomic(
        lambda: cases.send_reminder(ctx.business_key, ctx.idempotency_key)),
    "collections.demand_letter": lambda p, ctx: _atomic(
        lambda: letters.demand_letter(ctx.business_key, ctx.instance_id)),
    "collections.refer": lambda p, ctx: _atomic(
        lambda: cases.refer(ctx.business_key, str(p.get("action") or ""), ctx.idempotency_key)),
    "collections.record_contact": lambda p, ctx: cases.record_contact({k: p.get(k) for k in CONTACT_FIELDS}),
    "collections.check_promise": lambda p, ctx: cases.check_promise(
        ctx.business_key, bool(p.get("promised")), p.get("promise_date"), p.get("promise_amount"),
        p.get("contact_date")),
    "collections.check_sale": lambda p, ctx: _atomic(
        lambda: decisions.price_sale(ctx, str(p.get("agency") or ""), p.get("discount_percent"))),
    "collections.decide_sale": lambda p, ctx: _atomic(lambda: decisions.decide_sale(ctx, p)),
    "collections.decide_write_off": lambda p, ctx: _atomic(lambda: decisions.decide_write_off(ctx, p)),
    "collections.decide_waiver": lambda p, ctx: _atomic(lambda: decisions.decide_waiver(ctx, p)),
}


def register(registry: HandlerRegistry) -> None:
    for operator, handler in OPERATORS.items():
        registry.register(operator)(handler)
