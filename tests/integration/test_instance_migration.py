"""Repair (issue 16): moving waiting instances to another version of their process, one or all that match a
filter, after a preview; cancelling with a reason; retrying an incident with a note.

migrate_review v1 is prepare -> review; v2 drops prepare and adds an approval after the review. An instance
waiting in review moves (its open task stays, on v2) and goes on to the approval; one waiting in prepare is
refused and nothing changes; finished ones, the same version and a version that does not exist are refused.
"""
from __future__ import annotations

import re
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import HumanTask, InstanceEvent, ProcessInstance, ProcessVersion
from app.services.errors import Conflict
from app.services.identity import directory as identity
from app.services.workflow import migration
from tests.conftest import FIXTURES
from tests.integration.instance_api import (
    API,
    complete,
    due_at,
    history,
    instance,
    kinds,
    open_tasks,
    start,
    wake,
)
from tests.integration.test_identity import set_password, sign_in

EN, ZH = {"Accept-Language": "en"}, {"Accept-Language": "zh-CN"}


@pytest.fixture
def two_versions(app, client, auth, deploy):
    """K-REVIEW waits in review, K-PREPARE in prepare (both on v1); then v2 is deployed."""
    deploy("migrate_review_v1.bpmn")
    waiting_in_review = start(client, auth, "migrate_review", "K-REVIEW")["id"]
    waiting_in_prepare = start(client, auth, "migrate_review", "K-PREPARE")["id"]
    complete(client, auth, open_tasks(client, auth, waiting_in_review)["prepare"]["id"])
    deploy("bpmn_versions/migrate_review_v2.bpmn")
    return {"review": waiting_in_review, "prepare": waiting_in_prepare}


@pytest.fixture
def people(app):
    """An analyst (sees every instance, may not repair) and a borrower's applicant (sees none of these)."""
    with app.app_context():
        identity.create_org("TRADER", ["borrower"], "Trader Co")
        identity.create_user("ana", "PLATFORM", ["analyst"])
        identity.create_user("appl", "TRADER", ["applicant"])
        tokens = {name: {"Authorization": f"Bearer {identity.issue_token(name)}"} for name in ("ana", "appl")}
        db.session.remove()
    for name in ("ana", "appl"):
        set_password(app, name)
    return tokens


def _row(app, instance_id: int) -> tuple[int, int, int]:
    """(version, process_version_id, lock_version) of an instance, from the table."""
    with app.app_context():
        row = db.session.get(ProcessInstance, instance_id)
        found = (row.version, row.process_version_id, row.lock_version)
        db.session.remove()
    return found


def _version_id(app, version: int) -> int:
    with app.app_context():
        found = db.session.scalar(select(ProcessVersion.id).where(
            ProcessVersion.process_id == "migrate_review", ProcessVersion.version == version))
        db.session.remove()
    return found


def test_a_waiting_instance_moves_and_goes_on_in_the_new_version(app, client, auth, two_versions):
    instance_id = two_versions["review"]
    task_before = open_tasks(client, auth, instance_id)["review"]
    preview = client.post(f"{API}/process-instances/{instance_id}/migration-preview", json={"to_version": 2},
                          headers=auth)
    assert preview.status_code == 200, preview.json
    assert preview.json["movable"] is True and preview.json["reasons"] == []
    assert [(e["element_id"], e["name"], e["state"], e["reason"]) for e in preview.json["elements"]] == [
        ("review", "Review the file", "ready", None)]
    assert _row(app, instance_id)[0] == 1  # a preview changes nothing

    moved = client.post(f"{API}/process-instances/{instance_id}/migrate",
                        json={"to_version": 2, "reason": "the approval is now required"}, headers=auth)
    assert moved.status_code == 200, moved.json
    assert _row(app, instance_id)[:2] == (2, _version_id(app, 2))
    assert instance(client, auth, instance_id)["version"] == 2
    task_after = open_tasks(client, auth, instance_id)["review"]
    assert task_after["id"] == task_before["id"]  # the open task stayed: its element is in v2
    with app.app_context():
        assert db.session.get(HumanTask, task_after["id"]).process_version_id == _version_id(app, 2)
        db.session.remove()

    complete(client, auth, task_after["id"])
    assert list(open_tasks(client, auth, instance_id)) == ["approve"]  # v2's new element
    complete(client, auth, open_tasks(client, auth, instance_id)["approve"]["id"])
    assert instance(client, auth, instance_id)["status"] == "completed"
    events = history(client, auth, instance_id)
    [migrated] = kinds(events, "instance_migrated")
    assert migrated["details"] == {"from": 1, "to": 2, "reason": "the approval is now required",
                                   "elements": ["review"]}
    with app.app_context():
        admin_id = identity.principal_for("admin").id
        assert db.session.scalar(select(InstanceEvent.actor_id).where(
            InstanceEvent.instance_id == instance_id, InstanceEvent.kind == "instance_migrated")) == admin_id
        db.session.remove()


def test_an_instance_waiting_in_an_element_that_is_gone_is_refused_and_nothing_changes(app, client, auth,
                                                                                        two_versions):
    instance_id = two_versions["prepare"]
    before, events_before = _row(app, instance_id), len(history(client, auth, instance_id))
    preview = client.post(f"{API}/process-instances/{instance_id}/migration-preview", json={"to_version": 2},
                          headers=auth).json
    assert preview["movable"] is False
    assert preview["reasons"] == ["Prepare the file is not in version 2"]
    assert preview["elements"][0]["element_id"] == "prepare"
    refused = client.post(f"{API}/process-instances/{instance_id}/migrate",
                          json={"to_version": 2, "reason": "try"}, headers=auth)
    assert refused.status_code == 409 and refused.json["error"]["code"] == "migration_refused"
    assert "Prepare the file is not in version 2" in refused.json["error"]["message"]
    assert _row(app, instance_id) == before
    assert len(history(client, auth, instance_id)) == events_before
    assert list(open_tasks(client, auth, instance_id)) == ["prepare"]
    zh = client.post(f"{API}/process-instances/{instance_id}/migration-preview", json={"to_version": 2},
                     headers={**auth, **ZH}).json
    assert zh["reasons"] == ["准备材料 不在版本 2 中"]


def test_finished_instances_the_same_version_and_unknown_versions_are_refused(app, client, auth, two_versions):
    done = two_versions["review"]
    complete(client, auth, open_tasks(client, auth, done)["review"]["id"])
    assert instance(client, auth, done)["status"] == "completed"
    refused = client.post(f"{API}/process-instances/{done}/migrate", json={"to_version": 2, "reason": "x"},
                          headers=auth)
    assert refused.status_code == 409 and "has completed" in refused.json["error"]["message"]
    cancelled = two_versions["prepare"]
    assert client.post(f"{API}/process-instances/{cancelled}/cancel", headers=auth).status_code == 200  # no body
    refused = client.post(f"{API}/process-instances/{cancelled}/migrate", json={"to_version": 2, "reason": "x"},
                          headers=auth)
    assert refused.status_code == 409 and "was cancelled" in refused.json["error"]["message"]
    on_v2 = start(client, auth, "migrate_review", "K-NEW")["id"]
    same = client.post(f"{API}/process-instances/{on_v2}/migrate", json={"to_version": 2, "reason": "x"},
                       headers=auth)
    assert same.status_code == 409 and "already on version 2" in same.json["error"]["message"]
    unknown = client.post(f"{API}/process-instances/{on_v2}/migrate", json={"to_version": 7, "reason": "x"},
                          headers=auth)
    assert unknown.status_code == 404
    no_reason = client.post(f"{API}/process-instances/{on_v2}/migrate", json={"to_version": 1, "reason": " "},
                            headers=auth)
    assert no_reason.status_code == 422
    back = client.post(f"{API}/process-instances/{on_v2}/migrate", json={"to_version": 1, "reason": "back"},
                       headers=auth)
    assert back.status_code == 200 and _row(app, on_v2)[0] == 1  # review is in v1 too: it moves back


def test_bulk_preview_lists_each_instance_and_moving_takes_the_movable_ones(app, client, auth, two_versions):
    third = start(client, auth, "migrate_review", "OTHER-1")["id"]  # v2: not of version 1
    body = {"process_id": "migrate_review", "from_version": 1, "to_version": 2}
    preview = client.post(f"{API}/process-migrations", json=body, headers=auth)
    assert preview.status_code == 200, preview.json
    listed = {i["instance_id"]: i["movable"] for i in preview.json["instances"]}
    assert listed == {two_versions["review"]: True, two_versions["prepare"]: False}
    assert third not in listed and preview.json["results"] == []
    by_element = client.post(f"{API}/process-migrations", json={**body, "element_id": "prepare"}, headers=auth).json
    assert [i["instance_id"] for i in by_element["instances"]] == [two_versions["prepare"]]
    by_key = client.post(f"{API}/process-migrations", json={**body, "business_key": "K-REV"}, headers=auth).json
    assert [i["instance_id"] for i in by_key["instances"]] == [two_versions["review"]]
    assert _row(app, two_versions["review"])[0] == 1

    no_reason = client.post(f"{API}/process-migrations", json={**body, "preview": False}, headers=auth)
    assert no_reason.status_code == 422
    moved = client.post(f"{API}/process-migrations", json={**body, "preview": False, "reason": "v2 for all"},
                        headers=auth)
    assert moved.status_code == 200, moved.json
    results = {r["instance_id"]: r for r in moved.json["results"]}
    assert results[two_versions["review"]]["migrated"] is True
    assert results[two_versions["prepare"]]["migrated"] is False
    assert results[two_versions["prepare"]]["reason"] == "Prepare the file is not in version 2"
    assert _row(app, two_versions["review"])[0] == 2 and _row(app, two_versions["prepare"])[0] == 1
    [event] = kinds(history(client, auth, two_versions["review"]), "instance_migrated")
    assert event["details"]["reason"] == "v2 for all"


def test_cancel_records_its_reason_and_a_retry_its_note(app, client, auth, two_versions, deploy):
    instance_id = two_versions["prepare"]
    cancelled = client.post(f"{API}/process-instances/{instance_id}/cancel", json={"reason": "duplicate deal"},
                            headers=auth)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    [event] = kinds(history(client, auth, instance_id), "cancelled")
    assert event["details"] == {"reason": "duplicate deal"}
    # the task it waited at is withdrawn, after the cancellation that withdrew it (it had no history row)
    rows = [(e["kind"], e["element_id"]) for e in history(client, auth, instance_id)]
    assert rows[-2:] == [("cancelled", None), ("task_cancelled", "prepare")], rows

    deploy("service_unknown_operator.bpmn", removed_operators=("test.no_such_operator",))
    failed = start(client, auth, "service_unknown_operator")
    assert failed["status"] == "error"
    incident = client.get(f"{API}/incidents", query_string={"instance_id": failed["id"]}, headers=auth).json
    incident_id = incident["items"][0]["id"]
    retried = client.post(f"{API}/incidents/{incident_id}/retry", json={"note": "operator redeployed"},
                          headers=auth)
    assert retried.status_code == 200, retried.json
    [event] = kinds(history(client, auth, failed["id"]), "incident_retried")
    assert event["details"] == {"incident_id": incident_id, "note": "operator redeployed"}


def test_two_migrations_of_one_instance_at_once_one_wins(app, two_versions, monkeypatch):
    instance_id = two_versions["review"]
    barrier = threading.Barrier(2, timeout=30)
    original = migration.load_instance

    def read_then_wait(the_id):
        row = original(the_id)
        barrier.wait()
        return row

    monkeypatch.setattr(migration, "load_instance", read_then_wait)
    monkeypatch.setattr(app.extensions["loanflow_runtime"].live, "take", lambda *_: None)
    results: list[object] = [None, None]

    def run(i):
        with app.app_context():
            try:
                migration.migrate(identity.principal_for("admin"), instance_id, 2, f"thread {i}")
                results[i] = 200
            except Conflict as exc:
                results[i] = (409, exc.code)
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results, key=str) == sorted([200, (409, "stale_version")], key=str), results
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(InstanceEvent).where(
            InstanceEvent.instance_id == instance_id, InstanceEvent.kind == "instance_migrated")) == 1
        db.session.remove()
    assert _row(app, instance_id)[0] == 2


def test_who_may_migrate(app, client, auth, two_versions, people):
    instance_id = two_versions["review"]
    body = {"to_version": 2, "reason": "x"}
    assert client.post(f"{API}/process-instances/{instance_id}/migrate", json=body,
                       headers=people["appl"]).status_code == 404  # another organisation's deal
    assert client.post(f"{API}/process-instances/{instance_id}/migration-preview", json={"to_version": 2},
                       headers=people["appl"]).status_code == 404
    assert client.post(f"{API}/process-instances/{instance_id}/migrate", json=body,
                       headers=people["ana"]).status_code == 403  # sees it, may not move it
    assert client.post(f"{API}/process-migrations", json={"process_id": "migrate_review", "from_version": 1,
                                                          "to_version": 2}, headers=people["ana"]).status_code == 403
    assert _row(app, instance_id)[0] == 1
    sign_in(client, "appl")
    assert client.get(f"/instances/{instance_id}/repair").status_code == 404
    assert client.get("/processes/migrate_review/migrate").status_code == 403
    sign_in(client, "ana")
    page = client.get(f"/instances/{instance_id}/repair", headers=EN)
    assert page.status_code == 200
    assert 'id="migrate-form"' not in page.text and 'id="cancel-form"' not in page.text  # read-only for her


def _csrf(text: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)


@pytest.mark.parametrize(("headers", "words"), [
    (EN, ("Repair instance", "Open incidents", "The instance has no open incident.", "Move to another version",
          "Review the file", "a task is open", "Moves unchanged", "Cancel the instance")),
    (ZH, ("修复实例", "未解决的异常事件", "该实例没有未解决的异常事件。", "迁移到其他版本", "审查材料", "有待办任务",
          "可以迁移，无变化", "取消实例"))])
def test_the_repair_page_previews_and_moves_in_both_languages(app, client, two_versions, headers, words):
    instance_id = two_versions["review"]
    set_password(app, "admin")
    sign_in(client, "admin")
    page = client.get(f"/instances/{instance_id}/repair?to=2", headers=headers)
    assert page.status_code == 200
    for word in words:
        assert word in page.text, word
    assert f'href="/instances/{instance_id}"' in page.text
    assert 'data-element="review" data-movable="true"' in page.text
    refused = client.post(f"/instances/{instance_id}/repair/migrate", headers=headers,
                          data={"csrf_token": _csrf(page.text), "to": "2", "reason": ""})
    assert refused.status_code == 422 and _row(app, instance_id)[0] == 1
    moved = client.post(f"/instances/{instance_id}/repair/migrate", headers=headers,
                        data={"csrf_token": _csrf(page.text), "to": "2", "reason": "approval needed"})
    assert moved.status_code == 302 and _row(app, instance_id)[0] == 2
    history_row = re.search(r"<dt>[^<]*<code[^>]*>elements</code></dt><dd[^>]*>([^<]*)</dd>", client.get(
        f"/instances/{instance_id}", headers=headers).text).group(1)
    assert history_row == ("Review the file" if headers is EN else "审查材料")  # by name: it said ["review"]
    blocked = client.get(f"/instances/{two_versions['prepare']}/repair?to=2", headers=headers)
    assert 'id="not-movable"' in blocked.text and 'data-movable="false"' in blocked.text
    bulk = client.get("/processes/migrate_review/migrate?from=1&to=2&element=prepare", headers=headers)
    assert bulk.status_code == 200 and 'id="bulk-preview"' in bulk.text
    prepare = "Prepare the file" if headers is EN else "准备材料"
    assert f'<option value="prepare" selected>{prepare}</option>' in bulk.text  # named, not its id
    assert f'data-instance="{two_versions["prepare"]}" data-movable="false"' in bulk.text
    assert f'data-instance="{two_versions["review"]}"' not in bulk.text  # on version 2 now
    first = client.get("/processes/migrate_review/migrate", headers=headers).text  # both chose the newest: 422
    assert re.search(r'name="from">.*?<option value="1" selected>', first, re.S)
    assert re.search(r'name="to"><option value="2" selected>', first)
    cancel = client.post(f"/instances/{two_versions['prepare']}/repair/cancel", headers=headers,
                         data={"csrf_token": _csrf(page.text), "reason": "duplicate"})
    assert cancel.status_code == 302
    shown = client.get(f"/instances/{two_versions['prepare']}", headers=headers).text  # not 'Cancelled' alone
    assert ("Instance cancelled" if headers is EN else "实例已取消") in shown
    assert ("Task withdrawn" if headers is EN else "任务已撤回") in shown
    assert "<script>" not in page.text


def _deploy_text(app, filename: str, text: str) -> None:
    from app.services.workflow.deployment import DiagramFile, deploy_and_commit

    with app.app_context():
        deploy_and_commit([DiagramFile(filename, text.encode())])
        db.session.remove()


def test_a_waiting_timer_keeps_its_due_time_on_the_new_version(app, client, auth, deploy, clock):
    deploy("timer_duration.bpmn")
    instance_id = start(client, auth, "timer_duration")["id"]
    assert due_at(app, instance_id) == datetime(2026, 11, 28, 11, 0, tzinfo=UTC)
    clock.advance(hours=1)
    v2 = (FIXTURES / "bpmn" / "timer_duration.bpmn").read_text().replace('name="Follow up"', 'name="Follow up (v2)"')
    _deploy_text(app, "timer_duration.bpmn", v2)
    preview = client.post(f"{API}/process-instances/{instance_id}/migration-preview", json={"to_version": 2},
                          headers=auth).json
    assert [(e["element_id"], e["state"], e["reason"]) for e in preview["elements"]] == [
        ("cooling_off", "waiting", None)]
    moved = client.post(f"{API}/process-instances/{instance_id}/migrate",
                        json={"to_version": 2, "reason": "new title"}, headers=auth)
    assert moved.status_code == 200, moved.json
    assert due_at(app, instance_id) == datetime(2026, 11, 28, 11, 0, tzinfo=UTC)  # not restarted at 10:00
    clock.advance(hours=1)
    assert wake(app) == [instance_id]
    assert open_tasks(client, auth, instance_id)["follow_up"]["title"] == "Follow up (v2)"


def test_a_running_call_keeps_its_pinned_child_version(app, client, auth, deploy):
    deploy("call_parent.bpmn", "call_child.bpmn")
    instance_id = start(client, auth, "call_parent")["id"]
    child = (FIXTURES / "bpmn" / "call_child.bpmn").read_text()
    _deploy_text(app, "call_child.bpmn", child.replace('name="Countersign"', 'name="Countersign (v2)"'))
    parent = (FIXTURES / "bpmn" / "call_parent.bpmn").read_text()
    _deploy_text(app, "call_parent.bpmn", parent.replace('name="E-contract"', 'name="E-contract (v2)"'))
    preview = client.post(f"{API}/process-instances/{instance_id}/migration-preview", json={"to_version": 2},
                          headers=auth).json
    assert preview["movable"] is True
    assert {(e["element_id"], e["state"]) for e in preview["elements"]} == {
        ("call_econtract", "started"), ("countersign", "ready")}
    assert client.post(f"{API}/process-instances/{instance_id}/migrate", json={"to_version": 2, "reason": "v2"},
                       headers=auth).status_code == 200
    with app.app_context():
        row = db.session.get(ProcessInstance, instance_id)
        child_v1 = db.session.scalar(select(ProcessVersion.id).where(
            ProcessVersion.process_id == "call_child", ProcessVersion.version == 1))
        assert row.version == 2 and row.pins == {"call_child": child_v1}  # the running call stays on its version
        db.session.remove()
    task = open_tasks(client, auth, instance_id)["countersign"]
    assert task["title"] == "Countersign"
    complete(client, auth, task["id"], countersigned_by="funder")
    assert instance(client, auth, instance_id)["status"] == "completed"


def test_a_user_task_whose_lane_changed_or_that_became_another_kind_does_not_move(app, client, auth, deploy):
    deploy("migrate_review_v1.bpmn")
    instance_id = start(client, auth, "migrate_review")["id"]  # waits in prepare
    v1 = (FIXTURES / "bpmn" / "migrate_review_v1.bpmn").read_text()
    _deploy_text(app, "migrate_review.bpmn", v1.replace('name="first_reviewer"', 'name="finance"'))
    as_script = v1.replace('<bpmn:userTask id="prepare"', '<bpmn:manualTask id="prepare"').replace(
        '</bpmn:userTask>\n    <bpmn:userTask id="review"', '</bpmn:manualTask>\n    <bpmn:userTask id="review"')
    _deploy_text(app, "migrate_review.bpmn", as_script)
    lane = client.post(f"{API}/process-instances/{instance_id}/migration-preview", json={"to_version": 2},
                       headers=auth).json
    assert lane["reasons"] == ["Prepare the file belongs to another role in version 2"]
    kind = client.post(f"{API}/process-instances/{instance_id}/migration-preview", json={"to_version": 3},
                       headers=auth).json
    assert kind["reasons"] == ["Prepare the file is another kind of step in version 3"]
    assert client.post(f"{API}/process-instances/{instance_id}/migrate", json={"to_version": 3, "reason": "x"},
                       headers=auth).status_code == 409
    assert _row(app, instance_id)[0] == 1


def test_a_user_task_with_boundary_timers_moves_with_its_timers(app, client, auth, deploy, clock):
    deploy("sign_with_reminders.bpmn")
    instance_id = start(client, auth, "sign_with_reminders")["id"]
    task = open_tasks(client, auth, instance_id)["sign"]
    assert due_at(app, instance_id) == datetime(2026, 11, 29, 9, 0, tzinfo=UTC)  # the first reminder
    clock.advance(hours=3)
    v2 = (FIXTURES / "bpmn" / "sign_with_reminders.bpmn").read_text().replace(
        'name="Sign the contract"', 'name="Sign the contract (v2)"')
    _deploy_text(app, "sign_with_reminders.bpmn", v2)
    moved = client.post(f"{API}/process-instances/{instance_id}/migrate", json={"to_version": 2, "reason": "v2"},
                        headers=auth)
    assert moved.status_code == 200, moved.json
    assert due_at(app, instance_id) == datetime(2026, 11, 29, 9, 0, tzinfo=UTC)  # not restarted at noon
    after = open_tasks(client, auth, instance_id)["sign"]
    assert (after["id"], after["title"]) == (task["id"], "Sign the contract (v2)")  # the same task, renamed
    clock.advance(hours=21)
    assert wake(app) == [instance_id]
    assert [e["element_id"] for e in kinds(history(client, auth, instance_id), "timer_fired")] == ["remind"]
    assert open_tasks(client, auth, instance_id)["sign"]["id"] == task["id"]
    complete(client, auth, task["id"])
    assert instance(client, auth, instance_id)["status"] == "completed"


def test_an_instance_at_an_event_based_gateway_moves_and_still_takes_its_message(app, client, auth, deploy):
    deploy("news_or_timer.bpmn")
    instance_id = start(client, auth, "news_or_timer", "NEWS-1", wake_at="2026-11-30T09:00:00+00:00",
                        later="2026-12-01T09:00:00+00:00", woken=0)["id"]
    v2 = (FIXTURES / "bpmn" / "news_or_timer.bpmn").read_text().replace('<bpmn:endEvent id="end">',
                                                                        '<bpmn:endEvent id="end" name="News read">')
    _deploy_text(app, "news_or_timer.bpmn", v2)
    preview = client.post(f"{API}/process-instances/{instance_id}/migration-preview", json={"to_version": 2},
                          headers=auth).json
    assert preview["movable"] is True and [e["element_id"] for e in preview["elements"]] == ["gw"]
    assert client.post(f"{API}/process-instances/{instance_id}/migrate", json={"to_version": 2, "reason": "v2"},
                       headers=auth).status_code == 200
    assert due_at(app, instance_id) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    delivered = client.post(f"{API}/messages", json={"name": "news", "correlation_key": "NEWS-1", "payload": {}},
                            headers=auth)
    assert delivered.status_code == 200 and delivered.json["delivered_to"] == [instance_id]
    assert instance(client, auth, instance_id)["status"] == "completed"
