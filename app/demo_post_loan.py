"""The demo's loans after disbursement (docs/post-loan.md): deals disbursed weeks ago, lived day by
day up to today as the worker would have lived them — each night's end-of-day batch, its messages
delivered to the loans' `post_loan` instances, the auto-debits settled by the payments simulator,
the due timers woken — so `make run` opens on loans with a history:

| deal | disbursed | what happened |
|---|---|---|
| credit loan ¥120,000 | 100 days ago | paid off early online 10 days later: closed, settlement certificate |
| credit loan ¥80,000 | 75 days ago | every auto-debit failed (insufficient balance): overdue, finance alerted, a collections case |
| credit loan ¥200,000 | 40 days ago | its first bill auto-debited on time; the next is due in a few days |

The clock the services read is moved for the seed only (`app.extensions["loanflow_clock"]`) and put
back after; the simulators' callbacks are handed to the platform in process, as `app.demo_signing` does.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from app.demo_signing import payment_in_process
from app.extensions import db
from app.models import Loan, OutboxMessage
from app.services import clock as clocks
from app.services import context
from app.services.identity import directory as identity
from app.services.ledger import repayments
from app.services.ledger.eod import run_eod
from app.services.signing import online_repayments
from app.services.simulators import payments as payments_simulator
from app.services.workflow import waking
from app.services.workflow.outbox_delivery import deliver_outbox

# (amount, term in months, disbursed this many days before today, what the borrower does)
POST_LOAN_DEALS = (("120000.00", 6, 100, "pays_off"), ("80000.00", 6, 75, "defaults"), ("200000.00", 12, 40, "on_time"))
PAY_OFF_AFTER_DAYS = 10
NO_FUNDS = "insufficient_funds"  # the gateway's code: the borrower reads it in their language

CreateDeal = Callable[[str, int], str]  # (amount, months) -> the application number, taken to an active loan


@contextmanager
def _clock() -> Iterator[dict[str, datetime]]:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    previous = app.extensions.get("loanflow_clock")
    holder = {"now": clocks.now()}
    app.extensions["loanflow_clock"] = lambda: holder["now"]
    try:
        yield holder
    finally:
        if previous is None:
            app.extensions.pop("loanflow_clock", None)
        else:
            app.extensions["loanflow_clock"] = previous


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=context.business_tz()).astimezone(UTC)


def seed(create_deal: CreateDeal) -> None:
    """Create the deals above in the past and live every day since; the batch has then run up to yesterday."""
    today = clocks.now().astimezone(context.business_tz()).date()
    first = today - timedelta(days=max(d[2] for d in POST_LOAN_DEALS))
    plans: dict[str, tuple[int, str]] = {}  # loan business key -> (disbursed days ago, plan)
    with _clock() as clock:
        pending = sorted(POST_LOAN_DEALS, key=lambda d: -d[2])
        day = first
        while day < today:
            while pending and today - timedelta(days=pending[0][2]) == day:
                amount, months, days_ago, plan = pending.pop(0)
                clock["now"] = _at(day, 10)
                number = create_deal(amount, months)
                plans[f"LOAN-{number}"] = (days_ago, plan)
                deliver_outbox()  # loan_booked: its post_loan starts
            clock["now"] = _at(day, 15)
            _borrower_acts(day, today, plans)
            waking.wake_due()  # the worker wakes timers all day: a case's 08:00 reminder goes out in the hours
            db.session.commit()
            clock["now"] = _at(day + timedelta(days=1), 0, 30)  # the night's batch for `day`
            run_eod(day)
            _fail_debits_of(plans)
            _worker(clock["now"])
            day += timedelta(days=1)


def _borrower_acts(day: date, today: date, plans: dict[str, tuple[int, str]]) -> None:
    for key, (days_ago, plan) in plans.items():
        if plan == "pays_off" and day == today - timedelta(days=days_ago - PAY_OFF_AFTER_DAYS):
            loan = db.session.scalar(select(Loan).where(Loan.business_key == key))
            if loan is None:
                continue
            to_pay = Decimal(repayments.quote_payoff(loan.id)["to_pay"])
            applicant = identity.principal_for("applicant1")
            placed = online_repayments.order(applicant, loan.id, to_pay, f"demo-payoff-{loan.id}")
            payments_simulator.pay(applicant, placed.row.order_id)
            payments_simulator.deliver_notifications(post=payment_in_process)


def _fail_debits_of(plans: dict[str, tuple[int, str]]) -> None:
    """The defaulting borrower's account is empty: its auto-debits the batch asked for fail."""
    defaulting = [key for key, (_, plan) in plans.items() if plan == "defaults"]
    due = db.session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.name == "bill_due", OutboxMessage.correlation_key.in_(defaulting),
        OutboxMessage.delivered_at.is_(None)).limit(1))
    if due is not None:
        payments_simulator.fail_next(1, NO_FUNDS)
    db.session.commit()


def _worker(now: datetime) -> None:
    """What the worker does in a night: deliver the batch's messages, let the gateway settle, wake timers."""
    deliver_outbox()
    payments_simulator.settle_due(now + timedelta(minutes=5))
    payments_simulator.deliver_notifications(post=payment_in_process)
    deliver_outbox()  # a loan closed by a payment tells its post_loan
    waking.wake_due()
    db.session.commit()


