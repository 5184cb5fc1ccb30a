"""The same deal seen by each party: the funder's internal work never reaches the borrower.

The shipped risk approval, bound to a funder and a borrower: the first reviewer asks for more
information with an internal recommended limit and notes; the borrower's applicant then sees
only the amount applied for, their own task and the deal's milestones — no limit, no notes, no
reviewer's name, no funder task — and the reviewer sees the applicant's answer. Both languages.
"""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.services.identity import directory as identity
from tests.conftest import ROOT
from tests.integration.test_identity import set_password, sign_in

API = "/api/v1"
INTERNAL_NOTE = "Margin thin; internal watch list"


@pytest.fixture
def deal(app, client, auth, runner):
    forms_dir, app.config["FORMS_DIR"] = app.config["FORMS_DIR"], str(ROOT / "forms")
    try:
        assert runner.invoke(args=["processes", "deploy", str(ROOT / "processes")]).exit_code == 0
    finally:
        app.config["FORMS_DIR"] = forms_dir  # the app outlives the test
    with app.app_context():
        identity.create_org("BANK1", ["funder"], "Pearl River Bank")
        identity.create_org("BORR1", ["borrower"], "Lotus Trading")
        identity.create_user("rev1", "BANK1", ["first_reviewer"], display_name="Reviewer Wang")
        identity.create_user("app1", "BORR1", ["applicant"], display_name="Applicant Li")
        tokens = {u: {"Authorization": f"Bearer {identity.issue_token(u)}"} for u in ("rev1", "app1")}
        db.session.commit()
        db.session.remove()
    for user in ("rev1", "app1"):
        set_password(app, user)
    inst = client.post(f"{API}/process-instances", headers=auth, json={
        "process_id": "risk_approval", "business_key": "APP-P1", "parties": {"funder": "BANK1", "borrower": "BORR1"},
        "data": {"requested_amount": "500000"}}).json
    first = _ready(client, tokens["rev1"], inst["id"])
    assert client.post(f"{API}/tasks/{first['id']}/complete", headers=tokens["rev1"], json={"data": {
        "first_decision": "need_more_information", "first_limit": "450000", "first_notes": INTERNAL_NOTE}}
    ).status_code == 200
    supplement = _ready(client, tokens["app1"], inst["id"])
    return {"instance": inst, "supplement": supplement, "tokens": tokens}


def _ready(client, headers, instance_id):
    [task] = client.get(f"{API}/tasks", headers=headers,
                        query_string={"instance_id": instance_id, "state": "ready"}).json["items"]
    return task


def _visible(html: str) -> str:
    """The text a person reads: tags (and the codes in their attributes) removed."""
    return re.sub(r"<[^>]*>", " ", html)


def _section(page: str, section_id: str) -> str:
    found = re.search(rf'id="{section_id}".*?</(?:dl|ol|section)>', page, re.S)
    return found.group(0) if found else ""


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_borrower_sees_only_its_part(client, deal, language):
    sign_in(client, "app1")
    page = client.get(f"/tasks/{deal['supplement']['id']}", headers={"Accept-Language": language}).text
    for secret in ("450000", "450,000", INTERNAL_NOTE, "Reviewer Wang", "rev1", "first_limit", "first_notes",
                   "First review", "建议额度", "Recommended limit", "审批意见"):
        assert secret not in page, secret
    key = _section(page, "key-data")
    assert ("申请金额" if language == "zh-CN" else "Requested amount") in key
    assert "500,000.00" in key
    parties = _section(page, "parties")
    assert "Pearl River Bank" in parties and "Lotus Trading" in parties and "BANK1" not in parties
    history = _section(page, "history")
    assert "初审" not in history and "First review" not in history
    assert ("补充材料" if language == "zh-CN" else "Provide more information") in history
    assert not re.search(r"·\s*(task_ready|task_completed|started)\b", _visible(history))  # kinds by name
    assert ("业务已发起" if language == "zh-CN" else "Deal started") in history


def test_the_funder_sees_the_borrowers_answer_and_its_own_decision(client, deal):
    sign_in(client, "app1")
    page = client.get(f"/tasks/{deal['supplement']['id']}").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    done = client.post(f"/tasks/{deal['supplement']['id']}", data={"csrf_token": csrf,
                                                                    "supplement_note": "Invoice 42 attached"})
    assert done.status_code == 302
    client.post("/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"',
                                                         client.get("/").text).group(1)})
    sign_in(client, "rev1")
    again = _ready(client, deal["tokens"]["rev1"], deal["instance"]["id"])
    page = client.get(f"/tasks/{again['id']}", headers={"Accept-Language": "zh-CN"}).text
    earlier = _section(page, "earlier-tasks")
    assert "Invoice 42 attached" in page and "Applicant Li" in page  # the submission is for the funder
    assert INTERNAL_NOTE in page and "请申请人补充材料" in earlier  # its own decision, the choice by its label
    assert "need_more_information" not in _visible(page)


def test_the_api_task_of_the_borrower_carries_no_funder_data(client, deal):
    detail = client.get(f"{API}/tasks/{deal['supplement']['id']}", headers=deal["tokens"]["app1"]).json
    assert detail["lane"] == "applicant"
    assert INTERNAL_NOTE not in str(detail.get("data"))


def test_the_api_gives_the_borrower_the_same_part_and_the_funder_all(client, deal):
    instance_id = deal["instance"]["id"]
    borrower, funder = deal["tokens"]["app1"], deal["tokens"]["rev1"]
    seen = client.get(f"{API}/process-instances/{instance_id}", headers=borrower).json
    assert seen["data"]["requested_amount"] == "500000.00"
    assert not {"first_decision", "first_limit", "first_notes"} & set(seen["data"])
    listed = client.get(f"{API}/process-instances", headers=borrower).json["items"]
    assert [i["data"] for i in listed if i["id"] == instance_id] == [seen["data"]]
    events = client.get(f"{API}/process-instances/{instance_id}/events", headers=borrower).json
    assert "first_review" not in {e["element_id"] for e in events["items"]}
    assert INTERNAL_NOTE not in str(events) and "rev1" not in str(events)
    assert events["total"] == len(events["items"])  # the total counts what the reader gets
    assert {"started", "task_ready"} <= {e["kind"] for e in events["items"]}
    full = client.get(f"{API}/process-instances/{instance_id}", headers=funder).json
    assert full["data"]["first_limit"] == "450000" and full["data"]["first_notes"] == INTERNAL_NOTE
    funder_events = client.get(f"{API}/process-instances/{instance_id}/events", headers=funder).json["items"]
    assert "first_review" in {e["element_id"] for e in funder_events}
    assert "rev1" in {e["actor"] for e in funder_events}


def test_a_funder_tasks_upload_is_not_the_borrowers_to_read(app, client, deal):
    from sqlalchemy import select

    from app.models import HumanTask
    from app.services.workflow.documents import store_document

    instance_id = deal["instance"]["id"]
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    with app.app_context():
        first_task = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                                  HumanTask.element_id == "first_review"))
        internal = store_document(instance_id, first_task, "memo", "credit-memo.pdf", pdf, None)
        shared = store_document(instance_id, None, None, "application.pdf", pdf, None)
        db.session.commit()
        db.session.remove()
    borrower, funder = deal["tokens"]["app1"], deal["tokens"]["rev1"]
    listed = client.get(f"{API}/process-instances/{instance_id}/documents", headers=borrower).json
    assert [d["id"] for d in listed] == [shared]
    assert client.get(f"{API}/process-instances/{instance_id}/documents/{internal}/content",
                      headers=borrower).status_code == 404
    assert client.get(f"{API}/process-instances/{instance_id}/documents/{internal}/content",
                      headers=funder).status_code == 200
    assert {d["id"] for d in client.get(f"{API}/process-instances/{instance_id}/documents",
                                        headers=funder).json} == {internal, shared}


def test_a_borrowers_list_costs_the_same_queries_for_one_deal_or_many(app, client, auth, deal):
    """The party rule is read for a page of deals at once (two queries), not once per deal."""
    from sqlalchemy import event

    borrower = deal["tokens"]["app1"]

    def statements() -> int:
        seen: list[str] = []

        def count(*_args) -> None:
            seen.append("x")

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(f"{API}/process-instances", headers=borrower).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    one = statements()
    for n in range(3):
        assert client.post(f"{API}/process-instances", headers=auth, json={
            "process_id": "risk_approval", "business_key": f"APP-N{n}", "parties": {"funder": "BANK1", "borrower": "BORR1"},
            "data": {"requested_amount": "1000"}}).status_code == 201
    listed = client.get(f"{API}/process-instances", headers=borrower).json["items"]
    assert len(listed) == 4
    assert statements() == one
