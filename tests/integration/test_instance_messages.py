"""Messages between instances (issue 17), on SQLite and PostgreSQL: a message a process throws that none
of its own events catches goes to the outbox in the step's transaction; the worker's outbox pass hands
it to the instances of the same business key that wait for it, or starts the process whose message
start event takes it, with the sender's parties. Two passes racing start one instance."""
from __future__ import annotations

import threading

from sqlalchemy import select

from app.engine.parser import DiagramFile
from app.extensions import db
from app.models import InboxMessage, InstanceEvent, InstanceParty, OutboxMessage, ProcessInstance
from app.services.identity import directory
from app.services.identity.directory import principal_for
from app.services.workflow import instances, outbox_delivery
from app.services.workflow.deployment import deploy_and_commit
from app.services.workflow.outbox_delivery import deliver_outbox

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:message id="ready" name="stage_ready"/><bpmn:message id="reply" name="stage_reply"/>"""

# Sends stage_ready with the amount, then waits for stage_reply (the reply's amount lands in `answer`).
SENDER = f"""{HEAD}
  <bpmn:process id="sender" isExecutable="true">
    <bpmn:startEvent id="s_start"/>
    <bpmn:sendTask id="tell" messageRef="ready"><bpmn:extensionElements><spiffworkflow:messagePayload>
      {{"amount": amount}}</spiffworkflow:messagePayload></bpmn:extensionElements></bpmn:sendTask>
    <bpmn:intermediateCatchEvent id="hear"><bpmn:messageEventDefinition messageRef="reply"><bpmn:extensionElements>
      <spiffworkflow:messageVariable>answer</spiffworkflow:messageVariable></bpmn:extensionElements>
    </bpmn:messageEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="s_end"/>
    <bpmn:sequenceFlow id="s1" sourceRef="s_start" targetRef="tell"/>
    <bpmn:sequenceFlow id="s2" sourceRef="tell" targetRef="hear"/>
    <bpmn:sequenceFlow id="s3" sourceRef="hear" targetRef="s_end"/>
  </bpmn:process>
</bpmn:definitions>"""

# Starts on stage_ready (its payload in `ready`), a funder's review, then replies with the approved amount.
RECEIVER = f"""{HEAD}
  <bpmn:process id="receiver" isExecutable="true">
    <bpmn:laneSet id="lanes"><bpmn:lane id="funder" name="funder"><bpmn:flowNodeRef>review</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="r_start"><bpmn:messageEventDefinition messageRef="ready"><bpmn:extensionElements>
      <spiffworkflow:messageVariable>ready</spiffworkflow:messageVariable></bpmn:extensionElements>
    </bpmn:messageEventDefinition></bpmn:startEvent>
    <bpmn:userTask id="review" name="Review"/>
    <bpmn:endEvent id="r_end"><bpmn:messageEventDefinition messageRef="reply"><bpmn:extensionElements>
      <spiffworkflow:messagePayload>{{"approved": ready["amount"]}}</spiffworkflow:messagePayload>
    </bpmn:extensionElements></bpmn:messageEventDefinition></bpmn:endEvent>
    <bpmn:sequenceFlow id="r1" sourceRef="r_start" targetRef="review"/>
    <bpmn:sequenceFlow id="r2" sourceRef="review" targetRef="r_end"/>
  </bpmn:process>
</bpmn:definitions>"""


def deploy_pair() -> None:
    deploy_and_commit([DiagramFile("sender.bpmn", SENDER.encode())])
    deploy_and_commit([DiagramFile("receiver.bpmn", RECEIVER.encode())])


def funder_and_borrower() -> dict[str, str]:
    directory.create_org("FUND1", ["funder"], "Funder One")
    directory.create_org("CORP1", ["borrower"], "Borrower One")
    return {"funder": "FUND1", "borrower": "CORP1"}


def events(instance_id: int, kind: str) -> list[dict]:
    return [e.details for e in db.session.scalars(select(InstanceEvent).where(
        InstanceEvent.instance_id == instance_id, InstanceEvent.kind == kind).order_by(InstanceEvent.id))]


def of_process(process_id: str) -> list[ProcessInstance]:
    db.session.expire_all()
    return list(db.session.scalars(select(ProcessInstance).where(ProcessInstance.process_id == process_id)
                                   .order_by(ProcessInstance.id)))


def complete_review(instance_id: int) -> None:
    from app.models import HumanTask
    from app.services.workflow import tasks

    task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                           HumanTask.element_id == "review"))
    tasks.complete_task(task_id, {}, principal_for("admin"))


def test_a_thrown_message_starts_the_process_that_starts_on_it_with_the_senders_key_and_parties(ctx, admin_token):
    deploy_pair()
    parties = funder_and_borrower()
    sender_id = instances.start_instance("sender", principal_for("admin"), "APP-7", {"amount": "5000.00"}, parties)
    [row] = db.session.scalars(select(OutboxMessage))  # written with the step, not yet delivered
    assert (row.name, row.correlation_key, row.payload, row.sender_instance_id, row.delivered_at) == (
        "stage_ready", "APP-7", {"amount": "5000.00"}, sender_id, None)
    assert events(sender_id, "message_sent") == [{"message": "stage_ready"}]
    assert of_process("receiver") == []

    assert deliver_outbox() == 1
    [receiver] = of_process("receiver")
    assert (receiver.business_key, receiver.status, receiver.started_by_id) == ("APP-7", "waiting", None)
    assert receiver.data["ready"] == {"amount": "5000.00"}
    assert [e["name"] for e in events(receiver.id, "message_received")] == ["stage_ready"]
    bound = dict(db.session.execute(select(InstanceParty.party, InstanceParty.org_id)
                                    .where(InstanceParty.instance_id == receiver.id)).all())
    assert set(bound) == {"funder", "borrower"}  # the sender's deal, so the funder's lane sees the review
    [inbox] = db.session.scalars(select(InboxMessage))
    assert inbox.instance_id == receiver.id and inbox.delivered_at is not None
    assert deliver_outbox() == 0  # delivered once

    complete_review(receiver.id)  # the receiver's end event replies; the sender waits for the reply
    assert deliver_outbox() == 1
    [sender] = of_process("sender")
    assert sender.status == "completed"
    assert sender.data["answer"] == {"approved": "5000.00"}
    assert [e["name"] for e in events(sender.id, "message_received")] == ["stage_reply"]


def test_a_thrown_message_goes_to_the_instance_of_its_key_that_waits_for_it_and_no_other(ctx, admin_token):
    deploy_pair()
    admin = principal_for("admin")
    waiting = instances.start_instance("sender", admin, "APP-1", {"amount": "1.00"})
    other_key = instances.start_instance("sender", admin, "APP-2", {"amount": "2.00"})
    assert deliver_outbox() == 2  # each starts its receiver
    receivers = {r.business_key: r.id for r in of_process("receiver")}
    complete_review(receivers["APP-1"])
    assert deliver_outbox() == 1
    db.session.expire_all()
    assert db.session.get(ProcessInstance, waiting).status == "completed"
    assert db.session.get(ProcessInstance, other_key).status == "waiting"
    assert events(other_key, "message_received") == []


def test_a_message_an_instance_without_a_business_key_throws_reaches_no_one_and_the_history_says_so(ctx, admin_token):
    deploy_pair()
    sender_id = instances.start_instance("sender", principal_for("admin"), None, {"amount": "1.00"})
    assert db.session.scalars(select(OutboxMessage)).all() == []
    assert events(sender_id, "message_unheard") == [{"message": "stage_ready"}]
    assert events(sender_id, "message_sent") == []


def test_a_thrown_message_nothing_waits_for_or_starts_on_is_kept_until_an_instance_waits(ctx, admin_token):
    deploy_and_commit([DiagramFile("sender.bpmn", SENDER.encode())])  # no receiver deployed
    instances.start_instance("sender", principal_for("admin"), "APP-3", {"amount": "3.00"})
    assert deliver_outbox() == 1
    [inbox] = db.session.scalars(select(InboxMessage))
    assert (inbox.name, inbox.correlation_key, inbox.delivered_at) == ("stage_ready", "APP-3", None)
    deploy_and_commit([DiagramFile("receiver.bpmn", RECEIVER.encode())])
    started = instances.start_instance("receiver", principal_for("admin"), "APP-3")  # it takes the kept message
    db.session.expire_all()
    assert db.session.get(ProcessInstance, started).data["ready"] == {"amount": "3.00"}


def two_passes_after(app, monkeypatch, name: str) -> list[object]:
    """Two outbox passes in threads, each held at `outbox_delivery.<name>` until both got there (both
    decide before either acts); what each returned, or raised."""
    barrier = threading.Barrier(2, timeout=20)
    original = getattr(outbox_delivery, name)

    def both_decide_first(*args):
        found = original(*args)
        barrier.wait()
        return found

    monkeypatch.setattr(outbox_delivery, name, both_decide_first)
    results: list[object] = [None, None]

    def deliver(i: int) -> None:
        with app.app_context():
            try:
                results[i] = deliver_outbox()
            except Exception as exc:  # noqa: BLE001 - reported by the caller's assertion
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    monkeypatch.setattr(outbox_delivery, name, original)
    return results


def test_two_outbox_passes_racing_start_one_instance_with_the_message(app, admin_token, monkeypatch):
    with app.app_context():
        deploy_pair()
        instances.start_instance("sender", principal_for("admin"), "APP-9", {"amount": "9.00"})
        db.session.remove()
    results = two_passes_after(app, monkeypatch, "message_start_processes")
    assert all(isinstance(r, int) for r in results), results
    with app.app_context():
        [receiver] = of_process("receiver")
        assert receiver.status == "waiting" and receiver.data["ready"] == {"amount": "9.00"}
        assert [e["name"] for e in events(receiver.id, "message_received")] == ["stage_ready"]
        [inbox] = db.session.scalars(select(InboxMessage))
        assert inbox.instance_id == receiver.id
        assert db.session.scalar(select(OutboxMessage.delivered_at)) is not None
        db.session.remove()


WATCH = f"""{HEAD}
  <bpmn:process id="watch" isExecutable="true">
    <bpmn:startEvent id="w_start"/><bpmn:userTask id="review" name="Review"/><bpmn:endEvent id="w_end"/>
    <bpmn:sequenceFlow id="w1" sourceRef="w_start" targetRef="review"/>
    <bpmn:sequenceFlow id="w2" sourceRef="review" targetRef="w_end"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_two_outbox_passes_racing_on_a_message_that_starts_a_process_start_it_once(app, admin_token, monkeypatch):
    """The ledger's messages that start a process (a booked loan's `post_loan`): two workers' passes that
    both find no open instance start one, which has the message as its data."""
    from app.services.workflow.outbox import enqueue

    with app.app_context():
        deploy_and_commit([DiagramFile("watch.bpmn", WATCH.encode())])
        enqueue("loan_booked", "LOAN-1", {"amount": "100.00"}, "loan_booked:1", start_process="watch")
        db.session.commit()
        db.session.remove()
    results = two_passes_after(app, monkeypatch, "_open_instance")
    assert all(isinstance(r, int) for r in results), results
    with app.app_context():
        [watch] = of_process("watch")
        assert (watch.business_key, watch.status, watch.data["loan_booked"]) == ("LOAN-1", "waiting", {"amount": "100.00"})
        [inbox] = db.session.scalars(select(InboxMessage))
        assert inbox.instance_id == watch.id  # taken by its start, never by another instance
        assert db.session.scalar(select(OutboxMessage.delivered_at)) is not None
        assert deliver_outbox() == 0
        assert len(of_process("watch")) == 1
        db.session.remove()


def test_a_deploy_that_makes_a_second_process_start_on_a_message_says_which_one_starts(ctx, admin_token):
    from app.services.workflow.deployment import check_diagrams

    deploy_pair()
    for twin_id, fate in (("z_receiver", "this process never starts from it ('receiver' does)"),
                          ("a_receiver", "the others never start from it")):
        twin = RECEIVER.replace('id="receiver"', f'id="{twin_id}"')
        [warning] = [p for p in check_diagrams([DiagramFile("twin.bpmn", twin.encode())]) if "as well" in p.reason]
        assert (warning.element_id, warning.severity) == (twin_id, "warning")
        assert warning.reason == ("the message 'stage_ready' starts 'receiver' as well: a message no instance waits "
                                  f"for starts only the first of them by process id, so {fate}; give each process "
                                  "its own message")
    assert not [p for p in check_diagrams([DiagramFile("receiver.bpmn", RECEIVER.encode())]) if "as well" in p.reason]


def test_the_instance_page_shows_the_platforms_staff_the_messages_kept_for_the_deal(app, client, admin_token):
    from tests.integration.test_identity import set_password, sign_in

    with app.app_context():
        deploy_and_commit([DiagramFile("sender.bpmn", SENDER.encode())])  # nothing receives stage_ready
        sender_id = instances.start_instance("sender", principal_for("admin"), "APP-5", {"amount": "5.00"})
        deliver_outbox()
        other = instances.start_instance("sender", principal_for("admin"), "APP-6", {"amount": "6.00"})
        db.session.remove()
    set_password(app, "admin")
    sign_in(client, "admin")
    page = client.get(f"/instances/{sender_id}", headers={"Accept-Language": "en"}).text
    kept = page.split('id="kept-messages"', 1)[1].split("</section>", 1)[0]
    assert "Messages kept for this deal" in page
    assert '<code translate="no" class="message-name">stage_ready</code>' in kept
    assert '<dt translate="no">amount</dt><dd translate="no">5.00</dd>' in kept
    zh = client.get(f"/instances/{sender_id}", headers={"Accept-Language": "zh-CN"}).text
    assert "本笔业务暂存的消息" in zh and "Messages kept" not in zh
    # APP-6's message is still in the outbox, not the inbox, and another deal's is not shown
    assert 'id="kept-messages"' not in client.get(f"/instances/{other}", headers={"Accept-Language": "en"}).text


def test_a_thrown_message_starts_the_receiver_at_its_message_start_event_beside_a_none_start_event(ctx, admin_token):
    """A receiver a person may also start (a none start event beside its message start event): the message
    starts it at the message start event. Before, the process was not found as one the message starts (its
    start events sit behind SpiffWorkflow's split) and, started with the message, its none start event fired
    at once, the message start event was cancelled and the message left unread."""
    by_hand = RECEIVER.replace('<bpmn:startEvent id="r_start">', '<bpmn:startEvent id="r_hand"/>'
                               '<bpmn:sequenceFlow id="r0" sourceRef="r_hand" targetRef="review"/>'
                               '<bpmn:startEvent id="r_start">')
    deploy_and_commit([DiagramFile("sender.bpmn", SENDER.encode())])
    deploy_and_commit([DiagramFile("receiver.bpmn", by_hand.encode())])
    from app.services.workflow.deployment import message_start_processes
    assert message_start_processes("stage_ready") == ["receiver"]

    instances.start_instance("sender", principal_for("admin"), "APP-9", {"amount": "9.00"})
    assert deliver_outbox() == 1
    [receiver] = of_process("receiver")
    assert receiver.status == "waiting" and receiver.data["ready"] == {"amount": "9.00"}
    assert [e["name"] for e in events(receiver.id, "message_received")] == ["stage_ready"]
    assert events(receiver.id, "started")[0]["start_event"] == "r_start"
    [inbox] = db.session.scalars(select(InboxMessage))
    assert inbox.instance_id == receiver.id and inbox.delivered_at is not None

    by_a_person = instances.start_instance("receiver", principal_for("admin"), "APP-10")  # at its none start event
    assert events(by_a_person, "message_received") == [] and "start_event" not in events(by_a_person, "started")[0]
