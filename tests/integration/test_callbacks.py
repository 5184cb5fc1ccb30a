"""Providers' callbacks on every backend: `POST /api/v1/callbacks/esign` and `/callbacks/payments`.

A signed, fresh callback with a new nonce is accepted: its nonce is taken and it becomes a durable
message (`esign_completed`, `payment_settled`) delivered to the instance waiting with its business
key. Unsigned, forged (another secret), tampered, stale or replayed callbacks answer 401 with the
reason, store nothing (no message, no nonce), leave the instance waiting, and are logged (a warning
and an audit entry). The same event again under a new nonce answers 200 `{"duplicate": true}` and
stores nothing more. Two identical callbacks at once, from real threads against the served app:
exactly one is accepted.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEntry, CallbackNonce, InboxMessage
from handlers.callbacks import sign_callback
from handlers.esign import FlowEvent
from handlers.payments.callbacks import Notification
from tests.integration.instance_api import history, instance, kinds, start
from tests.integration.test_money_races import race_posts

KEY = "APP-2026-0007"


@dataclass(frozen=True)
class Provider:
    name: str  # as in callback_nonces.provider
    path: str
    prefix: str
    secret_config: str
    message: str
    process_id: str

    def body(self, event: str = "1", key: str = KEY) -> bytes:
        if self.name == "esign":
            data: dict[str, Any] = FlowEvent(flow_id=f"FLOW-{event}", business_key=key, status="completed").to_dict()
        else:
            data = Notification(notification_id=f"PN-{event}", order_id=f"PO-{event}", idempotency_key=f"disb-{event}",
                                kind="disbursement", status="succeeded", amount="500000.00",
                                settled_at=datetime(2026, 11, 28, 8, 59, tzinfo=UTC),
                                business_key=key).to_dict()
        return json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")

    def event_id(self, event: str = "1") -> str:
        return f"FLOW-{event}:completed" if self.name == "esign" else f"PN-{event}"

    def headers(self, app, body: bytes, at: datetime, nonce: str, secret: str | None = None) -> dict[str, str]:
        return {"Content-Type": "application/json",
                **sign_callback(secret or app.config[self.secret_config], body, at, nonce, prefix=self.prefix)}


ESIGN = Provider("esign", "/api/v1/callbacks/esign", "X-Esign", "ESIGN_CALLBACK_SECRET", "esign_completed",
                 "await_signature")
PAYMENTS = Provider("payments", "/api/v1/callbacks/payments", "X-Pay", "PAYMENTS_CALLBACK_SECRET",
                    "payment_settled", "await_settlement")
PROVIDERS = [pytest.param(ESIGN, id="esign"), pytest.param(PAYMENTS, id="payments")]


def stored(app) -> tuple[list[tuple], list[tuple]]:
    """The inbox (name, key, dedup key, instance, delivered) and the taken nonces (provider, nonce)."""
    with app.app_context():
        inbox = db.session.execute(select(InboxMessage.name, InboxMessage.correlation_key, InboxMessage.dedup_key,
                                          InboxMessage.instance_id, InboxMessage.delivered_at.is_not(None))
                                   .order_by(InboxMessage.id)).all()
        nonces = db.session.execute(select(CallbackNonce.provider, CallbackNonce.nonce)
                                    .order_by(CallbackNonce.id)).all()
        db.session.remove()
    return [tuple(r) for r in inbox], [tuple(r) for r in nonces]


def refusals(app) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(select(AuditEntry.target, AuditEntry.ip, AuditEntry.details)
                                  .where(AuditEntry.action == "callback_refused").order_by(AuditEntry.id)).all()
        db.session.remove()
    return [(target, ip, details["reason"]) for target, ip, details in rows]


@pytest.fixture
def waiting(client, auth, deploy):
    """Deploy the callbacks' test diagram; `waiting(provider)` starts an instance waiting for its message."""
    deploy("provider_callbacks.bpmn")

    def _start(provider: Provider, key: str = KEY) -> int:
        instance_id = start(client, auth, provider.process_id, business_key=key)["id"]
        assert instance(client, auth, instance_id)["status"] == "waiting"
        return instance_id

    return _start


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_accepted_callback_is_delivered_to_the_instance_waiting_with_its_business_key(
        app, client, auth, clock, waiting, provider):
    waited = waiting(provider)
    other = waiting(provider, key="APP-2026-0008")
    body = provider.body()
    r = client.post(provider.path, data=body, headers=provider.headers(app, body, clock.current, "nonce-0001"))
    assert r.status_code == 200 and r.json == {"accepted": True}
    assert stored(app) == ([(provider.message, KEY, provider.event_id(), waited, True)],
                           [(provider.name, "nonce-0001")])
    done = instance(client, auth, waited)
    assert done["status"] == "completed"
    [received] = kinds(history(client, auth, waited), "message_received")
    assert received["details"] == {"name": provider.message, "payload": json.loads(body)}
    if provider is ESIGN:
        assert done["data"]["signed_flow"] == "FLOW-1"
    else:
        assert done["data"]["settled_amount"] == "500000.00"
    assert instance(client, auth, other)["status"] == "waiting"
    assert refusals(app) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_callback_before_its_instance_waits_is_kept_and_delivered_when_it_does(app, client, auth, clock,
                                                                                  waiting, provider):
    body = provider.body()
    r = client.post(provider.path, data=body, headers=provider.headers(app, body, clock.current, "nonce-0001"))
    assert r.status_code == 200 and r.json == {"accepted": True}
    assert stored(app)[0] == [(provider.message, KEY, provider.event_id(), None, False)]
    late = start(client, auth, provider.process_id, business_key=KEY)["id"]
    assert instance(client, auth, late)["status"] == "completed"
    assert stored(app)[0] == [(provider.message, KEY, provider.event_id(), late, True)]


REFUSED = ["unsigned", "forged", "tampered", "stale", "early", "replayed"]


@pytest.mark.parametrize("case", REFUSED)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_unsigned_forged_tampered_stale_or_replayed_callback_is_401_changes_nothing_and_is_logged(
        app, client, auth, clock, waiting, caplog, provider, case):
    waited = waiting(provider)
    before = ([], [])
    if case == "replayed":  # an accepted callback first; its nonce again, on another event of the same key
        waiting(provider)  # a second instance, for the first event to go to
        first = provider.body("1")
        accepted = client.post(provider.path, data=first,
                               headers=provider.headers(app, first, clock.current, "nonce-0001"))
        assert accepted.status_code == 200 and accepted.json == {"accepted": True}
        before = stored(app)
    body = provider.body("2")
    headers = provider.headers(app, body, clock.current, "nonce-0001")
    reason = {"unsigned": "unsigned", "forged": "bad_signature", "tampered": "bad_signature", "stale": "stale",
              "early": "stale", "replayed": "replayed"}[case]
    if case == "unsigned":
        headers = {"Content-Type": "application/json"}
    elif case == "forged":
        headers = provider.headers(app, body, clock.current, "nonce-0001", secret="not-the-providers-secret")
    elif case == "tampered":
        body = body.replace(b"2", b"3")
    elif case == "stale":
        headers = provider.headers(app, body, clock.current - timedelta(minutes=5, seconds=1), "nonce-0001")
    elif case == "early":
        headers = provider.headers(app, body, clock.current + timedelta(minutes=6), "nonce-0001")

    with caplog.at_level(logging.WARNING, logger="loanflow.callbacks"):
        r = client.post(provider.path, data=body, headers=headers)
    assert r.status_code == 401, r.json
    assert r.json["error"]["code"] == reason
    assert stored(app) == before  # no message, no nonce
    if case != "replayed":
        assert instance(client, auth, waited)["status"] == "waiting"
        assert kinds(history(client, auth, waited), "message_received") == []
    assert refusals(app) == [(provider.name, "127.0.0.1", reason)]
    [warning] = [rec for rec in caplog.records if rec.name == "loanflow.callbacks"]
    assert warning.levelno == logging.WARNING
    assert (warning.provider, warning.reason, warning.remote_addr) == (provider.name, reason, "127.0.0.1")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_same_event_again_under_a_new_nonce_is_200_duplicate_and_stores_nothing_more(
        app, client, auth, clock, waiting, provider):
    waited = waiting(provider)
    second = waiting(provider)  # would take the event were it delivered again
    body = provider.body()
    first = client.post(provider.path, data=body, headers=provider.headers(app, body, clock.current, "nonce-0001"))
    assert first.status_code == 200 and first.json == {"accepted": True}
    after_first = stored(app)
    clock.advance(minutes=2)
    again = client.post(provider.path, data=body, headers=provider.headers(app, body, clock.current, "nonce-0002"))
    assert again.status_code == 200 and again.json == {"duplicate": True}
    assert stored(app) == after_first
    assert len(after_first[0]) == 1 and after_first[0][0][3] in (waited, second)
    statuses = sorted(instance(client, auth, i)["status"] for i in (waited, second))
    assert statuses == ["completed", "completed"]  # one message goes to every instance waiting with the key
    assert refusals(app) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_body_that_is_signed_but_not_the_providers_event_is_401_malformed(app, client, clock, provider):
    body = json.dumps({"flow_id": "FLOW-1"} if provider is ESIGN else {"notification_id": "PN-1"}).encode()
    r = client.post(provider.path, data=body, headers=provider.headers(app, body, clock.current, "nonce-0001"))
    assert r.status_code == 401 and r.json["error"]["code"] == "malformed"
    assert stored(app) == ([], [])


def test_a_payment_notification_without_a_business_key_is_401_malformed(app, client, clock):
    body = PAYMENTS.body(key="")
    r = client.post(PAYMENTS.path, data=body, headers=PAYMENTS.headers(app, body, clock.current, "nonce-0001"))
    assert r.status_code == 401 and r.json["error"]["code"] == "malformed"
    assert stored(app) == ([], [])


def test_a_nonce_is_single_use_per_provider(app, client, clock):
    for provider in (ESIGN, PAYMENTS):
        body = provider.body()
        r = client.post(provider.path, data=body, headers=provider.headers(app, body, clock.current, "nonce-0001"))
        assert r.status_code == 200 and r.json == {"accepted": True}
    assert stored(app)[1] == [("esign", "nonce-0001"), ("payments", "nonce-0001")]


# -- races, against the served app -------------------------------------------------------------------

ROUNDS = 4


def race(base_url: str, path: str, requests: list[tuple[dict[str, str], bytes]]) -> list[tuple[int, dict]]:
    """POST each (headers, body) to `path` from a thread of its own, all released together."""
    return race_posts(base_url, [(path, headers, body) for headers, body in requests])


def count_inbox(app) -> int:
    with app.app_context():
        total = db.session.scalar(select(func.count()).select_from(InboxMessage))
        db.session.remove()
    return int(total or 0)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_two_identical_callbacks_at_once_are_accepted_once(app, served, clock, provider):
    for n in range(ROUNDS):
        body = provider.body(str(n))
        headers = provider.headers(app, body, clock.current, f"race-nonce-{n:04d}")
        answers = race(served, provider.path, [(headers, body), (headers, body)])
        assert sorted(status for status, _ in answers) == [200, 401], answers
        assert [b for s, b in answers if s == 200] == [{"accepted": True}], answers
        assert [b["error"]["code"] for s, b in answers if s == 401] == ["replayed"], answers
        assert count_inbox(app) == n + 1
    assert len(stored(app)[1]) == ROUNDS


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_same_event_twice_at_once_under_two_nonces_is_taken_once(app, served, clock, provider):
    for n in range(ROUNDS):
        body = provider.body(str(n))
        requests = [(provider.headers(app, body, clock.current, f"race-{n:04d}-{i}"), body) for i in range(2)]
        answers = race(served, provider.path, requests)
        assert sorted(status for status, _ in answers) == [200, 200], answers
        assert sorted(json.dumps(b) for _, b in answers) == ['{"accepted": true}', '{"duplicate": true}'], answers
        assert count_inbox(app) == n + 1


@pytest.mark.parametrize("language, message", [("en", "The callback is refused: it is unsigned, tampered, stale or replayed."),
                                               ("zh", "回调被拒绝：未签名、被篡改、已过期或被重放。")])
def test_a_refusal_says_why_in_the_readers_language(client, language, message):
    r = client.post(ESIGN.path, data=ESIGN.body(), headers={"Content-Type": "application/json",
                                                             "Accept-Language": language})
    assert r.status_code == 401 and r.json["error"] == {"code": "unsigned", "message": message}
