"""BPMN data stores in the database (issue 17): one value per store, in `data_store_values`, shared by
every instance that names the store and written in the transaction of the step that writes it; two
instances writing it at once never lose a write (a row lock on PostgreSQL, compare-and-set on both)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import DataStoreValue, ProcessInstance
from app.services.errors import Conflict
from app.services.identity.directory import principal_for
from app.services.workflow import data_stores, instances, waking
from app.services.workflow.deployment import DiagramFile, deploy_and_commit

B = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _counter(wait: str = "") -> DiagramFile:
    """start -> (a timer, if `wait`) -> add one to the store 'Counter' -> end."""
    timer = (f'<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDuration>{wait}'
             '</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>') if wait else ""
    first = "wait" if wait else "add"
    after_timer = '<bpmn:sequenceFlow id="f0" sourceRef="wait" targetRef="add"/>' if wait else ""
    return DiagramFile("counter.bpmn", f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{B}" id="defs" targetNamespace="http://loanflow.local/bpmn">
  <bpmn:dataStore id="counter" name="Counter"/>
  <bpmn:process id="counter_process" isExecutable="true">
    <bpmn:startEvent id="start"/>{timer}
    <bpmn:scriptTask id="add">
      <bpmn:dataInputAssociation id="in"><bpmn:sourceRef>counter_ref</bpmn:sourceRef></bpmn:dataInputAssociation>
      <bpmn:dataOutputAssociation id="out"><bpmn:targetRef>counter_ref</bpmn:targetRef></bpmn:dataOutputAssociation>
      <bpmn:script>counter = (counter or 0) + 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"/>
    <bpmn:dataStoreReference id="counter_ref" dataStoreRef="counter"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="{first}"/>{after_timer}
    <bpmn:sequenceFlow id="f2" sourceRef="add" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>""".encode())


def _value(app):
    with app.app_context():
        row = db.session.get(DataStoreValue, "Counter")
        found = (row.value, row.version, row.updated_by_instance_id) if row is not None else None
        db.session.remove()
    return found


def test_instances_share_the_store_and_its_value_is_in_the_table(app, admin_token):
    with app.app_context():
        deploy_and_commit([_counter()])
        admin = principal_for("admin")
        first = instances.start_instance("counter_process", admin)
        second = instances.start_instance("counter_process", admin)
        statuses = db.session.scalars(select(ProcessInstance.status).where(
            ProcessInstance.id.in_([first, second]))).all()
        assert statuses == ["completed", "completed"]
        assert data_stores.values(["Counter", "Other"]) == {"Counter": 2}
        db.session.remove()
    assert _value(app) == (2, 2, second)


def test_a_write_over_a_version_another_step_changed_is_refused_and_changes_nothing(app, admin_token):
    with app.app_context():
        deploy_and_commit([_counter()])
        instances.start_instance("counter_process", principal_for("admin"))  # Counter = 1, version 1
        db.session.remove()
    with app.app_context():
        stores = data_stores.StepStores(None)
        assert stores.read("Counter") == 1 and stores.versions == {"Counter": 1}
        stores.write("Counter", 10)
        db.session.rollback()  # (on PostgreSQL the read locked the row until here)
        db.session.execute(update(DataStoreValue).where(DataStoreValue.key == "Counter").values(value=5, version=2))
        db.session.commit()  # another step wrote version 2 since this one read version 1
        with pytest.raises(Conflict) as refused:
            stores.flush()
        assert refused.value.code == "stale_version"
        db.session.rollback()
        db.session.remove()
    assert _value(app)[:2] == (5, 2)


def test_two_instances_adding_to_the_store_at_once_lose_no_write(app, admin_token, clock, monkeypatch):
    with app.app_context():
        deploy_and_commit([_counter('"PT1H"')])
        admin = principal_for("admin")
        ids = [instances.start_instance("counter_process", admin) for _ in range(2)]
        locking = db.engine.dialect.name == "postgresql"  # there the second read waits for the first commit
        db.session.add(DataStoreValue(key="Counter", value=0, version=1))  # both steps update one row
        db.session.commit()
        db.session.remove()
    clock.advance(hours=2)
    runtime = app.extensions["loanflow_runtime"]
    monkeypatch.setattr(runtime.live, "take", lambda *_: None)  # each thread restores its own copy
    barrier = threading.Barrier(2, timeout=10)
    original = data_stores.StepStores._load

    def overlapping(self, key):  # both steps read before either writes
        if locking:
            barrier.wait()
            return original(self, key)
        found = original(self, key)
        barrier.wait()
        return found

    monkeypatch.setattr(data_stores.StepStores, "_load", overlapping)
    results: list[object] = [None, None]

    def wake(i: int, instance_id: int) -> None:
        with app.app_context():
            try:
                results[i] = waking.wake_instance(instance_id)
            except Conflict as exc:
                results[i] = exc.code
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=wake, args=(i, instance_id)) for i, instance_id in enumerate(ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r in (True, "stale_version") for r in results), results
    woken = results.count(True)
    assert woken >= 1 and _value(app)[0] == woken  # every committed step's addition is there

    monkeypatch.setattr(data_stores.StepStores, "_load", original)
    with app.app_context():  # the refused step changed nothing: its instance still waits, and runs now
        for instance_id in ids:
            waking.wake_instance(instance_id)
        statuses = db.session.scalars(select(ProcessInstance.status).where(ProcessInstance.id.in_(ids))).all()
        db.session.remove()
    assert statuses == ["completed", "completed"]
    assert _value(app)[0] == 2


def test_the_instance_page_shows_the_stores_its_diagram_names_to_the_platforms_staff(app, client, admin_token):
    from app.services.identity import directory as identity
    from tests.integration.test_identity import set_password, sign_in

    with app.app_context():
        deploy_and_commit([_counter()])
        instance_id = instances.start_instance("counter_process", principal_for("admin"))
        identity.create_user("ana", "PLATFORM", ["analyst"])
        db.session.remove()
    set_password(app, "ana")
    sign_in(client, "ana")
    page = client.get(f"/instances/{instance_id}", headers={"Accept-Language": "zh"}).text
    assert "数据存储" in page
    assert '<dl class="changes" id="instance-stores"><dt translate="no">Counter</dt><dd translate="no">1</dd></dl>' in page
