"""Call activities with pinned versions and DMN business-rule tasks, on every backend."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import FIXTURES
from tests.integration.instance_api import (
    API,
    complete,
    due_at,
    ended_at,
    history,
    instance,
    kinds,
    open_tasks,
    start,
    wake,
)

BPMN = FIXTURES / "bpmn"


def deploy_cli(runner, *paths: Path) -> list[str]:
    result = runner.invoke(args=["processes", "deploy", *map(str, paths)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def pins(app, instance_id: int) -> dict[str, int]:
    """The called process versions pinned to an instance: process id -> version number."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import ProcessInstance, ProcessVersion

    with app.app_context():
        pinned = db.session.get(ProcessInstance, instance_id).pins
        numbers = dict(db.session.execute(select(ProcessVersion.id, ProcessVersion.version)
                                          .where(ProcessVersion.id.in_(pinned.values()))).all())
        db.session.remove()
    return {process_id: numbers[vid] for process_id, vid in pinned.items()}


def test_call_activity_keeps_the_child_version_pinned_at_start(app, client, auth, runner, tmp_path):
    assert sorted(deploy_cli(runner, BPMN / "call_parent.bpmn", BPMN / "call_child.bpmn")) == [
        "call_child v1 new", "call_parent v1 new"]
    old = start(client, auth, "call_parent")["id"]
    assert pins(app, old) == {"call_child": 1}
    assert open_tasks(client, auth, old)["countersign"]["title"] == "Countersign"

    child_v2 = tmp_path / "call_child.bpmn"
    child_v2.write_text((BPMN / "call_child.bpmn").read_text()
                        .replace('name="Countersign"', 'name="Countersign (v2)"')
                        .replace("contract_signed = countersigned_by != ''",
                                 "contract_signed = countersigned_by != ''\nchild_version = 2"))
    assert deploy_cli(runner, child_v2) == ["call_child v2 new"]

    new = start(client, auth, "call_parent")["id"]
    assert pins(app, new) == {"call_child": 2} and pins(app, old) == {"call_child": 1}
    assert open_tasks(client, auth, new)["countersign"]["title"] == "Countersign (v2)"
    assert open_tasks(client, auth, old)["countersign"]["title"] == "Countersign"

    complete(client, auth, open_tasks(client, auth, old)["countersign"]["id"], countersigned_by="funder")
    complete(client, auth, open_tasks(client, auth, new)["countersign"]["id"], countersigned_by="funder")
    old_data, new_data = instance(client, auth, old), instance(client, auth, new)
    assert old_data["status"] == new_data["status"] == "completed"
    assert old_data["data"]["contract_signed"] is True and "child_version" not in old_data["data"]
    assert new_data["data"]["contract_signed"] is True and new_data["data"]["child_version"] == 2


def test_timer_and_message_inside_a_called_process(app, client, auth, deploy, clock):
    deploy("call_child_waits.bpmn")
    inst = start(client, auth, "payout_parent", business_key="LOAN-P1")["id"]
    assert instance(client, auth, inst)["status"] == "waiting"
    assert due_at(app, inst) == datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    message = {"name": "payout_confirmed", "correlation_key": "LOAN-P1", "payload": {"status": "paid"}}
    assert client.post(f"{API}/messages", json=message, headers=auth).status_code == 404  # still at the timer

    clock.advance(hours=1)
    assert wake(app) == [inst]
    assert [e["element_id"] for e in kinds(history(client, auth, inst), "timer_fired")] == ["cut_off"]
    assert due_at(app, inst) is None
    r = client.post(f"{API}/messages", json=message, headers=auth)
    assert r.status_code == 200 and r.json["delivered_to"] == [inst]
    body = instance(client, auth, inst)
    assert body["status"] == "completed" and body["data"]["closed"] is True
    clock.advance(hours=2)
    assert wake(app) == []


def decide(client, auth, score: int) -> tuple[int, dict]:
    """Start credit_routing with a score and complete its first task: (instance id, detail)."""
    inst = start(client, auth, "credit_routing", score=score)["id"]
    complete(client, auth, open_tasks(client, auth, inst)["collect"]["id"])
    return inst, instance(client, auth, inst)


def test_business_rule_task_routes_by_its_decision_table(client, auth, runner):
    assert sorted(deploy_cli(runner, BPMN / "credit_decision.dmn", BPMN / "credit_routing.bpmn")) == [
        "credit_decision v1 new", "credit_routing v1 new"]
    approved, body = decide(client, auth, 720)
    assert body["status"] == "completed" and body["data"]["decision"] == "approve"
    assert ended_at(client, auth, approved) == ["end_approved"]
    rejected, body = decide(client, auth, 410)
    assert body["status"] == "completed" and body["data"]["decision"] == "reject"
    assert ended_at(client, auth, rejected) == ["end_rejected"]


def test_process_deployed_after_its_decision_uses_the_deployed_decision(client, auth, runner):
    assert deploy_cli(runner, BPMN / "credit_decision.dmn") == ["credit_decision v1 new"]
    assert deploy_cli(runner, BPMN / "credit_routing.bpmn") == ["credit_routing v1 new"]
    inst, body = decide(client, auth, 600)
    assert body["data"]["decision"] == "approve" and ended_at(client, auth, inst) == ["end_approved"]


def test_changed_decision_makes_a_new_process_version_and_running_instances_keep_the_old(
        client, auth, runner, tmp_path):
    deploy_cli(runner, BPMN / "credit_decision.dmn", BPMN / "credit_routing.bpmn")
    running = start(client, auth, "credit_routing", score=650)["id"]  # waits at 'collect' under decision v1

    stricter = tmp_path / "credit_decision.dmn"
    stricter.write_text((BPMN / "credit_decision.dmn").read_text().replace("600", "700"))
    out = deploy_cli(runner, stricter)
    assert "credit_decision v2 new" in out and "credit_routing v2 new" in out

    complete(client, auth, open_tasks(client, auth, running)["collect"]["id"])
    kept = instance(client, auth, running)
    assert kept["version"] == 1 and kept["data"]["decision"] == "approve"
    assert ended_at(client, auth, running) == ["end_approved"]

    inst, body = decide(client, auth, 650)
    assert body["version"] == 2 and body["data"]["decision"] == "reject"
    assert ended_at(client, auth, inst) == ["end_rejected"]
    assert deploy_cli(runner, stricter) == ["credit_decision v2 unchanged"]


def test_redeploying_an_unchanged_process_alone_keeps_its_version(runner):
    deploy_cli(runner, BPMN / "credit_decision.dmn", BPMN / "credit_routing.bpmn")
    assert deploy_cli(runner, BPMN / "credit_routing.bpmn") == ["credit_routing v1 unchanged"]
    assert sorted(deploy_cli(runner, BPMN / "credit_decision.dmn", BPMN / "credit_routing.bpmn")) == [
        "credit_decision v1 unchanged", "credit_routing v1 unchanged"]


def test_a_user_task_of_a_called_process_gets_its_form(client, auth, runner, tmp_path):
    """The form of a task in a called process is that process's (looked up through the pinned
    version), so its answer is checked and its fields shown like any other task's."""
    child = (BPMN / "call_child.bpmn").read_text(encoding="utf-8").replace(
        '<bpmn:userTask id="countersign" name="Countersign">',
        '<bpmn:userTask id="countersign" name="Countersign"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="formJsonSchemaFilename" value="review-schema.json"/>'
        '</spiffworkflow:properties></bpmn:extensionElements>')
    (tmp_path / "call_child.bpmn").write_text(child, encoding="utf-8")
    deploy_cli(runner, BPMN / "call_parent.bpmn", tmp_path / "call_child.bpmn")
    parent = start(client, auth, "call_parent", countersigned_by="signer")["id"]
    task = open_tasks(client, auth, parent)["countersign"]
    refused = client.post(f"{API}/tasks/{task['id']}/complete", json={"data": {"decision": "maybe"}}, headers=auth)
    assert refused.status_code == 422 and {"decision", "limit"} <= set(refused.json["error"]["fields"])
    complete(client, auth, task["id"], decision="approve", limit=1000)
    assert instance(client, auth, parent)["status"] == "completed"
