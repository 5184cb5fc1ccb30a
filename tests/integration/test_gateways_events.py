"""Inclusive and parallel gateways, error end events in subprocesses, escalations — on every backend."""
from __future__ import annotations

from tests.integration.instance_api import complete, ended_at, history, instance, kinds, open_tasks, start


def test_inclusive_gateway_takes_every_branch_whose_condition_holds_and_joins_them(client, auth, deploy):
    deploy("inclusive_checks.bpmn")
    inst = start(client, auth, "inclusive_checks", needs_legal=True, amount=250000, currency="CNY")["id"]
    tasks = open_tasks(client, auth, inst)
    assert sorted(tasks) == ["collateral_check", "legal_check"]  # two of three branches

    complete(client, auth, tasks["legal_check"]["id"], legal_ok=True)
    body = instance(client, auth, inst)
    assert body["status"] == "waiting" and "summarised" not in body["data"]  # the join waits for the other
    assert list(open_tasks(client, auth, inst)) == ["collateral_check"]

    complete(client, auth, tasks["collateral_check"]["id"], collateral_ok=True)
    body = instance(client, auth, inst)
    assert body["status"] == "completed" and body["data"]["summarised"] is True
    assert body["data"]["legal_ok"] is True and body["data"]["collateral_ok"] is True
    assert "fx_ok" not in body["data"]
    assert ended_at(client, auth, inst) == ["end"]
    offered = sorted(e["element_id"] for e in kinds(history(client, auth, inst), "task_ready"))
    assert offered == ["collateral_check", "legal_check"]  # the currency check was never offered


def test_inclusive_gateway_with_a_single_true_condition_takes_one_branch(client, auth, deploy):
    deploy("inclusive_checks.bpmn")
    inst = start(client, auth, "inclusive_checks", needs_legal=False, amount=50000, currency="USD")["id"]
    tasks = open_tasks(client, auth, inst)
    assert list(tasks) == ["fx_check"]
    complete(client, auth, tasks["fx_check"]["id"], fx_ok=True)
    assert instance(client, auth, inst)["status"] == "completed"


def test_parallel_join_waits_for_every_branch(client, auth, deploy):
    deploy("parallel_reviews.bpmn")
    inst = start(client, auth, "parallel_reviews")["id"]
    tasks = open_tasks(client, auth, inst)
    assert sorted(tasks) == ["legal_review", "risk_review"]
    complete(client, auth, tasks["risk_review"]["id"], risk_ok=True)
    body = instance(client, auth, inst)
    assert body["status"] == "waiting" and "both_ok" not in body["data"]
    complete(client, auth, tasks["legal_review"]["id"], legal_ok=False)
    body = instance(client, auth, inst)
    assert body["status"] == "completed" and body["data"]["both_ok"] is False


def test_error_end_in_an_embedded_subprocess_is_caught_by_its_boundary(client, auth, deploy):
    deploy("subprocess_errors.bpmn")
    inst = start(client, auth, "embedded_error", required=["id", "payslip", "invoice"], provided=["id"])["id"]
    body = instance(client, auth, inst)
    assert body["status"] == "waiting" and list(open_tasks(client, auth, inst)) == ["request_documents"]
    assert body["data"]["docs_error"] == {"missing": ["payslip", "invoice"]}
    complete(client, auth, open_tasks(client, auth, inst)["request_documents"]["id"])
    assert ended_at(client, auth, inst) == ["end_requested"]

    fine = start(client, auth, "embedded_error", required=["id"], provided=["id", "payslip"])["id"]
    assert instance(client, auth, fine)["status"] == "completed"
    assert ended_at(client, auth, fine) == ["end_complete"]
    assert "docs_error" not in instance(client, auth, fine)["data"]


def test_error_end_in_a_called_process_is_caught_on_the_call_activity(client, auth, deploy):
    deploy("subprocess_errors.bpmn")
    inst = start(client, auth, "called_error_parent", required=["id", "payslip"], provided=[])["id"]
    body = instance(client, auth, inst)
    assert body["status"] == "waiting" and list(open_tasks(client, auth, inst)) == ["p_request_documents"]
    assert body["data"]["docs_error"] == {"missing": ["id", "payslip"]}
    complete(client, auth, open_tasks(client, auth, inst)["p_request_documents"]["id"])
    assert ended_at(client, auth, inst) == ["p_end_requested"]

    fine = start(client, auth, "called_error_parent", required=["id"], provided=["id"])["id"]
    assert instance(client, auth, fine)["status"] == "completed"
    assert ended_at(client, auth, fine) == ["p_end_complete"]


def test_escalation_is_caught_by_a_non_interrupting_boundary_and_the_subprocess_goes_on(client, auth, deploy):
    deploy("escalation_subprocess.bpmn")
    inst = start(client, auth, "escalation_subprocess", amount=500000, limit=100000)["id"]
    tasks = open_tasks(client, auth, inst)
    assert sorted(tasks) == ["finish_assessment", "inform_committee"]  # both paths are alive
    complete(client, auth, tasks["inform_committee"]["id"])
    body = instance(client, auth, inst)
    assert body["status"] == "waiting" and body["data"]["limit_escalation"] == {"exposure": 500000, "limit": 100000}
    assert list(open_tasks(client, auth, inst)) == ["finish_assessment"]
    complete(client, auth, tasks["finish_assessment"]["id"])
    assert instance(client, auth, inst)["status"] == "completed"
    assert sorted(ended_at(client, auth, inst)) == ["end", "end_informed"]

    within = start(client, auth, "escalation_subprocess", amount=50000, limit=100000)["id"]
    assert list(open_tasks(client, auth, within)) == ["finish_assessment"]
    complete(client, auth, open_tasks(client, auth, within)["finish_assessment"]["id"])
    assert ended_at(client, auth, within) == ["end"]


def test_a_process_starts_when_its_start_condition_holds_and_is_refused_otherwise(client, auth, deploy):
    """Before, an instance whose start condition did not hold for its data was created and waited at its
    start for ever (nothing changes an instance's data from outside), and one without the data it reads
    was created in error."""
    deploy("conditional_start.bpmn")
    started = start(client, auth, "large_limit_review", limit=2_000_000)
    assert started["status"] == "completed" and ended_at(client, auth, started["id"]) == ["end"]
    for data, words in (({"limit": 5}, "does not hold"), ({}, "cannot be evaluated")):
        r = client.post("/api/v1/process-instances", json={"process_id": "large_limit_review", "data": data},
                        headers=auth)
        assert r.status_code == 422 and r.json["error"]["code"] == "cannot_start", r.json
        assert "limit > 1000000" in r.json["error"]["message"] and words in r.json["error"]["message"]
    listed = client.get("/api/v1/process-instances", query_string={"process_id": "large_limit_review"},
                        headers=auth).json["items"]
    assert [i["id"] for i in listed] == [started["id"]]  # the refused starts left nothing behind
