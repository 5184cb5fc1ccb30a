"""Online repayment and the early-repayment quote (issue 15, docs/post-loan.md) on both databases.

A borrower's applicant asks for a collection order (`POST /api/v1/loans/{id}/repayments/online`), pays
it as the payer at the payments simulator (`POST /simulators/payments/api/orders/{id}/pay`), the
simulator's worker jobs (run here explicitly) send its signed notification to the platform served
over real HTTP, and the ledger books the payment once. The quote is `GET .../early-repayment-quote`.
"""
from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Instalment, Notification, Payment
from app.models import PaymentOrder as OrderRow
from app.models.signing import RepaymentOrder
from app.services.ledger import adjustments, loans
from app.services.notices import templates
from app.services.simulators import payments
from handlers.payments import Account, PaymentOrder, sign_notification
from handlers.payments import Notification as PaymentNotification
from tests.integration.ledger_support import assert_books_balance, business_day, two_loans
from tests.integration.test_identity import set_password, sign_in
from tests.integration.test_money_races import race_posts

START = date(2026, 1, 10)  # 12,000 at 12 % over 12 months, 1 % fee: bills of 1,066.19 on the 10th
BILL = "1066.19"
USERS = {"applicant1": ("BORR1", "applicant"), "applicant2": ("BORR2", "applicant"),
         "finance1": ("BANK1", "finance")}
ORGS = {"BORR1": "borrower", "BORR2": "borrower", "BANK1": "funder"}
CALLBACK = "/api/v1/callbacks/payments"


class World:
    def __init__(self, app, client, served: str, headers: dict[str, dict[str, str]], loan1: int, loan2: int) -> None:
        self.app, self.client, self.served, self.headers = app, client, served, headers
        self.loan1, self.loan2 = loan1, loan2

    def get(self, who: str, path: str, **kwargs: Any):
        return self.client.get(path, headers=self.headers[who], **kwargs)

    def post(self, who: str, path: str, body: Any = None):
        return self.client.post(path, headers=self.headers[who], json=body)

    def order(self, who: str = "applicant1", amount: Any = BILL, key: str = "pay-1", loan_id: int | None = None):
        return self.post(who, f"/api/v1/loans/{loan_id or self.loan1}/repayments/online",
                         {"amount": amount, "idempotency_key": key})

    def pay(self, who: str, order_id: str):
        return self.post(who, f"/simulators/payments/api/orders/{order_id}/pay")

    def worker(self) -> int:
        """The simulator's worker jobs, as `flask worker` runs them: settle what is due, send what is queued."""
        with self.app.app_context():
            payments.settle_due()
            delivered = payments.deliver_notifications()
            db.session.remove()
        return delivered

    def count(self, model: Any) -> int:
        with self.app.app_context():
            n = db.session.scalar(select(func.count()).select_from(model))
            db.session.remove()
        return int(n or 0)


@pytest.fixture
def world(app, client, clock, served) -> World:
    business_day(clock, START)
    with app.app_context():
        headers, ids = two_loans(ORGS, USERS, START, funder={1: "BANK1", 2: "BANK1"})
        db.session.remove()
    base_url = app.config.get("BASE_URL")
    app.config["BASE_URL"] = served  # the simulator calls the served platform back
    yield World(app, client, served, headers, *ids)
    app.config["BASE_URL"] = base_url


def instalments(app, loan_id: int) -> list[Instalment]:
    with app.app_context():
        rows = loans.instalments(loan_id)
        db.session.expunge_all()
        db.session.remove()
    return rows


def notices(app) -> list[tuple[str, str]]:
    """The in-app notices sent: (user name, template)."""
    with app.app_context():
        rows = db.session.execute(select(Notification.recipient, Notification.template)
                                  .where(Notification.channel == "in_app").order_by(Notification.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


# -- paying a bill online, end to end ----------------------------------------------------------------

def test_a_bill_paid_online_is_booked_once_and_the_next_instalment_is_paid(world, clock):
    business_day(clock, date(2026, 2, 8))  # bill 1 (due 10 Feb) was issued on 7 Feb
    placed = world.order()
    assert placed.status_code == 201, placed.json
    body = placed.json
    assert body["status"] == "pending" and body["amount"] == BILL and body["idempotency_key"] == "pay-1"
    assert body["pay_url"] == f"{world.served}/simulators/payments/orders/{body['order_id']}/pay"
    with world.app.app_context():
        row = db.session.scalar(select(OrderRow).where(OrderRow.order_id == body["order_id"]))
        assert row.order["kind"] == "collection" and row.order["business_key"] == "LOAN-1"
        assert row.order["payer"]["number"] == "BORR1" and row.order["payee"]["number"] == "BANK1"
        assert row.order["notify_url"] == f"{world.served}{CALLBACK}"
        db.session.remove()

    again = world.order()  # the same key: the same order, none placed
    assert again.status_code == 200 and again.json["order_id"] == body["order_id"]
    assert world.count(OrderRow) == 1 and world.count(RepaymentOrder) == 1

    clock.advance(hours=2)  # the timer does not settle a collection: it waits for its payer
    assert world.worker() == 0
    assert world.get("applicant1", f"/api/v1/loans/{world.loan1}/repayments/online").json[0]["status"] == "pending"

    assert world.pay("applicant2", body["order_id"]).status_code == 404  # another borrower is not its payer
    paid = world.pay("applicant1", body["order_id"])
    assert paid.status_code == 200 and paid.json["status"] == "succeeded"
    assert world.pay("applicant1", body["order_id"]).status_code == 409  # paid once

    assert world.count(Payment) == 0  # nothing is booked before the notification arrives
    assert world.worker() == 1  # over HTTP, signed, to the served platform's callback
    listed = world.get("applicant1", f"/api/v1/loans/{world.loan1}/payments").json
    assert [(p["channel"], p["amount"], p["status"], p["booked_on"]) for p in listed] == [
        ("online", BILL, "booked", "2026-02-08")]
    first = instalments(world.app, world.loan1)[0]
    assert (first.number, first.status, first.paid_on) == (1, "paid", date(2026, 2, 8))
    order = world.get("applicant1", f"/api/v1/loans/{world.loan1}/repayments/online").json[0]
    assert order["status"] == "succeeded" and order["payment_id"] == listed[0]["id"]
    assert notices(world.app) == [("applicant1", "repayment_received")]  # the borrower is told, once
    with world.app.app_context():
        assert_books_balance(world.loan1)
        db.session.remove()


def test_an_order_left_unpaid_is_closed_when_another_is_placed_so_the_bill_is_not_paid_twice(world, clock):
    business_day(clock, date(2026, 2, 8))
    first = world.order(key="pay-1").json  # the borrower leaves the gateway's page without paying
    second = world.order(key="pay-2").json  # and comes back for another order
    orders = {o["order_id"]: o["status"] for o in world.get(
        "applicant1", f"/api/v1/loans/{world.loan1}/repayments/online").json}
    assert orders == {first["order_id"]: "closed", second["order_id"]: "pending"}
    refused = world.pay("applicant1", first["order_id"])  # it stayed payable: paid after the second, twice
    assert refused.status_code == 409 and ("closed" in refused.json["error"]["message"]
                                           or "已关闭" in refused.json["error"]["message"])
    page = signed_in(world.app, "applicant1").get(f"/simulators/payments/orders/{first['order_id']}/pay",
                                                  headers={"Accept-Language": "zh-CN"})
    assert "该订单已关闭" in page.text and 'id="payment-pay-form"' not in page.text
    assert world.pay("applicant1", second["order_id"]).status_code == 200
    assert world.worker() == 1
    assert [p["amount"] for p in world.get("applicant1", f"/api/v1/loans/{world.loan1}/payments").json] == [BILL]
    third = world.order(key="pay-3").json  # a paid order is not closed by the next one
    listed = {o["order_id"]: o["status"] for o in world.get(
        "applicant1", f"/api/v1/loans/{world.loan1}/repayments/online").json}
    assert listed == {first["order_id"]: "closed", second["order_id"]: "succeeded", third["order_id"]: "pending"}


def test_an_order_its_payer_paid_while_another_was_placed_stays_and_is_booked(world, clock):
    business_day(clock, date(2026, 2, 8))
    first = world.order(key="pay-1").json
    with world.app.app_context():  # the payer pays at the gateway; its notification is not yet in
        payments.pay(None, first["order_id"])
        db.session.remove()
    world.order(key="pay-2", amount="100.00")
    listed = {o["order_id"]: o["status"] for o in world.get(
        "applicant1", f"/api/v1/loans/{world.loan1}/repayments/online").json}
    assert listed[first["order_id"]] == "pending"  # the gateway said it was paid: not closed
    assert world.worker() == 1
    assert [p["amount"] for p in world.get("applicant1", f"/api/v1/loans/{world.loan1}/payments").json] == [BILL]


def test_the_same_key_sent_four_times_at_once_places_one_order(world):
    body = json.dumps({"amount": BILL, "idempotency_key": "race-1"}).encode()
    headers = {**world.headers["applicant1"], "Content-Type": "application/json"}
    answers = race_posts(world.served, [(f"/api/v1/loans/{world.loan1}/repayments/online", headers, body)] * 4)
    assert sorted(status for status, _ in answers) == [200, 200, 200, 201], answers
    assert len({answer["order_id"] for _, answer in answers}) == 1
    assert world.count(OrderRow) == 1 and world.count(RepaymentOrder) == 1


def test_a_notification_delivered_twice_or_again_later_books_one_payment(world, clock, app):
    business_day(clock, date(2026, 2, 8))
    with app.app_context():
        payments.notify_twice_next(1)
        db.session.remove()
    order_id = world.order().json["order_id"]
    assert world.pay("applicant1", order_id).status_code == 200
    assert world.worker() == 2  # both copies taken
    assert world.count(Payment) == 1
    with app.app_context():  # a third copy, late and under a fresh nonce
        stored = payments.payer_order(None, order_id)
        notification = PaymentNotification(
            notification_id="SIM-PN-" + order_id.removeprefix("SIM-PO-"), order_id=order_id,
            idempotency_key=stored.order.idempotency_key, kind="collection", status="succeeded", amount=BILL,
            settled_at=stored.settled_at, business_key="LOAN-1")
        signed = sign_notification(app.config["PAYMENTS_CALLBACK_SECRET"], notification, clock(), "late-copy-nonce-1")
        db.session.remove()
    answer = world.client.post(CALLBACK, data=signed.body, headers=signed.headers)
    assert answer.status_code == 200 and answer.json == {"duplicate": True}
    assert world.count(Payment) == 1
    assert notices(app) == [("applicant1", "repayment_received")]
    with app.app_context():
        assert_books_balance(world.loan1)
        db.session.remove()


def test_a_failed_payment_books_nothing_and_shows_its_reason(world, clock, app):
    business_day(clock, date(2026, 2, 8))
    with app.app_context():
        payments.fail_next(1, "insufficient funds")
        db.session.remove()
    order_id = world.order().json["order_id"]
    paid = world.pay("applicant1", order_id)
    assert paid.status_code == 200 and paid.json["status"] == "failed"
    assert world.worker() == 1
    assert world.count(Payment) == 0
    [order] = world.get("applicant1", f"/api/v1/loans/{world.loan1}/repayments/online").json
    assert (order["status"], order["failure_reason"], order["payment_id"]) == ("failed", "insufficient funds", None)
    assert instalments(app, world.loan1)[0].status == "pending"
    assert notices(app) == [("applicant1", "repayment_failed")]
    again = world.order(key="pay-2")  # a new order for the same bill
    assert again.status_code == 201 and again.json["order_id"] != order_id


def test_the_simulator_key_pays_and_a_disbursement_is_not_paid_by_hand(world, clock, app):
    business_day(clock, date(2026, 2, 8))
    order_id = world.order().json["order_id"]
    key = {"Authorization": f"Bearer {app.config['SIMULATOR_API_KEY']}"}
    assert world.client.post(f"/simulators/payments/api/orders/{order_id}/pay", headers=key).json["status"] == \
        "succeeded"
    assert world.client.post("/simulators/payments/api/orders/SIM-PO-NONE/pay", headers=key).status_code == 404
    assert world.client.post(f"/simulators/payments/api/orders/{order_id}/pay").status_code == 401


# -- who may pay, and what -------------------------------------------------------------------------

def test_only_the_borrowers_user_pays_their_own_loan(world):
    assert world.order("applicant2").status_code == 404  # another borrower's loan
    assert world.order("finance1").status_code == 403  # the funder sees the loan but is not its payer
    assert world.order("applicant1", loan_id=999999).status_code == 404
    assert world.count(OrderRow) == 0


@pytest.mark.parametrize(("amount", "field"), [
    ("0", "amount"), ("0.00", "amount"), ("-5.00", "amount"), (100, "amount"), ("1.234", "amount"),
    ("abc", "amount"), ("12500.00", "amount"), (None, "amount"),
])
def test_wrong_amounts_are_refused_and_place_nothing(world, amount, field):
    answer = world.order(amount=amount)
    assert answer.status_code == 422, answer.json
    assert field in answer.json["error"]["fields"]
    assert world.count(OrderRow) == 0 and world.count(RepaymentOrder) == 0


def test_a_key_is_one_amount_and_a_key_is_required(world):
    assert world.order(key="").status_code == 422
    assert world.order().status_code == 201
    assert world.order(amount="10.00").status_code == 409  # the key was used for another amount
    assert world.count(OrderRow) == 1


# -- the early-repayment quote ---------------------------------------------------------------------

def quote(world: World, who: str = "applicant1", **query: str):
    return world.get(who, f"/api/v1/loans/{world.loan1}/early-repayment-quote", query_string=query)


def test_the_full_payoff_quote_is_principal_interest_to_date_and_fee(world):
    answer = quote(world, date="2026-02-08")
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert (body["kind"], body["prepayment"]) == ("payoff", None)
    assert (body["principal"], body["interest"], body["fee"], body["total"]) == (
        "12000.00", "112.26", "110.54", "12222.80")  # docs/ledger.md's worked example


def test_a_partial_prepayment_quote_shows_the_new_schedule_in_either_mode(world):
    shorter = quote(world, date="2026-02-07", amount="4066.19", mode="shorten_term")
    lower = quote(world, date="2026-02-07", amount="4066.19", mode="reduce_instalment")
    assert shorter.status_code == 200 and lower.status_code == 200, (shorter.json, lower.json)
    for body in (shorter.json, lower.json):
        part = body["prepayment"]
        assert body["kind"] == "partial" and not part["settled"]
        assert (part["bills_paid"], part["prepaid_principal"], part["fee"]) == (BILL, "2970.30", "29.70")
        assert part["schedule"][0]["owed"] == "0.00"  # bill 1 paid as scheduled
    short_rows, low_rows = shorter.json["prepayment"]["schedule"], lower.json["prepayment"]["schedule"]
    assert len(short_rows) == 9  # docs/ledger.md: 9 instalments instead of 12
    assert len(low_rows) == 12 and Decimal(lower.json["prepayment"]["level_payment"]) < Decimal(BILL)
    assert short_rows[1]["interest"] == "80.84"  # bill 2 charges interest on the lower balance
    assert lower.json["mode"] == "reduce_instalment"
    detail = world.get("applicant1", f"/api/v1/loans/{world.loan1}").json
    assert detail["schedule_version"] == 1 and world.count(Payment) == 0  # a quote keeps nothing


@pytest.mark.parametrize(("query", "field"), [
    ({"date": "2026-13-45"}, "date"), ({"date": "2025-12-31"}, "date"), ({"amount": "-1"}, "amount"),
    ({"amount": "0"}, "amount"), ({"amount": "1.001"}, "amount"), ({"mode": "skip_a_month"}, "mode"),
])
def test_a_bad_quote_request_is_422_naming_the_field(world, query, field):
    answer = quote(world, **query)
    assert answer.status_code == 422, answer.json
    assert field in answer.json["error"].get("fields", {}), answer.json


def test_a_quote_is_for_a_date_up_to_the_last_due_date_and_an_amount_up_to_the_payoff(world):
    last = "No later than 2027-01-10, the loan's last due date."  # 12 monthly bills from 2026-02-10
    for day in ("2027-01-11", "2030-01-01", "2099-12-31"):  # each was quoted
        answer = quote(world, date=day)
        assert answer.status_code == 422 and answer.json["error"]["fields"] == {"date": [last]}, (day, answer.json)
    assert quote(world, date="2027-01-10").status_code == 200
    too_much = quote(world, date="2026-02-08", amount="9999999")  # was quoted as a prepayment leaving 0 instalments
    assert too_much.status_code == 422
    assert too_much.json["error"]["fields"] == {"amount": [
        "At most ¥12,222.80, what pays off the whole loan on 2026-02-08."]}
    exact = quote(world, date="2026-02-08", amount="12222.80")
    assert exact.status_code == 200 and exact.json["prepayment"]["settled"] is True
    zh = world.client.get(f"/api/v1/loans/{world.loan1}/early-repayment-quote", query_string={"date": "2099-12-31"},
                          headers={**world.headers["applicant1"], **ZH})
    assert zh.json["error"]["fields"] == {"date": ["不能晚于贷款的最后还款日 2027-01-10。"]}


def test_a_loan_that_is_not_active_has_no_quote_on_the_page_or_the_api(world, app):
    with app.app_context():
        adjustments.write_off(world.loan1)
        db.session.commit()
        db.session.remove()
    answer = quote(world)
    assert answer.status_code == 409, answer.json
    web = signed_in(app, "applicant1")
    page = web.get(f"/loans/{world.loan1}", headers=ZH)
    assert page.status_code == 200 and 'id="quote-form"' not in page.text and "提前还款试算" not in page.text
    asked = web.get(f"/loans/{world.loan1}", query_string={"quote": "1", "date": "2026-02-08"}, headers=ZH)
    assert asked.status_code == 200 and 'id="quote"' not in asked.text


def test_another_borrowers_user_gets_no_quote(world):
    assert quote(world, "applicant2").status_code == 404
    assert quote(world, "finance1").status_code == 200  # the funder sees its loan


def test_an_unpaid_collection_still_waits_a_week_later_while_a_disbursement_settles(world, clock, app):
    order_id = world.order().json["order_id"]
    with app.app_context():  # a disbursement placed at the same time settles by the timer as before
        disbursement = payments.create_order(PaymentOrder(
            kind="disbursement", idempotency_key="D-1", amount="10.00", payer=Account("Bank", "BANK1", "Bank"),
            payee=Account("Borrower", "BORR1", "Bank"), notify_url="http://127.0.0.1:9/none", business_key="APP-1"))
        db.session.remove()
    clock.advance(days=7)
    with app.app_context():
        assert payments.settle_due() == 1
        assert payments.query(disbursement.order_id).status == "succeeded"
        assert payments.query(order_id).status == "pending"
        db.session.remove()
    assert world.count(Payment) == 0


# -- the loan page -----------------------------------------------------------------------------------

ZH, EN = {"Accept-Language": "zh-CN"}, {"Accept-Language": "en"}


def signed_in(app, username: str):
    set_password(app, username)
    browser = app.test_client()
    assert sign_in(browser, username).status_code in (302, 303)
    return browser


def csrf_of(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_money_received_for_a_loan_closed_meanwhile_is_kept_and_said_in_the_borrowers_language(world, clock, app):
    """The order is paid after the loan was written off: nothing can be booked. The order stays `succeeded`
    without a payment, its English note kept for the API and the staff; the borrower's page says it in their
    language (received, not yet booked) and no English note reaches it."""
    business_day(clock, date(2026, 2, 8))
    order_id = world.order().json["order_id"]
    with app.app_context():
        adjustments.write_off(world.loan1)
        db.session.commit()
        db.session.remove()
    assert world.pay("applicant1", order_id).status_code == 200
    assert world.worker() == 1
    assert world.count(Payment) == 0
    [order] = world.get("applicant1", f"/api/v1/loans/{world.loan1}/repayments/online").json
    assert (order["status"], order["payment_id"]) == ("succeeded", None)
    assert order["failure_reason"] == "received but not booked: the loan is written_off"
    web = signed_in(app, "applicant1")
    zh, en = web.get(f"/loans/{world.loan1}", headers=ZH).text, web.get(f"/loans/{world.loan1}", headers=EN).text
    assert "已收到款项，但尚未记入该贷款；平台将与您联系" in zh and "not booked" not in zh
    assert "received, not yet booked on the loan; the platform will contact you" in en


def test_a_gateway_that_gives_no_reason_is_said_so_in_the_readers_language():
    for name in ("repayment_failed", "auto_debit_failed"):
        params = {"loan": "LOAN-1", "amount": "1,066.19", "reason": ""}
        assert "：对方未说明原因。" in templates.render(name, params, "zh")[1]
        assert ": no reason was given." in templates.render(name, params, "en")[1]
        assert "：余额不足。" in templates.render(name, {**params, "reason": "余额不足"}, "zh")[1]


def test_the_borrower_pays_a_bill_from_the_loan_page_in_chinese(world, clock, app):
    business_day(clock, date(2026, 2, 8))
    web = signed_in(app, "applicant1")
    listing = web.get("/loans", headers=ZH)
    assert "LOAN-1" in listing.text and "LOAN-2" not in listing.text and "还款中" in listing.text
    page = web.get(f"/loans/{world.loan1}", headers=ZH)
    assert page.status_code == 200 and "在线还款" in page.text and "提前还款试算" in page.text
    assert ">pending<" not in page.text and "暂无还款记录" in page.text
    first_bill = re.search(r'<tr data-instalment="1".*?</tr>', page.text, re.S).group(0)  # a phone shows no headings:
    assert re.findall(r'data-label="([^"]+)"', first_bill) == ["期次", "截止日期", "本金", "利息", "费用", "罚息",
                                                              "已还（含减免）", "待还", "状态"]  # each figure says what it is
    form = {"csrf_token": csrf_of(page), "key": re.search(r'name="key" value="([^"]+)"', page.text).group(1),
            "amount": "1,066.19"}
    sent = web.post(f"/loans/{world.loan1}/pay-online", data=form, headers=ZH)
    assert sent.status_code == 303
    where = urlsplit(sent.headers["Location"])
    assert f"{where.scheme}://{where.netloc}" == world.served and where.path.startswith("/simulators/payments/orders/")
    assert web.post(f"/loans/{world.loan1}/pay-online", data=form, headers=ZH).headers["Location"] == \
        sent.headers["Location"]  # the form sent twice: one order
    assert world.count(OrderRow) == 1
    gateway_page = web.get(f"{where.path}?{where.query}", headers=ZH)
    assert "模拟器" in gateway_page.text and "支付 ¥1,066.19" in gateway_page.text
    assert signed_in(app, "applicant2").get(where.path).status_code == 404  # not their order
    paid = web.post(f"{where.path}?{where.query}", data={"csrf_token": csrf_of(gateway_page)}, headers=ZH)
    assert paid.status_code == 303
    assert "该订单已支付" in web.get(paid.headers["Location"], headers=ZH).text
    assert world.worker() == 1
    after = web.get(f"/loans/{world.loan1}", headers=ZH)
    assert 'data-instalment="1" data-status="paid"' in after.text and "已入账" in after.text
    english = web.get(f"/loans/{world.loan1}", headers=EN).text
    assert "Pay online" in english and "Booked" in english


def test_the_loan_page_quotes_and_refuses_bad_input_in_both_languages(world, app):
    web = signed_in(app, "applicant1")
    query = {"quote": "1", "date": "2026-02-07", "amount": "4066.19", "mode": "reduce_instalment"}
    quoted = web.get(f"/loans/{world.loan1}", query_string=query, headers=ZH)
    assert quoted.status_code == 200 and 'id="quote-prepaid">¥2,970.30<' in quoted.text and "减少月供" in quoted.text
    full = web.get(f"/loans/{world.loan1}", query_string={"quote": "1", "date": "2026-02-08"}, headers=EN)
    assert 'id="quote-total">¥12,222.80<' in full.text  # English writes ¥ as Chinese does
    bad = web.get(f"/loans/{world.loan1}", query_string={"quote": "1", "date": "2026-13-45", "amount": "x"},
                  headers=ZH)
    assert "请按 YYYY-MM-DD 格式填写日期" in bad.text and 'id="quote"' not in bad.text
    early = web.get(f"/loans/{world.loan1}", query_string={"quote": "1", "date": "2025-01-01"}, headers=EN)
    assert "before the loan began" in early.text
    late = web.get(f"/loans/{world.loan1}", query_string={"quote": "1", "date": "2099-01-01"}, headers=ZH)
    assert "不能晚于贷款的最后还款日 2027-01-10。" in late.text and 'id="quote"' not in late.text
    over = web.get(f"/loans/{world.loan1}", query_string={"quote": "1", "date": "2026-02-08", "amount": "9,999,999"},
                   headers=EN)
    assert "At most ¥12,222.80, what pays off the whole loan on 2026-02-08." in over.text
    assert 'id="quote"' not in over.text
    page = web.get(f"/loans/{world.loan1}")
    too_much = web.post(f"/loans/{world.loan1}/pay-online", headers=ZH,
                        data={"csrf_token": csrf_of(page), "key": "k", "amount": "99999.00"})
    assert too_much.status_code == 422  # it says the most that may be paid
    assert re.search(r"金额超过今日结清贷款所需的 ¥[0-9,]+\.[0-9]{2}。", too_much.text), too_much.text
    over_api = world.order(amount="99999.00", key="over")  # the API says the bound as the page writes money
    assert re.fullmatch(r"at most ¥[0-9]{2},[0-9]{3}\.[0-9]{2}, what settles the loan today",
                        over_api.json["error"]["fields"]["amount"][0]), over_api.json
    empty = web.post(f"/loans/{world.loan1}/pay-online", headers=ZH,
                     data={"csrf_token": csrf_of(page), "key": "k", "amount": ""})
    assert empty.status_code == 422 and "请填写金额。" in empty.text
    assert world.count(OrderRow) == 0


def test_the_funder_sees_the_loan_page_without_the_pay_form_and_others_get_404(world, app):
    finance = signed_in(app, "finance1").get(f"/loans/{world.loan1}")
    assert finance.status_code == 200 and 'id="pay-online-form"' not in finance.text
    assert signed_in(app, "applicant2").get(f"/loans/{world.loan1}").status_code == 404


def test_a_quote_on_an_overdue_loan_adds_up_row_by_row_and_says_when_nothing_is_prepaid(world, clock, app):
    """Each row of the schedule after a quoted payment adds up (principal, interest, fees and penalties less what
    is paid is what is still owed), penalties included; an amount that only pays overdue bills is said to prepay
    nothing, not headed as a prepayment in the chosen mode (the preview dropped an overdue bill's penalty from what
    it still owed and read "shorten term, ¥0.00 prepaid")."""
    from app.services.ledger.eod import run_eod
    business_day(clock, date(2026, 3, 20))  # bills 1 (02-10) and 2 (03-10) unpaid
    with app.app_context():
        run_eod(date(2026, 3, 20))
        db.session.remove()
    answer = quote(world, date="2026-03-20", amount="500.00", mode="shorten_term")
    assert answer.status_code == 200, answer.json
    part = answer.json["prepayment"]
    assert (part["prepaid_principal"], part["bills_paid"]) == ("0.00", "500.00")
    rows = part["schedule"]
    assert Decimal(rows[0]["penalties"]) > 0  # bill 1 is 38 days late
    for row in rows:
        parts = sum(Decimal(row[k]) for k in ("principal", "interest", "fees", "penalties"))
        assert parts - Decimal(row["paid"]) == Decimal(row["owed"]), row
    assert Decimal(rows[0]["paid"]) == Decimal("500.00")
    assert Decimal(rows[0]["owed"]) == Decimal(rows[0]["total"]) - Decimal("500.00")
    web = signed_in(app, "applicant1")
    query = {"quote": "1", "date": "2026-03-20", "amount": "500", "mode": "shorten_term"}
    zh = web.get(f"/loans/{world.loan1}", query_string=query, headers=ZH).text
    assert 'id="quote-no-prepayment"' in zh and "不会提前偿还本金" in zh and "缩短期限" not in zh.split('id="quote"')[1]
    en = web.get(f"/loans/{world.loan1}", query_string=query, headers=EN).text
    assert "prepays nothing: the schedule stays as it is" in en and "Penalty interest" in en
    assert "Paying ¥500.00 on 2026-03-20" in en  # the date as every page writes it


def test_the_schedule_after_a_prepayment_adds_up_and_says_what_was_prepaid(world, clock, app):
    """After a partial prepayment the bill that holds it reads principal (incl. the prepaid part), interest, fees,
    penalty interest, paid and still owed, adding up; the page said principal 32,661.99, interest 1,633.33, still
    owed 24,295.32 with nothing between."""
    business_day(clock, date(2026, 2, 7))
    placed = world.order(amount="4066.19", key="prepay-1")
    assert placed.status_code == 201, placed.json
    assert world.pay("applicant1", placed.json["order_id"]).status_code == 200
    assert world.worker() == 1
    rows = instalments(app, world.loan1)
    held = next(r for r in rows if r.prepayments)
    web = signed_in(app, "applicant1")
    page = web.get(f"/loans/{world.loan1}", headers=ZH).text
    row = page.split(f'data-instalment="{held.number}"')[1].split("</tr>")[0]
    prepaid = sum(Decimal(a) for _on, a in held.prepayments)
    assert f"含提前还本 ¥{prepaid:,.2f}" in row
    cells = [Decimal(c.replace(",", "")) for c in re.findall(r'class="amount[^"]*"[^>]*>¥([\d,]+\.\d\d)', row)]
    principal, interest, fees, penalty, paid, owed = cells[0], cells[1], cells[2], cells[3], cells[4], cells[5]
    assert principal + interest + fees + penalty - paid == owed, cells
    assert principal == held.principal_due and paid >= prepaid


def test_the_loan_page_says_the_next_bill_and_its_date_at_the_top(world, clock, app):
    """Walk I item 3: the borrower found its next bill only by scrolling a 12-card schedule on a phone; the
    summary says what is due next and when (a bill already overdue stays in the amount overdue)."""
    business_day(clock, date(2026, 2, 8))
    page = signed_in(app, "applicant1").get(f"/loans/{world.loan1}", headers=ZH).text
    summary = re.search(r'id="loan-summary".*?</section>', page, re.S).group(0)
    assert re.search(r'下期应还</dt><dd id="next-bill">¥1,066.19，还款日 2026-02-10</dd>', summary), summary
    business_day(clock, date(2026, 2, 15))  # the first bill is overdue now: the next one is the March bill
    english = signed_in(app, "applicant1").get(f"/loans/{world.loan1}", headers=EN).text
    assert re.search(r'Next bill</dt><dd id="next-bill">¥1,066.19, due 2026-03-10</dd>', english)
