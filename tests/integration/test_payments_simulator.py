"""The payment gateway simulator served by the app: the adapter's real client (`HttpPaymentsClient`)
over HTTP, settling on the test clock, signed notifications POSTed to a small local server and checked
as the platform checks them, each injected failure, and the page platform staff set them on."""
from __future__ import annotations

import http.server
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import InboxMessage
from app.models import PaymentOrder as OrderRow
from app.services.simulators import payments
from handlers.errors import ProviderError
from handlers.payments import (
    Account,
    HttpPaymentsClient,
    IdempotencyConflict,
    Notification,
    PaymentOrder,
    verify_notification,
)
from tests.integration import test_simulators as simulators
from tests.integration.test_simulators import (
    BANNER_EN,
    BANNER_ZH,
    EN,
    ZH,
    csrf_of,
    no_wait,
    raw_post,
    signed_in,
)

key = simulators.key  # fixtures: the simulators' API key; a platform operator, an analyst and a borrower
people = simulators.people

FUNDER = Account(name="Bank One", number="6222000000000001", bank="ICBC")
BORROWER = Account(name="Trader Co", number="6222000000000002", bank="CCB")


class Platform:
    """A stand-in for the platform's callback endpoint: records what is POSTed, answers `status`."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        platform = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                platform.received.append((dict(self.headers.items()), body))
                self.send_response(platform.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/v1/callbacks/payments"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def notifications(self, secret: str, now) -> list[Notification]:
        """Every notification received, checked as the platform checks one (each nonce once)."""
        seen: set[str] = set()

        def seen_nonce(nonce: str) -> bool:
            if nonce in seen:
                return True
            seen.add(nonce)
            return False

        return [verify_notification(secret, headers, body, now, seen_nonce) for headers, body in self.received]


@pytest.fixture
def platform():
    stand_in = Platform()
    yield stand_in
    stand_in.server.shutdown()
    stand_in.server.server_close()


@pytest.fixture
def gateway(served, key) -> HttpPaymentsClient:
    return HttpPaymentsClient(f"{served}/simulators/payments", key, timeout=10, retries=0, sleep=no_wait)


def order_for(platform: Platform, idempotency_key: str = "DISB-AP-2026-0001", amount: str = "500000.00") -> PaymentOrder:
    return PaymentOrder(kind="disbursement", idempotency_key=idempotency_key, amount=amount, payer=FUNDER, payee=BORROWER,
                        notify_url=platform.url, memo="放款 AP-2026-0001")


def worker(app, clock, **advance: float) -> tuple[int, int]:
    """Move the clock, then what the worker's job does: (orders settled, notifications taken)."""
    if advance:
        clock.advance(**advance)
    with app.app_context():
        settled = payments.settle_due()
        delivered = payments.deliver_notifications()
        db.session.remove()
    return settled, delivered


def in_service(app, work):
    with app.app_context():
        try:
            return work()
        finally:
            db.session.remove()


# -- the gateway's API over HTTP -------------------------------------------------------------------

def test_an_order_is_placed_once_per_idempotency_key_and_another_order_under_it_is_409(app, gateway, platform):
    receipt = gateway.create_order(order_for(platform))
    assert receipt.order_id.startswith("SIM-PO-") and receipt.status == "accepted"
    assert gateway.create_order(order_for(platform)).order_id == receipt.order_id
    with pytest.raises(IdempotencyConflict) as conflict:
        gateway.create_order(order_for(platform, amount="400000.00"))
    assert conflict.value.status == 409
    other = gateway.create_order(order_for(platform, idempotency_key="DISB-AP-2026-0002"))
    assert other.order_id != receipt.order_id
    status = gateway.query(receipt.order_id)
    assert status.status == "pending" and status.settled_at is None
    assert in_service(app, lambda: db.session.scalar(select(func.count()).select_from(OrderRow))) == 2


def test_the_same_order_placed_at_once_from_many_callers_is_one_order(app, gateway, platform):
    with ThreadPoolExecutor(max_workers=6) as pool:
        receipts = list(pool.map(lambda _i: gateway.create_order(order_for(platform)), range(6)))
    assert len({r.order_id for r in receipts}) == 1
    assert in_service(app, lambda: db.session.scalar(select(func.count()).select_from(OrderRow))) == 1


def test_a_bad_order_is_422_a_missing_key_401_and_an_unknown_order_404(served, key, gateway, platform):
    url = f"{served}/simulators/payments/api/orders"
    auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    bad = {**order_for(platform).to_dict(), "amount": "12"}
    status, answer = raw_post(url, json.dumps(bad).encode(), auth)
    assert status == 422 and "amount" in answer["error"]["message"]
    status, _answer = raw_post(url, json.dumps(order_for(platform).to_dict()).encode(),
                               {**auth, "Idempotency-Key": "another-key"})
    assert status == 422
    status, _answer = raw_post(url, json.dumps(order_for(platform).to_dict()).encode(),
                               {"Content-Type": "application/json"})
    assert status == 401
    status, _answer = raw_post(url, b"{not json", auth)
    assert status == 400
    with pytest.raises(ProviderError) as unknown:
        gateway.query("SIM-PO-NOSUCHORDER")
    assert unknown.value.status == 404


def test_a_collection_its_payer_has_not_paid_is_closed_over_http_and_can_no_longer_be_paid(app, clock, gateway,
                                                                                           platform):
    collection = PaymentOrder(kind="collection", idempotency_key="online:1:pay-1", amount="1066.19", payer=BORROWER,
                              payee=FUNDER, notify_url=platform.url, memo="还款 LOAN-1")
    order_id = gateway.create_order(collection).order_id
    closed = gateway.close(order_id)
    assert (closed.status, closed.settled_at is not None) == ("closed", True)
    assert gateway.query(order_id).status == "closed" and gateway.close(order_id).status == "closed"  # again: so
    with pytest.raises(ProviderError) as refused:
        in_service(app, lambda: payments.gateway().pay(order_id, clock()))
    assert refused.value.status == 409
    assert worker(app, clock, days=400) == (0, 0)  # never settled, nothing notified: nothing moved
    paid = gateway.create_order(PaymentOrder(**{**collection.__dict__, "idempotency_key": "online:1:pay-2"})).order_id
    in_service(app, lambda: (payments.gateway().pay(paid, clock()), db.session.commit()))
    assert gateway.close(paid).status == "succeeded"  # paid first: it stays paid
    with pytest.raises(ProviderError) as not_a_collection:
        gateway.close(gateway.create_order(order_for(platform)).order_id)
    assert not_a_collection.value.status == 409
    with pytest.raises(ProviderError) as unknown:
        gateway.close("SIM-PO-NOSUCHORDER")
    assert unknown.value.status == 404


# -- settling and notifying -------------------------------------------------------------------------

def test_an_order_settles_after_a_few_seconds_and_the_platform_gets_a_signed_notification(
        app, clock, gateway, platform):
    receipt = gateway.create_order(order_for(platform))
    assert worker(app, clock) == (0, 0)  # not due yet
    assert gateway.query(receipt.order_id).status == "pending" and platform.received == []
    assert worker(app, clock, seconds=3) == (1, 1)
    status = gateway.query(receipt.order_id)
    assert status.status == "succeeded" and status.settled_at == clock.current
    [notification] = platform.notifications(app.config["PAYMENTS_CALLBACK_SECRET"], clock.current)
    assert (notification.order_id, notification.status, notification.amount, notification.idempotency_key) == (
        receipt.order_id, "succeeded", "500000.00", "DISB-AP-2026-0001")
    assert worker(app, clock, seconds=60) == (0, 0) and len(platform.received) == 1  # sent once
    with pytest.raises(Exception, match="signature"):  # another secret: the platform would refuse it
        platform.notifications("not-the-secret", clock.current)


def test_a_notification_the_platform_does_not_take_is_sent_again_later(app, clock, gateway, platform):
    gateway.create_order(order_for(platform))
    platform.status = 503
    assert worker(app, clock, seconds=3) == (1, 0)
    assert len(platform.received) == 1
    assert worker(app, clock, seconds=1) == (0, 0) and len(platform.received) == 1  # waits before trying again
    platform.status = 200
    assert worker(app, clock, seconds=5) == (0, 1) and len(platform.received) == 2
    assert worker(app, clock, seconds=60) == (0, 0) and len(platform.received) == 2
    first, second = platform.notifications(app.config["PAYMENTS_CALLBACK_SECRET"], clock.current)
    assert first == second  # the same notification, each copy with its own nonce


# -- injections ------------------------------------------------------------------------------------

def test_the_next_orders_told_to_fail_fail_with_the_reason_then_orders_succeed(app, clock, gateway, platform):
    in_service(app, lambda: payments.fail_next(1, "账户余额不足"))
    failed = gateway.create_order(order_for(platform, idempotency_key="K-1"))
    succeeded = gateway.create_order(order_for(platform, idempotency_key="K-2"))
    assert worker(app, clock, seconds=3) == (2, 2)
    assert gateway.query(failed.order_id).failure_reason == "账户余额不足"
    assert gateway.query(failed.order_id).status == "failed"
    assert gateway.query(succeeded.order_id).status == "succeeded"
    by_order = {n.order_id: n for n in platform.notifications(app.config["PAYMENTS_CALLBACK_SECRET"], clock.current)}
    assert (by_order[failed.order_id].status, by_order[failed.order_id].failure_reason) == ("failed", "账户余额不足")
    assert by_order[succeeded.order_id].status == "succeeded"


def test_one_injected_failure_is_taken_by_one_of_the_orders_placed_at_once(app, clock, gateway, platform):
    in_service(app, lambda: payments.fail_next(1, "account frozen"))
    with ThreadPoolExecutor(max_workers=6) as pool:
        receipts = list(pool.map(lambda i: gateway.create_order(order_for(platform, idempotency_key=f"K-{i}")),
                                 range(6)))
    assert worker(app, clock, seconds=3) == (6, 6)
    statuses = sorted(gateway.query(r.order_id).status for r in receipts)
    assert statuses == ["failed"] + ["succeeded"] * 5


def test_the_next_orders_told_to_be_late_settle_that_much_later(app, clock, gateway, platform):
    in_service(app, lambda: payments.delay_next(1, timedelta(minutes=10)))
    late = gateway.create_order(order_for(platform, idempotency_key="K-1"))
    on_time = gateway.create_order(order_for(platform, idempotency_key="K-2"))
    assert worker(app, clock, seconds=3) == (1, 1)
    assert gateway.query(late.order_id).status == "pending" and gateway.query(on_time.order_id).status == "succeeded"
    assert worker(app, clock, minutes=9) == (0, 0)
    assert worker(app, clock, minutes=1) == (1, 1)
    assert gateway.query(late.order_id).status == "succeeded"


def test_the_next_orders_told_to_notify_twice_send_two_copies_of_one_notification(app, clock, gateway, platform):
    in_service(app, lambda: payments.notify_twice_next(1))
    twice = gateway.create_order(order_for(platform, idempotency_key="K-1"))
    gateway.create_order(order_for(platform, idempotency_key="K-2"))
    assert worker(app, clock, seconds=3) == (2, 3)
    received = platform.notifications(app.config["PAYMENTS_CALLBACK_SECRET"], clock.current)
    copies = [n for n in received if n.order_id == twice.order_id]
    assert len(copies) == 2 and copies[0].notification_id == copies[1].notification_id
    nonces = {headers["X-Pay-Nonce"] for headers, _body in platform.received}
    assert len(nonces) == 3  # every copy is signed afresh


# -- the page --------------------------------------------------------------------------------------

def test_an_operator_sets_the_injections_on_the_page_and_the_next_orders_suffer_them(
        app, clock, people, gateway, platform):
    operator = signed_in(app, "op")
    page = operator.get("/simulators/payments/", headers=EN)
    assert page.status_code == 200 and BANNER_EN in page.text
    set_ = operator.post("/simulators/payments/injection", headers=EN, data={
        "csrf_token": csrf_of(page.text), "fail_next": "1", "fail_reason": "account frozen", "late_next": "0",
        "late_minutes": "10", "twice_next": "1"})
    assert set_.status_code == 303
    first = gateway.create_order(order_for(platform, idempotency_key="K-1", amount="1234567.80"))
    second = gateway.create_order(order_for(platform, idempotency_key="K-2"))
    assert worker(app, clock, seconds=3) == (2, 3)
    assert gateway.query(first.order_id).failure_reason == "account frozen"
    assert gateway.query(second.order_id).status == "succeeded"
    english = operator.get("/simulators/payments/", headers=EN).text
    assert english.index(second.order_id) < english.index(first.order_id)  # newest first
    assert "¥1,234,567.80" in english and "failed: account frozen" in english and "succeeded" in english
    chinese = operator.get("/simulators/payments/", headers=ZH).text
    assert BANNER_ZH in chinese and "失败" in chinese and "成功" in chinese
    refused = operator.post("/simulators/payments/injection", headers=EN, data={
        "csrf_token": csrf_of(english), "fail_next": "2", "fail_reason": "", "late_next": "0",
        "late_minutes": "10", "twice_next": "0"})
    assert refused.status_code == 422 and "failing orders need a reason" in refused.text
    assert in_service(app, lambda: payments.TableOrderStore().injection()).fail_next == 0


def test_the_orders_page_is_paged(app, clock, people, gateway, platform):
    for i in range(23):
        gateway.create_order(order_for(platform, idempotency_key=f"K-{i:02d}", amount=f"{1000 + i}.00"))
        clock.advance(seconds=1)
    operator = signed_in(app, "op")
    first = operator.get("/simulators/payments/", headers=EN).text
    assert "page 1 of 2" in first and "¥1,022.00" in first and "¥1,002.00" not in first
    second = operator.get("/simulators/payments/", query_string={"page": 2}, headers=EN).text
    assert re.findall(r"¥(1,00\d\.00)", second) == ["1,002.00", "1,001.00", "1,000.00"]


def test_a_borrower_and_an_analyst_may_not_set_the_injections(app, people):
    for user in ("appl", "ana"):
        browser = signed_in(app, user)
        assert browser.get("/simulators/payments/", headers=EN).status_code == 403
        page = browser.get("/", headers=EN).text
        refused = browser.post("/simulators/payments/injection", headers=EN, data={
            "csrf_token": csrf_of(page), "fail_next": "1", "fail_reason": "x", "late_next": "0",
            "late_minutes": "10", "twice_next": "0"})
        assert refused.status_code == 403
    assert in_service(app, lambda: payments.TableOrderStore().injection()).fail_next == 0


def test_a_notification_goes_to_the_orders_address_else_to_the_platforms_callback(app, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", "https://loanflow.example.com/")
    with app.app_context():
        assert payments.callback_url("http://10.0.0.5:8000/api/v1/callbacks/payments") == (
            "http://10.0.0.5:8000/api/v1/callbacks/payments")
        assert payments.callback_url("") == "https://loanflow.example.com/api/v1/callbacks/payments"
        monkeypatch.setitem(app.config, "BASE_URL", "")
        assert payments.callback_url("") == app.config["PUBLIC_URL"].rstrip("/") + "/api/v1/callbacks/payments"


def test_the_platforms_own_callback_takes_the_notification_and_its_second_copy(app, clock, served, gateway):
    in_service(app, lambda: payments.notify_twice_next(1))
    order = PaymentOrder(kind="disbursement", idempotency_key="DISB-AP-2026-0009", amount="360000.00", payer=FUNDER,
                         payee=BORROWER, notify_url=f"{served}/api/v1/callbacks/payments", business_key="AP-2026-0009")
    gateway.create_order(order)
    assert worker(app, clock, seconds=3) == (1, 2)  # both copies answered 2xx: accepted, then a duplicate
    with app.app_context():
        [kept] = db.session.scalars(select(InboxMessage)).all()  # kept once, until the deal's instance waits
        assert (kept.name, kept.correlation_key, kept.payload["status"]) == ("payment_settled", "AP-2026-0009",
                                                                            "succeeded")
        db.session.remove()
