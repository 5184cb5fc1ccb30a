"""`post_loan`'s service-task operators (`processes/post_loan.bpmn`), registered by `app.wiring`.

| operator | params | result |
|---|---|---|
| `servicing.prepare` | — | loan_id, loan, application_number, borrower, funder, principal, authorised |
| `servicing.bill_notice` | bill (the `bill_due_soon` message) | sent, reason |
| `servicing.auto_debit` | bill (the `bill_due` message) | outcome (`ordered` / `skipped`), reason, order_id, amount |
| `servicing.open_case` | overdue (the `overdue` message) | opened (a collections case was asked for), and the loan as of the batch's day (`as_of`): dpd, amount_overdue (what all its overdue instalments owe, penalties included), overdue_since (its oldest overdue instalment's due date); alert (finance has no open alert of the loan: a new task is due) |
| `servicing.close` | — | document_id, status |
| `servicing.escalate` | note, amount_overdue, days_past_due | sent (the funder's team leads told) |

Each works on the loan of the instance's business key (`LOAN-<number>`), in the step's transaction.
A message that arrives late (its bill paid meanwhile, the loan closed) does nothing and says why.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import HumanTask, Instalment
from app.services.identity import grants, policy
from app.services.ledger.loans import amounts_overdue, owed
from app.services.notices import sending
from app.services.origination.applications import deal_parties
from app.services.servicing import auto_debit, closing
from app.services.servicing.loans import loan_deal
from app.services.workflow.operators import HandlerContext, HandlerRegistry
from app.services.workflow.outbox import enqueue

COLLECTIONS = "collections"
HOW_AUTO = {"how_en": "It will be debited from the account the loan was paid to on the due date, as you authorised "
                      "in the contract: please keep enough in it.",
            "how_zh": "还款日将按合同中的代扣授权从放款账户自动扣款，请确保账户余额充足。"}
HOW_PAY = {"how_en": "Pay it on the loan's page, online or by bank transfer.",
           "how_zh": "请在贷款页面在线还款或通过银行转账还款。"}


def prepare(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    deal = loan_deal(ctx.business_key)
    return {"loan_id": deal.loan.id, "loan": deal.loan.business_key, "application_number": deal.application.number,
            "borrower": deal.borrower.name, "funder": deal.funder.name if deal.funder else "",
            "principal": f"{deal.loan.principal:.2f}", "authorised": auto_debit.authorised(deal)}


def _bill(params: dict[str, Any]) -> dict[str, Any]:
    bill = params.get("bill")
    return bill if isinstance(bill, dict) else {}


def bill_notice(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    """The borrower's applicants told what falls due and when — unless it was paid meanwhile."""
    deal, bill = loan_deal(ctx.business_key), _bill(params)
    number = int(bill.get("number") or 0)
    row = db.session.scalar(select(Instalment).where(Instalment.loan_id == deal.loan.id, Instalment.number == number,
                                                    Instalment.is_current.is_(True)))
    if deal.loan.status != "active" or row is None or row.status != "pending" or owed(row) <= 0:
        return {"sent": False, "reason": "nothing_owed"}
    sending.send("bill_due_soon", {"loan": deal.loan.business_key, "number": number, "date": row.due_date.isoformat(),
                                   "amount": f"{owed(row):,.2f}",
                                   **(HOW_AUTO if auto_debit.authorised(deal) else HOW_PAY)},
                 org_id=deal.loan.borrower_org_id, roles=sorted(policy.party_roles("applications.draft", "borrower")),
                 business_key=deal.application.number,
                 idempotency_key=f"{deal.loan.business_key}:bill_due_soon:{number}:{row.due_date.isoformat()}")
    return {"sent": True, "reason": None}


def auto_debit_task(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    bill = _bill(params)
    return auto_debit.debit(loan_deal(ctx.business_key), int(bill.get("number") or 0), str(bill.get("due_date") or ""))


def _overdue_since(loan_id: int) -> str | None:
    oldest = db.session.scalar(select(func.min(Instalment.due_date)).where(
        Instalment.loan_id == loan_id, Instalment.is_current, Instalment.status == "overdue"))
    return oldest.isoformat() if oldest is not None else None


def open_case(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    """Finance told, and a collections case asked for (one per overdue episode: its first due date).

    What finance's task shows is the whole loan as of the batch's day (every overdue instalment, penalties
    included, since the oldest one's due date), not the instalments this message is about: the second
    instalment's alert said 'overdue since' its own due date beside the loan's days past due, and the
    instalment's amount without its penalty."""
    deal = loan_deal(ctx.business_key)
    given = params.get("overdue")
    overdue: dict[str, Any] = given if isinstance(given, dict) else {}
    loan, application = deal.loan, deal.application
    as_of = overdue.get("business_date")
    # one alert open at a time: a later instalment falling overdue while finance has not handled the last alert
    # updates the loan's figures (escalating reads them) and gives no second task (the demo's loan had one per bill)
    alert = db.session.scalar(select(HumanTask.id).where(
        HumanTask.instance_id == ctx.instance_id, HumanTask.element_id == "review_overdue",
        HumanTask.state.in_(("ready", "claimed"))).limit(1)) is None
    if loan.status != "active":
        return {"opened": False, "dpd": loan.dpd, "amount_overdue": None, "overdue_since": None, "as_of": as_of,
                "alert": False}
    first_due = str(overdue.get("first_due_date") or "")
    amount = str(overdue.get("amount_overdue") or "0.00")
    payload = {"loan_id": loan.id, "application_number": application.number, "loan": loan.business_key,
               "business_date": overdue.get("business_date"), "first_due_date": first_due, "dpd": loan.dpd,
               "amount_overdue": amount, "borrower": deal.borrower.name, "parties": deal_parties(application)}
    opened = enqueue("collections_opened", loan.business_key, payload, f"collections:{loan.id}:{first_due}",
                     loan_id=loan.id, start_process=COLLECTIONS)
    if deal.funder is not None:
        sending.send("loan_overdue", {"loan": loan.business_key, "number": application.number,
                                      "borrower": deal.borrower.name, "amount": f"{Decimal(amount):,.2f}",
                                      "date": first_due},
                     org_id=deal.funder.id, roles=sorted(policy.party_roles("payments.confirm", "funder")),
                     business_key=application.number,
                     idempotency_key=f"{loan.business_key}:loan_overdue:{overdue.get('business_date')}")
    return {"opened": opened, "dpd": loan.dpd, "amount_overdue": f"{amounts_overdue([loan.id])[loan.id]:.2f}",
            "overdue_since": _overdue_since(loan.id) or first_due, "as_of": as_of, "alert": alert}


def escalate(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    """Finance escalates an overdue loan: the funder's team leads are told, with finance's note and the loan as it
    stands (the alert's task may be some days old)."""
    deal = loan_deal(ctx.business_key)
    if deal.funder is None:
        return {"sent": 0}
    loan, application = deal.loan, deal.application
    sent = sending.send("overdue_escalated", {
        "loan": loan.business_key, "number": application.number, "borrower": deal.borrower.name,
        "amount": f"{amounts_overdue([loan.id])[loan.id]:,.2f}", "dpd": loan.dpd,  # as the loan stands now
        "note": str(params.get("note") or "")}, org_id=deal.funder.id, roles=list(grants.MANAGEMENT_ROLES),
        business_key=application.number, idempotency_key=f"{loan.business_key}:overdue_escalated:{ctx.instance_id}:"
                                                         f"{params.get('days_past_due')}")
    return {"sent": len(sent)}


def close(params: dict[str, Any], ctx: HandlerContext) -> dict[str, Any]:
    return closing.close(loan_deal(ctx.business_key, for_update=True))


OPERATORS = {
    "servicing.prepare": prepare,
    "servicing.bill_notice": bill_notice,
    "servicing.auto_debit": auto_debit_task,
    "servicing.open_case": open_case,
    "servicing.close": close,
    "servicing.escalate": escalate,
}


def register(registry: HandlerRegistry) -> None:
    for operator, handler in OPERATORS.items():
        registry.register(operator)(handler)
