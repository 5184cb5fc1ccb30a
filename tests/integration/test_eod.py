"""The end-of-day batch on every backend: overdue, penalty interest, days past due and buckets, the outbox."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.lending.codec import terms_from_mapping
from app.lending.overdue import UnpaidInstalment, accrue_penalty_interest
from app.models import EodRun, InboxMessage, Instalment, JournalEntry, JournalLine, Loan, OutboxMessage
from app.services import clock
from app.services.errors import Conflict
from app.services.ledger import eod, loans
from app.services.ledger.eod import run_eod
from app.services.ledger.repayments import PaymentNotice, take_payment
from app.services.workflow.outbox_delivery import deliver_outbox
from tests.integration.ledger_support import assert_books_balance, book, borrower, business_day, product

START = date(2026, 1, 10)


@pytest.fixture
def loan_id(ctx, clock) -> int:
    business_day(clock, START)
    product()
    loan_id = book(borrower())
    run_eod(START)
    return loan_id


def messages(name: str) -> list[dict]:
    return [m.payload for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.name == name)
                                                  .order_by(OutboxMessage.id))]


def snapshot() -> dict[str, list[tuple]]:
    """Every row the batch may write, to compare before and after."""
    db.session.expire_all()
    tables = {"instalments": Instalment, "loans": Loan, "journal_entries": JournalEntry,
              "journal_lines": JournalLine, "outbox": OutboxMessage}
    return {name: [tuple(r) for r in db.session.execute(select(model.__table__).order_by(*model.__table__.primary_key))]
            for name, model in tables.items()}


def test_overdue_and_buckets_move_across_several_runs(loan_id):
    run_eod(date(2026, 2, 13))  # instalment 1 is due on 10 Feb; the product allows 3 days of grace
    first = loans.instalments(loan_id)[0]
    assert first.status == "pending" and first.interest_billed == first.interest_due
    assert loans.load_loan(loan_id).bucket == "current"
    run_eod(date(2026, 2, 14))
    loan = loans.load_loan(loan_id)
    assert loans.instalments(loan_id)[0].status == "overdue"
    assert (loan.dpd, loan.bucket) == (4, "1-30")  # counted from the due date, once past the grace

    for day, dpd, bucket in [(date(2026, 3, 12), 30, "1-30"), (date(2026, 3, 13), 31, "31-60"),
                             (date(2026, 5, 11), 90, "61-90"), (date(2026, 5, 12), 91, "91+")]:
        run_eod(day)
        loan = loans.load_loan(loan_id)
        assert (loan.dpd, loan.bucket) == (dpd, bucket), day
    changes = [(m["from"], m["to"], m["business_date"]) for m in messages("bucket_changed")]
    assert changes == [("current", "1-30", "2026-02-14"), ("1-30", "31-60", "2026-03-13"),
                       ("31-60", "61-90", "2026-04-12"), ("61-90", "91+", "2026-05-12")]
    overdue = [(m["business_date"], m["first_due_date"]) for m in messages("overdue")]
    assert overdue == [("2026-02-14", "2026-02-10"), ("2026-03-14", "2026-03-10"), ("2026-04-14", "2026-04-10")]
    notices = [(m["number"], m["due_date"]) for m in messages("bill_due_soon")]  # once each, 3 days ahead
    assert notices == [(1, "2026-02-10"), (2, "2026-03-10"), (3, "2026-04-10"), (4, "2026-05-10")]
    due = [(m["number"], m["due_date"], m["amount_due"], m["business_date"]) for m in messages("bill_due")]
    assert [d[:2] for d in due] == [(1, "2026-02-10"), (2, "2026-03-10"), (3, "2026-04-10"), (4, "2026-05-10")]
    assert all(Decimal(d[2]) > 0 for d in due)  # still owing, written by the batch of the day before
    assert [d[3] for d in due] == ["2026-02-09", "2026-03-09", "2026-04-09", "2026-05-09"]
    assert {m.correlation_key for m in db.session.scalars(select(OutboxMessage))} == {"LOAN-1"}
    assert_books_balance(loan_id)


def test_penalty_interest_is_the_domain_rule_day_by_day(loan_id):
    until = date(2026, 4, 30)
    run_eod(until)
    terms = terms_from_mapping(loans.load_loan(loan_id).terms)
    overdue = [r for r in loans.instalments(loan_id) if r.status == "overdue"]
    assert [r.number for r in overdue] == [1, 2, 3]
    for row in overdue:
        unpaid = UnpaidInstalment(row.number, row.due_date, row.principal_due, row.interest_due)
        expected, day = Decimal("0.00"), row.due_date
        while day < until:
            day += timedelta(days=1)
            expected += accrue_penalty_interest(terms, unpaid, day)
        assert row.penalty_due == expected, row.number
    assert_books_balance(loan_id)


def test_a_penalty_charge_is_taken_once_per_overdue_instalment(ctx, clock):
    business_day(clock, START)
    product(code="CHARGE2", penalty_charge_percent="2", penalty_rate_multiplier="0")
    loan_id = book(borrower(), code="CHARGE2")
    run_eod(START)
    run_eod(date(2026, 2, 28))
    first = loans.instalments(loan_id)[0]
    assert first.penalty_due == (first.principal_due * Decimal("0.02")).quantize(Decimal("0.01"))
    assert_books_balance(loan_id)


def test_a_payment_of_what_is_overdue_brings_the_loan_back_before_the_night(loan_id, clock):
    """Days past due are the batch's, but a payment (or waiver) lowers them at once: the oldest bill paid, the loan
    is as late as the next; all paid, it is current, and its collections case hears so (`bucket_changed`)."""
    run_eod(date(2026, 3, 20))  # bills 1 (due 10 Feb) and 2 (due 10 Mar) overdue
    loan = loans.load_loan(loan_id)
    assert (loan.dpd, loan.bucket) == (38, "31-60")
    business_day(clock, date(2026, 3, 21))
    first = loans.instalments(loan_id)[0]
    take_payment(PaymentNotice(loan_id, "oldest", loans.owed(first)))
    db.session.commit()
    loan = loans.load_loan(loan_id)
    assert loans.instalments(loan_id)[0].status == "paid"
    assert (loan.dpd, loan.bucket) == (10, "1-30")  # bill 2's days, to the last batch's day as the batch counts
    rest = loans.amounts_overdue([loan_id])[loan_id]
    take_payment(PaymentNotice(loan_id, "rest", rest))
    db.session.commit()
    loan = loans.load_loan(loan_id)
    assert (loan.dpd, loan.bucket, loan.status) == (0, "current", "active")
    changes = [(m["from"], m["to"], m["dpd"]) for m in messages("bucket_changed")]
    assert changes[-2:] == [("31-60", "1-30", 10), ("1-30", "current", 0)]
    run_eod(date(2026, 3, 21))  # the night's batch finds nothing to say again
    assert len(messages("bucket_changed")) == len(changes)
    assert (loans.load_loan(loan_id).dpd, loans.load_loan(loan_id).bucket) == (0, "current")
    assert_books_balance(loan_id)


def test_running_a_date_twice_changes_nothing(loan_id, runner):
    run_eod(date(2026, 3, 20))
    before = snapshot()
    assert run_eod(date(2026, 3, 20)) == []
    result = runner.invoke(args=["eod", "run", "--date", "2026-03-20"], catch_exceptions=False)
    assert result.exit_code == 0 and "nothing to do" in result.output
    # even forced through every step again, the date finds nothing left to do
    run_id = db.session.scalar(select(EodRun.id).where(EodRun.business_date == date(2026, 3, 20)))
    counts: dict = {}
    batch = eod._Batch(eod.SqlDialect(db.session.get_bind().dialect.name), date(2026, 3, 20), run_id, counts)
    for step in batch.steps(eod.BILL_NOTICE_DAYS):
        step()
    db.session.commit()
    assert snapshot() == before
    assert {k: v for k, v in counts.items() if v not in (0, "0.00")} == {"loans_past_due": 1}


def test_a_crashed_run_leaves_nothing_and_is_redone(loan_id, monkeypatch):
    run_eod(date(2026, 2, 13))
    before = snapshot()

    def crash(self) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(eod._Batch, "days_past_due", crash)
    with pytest.raises(RuntimeError):
        run_eod(date(2026, 2, 14))
    run = db.session.scalar(select(EodRun).where(EodRun.business_date == date(2026, 2, 14)))
    assert run.status == "failed" and "power cut" in run.error
    assert snapshot() == before
    monkeypatch.undo()

    [summary] = run_eod(date(2026, 2, 14))
    db.session.expire_all()
    run = db.session.scalar(select(EodRun).where(EodRun.business_date == date(2026, 2, 14)))
    assert (run.status, run.attempts) == ("completed", 2)
    assert summary.counts["instalments_overdue"] == 1 and run.counts == summary.counts
    assert loans.load_loan(loan_id).bucket == "1-30"


def test_the_cli_runs_every_date_up_to_the_given_one_and_shows_a_summary(loan_id, runner):
    result = runner.invoke(args=["eod", "run", "--date", "2026-01-13"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "completed in" in line]
    assert [line.split()[0] for line in lines] == ["2026-01-11", "2026-01-12", "2026-01-13"]
    assert runner.invoke(args=["eod", "runs"], catch_exceptions=False).exit_code == 0
    balance = runner.invoke(args=["ledger", "trial-balance"], catch_exceptions=False)
    assert balance.exit_code == 0 and balance.output.splitlines()[-1].split() == ["total", "0.00"]


def test_the_worker_delivers_the_outbox_once(loan_id):
    run_eod(date(2026, 2, 14))
    pending = db.session.scalars(select(OutboxMessage.id).where(OutboxMessage.delivered_at.is_(None))).all()
    assert len(pending) == 4  # bill_due_soon, overdue, bucket_changed, bill_due
    assert deliver_outbox() == 4
    assert deliver_outbox() == 0
    kept = db.session.execute(select(InboxMessage.name, InboxMessage.dedup_key).order_by(InboxMessage.id)).all()
    names = dict(db.session.execute(select(OutboxMessage.id, OutboxMessage.name)).all())
    assert sorted(names.values()) == ["bill_due", "bill_due_soon", "bucket_changed", "overdue"]
    assert [tuple(k) for k in kept] == [(names[i], f"outbox:{i}") for i in pending]


@pytest.mark.parametrize("backend_app", ["postgresql"], indirect=True)  # SQLite serialises writers itself
def test_only_one_batch_runs_at_a_time(loan_id):
    assert db.engine.dialect.name == "postgresql"
    with db.engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": eod.EOD_LOCK})
        with pytest.raises(Conflict):
            run_eod(date(2026, 1, 11))
        other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": eod.EOD_LOCK})
        other.commit()
    assert [s.business_date for s in run_eod(date(2026, 1, 12))] == [date(2026, 1, 11), date(2026, 1, 12)]


def test_a_batch_run_ahead_of_the_clock_moves_the_business_date_with_it(loan_id):
    today = loans.business_today()
    ahead = today + timedelta(days=40)
    run_eod(ahead)
    assert loans.business_today() == ahead + timedelta(days=1)  # nothing is booked on a date the batch closed
    now = clock.now()
    assert loans.business_date_of(now) == ahead + timedelta(days=1)
    later = now + timedelta(days=60)  # after the closed dates: its own date
    assert loans.business_date_of(later) == later.astimezone(loans.business_tz()).date()
