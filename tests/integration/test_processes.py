"""The project's own diagrams in processes/, run end to end through the API."""
from __future__ import annotations

import pytest

from tests.conftest import ROOT

API = "/api/v1"


@pytest.fixture
def own_processes(app, runner):
    app.config["FORMS_DIR"] = str(ROOT / "forms")
    try:
        result = runner.invoke(args=["processes", "deploy", str(ROOT / "processes")])
        assert result.exit_code == 0, result.output
    finally:
        app.config["FORMS_DIR"] = str(ROOT / "tests" / "fixtures" / "forms")


def ready(client, auth, instance_id):
    return client.get(f"{API}/tasks", query_string={"instance_id": instance_id, "state": "ready"},
                      headers=auth).json["items"]


def complete(client, auth, task, data, status=200):
    r = client.post(f"{API}/tasks/{task['id']}/complete", json={"data": data}, headers=auth)
    assert r.status_code == status, r.json
    return r


def test_risk_approval_with_a_return_for_more_information(client, auth, second_auth, own_processes):
    r = client.post(f"{API}/process-instances", headers=auth, json={
        "process_id": "risk_approval", "business_key": "APP-7", "data": {"requested_amount": "500000"}})
    inst = r.json
    assert inst["data"]["requested_amount"] == "500000.00"
    [first] = ready(client, auth, inst["id"])
    complete(client, auth, first, {"first_decision": "need_more_information", "first_limit": "0",
                                   "first_notes": "latest invoice missing"})
    [supplement] = ready(client, auth, inst["id"])
    assert supplement["lane"] == "applicant"
    complete(client, auth, supplement, {"supplement_note": "invoice attached"})
    [first_again] = ready(client, auth, inst["id"])
    assert first_again["element_id"] == "first_review" and first_again["id"] != first["id"]
    complete(client, auth, first_again, {"first_decision": "approve", "first_limit": "450000",
                                         "first_notes": "order confirmed by the core enterprise"})
    [second] = ready(client, auth, inst["id"])
    refused = complete(client, auth, second, {"second_decision": "approve", "second_limit": "400000",
                                              "second_notes": "ok"}, status=403)
    assert refused.json["error"]["code"] == "four_eyes"
    complete(client, second_auth, second, {"second_decision": "approve", "second_limit": "400000.5",
                                            "second_notes": "limit lowered"})
    final = client.get(f"{API}/process-instances/{inst['id']}", headers=auth).json
    assert final["status"] == "completed"
    assert final["data"]["approved_limit"] == "400000.50" and final["data"]["supplements"] == 1
    events = client.get(f"{API}/process-instances/{inst['id']}/events", headers=auth).json["items"]
    assert events[-1]["element_id"] == "end_approved"


def test_risk_approval_rejected_by_the_first_reviewer(client, auth, own_processes):
    inst = client.post(f"{API}/process-instances", headers=auth, json={
        "process_id": "risk_approval", "data": {"requested_amount": 1000}}).json
    [first] = ready(client, auth, inst["id"])
    complete(client, auth, first, {"first_decision": "reject", "first_limit": "0", "first_notes": "blacklisted"})
    final = client.get(f"{API}/process-instances/{inst['id']}", headers=auth).json
    assert final["status"] == "completed"
    events = client.get(f"{API}/process-instances/{inst['id']}/events", headers=auth).json["items"]
    assert events[-1]["element_id"] == "end_rejected"


def test_the_review_task_speaks_the_readers_language(app, client, auth, own_processes):
    from tests.integration.test_identity import set_password, sign_in

    inst = client.post(f"{API}/process-instances", headers=auth, json={
        "process_id": "risk_approval", "business_key": "APP-ZH", "data": {"requested_amount": "500000"}}).json
    [first] = ready(client, auth, inst["id"])
    assert first["title"] == "First review"  # the API speaks the diagram's own names
    set_password(app, "admin")
    assert sign_in(client, "admin").status_code == 302
    zh = client.get(f"/tasks/{first['id']}", headers={"Accept-Language": "zh-CN"}).text
    for text in ("初审", "审批意见", "同意", "拒绝", "请申请人补充材料", "建议额度（元）", "审批说明与理由",
                 "风险审批（初审与复审）"):
        assert text in zh, text
    for text in ("First review", "Decision", "Recommended limit", ">approve<", ">need_more_information<"):
        assert text not in zh, text
    en = client.get(f"/tasks/{first['id']}", headers={"Accept-Language": "en"}).text
    for text in ("First review", "Decision", ">Approve<", "Ask the applicant for more information"):
        assert text in en, text
    assert ">need_more_information<" not in en
    inbox_zh = client.get("/", query_string={"view": "group"}, headers={"Accept-Language": "zh-CN"}).text
    assert "初审" in inbox_zh and ">First review<" not in inbox_zh


def test_validate_names_what_has_no_label_in_both_languages(app, runner):
    from tests.conftest import FIXTURES

    forms_dir = app.config["FORMS_DIR"]
    app.config["FORMS_DIR"] = str(ROOT / "forms")
    try:
        shipped = runner.invoke(args=["processes", "validate", str(ROOT / "processes")])
        unlabelled = runner.invoke(args=["processes", "validate", str(FIXTURES / "bpmn" / "terms_check.bpmn")])
    finally:
        app.config["FORMS_DIR"] = forms_dir
    assert shipped.exit_code == 0 and "0 warning(s)" in shipped.output, shipped.output
    said = unlabelled.output + (unlabelled.stderr or "")
    assert "the user task has no name in English and zh" in said
    assert "the process has no name in English and zh" in said
