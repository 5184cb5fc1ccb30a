"""The payments adapter: the records, the simulator's orders (idempotency, settlement, query), each
injected failure, signed notifications (good, tampered, wrong secret, stale, replayed) and the HTTP
client against a stub gateway."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from handlers.callbacks import header_names, sign_callback
from handlers.errors import ProviderError, ProviderUnavailable
from handlers.payments import (
    Account,
    CallbackRejected,
    HttpPaymentsClient,
    IdempotencyConflict,
    Injection,
    InMemoryOrderStore,
    Notification,
    OrderReceipt,
    OrderStatus,
    PaymentOrder,
    SimulatedGateway,
    sign_notification,
    verify_notification,
)
from tests.unit.provider_stub import provider_stub, refused_url

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
FUNDER = Account(name="链融保理有限公司", number="6222020200112233445", bank="中国工商银行上海分行")
BORROWER = Account(name="上海链融贸易有限公司", number="31050161393600001234", bank="中国建设银行上海分行")
ORDER = PaymentOrder(kind="disbursement", idempotency_key="APP-2026-0001-disbursement", amount="500000.00",
                     payer=FUNDER, payee=BORROWER, memo="放款 APP-2026-0001",
                     notify_url="http://127.0.0.1:5000/api/v1/callbacks/payments", business_key="APP-2026-0001")
SECRET = "callback-secret"
TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER = header_names("X-Pay")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gateway(clock: Clock) -> SimulatedGateway:
    return SimulatedGateway(InMemoryOrderStore(), clock=clock, settle_after=timedelta(seconds=2))


def order(n: int, **changes) -> PaymentOrder:
    return replace(ORDER, idempotency_key=f"KEY-{n}", **changes)


# --- the records ---------------------------------------------------------------------------------------

def test_orders_receipts_statuses_and_notifications_travel_as_json_objects():
    assert PaymentOrder.from_dict(ORDER.to_dict()) == ORDER
    assert OrderReceipt.from_dict({"order_id": "O-1", "status": "accepted"}) == OrderReceipt("O-1")
    for status in (OrderStatus("O-1", "pending"), OrderStatus("O-1", "succeeded", T0),
                   OrderStatus("O-1", "failed", T0, "account frozen")):
        assert OrderStatus.from_dict(status.to_dict()) == status
    note = Notification(notification_id="N-1", order_id="O-1", idempotency_key="K", kind="collection",
                        status="succeeded", amount="0.01", settled_at=T0, business_key="APP-2026-0001")
    assert Notification.from_dict(note.to_dict()) == note
    assert Notification.from_dict({k: v for k, v in note.to_dict().items() if k != "business_key"}).business_key == ""


@pytest.mark.parametrize("changes, message", [
    ({"kind": "refund"}, "kind"),
    ({"amount": "500000"}, "amount"), ({"amount": "500000.5"}, "amount"), ({"amount": "-1.00"}, "amount"),
    ({"amount": "0.00"}, "amount"), ({"amount": 500000}, "amount"), ({"amount": "1e5.00"}, "amount"),
    ({"currency": "USD"}, "currency"),
    ({"idempotency_key": " "}, "idempotency_key"),
    ({"notify_url": "ftp://x"}, "notify_url"),
    ({"payee": {"name": "x", "number": "1", "bank": "b"}}, "accounts"),
])
def test_a_malformed_order_is_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        replace(ORDER, **changes)


@pytest.mark.parametrize("data, message", [
    ({**ORDER.to_dict(), "payer": {"name": "x", "number": "", "bank": "b"}}, "number"),
    ({k: v for k, v in ORDER.to_dict().items() if k != "notify_url"}, "notify_url"),
    ([], "object"),
])
def test_an_order_that_does_not_read_is_refused(data, message):
    with pytest.raises(ValueError, match=message):
        PaymentOrder.from_dict(data)


@pytest.mark.parametrize("data", [
    {"order_id": "O-1", "status": "pending", "settled_at": T0.isoformat()},
    {"order_id": "O-1", "status": "succeeded", "settled_at": None},
    {"order_id": "O-1", "status": "succeeded", "settled_at": "2026-12-03T09:00:00"},
    {"order_id": "O-1", "status": "failed", "settled_at": T0.isoformat(), "failure_reason": ""},
    {"order_id": "O-1", "status": "lost"},
])
def test_an_order_status_that_does_not_hold_together_is_refused(data):
    with pytest.raises(ValueError):
        OrderStatus.from_dict(data)


# --- the simulator: orders, idempotency, settlement ----------------------------------------------------

def test_an_order_is_accepted_pending_and_settles_when_due(gateway: SimulatedGateway, clock: Clock):
    receipt = gateway.create_order(ORDER)
    assert receipt.status == "accepted" and receipt.order_id.startswith("SIM-PO-")
    assert gateway.query(receipt.order_id) == OrderStatus(receipt.order_id, "pending")
    assert gateway.settle_due(T0 + timedelta(seconds=1)) == []
    settled = T0 + timedelta(seconds=2)
    [note] = gateway.settle_due(settled)
    assert (note.order_id, note.status, note.settled_at, note.failure_reason) == (receipt.order_id, "succeeded",
                                                                                 settled, "")
    assert (note.idempotency_key, note.kind, note.amount, note.currency) == (ORDER.idempotency_key, "disbursement",
                                                                             "500000.00", "CNY")
    assert note.business_key == "APP-2026-0001"  # the order's, echoed: the platform correlates by it
    assert gateway.query(receipt.order_id) == OrderStatus(receipt.order_id, "succeeded", settled)
    assert gateway.settle_due(settled + timedelta(hours=1)) == []  # settled once, notified once


def test_the_same_key_and_order_is_the_same_order_and_a_different_order_under_it_is_refused(
        gateway: SimulatedGateway):
    first = gateway.create_order(ORDER)
    assert gateway.create_order(PaymentOrder.from_dict(ORDER.to_dict())) == first
    for changed in (replace(ORDER, amount="500000.01"), replace(ORDER, payee=replace(BORROWER, number="1")),
                    replace(ORDER, kind="collection"), replace(ORDER, memo="other")):
        with pytest.raises(IdempotencyConflict) as caught:
            gateway.create_order(changed)
        assert caught.value.status == 409 and ORDER.idempotency_key in caught.value.message
    other = gateway.create_order(replace(ORDER, idempotency_key="APP-2026-0002-disbursement"))
    assert other.order_id != first.order_id
    assert len(gateway.settle_due(T0 + timedelta(minutes=1))) == 2


def test_a_key_placed_first_by_another_process_returns_that_order(clock: Clock):
    store = InMemoryOrderStore()
    web = SimulatedGateway(store, clock=clock)

    class Racing(InMemoryOrderStore):
        """A store in which the other process's order lands between the lookup and the insert."""

        def by_key(self, idempotency_key: str):
            return None

        def add(self, order):
            return store.add(order)

        def injection(self):
            return store.injection()

        def set_injection(self, injection):
            store.set_injection(injection)

    placed = web.create_order(ORDER)
    web.fail_next(1, "insufficient funds")
    racer = SimulatedGateway(Racing(), clock=clock)
    assert racer.create_order(ORDER) == placed
    with pytest.raises(IdempotencyConflict):
        racer.create_order(replace(ORDER, amount="1.00"))
    assert store.injection().fail_next == 1  # the order that lost the race took no injection


def test_an_unknown_order_cannot_be_queried(gateway: SimulatedGateway):
    with pytest.raises(ProviderError, match="no order") as caught:
        gateway.query("SIM-PO-NOPE")
    assert caught.value.status == 404 and not isinstance(caught.value, ProviderUnavailable)


def test_orders_settle_in_the_order_they_fall_due(gateway: SimulatedGateway, clock: Clock):
    ids = []
    for n in range(3):
        clock.now = T0 + timedelta(seconds=n)
        ids.append(gateway.create_order(order(n)).order_id)
    assert [n.order_id for n in gateway.settle_due(T0 + timedelta(seconds=3))] == ids[:2]
    assert [n.order_id for n in gateway.settle_due(T0 + timedelta(seconds=9))] == ids[2:]


# --- the simulator: injected failures, delays and duplicates -------------------------------------------

def test_the_next_n_orders_fail_with_the_reason_then_orders_succeed(gateway: SimulatedGateway):
    assert gateway.fail_next(2, "收款账户已冻结 account frozen") == Injection(fail_next=2,
                                                                          fail_reason="收款账户已冻结 account frozen")
    ids = [gateway.create_order(order(n)).order_id for n in range(3)]
    assert gateway.injection() == Injection()
    notes = gateway.settle_due(T0 + timedelta(seconds=2))
    assert [(n.status, n.failure_reason) for n in notes] == [("failed", "收款账户已冻结 account frozen")] * 2 + [
        ("succeeded", "")]
    failed = gateway.query(ids[0])
    assert (failed.status, failed.failure_reason) == ("failed", "收款账户已冻结 account frozen")
    retried = gateway.create_order(order(9))  # a retry is a new order under a new key
    [note] = gateway.settle_due(T0 + timedelta(seconds=2))
    assert (note.order_id, note.status) == (retried.order_id, "succeeded")


def test_a_repeated_order_does_not_take_an_injection(gateway: SimulatedGateway):
    gateway.create_order(ORDER)
    gateway.fail_next(1, "insufficient funds")
    gateway.create_order(ORDER)
    assert gateway.injection().fail_next == 1


def test_the_next_n_orders_settle_late(gateway: SimulatedGateway):
    gateway.delay_next(1, timedelta(minutes=3))
    late, on_time = gateway.create_order(order(1)), gateway.create_order(order(2))
    assert [n.order_id for n in gateway.settle_due(T0 + timedelta(seconds=2))] == [on_time.order_id]
    assert gateway.query(late.order_id).status == "pending"  # what the platform sees when it asks
    assert gateway.settle_due(T0 + timedelta(minutes=3)) == []
    [note] = gateway.settle_due(T0 + timedelta(minutes=3, seconds=2))
    assert note.order_id == late.order_id and note.status == "succeeded"


def test_the_next_n_orders_are_notified_twice(gateway: SimulatedGateway):
    gateway.notify_twice_next(1)
    twice, once = gateway.create_order(order(1)), gateway.create_order(order(2))
    notes = gateway.settle_due(T0 + timedelta(seconds=2))
    assert [n.order_id for n in notes] == [twice.order_id, twice.order_id, once.order_id]
    assert notes[0] == notes[1]  # the same notification id: the platform acts on one


def test_injections_combine_and_can_be_cleared(gateway: SimulatedGateway):
    gateway.fail_next(1, "bank offline")
    gateway.notify_twice_next(2)
    gateway.delay_next(1)
    assert gateway.injection() == Injection(fail_next=1, fail_reason="bank offline", late_next=1, twice_next=2)
    first = gateway.create_order(order(1))
    assert gateway.injection() == Injection(twice_next=1)
    notes = gateway.settle_due(T0 + timedelta(minutes=10, seconds=2))
    assert [(n.order_id, n.status) for n in notes] == [(first.order_id, "failed")] * 2
    assert gateway.clear_injection() == Injection() == gateway.injection()
    gateway.create_order(order(2))
    assert len(gateway.settle_due(T0 + timedelta(seconds=2))) == 1
    gateway.fail_next(3, "x")
    assert gateway.fail_next(0, "") == Injection()


@pytest.mark.parametrize("build", [
    lambda g: g.fail_next(1, " "), lambda g: g.fail_next(-1, "x"), lambda g: g.delay_next(1, timedelta(0)),
    lambda g: g.notify_twice_next(-2),
])
def test_an_injection_that_makes_no_sense_is_refused(gateway: SimulatedGateway, build):
    with pytest.raises(ValueError):
        build(gateway)
    assert gateway.injection() == Injection()


# --- signed notifications ------------------------------------------------------------------------------

NOTE = Notification(notification_id="SIM-PN-1", order_id="SIM-PO-1", idempotency_key=ORDER.idempotency_key,
                    kind="disbursement", status="succeeded", amount="500000.00", settled_at=T0)


class Nonces:
    """The platform's memory of nonces: answers whether one was seen, and remembers it."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, nonce: str) -> bool:
        used = nonce in self.seen
        self.seen.append(nonce)
        return used


def test_a_signed_notification_is_accepted_once():
    signed = sign_notification(SECRET, NOTE, T0, "nonce-0001")
    assert set(signed.headers) >= {TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER}
    assert json.loads(signed.body)["order_id"] == "SIM-PO-1"
    nonces = Nonces()
    lower = {k.lower(): v for k, v in signed.headers.items()}
    assert verify_notification(SECRET, lower, signed.body, T0 + timedelta(minutes=4), nonces) == NOTE
    assert nonces.seen == ["nonce-0001"]
    with pytest.raises(CallbackRejected) as replayed:
        verify_notification(SECRET, signed.headers, signed.body, T0, nonces)
    assert replayed.value.reason == "replayed"
    again = sign_notification(SECRET, NOTE, T0, "nonce-0002")  # the same notification sent again
    assert verify_notification(SECRET, again.headers, again.body, T0, nonces) == NOTE


def tampered(body: bytes) -> bytes:
    return body.replace(b"500000.00", b"900000.00")


@pytest.mark.parametrize("secret, change, now, reason", [
    (SECRET, tampered, T0, "bad_signature"),
    ("another-secret", None, T0, "bad_signature"),
    (SECRET, None, T0 + timedelta(minutes=5, seconds=1), "stale"),
    (SECRET, None, T0 - timedelta(minutes=5, seconds=1), "stale"),
])
def test_a_tampered_wrongly_signed_or_stale_notification_is_rejected_without_using_its_nonce(secret, change, now,
                                                                                          reason):
    signed = sign_notification(SECRET, NOTE, T0, "nonce-0001")
    body = change(signed.body) if change else signed.body
    assert body != signed.body or change is None
    nonces = Nonces()
    with pytest.raises(CallbackRejected) as caught:
        verify_notification(secret, signed.headers, body, now, nonces)
    assert caught.value.reason == reason and caught.value.message
    assert nonces.seen == []


@pytest.mark.parametrize("drop, replace_with, reason", [
    (SIGNATURE_HEADER, None, "unsigned"), (NONCE_HEADER, None, "unsigned"), (TIMESTAMP_HEADER, None, "unsigned"),
    (TIMESTAMP_HEADER, "yesterday", "malformed"), (NONCE_HEADER, "short", "malformed"),
    (NONCE_HEADER, "nonce-0002", "bad_signature"), (TIMESTAMP_HEADER, str(int(T0.timestamp()) + 1), "bad_signature"),
])
def test_a_notification_without_good_headers_is_rejected(drop, replace_with, reason):
    signed = sign_notification(SECRET, NOTE, T0, "nonce-0001")
    headers = {k: v for k, v in signed.headers.items() if k != drop}
    if replace_with is not None:
        headers[drop] = replace_with
    with pytest.raises(CallbackRejected) as caught:
        verify_notification(SECRET, headers, signed.body, T0, Nonces())
    assert caught.value.reason == reason


def test_a_signed_body_that_is_not_a_notification_is_rejected():
    body = json.dumps({"order_id": "SIM-PO-1"}).encode()
    headers = sign_callback(SECRET, body, T0, "nonce-0001", prefix="X-Pay")
    with pytest.raises(CallbackRejected) as caught:
        verify_notification(SECRET, headers, body, T0, Nonces())
    assert caught.value.reason == "malformed" and "notification_id" in caught.value.message


def test_a_notification_signed_with_another_providers_headers_is_unsigned():
    signed = sign_notification(SECRET, NOTE, T0, "nonce-0001")
    assert NONCE_HEADER in signed.headers and NONCE_HEADER.startswith("X-Pay-")
    elsewhere = sign_callback(SECRET, signed.body, T0, "nonce-0001")  # the default X-Callback-* headers
    with pytest.raises(CallbackRejected) as caught:
        verify_notification(SECRET, elsewhere, signed.body, T0, Nonces())
    assert caught.value.reason == "unsigned"


def test_the_simulators_notifications_verify(gateway: SimulatedGateway):
    gateway.notify_twice_next(1)
    gateway.create_order(ORDER)
    first, second = gateway.settle_due(T0 + timedelta(seconds=2))
    nonces = Nonces()
    received = [verify_notification(SECRET, s.headers, s.body, T0, nonces)
                for s in (sign_notification(SECRET, first, T0, "nonce-0001"),
                          sign_notification(SECRET, second, T0, "nonce-0002"))]
    assert received[0] == received[1] == first
    assert received[0].order_status() == gateway.query(first.order_id)


# --- the HTTP client -----------------------------------------------------------------------------------

def client(url: str, **options) -> tuple[HttpPaymentsClient, list[float]]:
    waits: list[float] = []
    return HttpPaymentsClient(url, "pay-key", **{"timeout": 2, **options}, sleep=waits.append), waits


def test_the_client_places_an_order_under_its_idempotency_key_and_queries_it():
    with provider_stub() as stub:
        stub.answer(502, "Bad Gateway")
        stub.answer(200, {"order_id": "GW-1", "status": "accepted"})
        stub.answer(200, {"order_id": "GW-1", "status": "succeeded", "settled_at": T0.isoformat(),
                          "failure_reason": ""})
        gateway, waits = client(stub.url + "/simulators/payments")
        assert gateway.create_order(ORDER) == OrderReceipt("GW-1")
        assert gateway.query("GW-1") == OrderStatus("GW-1", "succeeded", T0)
    first, retry, query = stub.received
    assert first.path == retry.path == "/simulators/payments/api/orders"
    assert first.headers["idempotency-key"] == retry.headers["idempotency-key"] == ORDER.idempotency_key
    assert first.headers["authorization"] == "Bearer pay-key"
    assert first.body == retry.body == ORDER.to_dict()
    assert query.path == "/simulators/payments/api/orders/query" and query.body == {"order_id": "GW-1"}
    assert waits == [0.2]


def test_a_conflicting_order_is_an_idempotency_conflict_and_other_refusals_provider_errors():
    with provider_stub() as stub:
        stub.answer(409, {"error": {"code": "conflict", "message": "key used for another order"}})
        stub.answer(404, {"error": {"code": "not_found", "message": "no order GW-9"}})
        stub.answer(200, {"order_id": "GW-1", "status": "settled"})
        stub.answer(200, {"id": "GW-1"})
        gateway, waits = client(stub.url)
        with pytest.raises(IdempotencyConflict, match="another order") as conflict:
            gateway.create_order(ORDER)
        with pytest.raises(ProviderError, match="no order") as unknown:
            gateway.query("GW-9")
        with pytest.raises(ProviderError, match="order status"):
            gateway.query("GW-1")
        with pytest.raises(ProviderError, match="receipt"):
            gateway.create_order(ORDER)
    assert conflict.value.status == 409 and unknown.value.status == 404
    assert not isinstance(unknown.value, (IdempotencyConflict, ProviderUnavailable))
    assert len(stub.received) == 4 and waits == []


def test_a_gateway_that_is_down_or_does_not_answer_in_time_is_unavailable():
    down, waits = client(refused_url(), retries=1)
    with pytest.raises(ProviderUnavailable) as caught:
        down.create_order(ORDER)
    assert caught.value.provider == "payments" and waits == [0.2]
    with provider_stub() as stub:
        stub.hang()
        slow, _ = client(stub.url, timeout=0.2, retries=0)
        with pytest.raises(ProviderUnavailable, match="timed out"):
            slow.query("GW-1")

