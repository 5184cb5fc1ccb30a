"""Messages on every backend: correlation by business key, messageVariable, 404s, the durable inbox."""
from __future__ import annotations

from datetime import timedelta, timezone

from tests.integration.instance_api import API, complete, history, instance, kinds, open_tasks, start


def post_message(client, auth, name: str, key: str, payload=None, **extra):
    return client.post(f"{API}/messages", json={"name": name, "correlation_key": key, "payload": payload, **extra},
                       headers=auth)


def inbox_rows(app) -> list[tuple]:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import InboxMessage

    with app.app_context():
        rows = db.session.execute(select(InboxMessage.name, InboxMessage.correlation_key, InboxMessage.dedup_key,
                                         InboxMessage.instance_id, InboxMessage.delivered_at.is_not(None))
                                  .order_by(InboxMessage.id)).all()
        db.session.remove()
    return [tuple(r) for r in rows]


def test_message_goes_to_every_instance_waiting_with_that_business_key(client, auth, deploy):
    deploy("message_wait.bpmn")
    first = start(client, auth, "await_funds", business_key="LOAN-7")["id"]
    second = start(client, auth, "await_funds", business_key="LOAN-7")["id"]
    other = start(client, auth, "await_funds", business_key="LOAN-8")["id"]
    assert {instance(client, auth, i)["status"] for i in (first, second, other)} == {"waiting"}

    payload = {"amount": 5000, "ref": "TX-1"}
    r = post_message(client, auth, "funds_arrived", "LOAN-7", payload)
    assert r.status_code == 200
    assert r.json == {"delivered_to": [first, second], "stored": False, "duplicate": False}
    for done in (first, second):
        body = instance(client, auth, done)
        assert body["status"] == "completed"
        assert body["data"]["funds"] == payload and body["data"]["booked_amount"] == 5000
        [received] = kinds(history(client, auth, done), "message_received")
        assert received["details"] == {"name": "funds_arrived", "payload": payload}
    assert instance(client, auth, other)["status"] == "waiting"
    assert kinds(history(client, auth, other), "message_received") == []


def test_message_nobody_waits_for_is_404_and_changes_nothing(client, auth, deploy):
    r = post_message(client, auth, "funds_arrived", "LOAN-1", {"amount": 1})
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"

    deploy("message_wait.bpmn")
    waiting = start(client, auth, "await_funds", business_key="LOAN-1")["id"]
    assert post_message(client, auth, "funds_arrived", "LOAN-2", {"amount": 1}).status_code == 404  # wrong key
    assert post_message(client, auth, "contract_signed", "LOAN-1", {"amount": 1}).status_code == 404  # wrong name
    assert instance(client, auth, waiting)["status"] == "waiting", instance(client, auth, waiting)
    assert kinds(history(client, auth, waiting), "message_received") == []

    prepared = start(client, auth, "prepare_then_await_funds", business_key="LOAN-3")["id"]
    assert post_message(client, auth, "funds_arrived", "LOAN-3", {"amount": 1}).status_code == 404  # not waiting yet
    assert list(open_tasks(client, auth, prepared)) == ["prepare"]


def test_message_without_name_or_key_is_refused(client, auth):
    r = client.post(f"{API}/messages", json={"name": "funds_arrived"}, headers=auth)
    assert r.status_code == 422 and "correlation_key" in r.json["error"]["fields"]


def test_durable_early_message_is_delivered_once_when_an_instance_starts_waiting(app, client, auth, deploy):
    deploy("message_wait.bpmn")
    first = start(client, auth, "prepare_then_await_funds", business_key="LOAN-9")["id"]
    payload = {"amount": 80000, "ref": "PAY-42"}
    r = post_message(client, auth, "funds_arrived", "LOAN-9", payload, durable=True, dedup_key="pay-42")
    assert r.status_code == 200 and r.json == {"delivered_to": [], "stored": True, "duplicate": False}
    assert instance(client, auth, first)["status"] == "waiting"
    assert kinds(history(client, auth, first), "message_received") == []

    r = post_message(client, auth, "funds_arrived", "LOAN-9", payload, durable=True, dedup_key="pay-42")
    assert r.status_code == 200 and r.json == {"delivered_to": [], "stored": False, "duplicate": True}
    assert len(inbox_rows(app)) == 1

    complete(client, auth, open_tasks(client, auth, first)["prepare"]["id"])  # now it waits: the inbox delivers
    body = instance(client, auth, first)
    assert body["status"] == "completed" and body["data"]["funds"] == payload
    assert body["data"]["booked_amount"] == 80000
    assert len(kinds(history(client, auth, first), "message_received")) == 1
    assert inbox_rows(app) == [("funds_arrived", "LOAN-9", "pay-42", first, True)]

    second = start(client, auth, "prepare_then_await_funds", business_key="LOAN-9")["id"]
    complete(client, auth, open_tasks(client, auth, second)["prepare"]["id"])
    assert instance(client, auth, second)["status"] == "waiting"  # the message was taken by the first
    assert kinds(history(client, auth, second), "message_received") == []
    r = post_message(client, auth, "funds_arrived", "LOAN-9", payload, durable=True, dedup_key="pay-42")
    assert r.json["duplicate"] is True and r.json["delivered_to"] == []
    assert instance(client, auth, second)["status"] == "waiting"


def test_durable_message_to_a_waiting_instance_is_delivered_at_once_and_taken_once(app, client, auth, deploy):
    deploy("message_wait.bpmn")
    first = start(client, auth, "await_funds", business_key="LOAN-10")["id"]
    r = post_message(client, auth, "funds_arrived", "LOAN-10", {"amount": 10}, durable=True, dedup_key="cb-1")
    assert r.json == {"delivered_to": [first], "stored": False, "duplicate": False}
    assert instance(client, auth, first)["data"]["funds"] == {"amount": 10}

    second = start(client, auth, "await_funds", business_key="LOAN-10")["id"]
    r = post_message(client, auth, "funds_arrived", "LOAN-10", {"amount": 10}, durable=True, dedup_key="cb-1")
    assert r.status_code == 200 and r.json == {"delivered_to": [], "stored": False, "duplicate": True}
    assert instance(client, auth, second)["status"] == "waiting"
    assert inbox_rows(app) == [("funds_arrived", "LOAN-10", "cb-1", first, True)]

    r = post_message(client, auth, "funds_arrived", "LOAN-10", {"amount": 20}, durable=True, dedup_key="cb-2")
    assert r.json["delivered_to"] == [second]
    assert instance(client, auth, second)["data"]["funds"] == {"amount": 20}


def test_durable_message_stored_before_the_instance_exists_is_delivered_when_it_starts(app, client, auth, deploy):
    deploy("message_wait.bpmn")
    r = post_message(client, auth, "funds_arrived", "LOAN-11", {"amount": 7}, durable=True, dedup_key="early-1")
    assert r.json == {"delivered_to": [], "stored": True, "duplicate": False}
    first = start(client, auth, "await_funds", business_key="LOAN-11")
    assert first["status"] == "completed" and first["data"]["funds"] == {"amount": 7}
    second = start(client, auth, "await_funds", business_key="LOAN-11")
    assert second["status"] == "waiting"  # delivered once, to the first
    other_key = start(client, auth, "await_funds", business_key="LOAN-12")
    assert other_key["status"] == "waiting"
    assert inbox_rows(app) == [("funds_arrived", "LOAN-11", "early-1", first["id"], True)]


def test_a_message_that_finds_its_gateways_timer_overdue_but_not_yet_woken_is_not_lost(client, auth, deploy, clock):
    """The worker wakes due timers every few seconds; a message arriving in between is taken after the
    timer has fired (here the timer's branch waits at the gateway again), never dropped with it."""
    deploy("news_or_timer.bpmn")
    china = timezone(timedelta(hours=8))
    wake_at = (clock() + timedelta(hours=1)).astimezone(china).isoformat()
    later = (clock() + timedelta(days=30)).astimezone(china).isoformat()
    waiting = start(client, auth, "news_or_timer", business_key="LOAN-9", wake_at=wake_at, later=later, woken=0)["id"]
    assert instance(client, auth, waiting)["status"] == "waiting"
    clock.advance(days=5)  # the timer is long due, nobody has woken it yet
    r = post_message(client, auth, "news", "LOAN-9", {"a": 1})
    assert r.status_code == 200 and r.json["delivered_to"] == [waiting]
    body = instance(client, auth, waiting)
    assert body["status"] == "completed", body
    assert body["data"]["x"] == {"a": 1} and body["data"]["woken"] == 1  # the timer fired, then the news came
    assert [e["element_id"] for e in kinds(history(client, auth, waiting), "timer_fired")] == ["timer"]


def test_a_message_is_delivered_only_when_a_catch_event_takes_it_by_its_correlation(app, client, auth, deploy):
    deploy("correlated_receive.bpmn")
    waiting = start(client, auth, "correlated_receive", business_key="ORDER-1", order_no="A-1")["id"]
    assert instance(client, auth, waiting)["status"] == "waiting"

    other_order = post_message(client, auth, "payment_confirmed", "ORDER-1", {"order_no": "B-2"})
    assert other_order.status_code == 404  # it waits for the name, but not for this order: not delivered
    assert instance(client, auth, waiting)["status"] == "waiting"
    assert kinds(history(client, auth, waiting), "message_received") == []

    stored = post_message(client, auth, "payment_confirmed", "ORDER-1", {"order_no": "B-2"}, durable=True)
    assert stored.status_code == 200 and stored.json["delivered_to"] == [] and stored.json["stored"] is True
    assert [row[4] for row in inbox_rows(app)] == [False]  # kept undelivered for an instance it correlates with

    own_order = post_message(client, auth, "payment_confirmed", "ORDER-1", {"order_no": "A-1"})
    assert own_order.status_code == 200 and own_order.json["delivered_to"] == [waiting]
    body = instance(client, auth, waiting)
    assert body["status"] == "completed" and body["data"]["payment"] == {"order_no": "A-1"}


def post_signal(client, auth, name: str, payload=None):
    return client.post(f"{API}/signals", json={"name": name, "payload": payload}, headers=auth)


def test_a_signal_reaches_every_instance_that_waits_for_it_whatever_its_key(client, auth, deploy):
    assert post_signal(client, auth, "market_closed").json == {"delivered_to": [], "started": []}  # nobody waits yet
    deploy("signal_wait.bpmn")
    keyed = start(client, auth, "signal_wait", business_key="PLEDGE-1")["id"]
    unkeyed = start(client, auth, "signal_wait")["id"]
    assert instance(client, auth, unkeyed)["status"] == "waiting"
    assert post_signal(client, auth, "market_opened").json == {"delivered_to": [], "started": []}  # another: nothing

    r = post_signal(client, auth, "market_closed", {"closing_price": "412.50"})
    assert r.status_code == 200 and r.json == {"delivered_to": [keyed, unkeyed], "started": []}
    for done in (keyed, unkeyed):
        body = instance(client, auth, done)
        assert body["status"] == "completed" and body["data"]["closing_price"] == "412.50"
        [received] = kinds(history(client, auth, done), "signal_received")
        assert received["details"]["name"] == "market_closed"
    assert post_signal(client, auth, "market_closed").json == {"delivered_to": [], "started": []}  # taken once


def test_a_message_nothing_waits_for_starts_the_process_whose_message_start_event_takes_it(app, client, auth):
    """Camunda 7 correlates a message no execution waits for by starting the process with that message start
    event; Loanflow answered 404. Now the process starts for the key at its message start event (beside a
    none start event), which takes the message; a message no process starts on is still a 404."""
    from sqlalchemy import select

    from app.engine.parser import DiagramFile
    from app.extensions import db
    from app.models import InboxMessage
    from app.services.workflow.deployment import deploy_and_commit
    from tests.integration.test_instance_messages import RECEIVER

    by_hand = RECEIVER.replace('<bpmn:startEvent id="r_start">', '<bpmn:startEvent id="r_hand"/>'
                               '<bpmn:sequenceFlow id="r0" sourceRef="r_hand" targetRef="review"/>'
                               '<bpmn:startEvent id="r_start">')
    with app.app_context():
        deploy_and_commit([DiagramFile("receiver.bpmn", by_hand.encode())])
        db.session.remove()
    r = post_message(client, auth, "stage_ready", "APP-3", {"amount": "3.00"})
    assert r.status_code == 200, r.json
    [started] = r.json["delivered_to"]
    assert r.json["stored"] is False and r.json["duplicate"] is False
    body = instance(client, auth, started)
    assert body["status"] == "waiting" and body["business_key"] == "APP-3" and body["data"]["ready"] == {
        "amount": "3.00"}
    [begun] = kinds(history(client, auth, started), "started")
    assert begun["element_id"] == "r_start"
    assert [e["details"]["name"] for e in kinds(history(client, auth, started), "message_received")] == ["stage_ready"]
    with app.app_context():
        assert [(m.instance_id, m.delivered_at is not None) for m in db.session.scalars(select(InboxMessage))] == \
            [(started, True)]
        db.session.remove()
    assert post_message(client, auth, "stage_unknown", "APP-3", {}).status_code == 404


def test_a_signal_starts_an_instance_of_each_process_with_a_signal_start_event_for_it(client, auth, deploy):
    """Camunda 7 starts a new instance at a signal start event each time its signal is sent; Loanflow started
    none (an instance started by hand at the none start event, and the signal went only to waiting ones)."""
    deploy("signal_start_reprice.bpmn", "signal_wait.bpmn")
    by_hand = start(client, auth, "signal_start_reprice")  # at its none start event: waits for no signal
    assert by_hand["status"] == "waiting" and kinds(history(client, auth, by_hand["id"]), "signal_received") == []
    waiting = start(client, auth, "signal_wait")["id"]
    assert post_signal(client, auth, "market_closed").json["started"] == []  # no process starts on this one

    r = post_signal(client, auth, "rate_changed", {"rate": "4.20"})
    assert r.status_code == 200
    [started] = r.json["started"]
    assert r.json["delivered_to"] == [] and started not in (by_hand["id"], waiting)
    body = instance(client, auth, started)
    assert body["status"] == "waiting" and body["data"] == {"rate": "4.20", "repriced": True}
    assert [t["element_id"] for t in body["tasks"]] == ["confirm"]
    events = history(client, auth, started)
    [begun] = kinds(events, "started")
    assert begun["details"]["signal"] == "rate_changed" and begun["element_id"] == "rate_changed"
    assert [e["details"]["name"] for e in kinds(events, "signal_received")] == ["rate_changed"]
    # each signal starts another: a broadcast, not a correlation
    assert len(post_signal(client, auth, "rate_changed").json["started"]) == 1


def test_a_signal_is_sent_by_the_platforms_staff_only(app, client, auth, deploy):
    from app.extensions import db
    from app.services.identity import directory as identity

    deploy("signal_wait.bpmn")
    waiting = start(client, auth, "signal_wait")["id"]
    with app.app_context():
        identity.create_org("BANK1", ["funder"], "Bank One")
        identity.create_user("rev1", "BANK1", ["first_reviewer"])
        reviewer = {"Authorization": f"Bearer {identity.issue_token('rev1')}"}
        db.session.remove()
    r = client.post(f"{API}/signals", json={"name": "market_closed"}, headers=reviewer)
    assert r.status_code == 403
    assert instance(client, auth, waiting)["status"] == "waiting"
    assert client.post(f"{API}/signals", json={"payload": {}}, headers=auth).status_code == 422


def test_a_receive_task_drawn_without_a_message_is_triggered_by_the_message_named_after_it(client, auth, deploy):
    """A Camunda 7 diagram's receive task without a message (its execution signalled by the application) and
    a message end event without one (a none end in Camunda 7) deploy; the task's own message continues it."""
    [result] = deploy("receive_without_message.bpmn")
    assert result.process_id == "receive_without_message"
    waiting = start(client, auth, "receive_without_message", business_key="ACCT-9")["id"]
    assert instance(client, auth, waiting)["status"] == "waiting"
    assert post_message(client, auth, "wait_for_postident", "ACCT-8").status_code == 404  # another key: nothing
    r = post_message(client, auth, "wait_for_postident", "ACCT-9", {"verified": True})
    assert r.status_code == 200 and r.json["delivered_to"] == [waiting]
    done = instance(client, auth, waiting)
    assert done["status"] == "completed"
    [ended] = kinds(history(client, auth, waiting), "completed")
    assert ended["details"]["end_events"] == ["end"]
