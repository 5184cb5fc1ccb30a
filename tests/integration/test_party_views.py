"""The same deal seen by each party: the funder's internal work never reaches the borrower.

An order-financing application of a borrower to a funder: the core enterprise confirms the
receivable, the first reviewer returns it for more information with an internal amount and notes;
the borrower's applicant then sees only the amount applied for, their own task and the deal's
milestones — no amount of the reviewer's, no notes, no reviewer's name, no funder task, not the core
enterprise's answer — and the reviewer sees the applicant's answer. Both languages.
"""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.services.identity import directory as identity
from app.services.origination import applications
from tests.integration.origination_support import deploy_shipped, order_application, seed_parties
from tests.integration.test_identity import set_password, sign_in

API = "/api/v1"
INTERNAL_NOTE = "Margin thin; internal watch list"
ACCOUNT = "6222 0210 0100 8888"


def _submitted(number: str = "PO-1") -> int:
    """An order application of BORR1 submitted: its instance id (waiting for the core enterprise)."""
    applicant = identity.principal_for("app1")
    row = applications.create_application(applicant, order_application("500000.00", "700000.00", number))
    return applications.submit(applicant, row.id).instance_id


@pytest.fixture
def deal(app, client, runner, admin_token):
    deploy_shipped(app, runner)
    with app.app_context():
        seed_parties()
        instance_id = _submitted()
        tokens = {u: {"Authorization": f"Bearer {identity.issue_token(u)}"} for u in ("rev1", "app1", "signer1")}
        db.session.commit()
        db.session.remove()
    for user in ("rev1", "app1"):
        set_password(app, user)
    confirm = _ready(client, tokens["signer1"], instance_id)
    assert client.post(f"{API}/tasks/{confirm['id']}/complete", headers=tokens["signer1"], json={"data": {
        "decision": "confirm", "confirmed_amount": "700000.00", "due_date": "2027-05-31",
        "collection_account": ACCOUNT}}).status_code == 200
    first = _ready(client, tokens["rev1"], instance_id)
    assert client.post(f"{API}/tasks/{first['id']}/complete", headers=tokens["rev1"], json={"data": {
        "decision": "return", "approved_amount": "450000", "reason": "Attach invoice 42", "notes": INTERNAL_NOTE}}
    ).status_code == 200
    supplement = _ready(client, tokens["app1"], instance_id)
    return {"instance": {"id": instance_id}, "supplement": supplement, "tokens": tokens}


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
    for secret in ("450000", "450,000", INTERNAL_NOTE, "Reviewer Wang", "rev1", "approved_amount", ACCOUNT,
                   "First review", "批准金额", "Approved amount", "审批意见", "内部审批说明"):
        assert secret not in page, secret
    key = _section(page, "key-data")
    assert ("申请金额" if language == "zh-CN" else "Amount applied for") in key
    assert "500,000.00" in key
    parties = _section(page, "parties")
    assert "Pearl River Bank" in parties and "Lotus Trading" in parties and "BANK1" not in parties
    history = _section(page, "history")
    assert "初审" not in history and "First review" not in history
    assert ("补充材料" if language == "zh-CN" else "Provide more information") in history
    assert not re.search(r"·\s*(task_ready|task_completed|started)\b", _visible(history))  # kinds by name
    assert ("流程已发起" if language == "zh-CN" else "Process started") in history


def test_the_funder_sees_the_borrowers_answer_and_its_own_decision(client, deal):
    sign_in(client, "app1")
    page = client.get(f"/tasks/{deal['supplement']['id']}").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    done = client.post(f"/tasks/{deal['supplement']['id']}", data={"csrf_token": csrf,
                                                                    "response": "Invoice 42 attached"})
    assert done.status_code == 302
    client.post("/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"',
                                                         client.get("/").text).group(1)})
    sign_in(client, "rev1")
    again = _ready(client, deal["tokens"]["rev1"], deal["instance"]["id"])
    page = client.get(f"/tasks/{again['id']}", headers={"Accept-Language": "zh-CN"}).text
    earlier = page[page.index('id="earlier-tasks"'):].split("</section>")[0]  # every earlier task
    assert "Invoice 42 attached" in page and "Applicant Li" in page  # the submission is for the funder
    assert INTERNAL_NOTE in page and "退回补充材料" in earlier  # its own decision, the choice by its label
    assert ">return<" not in earlier and "return" not in _visible(earlier)
    # amounts as money in the reader's format: the core enterprise's confirmation and the first review's
    assert "¥700,000.00" in earlier and "¥450,000.00" in earlier and "700000.00" not in earlier


def test_the_api_task_of_the_borrower_carries_no_funder_data(client, deal):
    detail = client.get(f"{API}/tasks/{deal['supplement']['id']}", headers=deal["tokens"]["app1"]).json
    assert detail["lane"] == "applicant"
    assert INTERNAL_NOTE not in str(detail.get("data"))


def test_the_api_gives_the_borrower_the_same_part_and_the_funder_all(client, deal):
    instance_id = deal["instance"]["id"]
    borrower, funder = deal["tokens"]["app1"], deal["tokens"]["rev1"]
    seen = client.get(f"{API}/process-instances/{instance_id}", headers=borrower).json
    assert seen["data"]["amount"] == "500000.00"
    assert not {"decision", "confirmed_amount", "collection_account"} & set(seen["data"])  # the core's answer
    listed = client.get(f"{API}/process-instances", headers=borrower).json["items"]
    assert [i["data"] for i in listed if i["id"] == instance_id] == [seen["data"]]
    events = client.get(f"{API}/process-instances/{instance_id}/events", headers=borrower).json
    assert not {"first_review", "confirm_receivable"} & {e["element_id"] for e in events["items"]}
    assert INTERNAL_NOTE not in str(events) and "rev1" not in str(events)
    assert events["total"] == len(events["items"])  # the total counts what the reader gets
    assert {"started", "task_ready"} <= {e["kind"] for e in events["items"]}
    full = client.get(f"{API}/process-instances/{instance_id}", headers=funder).json
    assert full["data"]["collection_account"] == ACCOUNT and full["data"]["decision"] == "confirm"
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


def test_a_borrowers_list_costs_the_same_queries_for_one_deal_or_many(app, client, deal):
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
    with app.app_context():
        for n in range(3):
            _submitted(f"PO-N{n}")
        db.session.remove()
    listed = client.get(f"{API}/process-instances", headers=borrower).json["items"]
    assert len(listed) == 4
    assert statements() == one
