"""The tamper-evident history on every backend: each event's hash chained to the one before it
(`app/services/workflow/history_chain.py`), checked by `flask history verify` and shown to platform
staff with the instance's history. An event altered, deleted, moved or inserted with raw SQL is
reported, naming the first event that breaks the chain."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, insert, select, update

from app.extensions import db
from app.models import InstanceEvent, ProcessInstance
from tests.integration.instance_api import API, complete, history, open_tasks, start


def _run(client, auth) -> int:
    """An instance of twelve_steps taken through claims and two completions to its end; its id.
    Its data holds what JSON may give back otherwise (a whole float, a big one, Chinese, nesting)."""
    inst = start(client, auth, "twelve_steps", "chain-1", amount=1.0, big=1e20, rate=0.0365, name="借款人",
                 nested={"b": [1, 2.5, {"z": None}], "a": True})
    [review] = open_tasks(client, auth, inst["id"]).values()
    for action in ("claim", "unclaim", "claim"):
        assert client.post(f"{API}/tasks/{review['id']}/{action}", headers=auth).status_code == 200
    complete(client, auth, review["id"], approved=True, note="ok 好")
    approve = open_tasks(client, auth, inst["id"])["approve"]
    complete(client, auth, approve["id"])
    return int(inst["id"])


def _verify(runner, *args: str):
    return runner.invoke(args=["history", "verify", *args], catch_exceptions=False)


def _events(app, instance_id: int) -> list[int]:
    with app.app_context():
        ids = list(db.session.scalars(select(InstanceEvent.id).where(InstanceEvent.instance_id == instance_id)
                                      .order_by(InstanceEvent.id)))
        db.session.remove()
    return ids


def _sql(app, statement) -> None:
    """Tamper: a raw statement, committed, as someone with the database's password would."""
    with app.app_context():
        db.session.execute(statement)
        db.session.commit()
        db.session.remove()


def _chain(client, auth, instance_id: int) -> dict:
    r = client.get(f"{API}/process-instances/{instance_id}/events", headers=auth)
    assert r.status_code == 200, r.json
    return r.json["chain"]


@pytest.fixture
def deployed(deploy):
    deploy("twelve_steps.bpmn")


def test_a_history_written_step_by_step_verifies_intact(app, client, auth, runner, deployed):
    instance_id = _run(client, auth)
    other = _run(client, auth)
    events = history(client, auth, instance_id)
    assert [e["kind"] for e in events][-1] == "completed" and len(events) >= 9
    assert {"task_claimed", "task_unclaimed", "task_completed"} <= {e["kind"] for e in events}
    with app.app_context():
        rows = db.session.execute(select(InstanceEvent.hash, InstanceEvent.prev_hash)
                                  .where(InstanceEvent.instance_id == instance_id).order_by(InstanceEvent.id)).all()
        head = db.session.scalar(select(ProcessInstance.last_event_hash).where(ProcessInstance.id == instance_id))
        db.session.remove()
    assert rows[0].prev_hash is None and all(len(r.hash) == 64 for r in rows)
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]] and head == rows[-1].hash

    result = _verify(runner, str(instance_id))
    assert result.exit_code == 0, result.output
    assert f"instance {instance_id}: intact ({len(rows)} events checked)" in result.output
    everyone = _verify(runner)
    assert everyone.exit_code == 0, everyone.output
    assert f"instance {other}: intact" in everyone.output and "2 instance(s) checked, 0 broken" in everyone.output
    assert _chain(client, auth, instance_id) == {"intact": True, "checked": len(rows), "unchained": 0,
                                                 "broken": None}
    assert _verify(runner, "999999").exit_code == 1


def test_an_event_altered_in_the_database_is_reported(app, client, auth, runner, deployed):
    instance_id = _run(client, auth)
    other = _run(client, auth)
    target = _events(app, instance_id)[5]
    _sql(app, update(InstanceEvent).where(InstanceEvent.id == target).values(details={"task_id": 1, "data": {}}))

    result = _verify(runner, str(instance_id))
    assert result.exit_code == 1
    assert f"instance {instance_id}: BROKEN at event {target} (altered)" in result.output
    everyone = _verify(runner)
    assert everyone.exit_code == 1 and f"instance {other}: intact" in everyone.output
    assert "2 instance(s) checked, 1 broken" in everyone.output
    chain = _chain(client, auth, instance_id)
    assert chain["intact"] is False and chain["checked"] == 5
    assert chain["broken"]["event_id"] == target and chain["broken"]["problem"] == "altered"
    assert "changed after it was written" in chain["broken"]["message"]

    # the time or the actor of an event count as much as its details
    first = _events(app, other)[1]
    _sql(app, update(InstanceEvent).where(InstanceEvent.id == first).values(
        at=InstanceEvent.at, actor_id=None, kind="task_cancelled"))
    assert f"instance {other}: BROKEN at event {first} (altered)" in _verify(runner, str(other)).output


def test_a_deleted_event_is_reported(app, client, auth, runner, deployed):
    instance_id = _run(client, auth)
    ids = _events(app, instance_id)
    _sql(app, delete(InstanceEvent).where(InstanceEvent.id == ids[3]))
    result = _verify(runner, str(instance_id))
    assert result.exit_code == 1
    assert f"BROKEN at event {ids[4]} (out_of_place)" in result.output

    # the latest event deleted: no later event names it, the instance's head does
    other = _run(client, auth)
    last = _events(app, other)[-1]
    _sql(app, delete(InstanceEvent).where(InstanceEvent.id == last))
    result = _verify(runner, str(other))
    assert result.exit_code == 1 and "BROKEN at its latest events (head_missing)" in result.output
    assert _chain(client, auth, other)["broken"] == {
        "event_id": None, "problem": "head_missing",
        "message": "The instance's latest events are missing: its last recorded hash is not its last event's."}
    chinese = client.get(f"{API}/process-instances/{other}/events", headers={**auth, "Accept-Language": "zh-CN"})
    assert chinese.json["chain"]["broken"]["message"] == "该实例最新的事件缺失：实例记录的最后哈希值不是其最后一个事件的哈希值。"


def test_a_moved_or_inserted_event_is_reported(app, client, auth, runner, deployed):
    instance_id = _run(client, auth)
    ids = _events(app, instance_id)
    with app.app_context():
        top = db.session.scalar(select(func.max(InstanceEvent.id)))
        db.session.remove()
    _sql(app, update(InstanceEvent).where(InstanceEvent.id == ids[2]).values(id=top + 100))  # now read last
    result = _verify(runner, str(instance_id))
    assert result.exit_code == 1 and f"BROKEN at event {ids[3]} (out_of_place)" in result.output

    other = _run(client, auth)
    ids = _events(app, other)
    with app.app_context():  # a copy of an event, hash and all, inserted at the end
        row = db.session.execute(select(InstanceEvent.__table__).where(InstanceEvent.id == ids[1])).mappings().one()
        db.session.remove()
    _sql(app, insert(InstanceEvent).values({k: v for k, v in row.items() if k != "id"}))
    result = _verify(runner, str(other))
    assert result.exit_code == 1 and "(out_of_place)" in result.output

    third = _run(client, auth)
    _sql(app, insert(InstanceEvent).values(instance_id=third, kind="task_completed", element_id="approve",
                                           at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC), details={}))
    result = _verify(runner, str(third))
    assert result.exit_code == 1 and "(unchained)" in result.output


def test_events_written_before_the_chain_existed_start_it(app, client, auth, runner, deployed):
    instance_id = _run(client, auth)
    n = len(_events(app, instance_id))
    # as the migration left an instance: no hashes, no head
    _sql(app, update(InstanceEvent).where(InstanceEvent.instance_id == instance_id).values(hash=None, prev_hash=None))
    _sql(app, update(ProcessInstance).where(ProcessInstance.id == instance_id).values(last_event_hash=None))
    result = _verify(runner, str(instance_id))
    assert result.exit_code == 0
    assert f"intact (0 events checked, {n} written before the chain existed (not covered))" in result.output

    second = start(client, auth, "twelve_steps", "chain-2")
    _sql(app, update(InstanceEvent).where(InstanceEvent.instance_id == second["id"]).values(hash=None,
                                                                                           prev_hash=None))
    _sql(app, update(ProcessInstance).where(ProcessInstance.id == second["id"]).values(last_event_hash=None))
    [review] = open_tasks(client, auth, second["id"]).values()
    complete(client, auth, review["id"], approved=False)  # the first step after the migration starts the chain
    chain = _chain(client, auth, second["id"])
    assert chain["intact"] is True and chain["unchained"] == 2 and chain["checked"] >= 2


def test_a_step_that_read_an_older_head_does_not_fork_the_chain(app, client, auth, deployed):
    from app.services.clock import now
    from app.services.errors import Conflict
    from app.services.workflow.step_store import load_instance, record, update_instance

    inst = start(client, auth, "twelve_steps", "chain-3")
    with app.app_context():
        stale = load_instance(inst["id"])
        head = stale.last_event_hash
        record(inst["id"], head, "task_claimed", now())
        with pytest.raises(Conflict):  # another claim that read the same head
            record(inst["id"], head, "task_unclaimed", now())
        db.session.remove()
    with app.app_context():
        record(inst["id"], head, "task_claimed", now())
        db.session.commit()
        with pytest.raises(Conflict):  # a step that read the head before the claim moved it
            update_instance(stale, {"updated_at": now()})
        db.session.rollback()
        db.session.remove()
    assert _chain(client, auth, inst["id"])["intact"] is True


def test_only_platform_staff_see_the_verdict(app, client, auth, deployed):
    from app.services.identity import directory as identity

    with app.app_context():
        identity.create_org("BANK1", ["funder"], "Bank One")
        identity.create_user("rev1", "BANK1", ["first_reviewer"])
        reviewer = {"Authorization": f"Bearer {identity.issue_token('rev1')}"}
        db.session.remove()
    inst = client.post(f"{API}/process-instances", headers=auth,
                       json={"process_id": "twelve_steps", "data": {}, "parties": {"funder": "BANK1"}}).json
    r = client.get(f"{API}/process-instances/{inst['id']}/events", headers=reviewer)
    assert r.status_code == 200 and r.json["items"] and r.json["chain"] is None
    assert _chain(client, auth, inst["id"])["intact"] is True
