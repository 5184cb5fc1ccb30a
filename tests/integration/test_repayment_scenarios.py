"""The borrower's repayments as scenarios across months (issue 15, docs/post-loan.md), on both databases.

Everything goes through the API as the borrower, finance and the payment gateway would: online
repayment orders paid at the payments simulator, whose signed notifications reach the platform's
callback; offline transfers with their voucher, decided by the funder's finance; early repayment
quoted, confirmed and paid with its prepayment mode. The end-of-day batch (`flask --app wsgi eod run
--date D`, and `run_eod`) moves the loans across the days while the clock moves with it. Each
scenario ends with the loan's status, its instalments and a zero trial balance.
"""
from __future__ import annotations

import html
import re
from datetime import date, timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    EodRun,
    Instalment,
    JournalEntry,
    JournalLine,
    Loan,
    Notification,
    OutboxMessage,
    Payment,
    ScheduleVersion,
)
from app.models.signing import RepaymentOrder
from app.services.identity import directory as identity
from app.services.ledger.eod import run_eod
from app.services.simulators import payments
from tests.integration.ledger_support import assert_books_balance, business_day, two_loans
from tests.integration.test_online_repayment import signed_in

START = date(2026, 1, 10)  # 12,000 at 12 % over 12 months, 1 % early-repayment fee: bills of 1,066.19 on the 10th
BILL = "1066.19"
USERS = {"applicant1": ("BORR1", "applicant"), "applicant2": ("BORR2", "applicant"),
         "finance1": ("BANK1", "finance")}
ORGS = {"BORR1": "borrower", "BORR2": "borrower", "BANK1": "funder"}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def due(n: int) -> date:
    """The due date of instalment `n` (the 10th of the n-th month after January 2026)."""
    month = START.month + n
    return date(START.year + (month - 1) // 12, (month - 1) % 12 + 1, START.day)


class World:
    """The two loans' world, driven as the outside would: API calls, the gateway's payer, the batch."""

    def __init__(self, app, client, clock, headers: dict[str, dict[str, str]], loan1: int, loan2: int) -> None:
        self.app, self.client, self.clock, self.headers = app, client, clock, headers
        self.loan1, self.loan2 = loan1, loan2
        self.runner = app.test_cli_runner()
        self.tokens_issued = clock()

    # -- the API
    def get(self, who: str, path: str, **kwargs: Any) -> Any:
        answer = self.client.get(f"/api/v1{path}", headers=self.headers[who], **kwargs)
        assert answer.status_code == 200, (path, answer.json)
        return answer.json

    def post(self, who: str, path: str, body: Any = None):
        return self.client.post(f"/api/v1{path}", headers=self.headers[who], json=body)

    def loan(self, loan_id: int | None = None) -> dict[str, Any]:
        return dict(self.get("applicant1", f"/loans/{loan_id or self.loan1}"))

    def bills(self, loan_id: int | None = None) -> list[tuple[int, str, str, str]]:
        """The current schedule: (number, status, due date, still owed) of each instalment."""
        return [(i["number"], i["status"], i["due_date"], i["owed"])
                for i in self.loan(loan_id)["schedule"]["instalments"]]

    # -- days
    def batch(self, day: date, cli: bool = True) -> None:
        """The clock moves to the morning after `day` and the batch runs every date up to `day`."""
        business_day(self.clock, day + timedelta(days=1))
        self._fresh_tokens()
        if cli:
            result = self.runner.invoke(args=["eod", "run", "--date", day.isoformat()], catch_exceptions=False)
            assert result.exit_code == 0, result.output
        else:
            with self.app.app_context():
                run_eod(day)
                db.session.remove()

    def _fresh_tokens(self) -> None:
        """The users' tokens again when the clock has moved a good part of their life (a token lives 90 days)."""
        if self.clock() - self.tokens_issued < timedelta(days=60):
            return
        with self.app.app_context():
            for name in USERS:
                self.headers[name] = {"Authorization": f"Bearer {identity.issue_token(name)}"}
            db.session.commit()
            db.session.remove()
        self.tokens_issued = self.clock()

    def today(self, day: date) -> None:
        """The batch has run up to the day before; the clock is `day`, 10:00 in the business time zone."""
        self.batch(day - timedelta(days=1))
        business_day(self.clock, day)

    # -- online repayment
    def order(self, amount: str, key: str, prepayment: str | None = None, loan_id: int | None = None):
        body = {"amount": amount, "idempotency_key": key}
        if prepayment is not None:
            body["prepayment"] = prepayment
        return self.post("applicant1", f"/loans/{loan_id or self.loan1}/repayments/online", body)

    def pay(self, order_id: str) -> None:
        paid = self.client.post(f"/simulators/payments/api/orders/{order_id}/pay", headers=self.headers["applicant1"])
        assert paid.status_code == 200 and paid.json["status"] == "succeeded", paid.json

    def notifications(self) -> list[tuple[str, bytes, dict[str, str]]]:
        """The gateway's queued notifications, each signed as the worker sends it, taken off its queue."""
        sent: list[tuple[str, bytes, dict[str, str]]] = []

        def keep(url: str, body: bytes, headers: dict[str, str]) -> str:
            sent.append((url, body, headers))
            return ""

        with self.app.app_context():
            payments.deliver_notifications(post=keep)
            db.session.remove()
        return sent

    def deliver(self, notification: tuple[str, bytes, dict[str, str]]) -> Any:
        url, body, headers = notification
        answer = self.client.post(urlsplit(url).path, data=body, headers=headers)
        assert answer.status_code == 200, answer.json
        return answer.json

    def pay_online(self, amount: str, key: str, prepayment: str | None = None) -> dict[str, Any]:
        """Order, pay as the payer, the gateway's notification reaches the callback: the order as listed."""
        placed = self.order(amount, key, prepayment)
        assert placed.status_code == 201, placed.json
        self.pay(placed.json["order_id"])
        for notification in self.notifications():
            self.deliver(notification)
        [order] = [o for o in self.get("applicant1", f"/loans/{self.loan1}/repayments/online")
                   if o["order_id"] == placed.json["order_id"]]
        assert order["status"] == "succeeded" and order["payment_id"], order
        return dict(order)

    # -- the database, read as the tests' witness
    def count(self, model: Any, *where: Any) -> int:
        with self.app.app_context():
            n = db.session.scalar(select(func.count()).select_from(model).where(*where))
            db.session.remove()
        return int(n or 0)

    def books_balance(self) -> None:
        with self.app.app_context():
            assert_books_balance(self.loan1, self.loan2)
            db.session.remove()


@pytest.fixture
def world(app, client, clock) -> World:
    business_day(clock, START)
    with app.app_context():
        headers, ids = two_loans(ORGS, USERS, START, funder={1: "BANK1", 2: "BANK1"})
        db.session.remove()
    world = World(app, client, clock, headers, *ids)
    world.batch(START)
    return world


def payment(world: World, payment_id: int) -> dict[str, Any]:
    [found] = [p for p in world.get("applicant1", f"/loans/{world.loan1}/payments") if p["id"] == payment_id]
    return dict(found)


# -- the on-time payer -------------------------------------------------------------------------------

def test_an_on_time_payer_pays_every_bill_online_and_the_loan_closes(world):
    for n in range(1, 13):
        world.today(due(n))  # the bill notice went out three days ago; the borrower pays on the due date
        bills = world.bills()
        assert bills[n - 1][:3] == (n, "pending", due(n).isoformat())
        assert [b[1] for b in bills[:n - 1]] == ["paid"] * (n - 1)
        owed = bills[n - 1][3]
        assert owed == BILL or n == 12  # the last bill takes what rounding left
        order = world.pay_online(owed, f"bill-{n}")
        booked = payment(world, order["payment_id"])
        assert (booked["status"], booked["booked_on"], booked["amount"]) == ("booked", due(n).isoformat(), owed)
        assert booked["allocation"]["prepaid_principal"] == "0.00" and booked["allocation"]["fee"] == "0.00"
        world.batch(due(n) + timedelta(days=5))  # past the due date and the grace: nothing falls overdue
        assert world.loan()["dpd"] == 0
    loan = world.loan()
    assert (loan["status"], loan["closed_on"], loan["schedule_version"]) == ("closed", due(12).isoformat(), 1)
    assert [b[1] for b in world.bills()] == ["paid"] * 12
    assert loan["balances"]["principal_outstanding"] == "0.00" and loan["bucket"] == "current"
    assert world.count(Payment) == 12 and world.count(Payment, Payment.loan_id == world.loan2) == 0
    assert world.count(Notification, Notification.template == "repayment_received",
                       Notification.channel == "in_app") == 12  # told once per bill
    world.books_balance()


# -- an offline voucher rejected, then accepted ------------------------------------------------------

def test_an_offline_voucher_rejected_then_accepted_pays_the_bill_within_its_grace(world):
    world.today(due(1) - timedelta(days=1))
    first = world.post("applicant1", f"/loans/{world.loan1}/payments",
                       {"amount": BILL, "idempotency_key": "transfer-1", "received_on": (due(1) - timedelta(days=1)).isoformat(),
                        "reference": "REF-1"})
    assert first.status_code == 201, first.json
    voucher = world.client.post(f"/api/v1/loans/{world.loan1}/payments/{first.json['id']}/voucher",
                                headers=world.headers["applicant1"], content_type="multipart/form-data",
                                data={"file": (BytesIO(PDF), "voucher.pdf")})
    assert voucher.status_code == 200, voucher.json
    world.today(due(1) + timedelta(days=1))
    rejected = world.post("finance1", f"/loans/{world.loan1}/payments/{first.json['id']}/reject",
                          {"reason": "no transfer with reference REF-1 arrived"})
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    assert world.bills()[0][1] == "pending" and world.count(JournalEntry, JournalEntry.kind == "payment") == 0

    world.today(due(1) + timedelta(days=2))  # the borrower sends it again, within the 3 days of grace
    second = world.post("applicant1", f"/loans/{world.loan1}/payments",
                        {"amount": BILL, "idempotency_key": "transfer-2", "reference": "REF-2"})
    assert second.status_code == 201, second.json
    confirmed = world.post("finance1", f"/loans/{world.loan1}/payments/{second.json['id']}/confirm")
    assert confirmed.status_code == 200 and confirmed.json["status"] == "booked"
    world.batch(due(1) + timedelta(days=10))
    listed = world.get("applicant1", f"/loans/{world.loan1}/payments")
    assert [(p["status"], p["reject_reason"]) for p in listed] == [
        ("rejected", "no transfer with reference REF-1 arrived"), ("booked", None)]
    loan = world.loan()
    assert (loan["status"], loan["dpd"], loan["bucket"]) == ("active", 0, "current")
    bills = world.bills()
    assert bills[0][1] == "paid" and bills[0][3] == "0.00"
    assert [b[1] for b in bills[1:]] == ["pending"] * 11 and len(bills) == 12
    assert world.count(JournalEntry, JournalEntry.kind == "payment") == 1
    world.books_balance()


# -- early repayment: a part in either mode, and the full pay-off -----------------------------------

@pytest.mark.parametrize("mode", ["shorten_term", "reduce_instalment"])
def test_a_partial_prepayment_confirmed_and_paid_gives_the_quoted_schedule(world, mode):
    world.today(due(1) - timedelta(days=3))  # 7 Feb, bill 1 issued
    quoted = world.get("applicant1", f"/loans/{world.loan1}/early-repayment-quote",
                       query_string={"amount": "4066.19", "mode": mode})
    part = quoted["prepayment"]
    assert (quoted["kind"], part["prepaid_principal"], part["fee"]) == ("partial", "2970.30", "29.70")

    order = world.pay_online("4066.19", "prepay-1", mode)
    assert order["prepayment"] == mode
    booked = payment(world, order["payment_id"])
    assert (booked["prepayment"], booked["allocation"]["prepaid_principal"], booked["allocation"]["fee"]) == (
        mode, "2970.30", "29.70")
    loan = world.loan()
    assert (loan["status"], loan["schedule_version"]) == ("active", 2)
    assert loan["schedule"]["reason"] == mode and loan["schedule"]["level_payment"] == part["level_payment"]
    after = [(i["number"], i["due_date"], i["principal_due"], i["interest_due"])
             for i in loan["schedule"]["instalments"]]
    assert after == [(r["number"], r["due_date"], r["principal"], r["interest"]) for r in part["schedule"]]
    versions = world.get("applicant1", f"/loans/{world.loan1}/schedule-versions")
    assert [(v["version"], v["reason"], v["current"]) for v in versions] == [(1, "booked", False), (2, mode, True)]
    if mode == "shorten_term":  # fewer instalments, the same instalment
        assert len(after) == 9 and Decimal(part["level_payment"]) == Decimal(BILL)
    else:  # the same count, a smaller instalment
        assert len(after) == 12 and Decimal(part["level_payment"]) < Decimal(BILL)

    world.today(due(2) - timedelta(days=1))  # the next bill is the new schedule's
    bills = world.bills()
    assert bills[0][1] == "paid" and bills[1][3] == (BILL if mode == "shorten_term" else part["level_payment"])
    world.pay_online(bills[1][3], "bill-2")
    world.batch(due(2) + timedelta(days=5))
    loan = world.loan()
    assert (loan["status"], loan["dpd"], loan["schedule_version"]) == ("active", 0, 2)
    assert [b[1] for b in world.bills()] == ["paid", "paid"] + ["pending"] * (len(after) - 2)
    assert Decimal(loan["balances"]["principal_outstanding"]) == sum(  # what the pending instalments still hold
        Decimal(i["principal_due"]) for i in loan["schedule"]["instalments"][2:])
    world.books_balance()


def test_the_full_payoff_closes_the_loan_and_charges_its_fee(world):
    world.today(due(1) - timedelta(days=1))
    world.pay_online(BILL, "bill-1")
    world.today(date(2026, 2, 25))  # between two due dates: interest to the date, the fee on what is repaid early
    quoted = world.get("applicant1", f"/loans/{world.loan1}/early-repayment-quote", query_string={"date": "2026-02-25"})
    assert quoted["kind"] == "payoff" and Decimal(quoted["fee"]) > 0 and quoted["to_pay"] == quoted["total"]
    fee_entries = world.count(JournalEntry, JournalEntry.kind == "fee_charged")
    order = world.pay_online(quoted["to_pay"], "payoff", "reduce_instalment")
    booked = payment(world, order["payment_id"])
    assert booked["allocation"]["settled"] is True and booked["allocation"]["fee"] == quoted["fee"]
    assert booked["allocation"]["closing_interest"] == quoted["interest"]
    assert world.count(JournalEntry, JournalEntry.kind == "fee_charged") == fee_entries + 1
    loan = world.loan()
    assert (loan["status"], loan["closed_on"], loan["credit_balance"]) == ("closed", "2026-02-25", "0.00")
    assert loan["balances"] == {"principal_outstanding": "0.00", "interest_receivable": "0.00",
                                "penalty_receivable": "0.00", "fee_receivable": "0.00", "credit": "0.00"}
    assert all(b[3] == "0.00" for b in world.bills())
    assert world.order("10.00", "after").status_code == 409  # nothing is left to pay
    world.batch(date(2026, 4, 30))  # the batch passes the loan's former due dates: nothing falls due
    assert world.loan()["status"] == "closed" and world.loan()["dpd"] == 0
    assert world.count(OutboxMessage, OutboxMessage.name == "loan_closed") == 1
    world.books_balance()


def test_the_prepayment_mode_travels_with_the_order_and_keeps_the_contract(world):
    world.today(due(1) - timedelta(days=3))
    plain = world.order(BILL, "plain")
    assert plain.status_code == 201 and plain.json["prepayment"] == "shorten_term"  # the contract without it
    assert world.order(BILL, "plain").status_code == 200
    assert world.order(BILL, "plain", "reduce_instalment").status_code == 409  # the key with another mode
    wrong = world.order(BILL, "other", "skip_a_month")
    assert wrong.status_code == 422 and "prepayment" in wrong.json["error"]["fields"]
    lower = world.order("3000.00", "lower", "reduce_instalment")
    assert lower.status_code == 201 and lower.json["prepayment"] == "reduce_instalment"
    listed = world.get("applicant1", f"/loans/{world.loan1}/repayments/online")
    assert [(o["idempotency_key"], o["prepayment"]) for o in listed] == [
        ("lower", "reduce_instalment"), ("plain", "shorten_term")]
    assert world.count(RepaymentOrder) == 2 and world.count(Payment) == 0


# -- notifications counted once; the batch run twice -------------------------------------------------

def test_duplicate_and_out_of_order_notifications_count_once(world):
    world.today(due(1) - timedelta(days=3))
    with world.app.app_context():
        payments.notify_twice_next(1)  # the first order's notification comes twice, each signed afresh
        db.session.remove()
    first = world.order(BILL, "bill-1")
    world.pay(first.json["order_id"])  # paid at the gateway: the next order does not close it (it would, unpaid)
    second = world.order("2000.00", "prepay", "reduce_instalment")
    world.pay(second.json["order_id"])
    sent = world.notifications()
    assert len(sent) == 3
    by_order = {order_id: [n for n in sent if order_id.encode() in n[1]]
                for order_id in (first.json["order_id"], second.json["order_id"])}
    assert [len(v) for v in by_order.values()] == [2, 1]
    # the later order's notification first, then the earlier one's, then its copy
    answers = [world.deliver(n) for n in (by_order[second.json["order_id"]][0], *by_order[first.json["order_id"]])]
    assert answers[2] == {"duplicate": True}
    listed = world.get("applicant1", f"/loans/{world.loan1}/payments")
    assert sorted(p["amount"] for p in listed) == ["1066.19", "2000.00"]
    assert all(p["status"] == "booked" for p in listed)
    assert world.count(JournalEntry, JournalEntry.kind == "payment") == 2
    assert world.count(Notification, Notification.template == "repayment_received",
                       Notification.channel == "in_app") == 2
    # booked as they came: the 2,000.00 paid bill 1 and prepaid in its mode, then the bill's amount prepaid
    versions = world.get("applicant1", f"/loans/{world.loan1}/schedule-versions")
    assert [v["reason"] for v in versions] == ["booked", "reduce_instalment", "shorten_term"]
    assert world.bills()[0][1] == "paid"
    world.books_balance()


def snapshot(world: World) -> dict[str, list[tuple]]:
    """Every row a batch or a payment may write."""
    tables = (Instalment, Loan, JournalEntry, JournalLine, OutboxMessage, Payment, ScheduleVersion, RepaymentOrder,
              Notification, EodRun)
    with world.app.app_context():
        rows = {model.__tablename__: [tuple(r) for r in db.session.execute(
            select(model.__table__).order_by(*model.__table__.primary_key))] for model in tables}
        db.session.remove()
    return rows


def test_the_batch_run_twice_for_a_day_changes_nothing_the_second_time(world):
    world.today(due(1) - timedelta(days=1))
    world.pay_online(BILL, "bill-1")  # loan 1 pays its first bill; loan 2 pays nothing and falls overdue
    day = due(1) + timedelta(days=20)
    world.batch(day)
    loan2 = world.get("finance1", f"/loans/{world.loan2}")
    assert (loan2["dpd"], loan2["bucket"]) == (20, "1-30")
    before = snapshot(world)
    again = world.runner.invoke(args=["eod", "run", "--date", day.isoformat()], catch_exceptions=False)
    assert again.exit_code == 0 and "nothing to do" in again.output
    world.batch(day, cli=False)
    assert snapshot(world) == before
    world.batch(day + timedelta(days=1))  # the next day is done, once
    after = world.get("finance1", f"/loans/{world.loan2}")
    assert after["dpd"] == 21 and world.loan()["dpd"] == 0
    assert world.count(EodRun, EodRun.business_date == day) == 1
    world.books_balance()


# -- the loan page: confirm and pay from the quote, then the new schedule --------------------------

ZH, EN = {"Accept-Language": "zh-CN"}, {"Accept-Language": "en"}


def confirm_form(page) -> tuple[str, dict[str, str]]:
    form = re.search(r'<form method="post" action="([^"]+)" id="confirm-pay-form">(.*?)</form>', page.text, re.S)
    assert form is not None, page.text
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2)))
    return html.unescape(form.group(1)), fields


def test_the_borrower_confirms_a_partial_prepayment_on_the_page_and_sees_the_new_schedule(world, app):
    world.today(due(1) - timedelta(days=3))
    web = signed_in(app, "applicant1")
    query = {"quote": "1", "amount": "4066.19", "mode": "reduce_instalment"}
    quoted = web.get(f"/loans/{world.loan1}", query_string=query, headers=ZH)
    assert "确认并支付" in quoted.text and "按“减少月供”调整还款计划" in quoted.text
    assert "reduce_instalment<" not in quoted.text and 'id="schedule-changed"' not in quoted.text
    action, fields = confirm_form(quoted)
    assert (fields["amount"], fields["mode"], fields["from"]) == ("4066.19", "reduce_instalment", "quote")
    sent = web.post(action, data=fields, headers=ZH)
    assert sent.status_code == 303
    where = urlsplit(sent.headers["Location"])
    assert where.path.startswith("/simulators/payments/orders/") and "loan-schedule" in where.query
    assert web.post(action, data=fields, headers=ZH).headers["Location"] == sent.headers["Location"]  # one order
    [order] = world.get("applicant1", f"/loans/{world.loan1}/repayments/online")
    assert (order["amount"], order["prepayment"]) == ("4066.19", "reduce_instalment")
    world.pay(order["order_id"])
    for notification in world.notifications():
        world.deliver(notification)

    after = web.get(f"/loans/{world.loan1}", headers=ZH)
    level = world.loan()["schedule"]["level_payment"]
    changed = re.search(r'<p id="schedule-changed"[^>]*>(.*?)</p>', after.text, re.S).group(1)
    assert "提前还款：减少月供" in changed and "剩余 11 期" in changed and f"¥{Decimal(level):,.2f}" in changed
    assert after.text.count("data-instalment=") == 12 and 'data-instalment="1" data-status="paid"' in after.text
    assert "减少月供" in after.text.split('id="online-orders"')[1]  # the order's mode, in words
    english = web.get(f"/loans/{world.loan1}", headers=EN).text
    assert "after an early repayment (Lower the instalment)" in english and "11 instalments left" in english
    world.books_balance()


def test_the_borrower_pays_off_from_the_page_and_a_quote_for_another_day_offers_no_payment(world, app):
    world.today(date(2026, 2, 25))
    web = signed_in(app, "applicant1")
    later = web.get(f"/loans/{world.loan1}", query_string={"quote": "1", "date": "2026-03-01"}, headers=EN)
    assert 'id="confirm-pay-form"' not in later.text and "get the quote for today" in later.text
    assert 'id="confirm-pay-form"' not in signed_in(app, "finance1").get(
        f"/loans/{world.loan1}", query_string={"quote": "1"}).text  # the funder sees the quote, does not pay
    quoted = web.get(f"/loans/{world.loan1}", query_string={"quote": "1"}, headers=EN)
    payoff = world.get("applicant1", f"/loans/{world.loan1}/early-repayment-quote")
    assert f"You pay ¥{Decimal(payoff['to_pay']):,.2f} today and the loan is paid off" in quoted.text
    action, fields = confirm_form(quoted)
    assert fields["amount"] == payoff["to_pay"]
    bad = web.post(action, data={**fields, "mode": "skip_a_month"}, headers=ZH)
    assert bad.status_code == 422 and "请选择" in bad.text.split('id="early-repayment"')[1]
    assert world.count(RepaymentOrder) == 0
    assert web.post(action, data=fields, headers=EN).status_code == 303
    [order] = world.get("applicant1", f"/loans/{world.loan1}/repayments/online")
    world.pay(order["order_id"])
    for notification in world.notifications():
        world.deliver(notification)
    closed = web.get(f"/loans/{world.loan1}", headers=ZH)
    assert 'data-status="closed"' in closed.text and "提前结清" in closed.text
    orders = closed.text.split('id="online-orders"')[1].split("</table>")[0]
    assert "提前结清" in orders and "缩短期限" not in orders  # the order that paid the loan off says so
    assert 'id="confirm-pay-form"' not in web.get(f"/loans/{world.loan1}", query_string={"quote": "1"}).text
    assert world.loan()["status"] == "closed"
    world.books_balance()
