"""Two people completing one task at the same moment: one success, one 409, nothing doubled."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from app.extensions import db
from app.models import HumanTask, InstanceEvent, ProcessInstance
from app.services.errors import Conflict
from app.services.identity.directory import principal_for
from app.services.workflow import instances, tasks


def _start(app, deploy):
    deploy("twelve_steps.bpmn")
    with app.app_context():
        admin = principal_for("admin")
        instance_id = instances.start_instance("twelve_steps", admin)
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id))
        db.session.remove()
    return instance_id, task_id


def _race(app, monkeypatch, calls, username="admin"):
    """Run `calls` in threads that all read the instance (with the task) before any of them writes."""
    barrier = threading.Barrier(len(calls), timeout=30)
    original = tasks.instance_of

    def read_then_wait(task):
        instance = original(task)
        barrier.wait()
        return instance

    monkeypatch.setattr(tasks, "instance_of", read_then_wait)
    runtime = app.extensions["loanflow_runtime"]
    monkeypatch.setattr(runtime.live, "take", lambda *_: None)  # each thread restores its own copy
    results: list[object] = [None] * len(calls)

    def run(i, call):
        with app.app_context():
            user = principal_for(username)
            try:
                call(user)
                results[i] = 200
            except Conflict as exc:
                results[i] = (409, exc.code)
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_concurrent_completion_of_one_task(app, deploy, admin_token, monkeypatch):
    instance_id, task_id = _start(app, deploy)
    results = _race(app, monkeypatch, [
        lambda u: tasks.complete_task(task_id, {"approved": True}, u),
        lambda u: tasks.complete_task(task_id, {"approved": False}, u),
    ])
    # the loser is told the task is done (as a form sent after the completion is), not that it changed
    assert sorted(results, key=str) == sorted([200, (409, "task_completed")], key=str), results
    with app.app_context():
        instance = db.session.get(ProcessInstance, instance_id)
        completed = db.session.scalars(select(InstanceEvent).where(
            InstanceEvent.instance_id == instance_id, InstanceEvent.kind == "task_completed")).all()
        ready = db.session.scalars(select(HumanTask.element_id).where(
            HumanTask.instance_id == instance_id, HumanTask.state == "ready")).all()
        assert len(completed) == 1
        winner = completed[0].details["data"]["approved"]
        assert ready == (["approve"] if winner else ["reject_note"])
        assert instance.data["approved"] is winner
        assert instance.lock_version == 3  # inserted, started, one completion
        db.session.remove()


def test_concurrent_completion_of_parallel_tasks_loses_neither(app, deploy, second_auth, monkeypatch):
    """Two different tasks of one instance: the second writer is told to retry; after it, both count."""
    deploy("review_with_form.bpmn")
    with app.app_context():
        admin = principal_for("admin")
        instance_id = instances.start_instance("review_with_form", admin)
        first = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id))
        tasks.complete_task(first, {"decision": "approve", "limit": 100}, admin)
        ids = db.session.scalars(select(HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.state == "ready").order_by(HumanTask.id)).all()
        db.session.remove()
    results = _race(app, monkeypatch, [lambda u, t=t: tasks.complete_task(t, {}, u) for t in ids], "admin2")
    assert sorted(results, key=str) == sorted([200, (409, "stale_version")], key=str), results
    monkeypatch.undo()
    loser = ids[results.index((409, "stale_version"))]
    with app.app_context():
        other = principal_for("admin2")
        tasks.complete_task(loser, {}, other)  # the retry the 409 asked for
        instance = db.session.get(ProcessInstance, instance_id)
        assert instance.status == "completed"
        count = db.session.scalar(select(func.count()).select_from(InstanceEvent).where(
            InstanceEvent.instance_id == instance_id, InstanceEvent.kind == "task_completed"))
        assert count == 3
        db.session.remove()
