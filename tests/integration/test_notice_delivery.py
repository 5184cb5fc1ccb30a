"""SMS and e-mail are queued in the deciding transaction and handed to the provider afterwards:
a refused address fails that message with the reason, a provider that is down is tried again later
and in the end failed, a message is handed over once however often the worker runs."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Notification
from app.services.notices import sending
from handlers.errors import ProviderUnavailable
from handlers.notify import SendResult


class Gateway:
    """A notify provider that is down until told otherwise, then delivers; it counts what it got."""

    def __init__(self) -> None:
        self.up, self.got = False, []

    def send(self, message):
        self.got.append(message)
        if not self.up:
            raise ProviderUnavailable("connection refused", provider="notify")
        return SendResult(provider_message_id=f"GW-{len(self.got)}", status="accepted")


@pytest.fixture
def gateway(app):
    had, before = "notifier" in app.extensions, app.extensions.get("notifier")
    app.extensions["notifier"] = gateway = Gateway()
    yield gateway
    if had:
        app.extensions["notifier"] = before
    else:
        app.extensions.pop("notifier", None)


def _rows() -> dict[str, Notification]:
    return {row.recipient: row for row in db.session.scalars(select(Notification))}


def test_a_provider_down_is_tried_again_later_then_the_message_is_failed(ctx, clock, gateway):
    [queued] = sending.send("application_rejected", {"number": "A-1", "reason": "x"},
                            addresses=[("sms", "13800138000")], idempotency_key="k1")
    db.session.commit()
    assert sending.deliver_queued() == 0  # tried, not handed over
    row = db.session.get(Notification, queued)
    assert (row.status, row.attempts) == ("queued", 1) and "connection refused" in row.error
    assert sending.deliver_queued() == 0 and len(gateway.got) == 1  # not due again yet: no second try
    for _ in range(sending.MAX_ATTEMPTS - 1):
        clock.advance(hours=12)
        sending.deliver_queued()
    db.session.expire_all()
    row = db.session.get(Notification, queued)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", sending.MAX_ATTEMPTS, None)
    assert len(gateway.got) == sending.MAX_ATTEMPTS


def test_a_provider_back_up_delivers_once_and_a_refused_address_fails_alone(ctx, clock, gateway):
    sending.send("application_rejected", {"number": "A-2", "reason": "x"},
                 addresses=[("sms", "13800138000"), ("sms", "12345"), ("email", "ops@example.com")],
                 idempotency_key="k2")
    db.session.commit()
    sending.deliver_queued()
    gateway.up = True
    clock.advance(minutes=1)
    real_send = gateway.send

    def refuse_bad_number(message):
        if message.to == "12345":
            from handlers.errors import ProviderError
            raise ProviderError("not a mainland mobile number", provider="notify", status=422)
        return real_send(message)

    gateway.send = refuse_bad_number
    assert sending.deliver_queued() == 3
    assert sending.deliver_queued() == 0  # nothing handed over twice
    db.session.expire_all()
    rows = _rows()
    assert rows["13800138000"].status == "sent" and rows["13800138000"].provider_message_id
    assert rows["ops@example.com"].status == "sent"
    assert rows["12345"].status == "failed" and "mobile" in rows["12345"].error


def test_the_same_idempotency_key_queues_nothing_twice(ctx, gateway):
    first = sending.send("application_rejected", {"number": "A-3", "reason": "x"},
                         addresses=[("sms", "13800138000")], idempotency_key="k3")
    again = sending.send("application_rejected", {"number": "A-3", "reason": "x"},
                         addresses=[("sms", "13800138000")], idempotency_key="k3")
    assert len(first) == 1 and again == []
