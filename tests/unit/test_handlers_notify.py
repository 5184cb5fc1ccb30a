"""The notify adapter: the simulator's address checks and ids; the HTTP client against a stub."""
from __future__ import annotations

from dataclasses import replace

import pytest

from handlers.errors import ProviderError, ProviderUnavailable
from handlers.notify import (
    HttpNotifyClient,
    Notification,
    SendResult,
    SimulatedNotify,
    valid_email,
    valid_mobile,
)
from tests.unit.provider_stub import provider_stub, refused_url

SMS = Notification(channel="sms", to="13800138000", subject="", body="【链融】您的申请已通过审批。", ref="NTF-1")
EMAIL = Notification(channel="email", to="applicant1@trader.example.cn", subject="邀请 Invitation",
                     body="请登录平台完成注册。", ref="NTF-2")


# --- the records ---------------------------------------------------------------------------------------

def test_notifications_and_receipts_travel_as_json_objects():
    for message in (SMS, EMAIL):
        assert Notification.from_dict(message.to_dict()) == message
    receipt = SendResult(provider_message_id="M-1", status="accepted")
    assert SendResult.from_dict(receipt.to_dict()) == receipt


@pytest.mark.parametrize("data, message", [
    ({"channel": "in_app", "to": "x", "body": "hi"}, "channel"),
    ({"channel": "sms", "body": "hi"}, "to"),
    ({"channel": "sms", "to": 13800138000, "body": "hi"}, "to"),
    ([], "object"),
])
def test_a_malformed_notification_is_refused(data, message):
    with pytest.raises(ValueError, match=message):
        Notification.from_dict(data)


@pytest.mark.parametrize("data", [{"provider_message_id": "", "status": "accepted"},
                                  {"provider_message_id": "M-1", "status": "lost"}, {}])
def test_a_malformed_receipt_is_refused(data):
    with pytest.raises(ValueError):
        SendResult.from_dict(data)


# --- the simulator -------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, valid", [
    ("13800138000", True), ("19912345678", True),
    ("12800138000", False), ("23800138000", False), ("1380013800", False), ("138001380001", False),
    ("+8613800138000", False), ("138 0013 8000", False), ("１３８００１３８０００", False), ("", False),
])
def test_mobile_numbers(value, valid):
    assert valid_mobile(value) is valid


@pytest.mark.parametrize("value, valid", [
    ("a@b.cn", True), ("first.last+tag@mail.example.com.cn", True),
    ("a@b", False), ("a b@c.cn", False), ("@b.cn", False), ("a@@b.cn", False), ("a@b..cn", False),
    ("a@" + "b" * 250 + ".cn", False), ("", False),
])
def test_email_addresses(value, valid):
    assert valid_email(value) is valid


def test_the_simulator_delivers_with_an_id_the_same_message_always_gets():
    notify = SimulatedNotify()
    sms, email = notify.send(SMS), notify.send(EMAIL)
    assert sms.status == email.status == "delivered"
    assert sms.provider_message_id.startswith("SIM-SMS-") and email.provider_message_id.startswith("SIM-EMAIL-")
    assert SimulatedNotify().send(SMS) == sms
    assert notify.send(replace(SMS, ref="NTF-3")).provider_message_id != sms.provider_message_id


@pytest.mark.parametrize("message, problem", [
    (replace(SMS, to="1380013800"), "mobile"),
    (replace(SMS, to="applicant1@trader.example.cn"), "mobile"),
    (replace(EMAIL, to="13800138000"), "e-mail"),
    (replace(SMS, body="  "), "body"),
])
def test_the_simulator_refuses_what_a_gateway_could_not_deliver(message, problem):
    with pytest.raises(ProviderError, match=problem) as caught:
        SimulatedNotify().send(message)
    assert not isinstance(caught.value, ProviderUnavailable)


# --- the HTTP client -----------------------------------------------------------------------------------

def client(url: str, **options) -> tuple[HttpNotifyClient, list[float]]:
    waits: list[float] = []
    return HttpNotifyClient(url, "notify-key", **{"timeout": 2, **options}, sleep=waits.append), waits


def test_the_client_posts_the_message_with_its_reference_as_idempotency_key():
    with provider_stub() as stub:
        stub.answer(202, {"provider_message_id": "GW-77", "status": "accepted"})
        stub.answer(202, {"provider_message_id": "GW-78", "status": "accepted"})
        notify, waits = client(stub.url + "/simulators/notify")
        assert notify.send(EMAIL) == SendResult(provider_message_id="GW-77", status="accepted")
        notify.send(replace(SMS, ref=""))
    first, second = stub.received
    assert first.path == "/simulators/notify/api/messages"
    assert first.headers["authorization"] == "Bearer notify-key"
    assert first.headers["idempotency-key"] == "NTF-2"
    assert first.body == EMAIL.to_dict()
    assert "idempotency-key" not in second.headers
    assert waits == []


def test_a_retried_send_carries_the_same_idempotency_key():
    with provider_stub() as stub:
        stub.answer(502, "Bad Gateway")
        stub.answer(200, {"provider_message_id": "GW-1", "status": "delivered"})
        notify, waits = client(stub.url)
        assert notify.send(SMS).provider_message_id == "GW-1"
    assert [r.headers["idempotency-key"] for r in stub.received] == ["NTF-1", "NTF-1"]
    assert waits == [0.2]


def test_a_gateway_that_keeps_failing_is_unavailable():
    with provider_stub() as stub:
        stub.answer(503, {"error": {"message": "maintenance"}})
        stub.answer(503, {"error": {"message": "maintenance"}})
        notify, waits = client(stub.url, retries=1)
        with pytest.raises(ProviderUnavailable, match="maintenance") as caught:
            notify.send(SMS)
    assert len(stub.received) == 2 and waits == [0.2]
    assert caught.value.provider == "notify"


def test_a_gateway_that_is_down_is_unavailable():
    notify, waits = client(refused_url(), retries=2)
    with pytest.raises(ProviderUnavailable):
        notify.send(SMS)
    assert waits == [0.2, 0.4]


def test_a_gateway_that_does_not_answer_in_time_is_unavailable():
    with provider_stub() as stub:
        stub.hang()
        notify, waits = client(stub.url, timeout=0.2, retries=0)
        with pytest.raises(ProviderUnavailable, match="timed out"):
            notify.send(SMS)
    assert len(stub.received) == 1 and waits == []


def test_a_refused_message_is_not_retried_and_carries_the_gateways_message():
    with provider_stub() as stub:
        stub.answer(400, {"error": {"code": "bad_address", "message": "not a mobile number"}})
        notify, waits = client(stub.url)
        with pytest.raises(ProviderError) as caught:
            notify.send(SMS)
    assert not isinstance(caught.value, ProviderUnavailable)
    assert caught.value.status == 400 and caught.value.message == "not a mobile number"
    assert len(stub.received) == 1 and waits == []


def test_a_receipt_that_does_not_read_is_a_provider_error():
    with provider_stub() as stub:
        stub.answer(200, {"id": "GW-1"})
        notify, _waits = client(stub.url)
        with pytest.raises(ProviderError, match="receipt") as caught:
            notify.send(SMS)
    assert not isinstance(caught.value, ProviderUnavailable)
