"""The project's own diagrams in processes/, run end to end through the API: a borrower's
application (drafted and submitted through the services, as the application pages do) and the
parties' tasks completed over HTTP."""
from __future__ import annotations

from decimal import Decimal

import pytest

from app.extensions import db
from app.services.identity import directory as identity
from app.services.origination import applications
from tests.conftest import ROOT
from tests.integration.origination_support import MANUAL_CODE, PAYEE, deploy_shipped, seed_parties

API = "/api/v1"


@pytest.fixture
def credit_deal(app, runner, admin_token):
    """A credit loan of BORR1 submitted to BANK1 (graded for manual review); tokens of its people,
    one of them a reviewer who may do both reviews (four-eyes keeps them apart)."""
    deploy_shipped(app, runner)
    with app.app_context():
        seed_parties()
        identity.create_user("rev12", "BANK1", ["first_reviewer", "second_reviewer"])
        row = applications.create_application(identity.principal_for("app1"), {
            "product": "CREDIT-LOAN", "amount": "300000.00", "term_months": 6, "purpose": "Working capital",
            "funder": "BANK1", "details": {"credit_code": MANUAL_CODE, **PAYEE}})
        row = applications.submit(identity.principal_for("app1"), row.id)
        deal = {"id": row.id, "number": row.number, "instance_id": row.instance_id,
                "tokens": {u: {"Authorization": f"Bearer {identity.issue_token(u)}"}
                           for u in ("app1", "rev1", "rev2", "rev12")}}
        db.session.commit()
        db.session.remove()
    return deal


def ready(client, auth, instance_id):
    return client.get(f"{API}/tasks", query_string={"instance_id": instance_id, "state": "ready"},
                      headers=auth).json["items"]


def complete(client, auth, task, data, status=200):
    r = client.post(f"{API}/tasks/{task['id']}/complete", json={"data": data}, headers=auth)
    assert r.status_code == status, r.json
    return r


def application(app, deal):
    with app.app_context():
        row = applications.get_application(identity.principal_for("app1"), deal["id"])
        status = (row.status, row.stage, row.approved_amount, row.reason)
        db.session.remove()
    return status


def consented(client, deal):
    tokens = deal["tokens"]
    [consent] = ready(client, tokens["app1"], deal["instance_id"])
    assert consent["element_id"] == "credit_consent" and consent["lane"] == "applicant"
    complete(client, tokens["app1"], consent, {"consent": False, "mobile": "13800138000"}, status=422)
    complete(client, tokens["app1"], consent, {"consent": True, "mobile": "13800138000"})


def test_risk_approval_with_a_return_for_more_information(app, client, credit_deal):
    deal, tokens = credit_deal, credit_deal["tokens"]
    consented(client, deal)
    [first] = ready(client, tokens["rev12"], deal["instance_id"])
    assert first["element_id"] == "first_review" and first["lane"] == "first_reviewer"
    refused = complete(client, tokens["rev12"], first, {"decision": "return"}, status=422)
    assert "reason" in refused.json["error"]["fields"]
    complete(client, tokens["rev12"], first, {"decision": "return", "reason": "Latest invoice missing"})
    assert application(app, deal)[0::3] == ("returned", "Latest invoice missing")
    [supplement] = ready(client, tokens["app1"], deal["instance_id"])
    assert supplement["lane"] == "applicant" and supplement["element_id"] == "supplement"
    complete(client, tokens["app1"], supplement, {"response": "Invoice attached"})
    assert application(app, deal)[:2] == ("in_review", "first_review")
    [first_again] = ready(client, tokens["rev12"], deal["instance_id"])
    assert first_again["element_id"] == "first_review" and first_again["id"] != first["id"]
    complete(client, tokens["rev12"], first_again, {"decision": "approve", "approved_amount": "300000",
                                                    "notes": "Bureau clean"})
    [second] = ready(client, tokens["rev2"], deal["instance_id"])
    refused = complete(client, tokens["rev12"], second, {"decision": "approve", "approved_amount": "250000"},
                       status=403)
    assert refused.json["error"]["code"] == "four_eyes"
    complete(client, tokens["rev2"], second, {"decision": "approve", "approved_amount": "250000.5",
                                              "notes": "Lowered"})
    assert application(app, deal)[:3] == ("approved", "identity_verification", Decimal("250000.50"))
    final = client.get(f"{API}/process-instances/{deal['instance_id']}", headers=tokens["rev2"]).json
    events = client.get(f"{API}/process-instances/{deal['instance_id']}/events", headers=tokens["rev2"]).json["items"]
    assert final["status"] == "waiting"  # approved, the deal goes on to signing: the borrower's signer verifies
    assert (events[-1]["kind"], events[-1]["element_id"]) == ("task_ready", "verify_identity_borrower")
    [verify] = ready(client, tokens["app1"], deal["instance_id"])
    assert (verify["element_id"], verify["lane"]) == ("verify_identity_borrower", "applicant")
    assert (final["data"]["outcome"], final["data"]["decision_result"]["approved_amount"]) == ("approved", "250000.50")


def test_risk_approval_rejected_by_the_first_reviewer(app, client, credit_deal):
    deal, tokens = credit_deal, credit_deal["tokens"]
    consented(client, deal)
    [first] = ready(client, tokens["rev1"], deal["instance_id"])
    complete(client, tokens["rev1"], first, {"decision": "reject", "reason": "Too many enquiries"})
    assert application(app, deal) == ("rejected", "decided", None, "Too many enquiries")
    final = client.get(f"{API}/process-instances/{deal['instance_id']}", headers=tokens["rev1"]).json
    assert final["status"] == "completed" and final["data"]["outcome"] == "rejected"
    assert ready(client, tokens["rev2"], deal["instance_id"]) == []


def test_the_review_task_speaks_the_readers_language(app, client, credit_deal):
    from tests.integration.test_identity import set_password, sign_in

    consented(client, credit_deal)
    [first] = ready(client, credit_deal["tokens"]["rev1"], credit_deal["instance_id"])
    assert first["title"] == "First review"  # the API speaks the diagram's own names
    set_password(app, "rev1")
    assert sign_in(client, "rev1").status_code == 302
    zh = client.get(f"/tasks/{first['id']}", headers={"Accept-Language": "zh-CN"}).text
    for text in ("初审", "审批意见", "同意", "拒绝", "退回补充材料", "批准金额（元）", "内部审批说明", "申请金额",
                 "信用贷款申请"):
        assert text in zh, text
    for text in ("First review", "Decision", "Approved amount", ">approve<", ">return<"):
        assert text not in zh, text
    en = client.get(f"/tasks/{first['id']}", headers={"Accept-Language": "en"}).text
    for text in ("First review", "Decision", ">Approve<", "Return for more information", "Amount applied for"):
        assert text in en, text
    assert ">return<" not in en
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
    # each says what is missing: the English names are there, the Chinese ones are not
    assert "check: the user task 'Check the terms' has no name in zh (property name@zh)" in said
    assert "terms_check: the process 'Check the terms' has no name in zh (property name@zh on the process)" in said
    assert "in English and" not in said
