"""Money decided once under real races: finance confirming and rejecting one offline payment from
many threads at the same moment against the app served over HTTP, on both databases; waivers,
write-offs, credit refunds and payments racing in threads of their own.

A payment is decided once: of two racing decisions (confirm/confirm, confirm/reject, reject/reject)
one is answered 200 and the other 409, and nothing is booked twice. Never a 500, never money twice.
"""
from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import JournalEntry, JournalLine, Loan, Payment
from app.services.errors import Conflict, Invalid
from app.services.identity import directory as identity
from app.services.ledger import adjustments, loans, repayments
from tests.integration.ledger_support import assert_books_balance, business_day, product

START = date(2026, 1, 10)
ROUNDS = 10


class Books:
    """One loan of BORR1 funded by BANK1, its applicant's and its finance's tokens, the served app."""

    def __init__(self, app, base_url: str, loan_id: int, tokens: dict[str, str]) -> None:
        self.app, self.base_url, self.loan_id, self.tokens = app, base_url, loan_id, tokens
        self._keys = 0

    def pending_payment(self, amount: str = "12.00") -> int:
        """A new offline payment waiting for finance (recorded in-process: only the decisions race)."""
        self._keys += 1
        with self.app.app_context():
            outcome = repayments.record_offline_payment(identity.principal_for("applicant1"), self.loan_id,
                                                        Decimal(amount), f"voucher-{self._keys}")
            payment_id = outcome.payment.id
            db.session.remove()
        return payment_id

    def race(self, payment_id: int, decisions: list[str]) -> list[tuple[int, dict[str, Any]]]:
        """POST each decision (`confirm`, or `reject` with its reason) from its own thread, all released at once."""
        headers = {"Authorization": f"Bearer {self.tokens['finance1']}", "Content-Type": "application/json"}
        bodies = {"confirm": b"{}", "reject": json.dumps({"reason": "转账凭证金额与到账不符"}).encode("utf-8")}
        return race_posts(self.base_url, [
            (f"/api/v1/loans/{self.loan_id}/payments/{payment_id}/{decision}", headers, bodies[decision])
            for decision in decisions])

    def payment(self, payment_id: int) -> tuple[str, int, Decimal]:
        """The payment's status, its payment entries, and the cash the journal holds for it."""
        with self.app.app_context():
            status = db.session.scalar(select(Payment.status).where(Payment.id == payment_id))
            entries = db.session.scalar(select(func.count()).select_from(JournalEntry).where(
                JournalEntry.payment_id == payment_id, JournalEntry.kind == "payment"))
            cash = db.session.scalar(select(func.coalesce(func.sum(JournalLine.amount), 0)).join(
                JournalEntry, JournalEntry.id == JournalLine.entry_id).where(
                JournalEntry.payment_id == payment_id, JournalLine.account == "cash_clearing"))
            db.session.remove()
        return str(status), int(entries or 0), Decimal(cash).quantize(Decimal("0.01"))

    def check_books(self) -> None:
        with self.app.app_context():
            assert_books_balance(self.loan_id)
            db.session.remove()


def json_body(response: http.client.HTTPResponse) -> Any:
    return json.loads(response.read() or b"{}")


def race_posts(base_url: str, posts: list[tuple[str, dict[str, str], bytes]],
               read: Callable[[http.client.HTTPResponse], Any] = json_body) -> list[tuple[int, Any]]:
    """POST every (path, headers, body) from a thread of its own, released together by a barrier; each
    thread has its connection open before the barrier, so the requests reach the server together. Each
    answer: the status and what `read` takes of the response (its JSON body; a page's test: its Location)."""
    address = urlsplit(base_url)
    barrier = threading.Barrier(len(posts), timeout=60)
    answers: list[Any] = [None] * len(posts)

    def post(i: int, path: str, headers: dict[str, str], body: bytes) -> None:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        try:
            connection.connect()
            barrier.wait()
            connection.request("POST", path, headers=headers, body=body)
            response = connection.getresponse()
            answers[i] = (response.status, read(response))
        except Exception as exc:  # noqa: BLE001 - reported by the caller's assertions
            answers[i] = (0, {"exception": repr(exc)})
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i, *call)) for i, call in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    return answers


def race_requests(base_url: str, calls: list[tuple[str, str]]) -> list[tuple[int, dict[str, Any]]]:
    """POST an empty JSON body to every (path, token) at once (`race_posts`)."""
    return race_posts(base_url, [(path, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                                  b"{}") for path, token in calls])


@pytest.fixture
def books(app, served, clock) -> Books:
    business_day(clock, date(2026, 2, 9))  # a day before bill 1 is due: payments settle it, no fee
    with app.app_context():
        borrower = identity.create_org("BORR1", ["borrower"], "Borrower 1").id
        funder = identity.create_org("BANK1", ["funder"], "Bank 1").id
        identity.create_user("applicant1", "BORR1", ["applicant"])
        identity.create_user("finance1", "BANK1", ["finance"])
        tokens = {name: identity.issue_token(name) for name in ("applicant1", "finance1")}
        db.session.commit()
        code = product()
        loan_id = loans.book_loan(loans.LoanRequest(code, "LOAN-1", borrower, Decimal("12000.00"), 12, START,
                                                    funder_org_id=funder)).id
        db.session.commit()
        db.session.remove()
    return Books(app, served, loan_id, tokens)


def statuses(answers: list[tuple[int, dict[str, Any]]]) -> list[int]:
    return sorted(status for status, _ in answers)


# -- confirm and reject over HTTP ----------------------------------------------------------------

def test_two_confirms_at_once_book_the_payment_once(books):
    for _ in range(ROUNDS):
        payment_id = books.pending_payment()
        answers = books.race(payment_id, ["confirm", "confirm"])
        assert statuses(answers) == [200, 409], answers  # the second decision is a conflict
        (winner,) = [body for status, body in answers if status == 200]
        (loser,) = [body for status, body in answers if status == 409]
        assert winner["status"] == "booked" and loser["error"]["code"] == "conflict", answers
        assert books.payment(payment_id) == ("booked", 1, Decimal("12.00"))
    books.check_books()


def test_confirm_and_reject_at_once_decide_once_and_the_loser_gets_409(books):
    outcomes = set()
    for _ in range(ROUNDS):
        payment_id = books.pending_payment()
        answers = books.race(payment_id, ["confirm", "reject"])
        assert statuses(answers) == [200, 409], answers
        (_, winner), = [(status, body) for status, body in answers if status == 200]
        (_, loser), = [(status, body) for status, body in answers if status == 409]
        assert loser["error"]["code"] == "conflict", loser
        status, entries, cash = books.payment(payment_id)
        assert status == winner["status"]
        assert (entries, cash) == ((1, Decimal("12.00")) if status == "booked" else (0, Decimal("0.00")))
        outcomes.add(status)
    books.check_books()
    assert outcomes <= {"booked", "rejected"}


def test_two_rejects_at_once_reject_once_and_the_second_gets_409(books):
    for _ in range(ROUNDS):
        payment_id = books.pending_payment()
        answers = books.race(payment_id, ["reject", "reject"])
        assert statuses(answers) == [200, 409], answers
        assert books.payment(payment_id) == ("rejected", 0, Decimal("0.00"))
    books.check_books()


def test_twenty_decisions_at_once_book_a_transfer_once(books):
    payment_id = books.pending_payment()
    answers = books.race(payment_id, ["confirm"] * 20)
    assert statuses(answers) == [200] + [409] * 19, answers
    assert books.payment(payment_id) == ("booked", 1, Decimal("12.00"))

    mixed = books.pending_payment()
    decisions = ["confirm", "reject"] * 10
    answers = books.race(mixed, decisions)
    status, entries, cash = books.payment(mixed)
    by_decision = {d: sorted(code for (code, _), dd in zip(answers, decisions, strict=True) if dd == d)
                   for d in ("confirm", "reject")}
    if status == "booked":  # one confirm won, everything after it is a conflict
        assert by_decision == {"confirm": [200] + [409] * 9, "reject": [409] * 10}, answers
        assert (entries, cash) == (1, Decimal("12.00"))
    else:  # one reject won, everything after it is a conflict
        assert status == "rejected" and by_decision == {"confirm": [409] * 10, "reject": [200] + [409] * 9}, answers
        assert (entries, cash) == (0, Decimal("0.00"))
    with books.app.app_context():
        cash_total = db.session.scalar(select(func.sum(JournalLine.amount)).where(
            JournalLine.account == "cash_clearing", JournalLine.loan_id == books.loan_id))
        booked = db.session.scalar(select(func.sum(Payment.amount)).where(Payment.status == "booked"))
        assert Decimal(cash_total) == Decimal("-12000.00") + Decimal(booked)  # disbursed, then the cash in
        db.session.remove()
    books.check_books()


def test_payments_on_one_loan_at_once_are_each_booked_against_what_the_others_left(books):
    """Confirms of different payments of one loan at once: each allocation sees the others' (no bill
    paid twice over, nothing lost)."""
    payments = [books.pending_payment("200.00") for _ in range(4)]  # 800.00 of the first bill's 1,066.19
    answers = race_requests(books.base_url, [
        (f"/api/v1/loans/{books.loan_id}/payments/{pid}/confirm", books.tokens["finance1"]) for pid in payments])
    assert statuses(answers) == [200] * 4, answers
    books.check_books()
    with books.app.app_context():
        paid = sum((r.principal_paid + r.interest_paid for r in loans.instalments(books.loan_id)), Decimal(0))
        db.session.remove()
    assert paid == Decimal("800.00")


# -- the other money decisions, from threads in the process ----------------------------------------

def _in_threads(app, calls: list[Callable[[], Any]]) -> list[Any]:
    """Run each call in its own thread and app context, committing; released together."""
    barrier = threading.Barrier(len(calls), timeout=60)
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        with app.app_context():
            try:
                barrier.wait()
                results[i] = call()
                db.session.commit()
            except Conflict as exc:
                db.session.rollback()
                results[i] = ("conflict", exc.message)
            except Invalid as exc:
                db.session.rollback()
                results[i] = ("invalid", exc.message)
            except Exception as exc:  # noqa: BLE001 - reported by the assertions
                db.session.rollback()
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    return results


def test_two_write_offs_at_once_write_the_loan_off_once(books):
    results = _in_threads(books.app, [lambda: adjustments.write_off(books.loan_id)] * 2)
    assert sorted(map(str, results)) == ["('conflict', 'the loan is written_off')", "12000.00"], results
    with books.app.app_context():
        entries = db.session.scalar(select(func.count()).select_from(JournalEntry).where(
            JournalEntry.kind == "write_off"))
        assert entries == 1
        db.session.remove()
    books.check_books()


def test_a_write_off_and_a_confirm_at_once_never_both_touch_the_loan(books):
    """A confirm racing a write-off either books first (and less is written off) or is a 409."""
    for _ in range(3):
        payment_id = books.pending_payment("500.00")
        results = _in_threads(books.app, [lambda: adjustments.write_off(books.loan_id),
                                          lambda pid=payment_id: repayments.confirm_payment(pid).status])
        with books.app.app_context():
            loan = db.session.get(Loan, books.loan_id)
            assert loan is not None
            status, written_off = loan.status, loan.principal
            principal_paid = sum((r.principal_paid for r in loans.instalments(books.loan_id)), Decimal(0))
            db.session.remove()
        assert status == "written_off"
        if results[1] == "booked":
            assert results[0] == written_off - principal_paid, results
            assert books.payment(payment_id) == ("booked", 1, Decimal("500.00"))
        else:
            assert results == [written_off, ("conflict", "the loan is written_off")], results
            assert books.payment(payment_id) == ("pending", 0, Decimal("0.00"))
        books.check_books()
        with books.app.app_context():  # the next round on a new loan
            books.loan_id = _another_loan(books.loan_id)
            db.session.remove()


def _another_loan(loan_id: int) -> int:
    loan = db.session.get(Loan, loan_id)
    assert loan is not None
    new = loans.book_loan(loans.LoanRequest("CREDIT12", f"LOAN-{loan_id + 1}", loan.borrower_org_id,
                                            Decimal("12000.00"), 12, START, funder_org_id=loan.funder_org_id))
    db.session.commit()
    return new.id


def test_waivers_at_once_each_forgive_what_the_other_left(books, clock):
    """Two waivers of 1.00 at once, five times, both forgive (2.00 a round, not 1.00 booked twice);
    then two of everything that is left: one forgives it, the other finds nothing left (422)."""
    business_day(clock, date(2026, 3, 20))
    from app.services.ledger.eod import run_eod

    def penalty_receivable() -> Decimal:
        with books.app.app_context():
            total = db.session.scalar(select(func.sum(JournalLine.amount)).where(
                JournalLine.account == "penalty_receivable"))
            db.session.remove()
        return Decimal(total or 0).quantize(Decimal("0.01"))

    with books.app.app_context():
        run_eod(date(2026, 3, 20))
        db.session.remove()
    owed = penalty_receivable()
    assert owed > 10
    for _ in range(5):
        results = _in_threads(books.app, [lambda: adjustments.waive(books.loan_id, "penalty", "1.00")] * 2)
        assert results == [Decimal("1.00")] * 2, results
        books.check_books()
    assert penalty_receivable() == owed - 10
    rest = owed - 10
    results = _in_threads(books.app, [lambda: adjustments.waive(books.loan_id, "penalty", rest)] * 2)
    assert sorted(map(str, results)) == sorted([str(rest), "('invalid', 'only 0.00 of penalty is owed')"]), results
    with books.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(JournalEntry).where(
            JournalEntry.kind == "penalty_waived")) == 11
        db.session.remove()
    assert penalty_receivable() == 0
    books.check_books()


def test_two_credit_refunds_at_once_pay_the_credit_out_once(books):
    with books.app.app_context():
        loan = db.session.get(Loan, books.loan_id)
        assert loan is not None
        quote = repayments.quote_payoff(loan.id)
        outcome = repayments.take_payment(repayments.PaymentNotice(
            loan.id, "overpaid", Decimal(quote["to_pay"]) + Decimal("50.00")))
        db.session.commit()
        assert outcome.payment.status == "booked"
        db.session.remove()
    results = _in_threads(books.app, [lambda: repayments.refund_credit(books.loan_id)] * 2)
    assert sorted(map(str, results)) == ["('conflict', 'the loan holds no credit')", "50.00"], results
    with books.app.app_context():
        refunds = db.session.scalar(select(func.count()).select_from(JournalEntry).where(
            JournalEntry.kind == "credit_refund"))
        assert refunds == 1
        db.session.remove()
    books.check_books()


def test_two_end_of_day_batches_at_once_run_the_date_once(books, clock):
    """The scheduler and an operator's `eod run` for the same date: one runs it, the other finds it
    taken (a conflict) or done (nothing to do); the date's bills and penalties are posted once."""
    from app.models import EodRun
    from app.services.ledger.eod import run_eod

    day = date(2026, 3, 20)
    business_day(clock, day)
    results = _in_threads(books.app, [lambda: [s.business_date for s in run_eod(day)]] * 2)
    assert sorted(map(str, results)) in (
        sorted([str([day]), "[]"]),
        sorted([str([day]), "('conflict', 'another end-of-day run is in progress')"]),
        sorted([str([day]), f"('conflict', 'the end-of-day run of {day} is completed already')"]),
    ), results
    with books.app.app_context():
        runs = db.session.execute(select(EodRun.business_date, EodRun.status)).all()
        assert runs == [(day, "completed")]
        kinds = db.session.execute(select(JournalEntry.kind, func.count()).where(
            JournalEntry.eod_run_id.is_not(None)).group_by(JournalEntry.kind)).all()
        assert kinds and all(count == 1 for _, count in kinds), kinds
        db.session.remove()
    books.check_books()


def test_one_transfer_reported_twice_at_once_is_recorded_once(books):
    """The same bank transfer reported from two tabs at once (two idempotency keys, one bank reference): one report
    is recorded and the other refused (409), so finance can never confirm — and book — one transfer twice."""
    headers = {"Authorization": f"Bearer {books.tokens['applicant1']}", "Content-Type": "application/json"}
    answers = race_posts(books.base_url, [
        (f"/api/v1/loans/{books.loan_id}/payments", headers, json.dumps(
            {"amount": "500.00", "idempotency_key": f"tab-{i}", "reference": "CMB 2026 0209 001"}).encode())
        for i in range(ROUNDS)])
    assert statuses(answers) == [201] + [409] * (ROUNDS - 1), answers
    with books.app.app_context():
        recorded = list(db.session.scalars(select(Payment).where(Payment.loan_id == books.loan_id)))
        assert [(p.status, p.amount, p.reference) for p in recorded] == [("pending", Decimal("500.00"),
                                                                          "CMB 2026 0209 001")]
        db.session.remove()
