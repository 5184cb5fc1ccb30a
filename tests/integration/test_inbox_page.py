"""The inbox page tells people what to do: priorities in words, who holds a task, where work waits,
release from the task page, four-eyes before a claim, the done and team views."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, ProcessInstance
from app.services.errors import Conflict
from app.services.identity import accounts
from app.services.identity import directory as identity
from app.services.ledger import loans
from app.services.workflow import inbox, tasks
from tests.integration.ledger_support import PRODUCT
from tests.integration.test_disbursement_stage import reader
from tests.integration.test_identity import set_password, sign_in

API = "/api/v1"
EN, ZH = {"Accept-Language": "en"}, {"Accept-Language": "zh-CN"}


@pytest.fixture
def deal(app, client, auth, deploy):
    """A review_with_form deal at BANK1 for TRADER: first review (priority 2) ready; its second
    review is `separateFrom: first_review`. `both` holds both reviewer roles."""
    deploy("review_with_form.bpmn")
    with app.app_context():
        identity.create_org("BANK1", ["funder"], "Bank One")
        identity.create_org("TRADER", ["borrower"], "Trader Co")
        for user, roles, name in (("both", ["first_reviewer", "second_reviewer"], "Bo Th"),
                                  ("sec", ["second_reviewer"], None), ("lead", ["team_lead"], None),
                                  ("fin", ["finance"], None)):
            identity.create_user(user, "BANK1", roles, display_name=name)
        db.session.remove()
    for user in ("both", "sec", "lead", "fin"):
        set_password(app, user)
    started = client.post(f"{API}/process-instances", headers=auth, json={
        "process_id": "review_with_form", "business_key": "K-REVIEW",
        "parties": {"funder": "BANK1", "borrower": "TRADER"}, "data": {"amount": "2500000"}})  # as the application processes hold it
    assert started.status_code == 201, started.json
    return started.json["id"]


def _task(app, instance_id: int, element_id: str) -> int:
    with app.app_context():
        found = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                             HumanTask.element_id == element_id))
        db.session.remove()
    return found


def _csrf(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)


def _rows(page: str) -> dict[str, str]:
    """The inbox's rows: task id -> the row's text."""
    return {m.group(1): re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(2))).strip()
            for m in re.finditer(r'<tr class="[^"]*" data-task-id="(\d+)">(.*?)</tr>', page, re.S)}


def test_priority_in_words_and_who_holds_the_task(client, app, deal):
    task = _task(app, deal, "first_review")
    sign_in(client, "both")
    assert client.post(f"/tasks/{task}/claim", data={"csrf_token": _csrf(client)}).status_code == 302
    row = _rows(client.get("/", headers=EN).text)[str(task)]
    assert "High" in row and "Bo Th" in row
    zh = client.get("/", headers=ZH).text
    assert re.search(r'class="priority priority-2">高</td>', zh)
    assert not re.search(r'class="priority[^"]*">\s*2\s*</td>', zh)  # never the bare number


def test_an_empty_my_tasks_says_what_waits_in_the_group_and_links_there(client, app, deal):
    sign_in(client, "both")
    en = client.get("/", headers=EN).text
    waiting = re.search(r'<p class="empty" id="waiting-elsewhere">(.*?)</p>', en, re.S).group(1)
    assert "1 task(s) wait in your group" in waiting and 'href="/?view=group"' in waiting
    assert "Nothing here." not in en
    assert "您所在组有 1 个任务待领取" in client.get("/", headers=ZH).text
    client.post("/logout", data={"csrf_token": _csrf(client)})
    sign_in(client, "fin")  # nothing offered to finance: nothing waits
    page = client.get("/", headers=EN).text
    assert "Nothing here." in page and "waiting-elsewhere" not in page


def test_the_claimer_releases_a_task_from_its_page(client, app, deal):
    task = _task(app, deal, "first_review")
    sign_in(client, "both")
    assert 'id="release-form"' not in client.get(f"/tasks/{task}").text  # not claimed yet
    client.post(f"/tasks/{task}/claim", data={"csrf_token": _csrf(client)})
    page = client.get(f"/tasks/{task}", headers=EN).text
    form = re.search(r'<form[^>]*id="release-form".*?</form>', page, re.S).group(0)
    assert f'action="/tasks/{task}/unclaim"' in form
    assert client.post(f"/tasks/{task}/unclaim", data={"csrf_token": _csrf(client)}).status_code == 302
    with app.app_context():
        assert (db.session.get(HumanTask, task).state, db.session.get(HumanTask, task).claimed_by_id) == ("ready",
                                                                                                          None)
        db.session.remove()
    client.post(f"/tasks/{task}/claim", data={"csrf_token": _csrf(client)})
    client.post("/logout", data={"csrf_token": _csrf(client)})
    sign_in(client, "lead")  # sees the task, is not its claimer: no release button
    assert 'id="release-form"' not in client.get(f"/tasks/{task}").text


def _first_review_done_by_both(client, app, deal) -> None:
    task = _task(app, deal, "first_review")
    sign_in(client, "both")
    csrf = _csrf(client)
    client.post(f"/tasks/{task}/claim", data={"csrf_token": csrf})
    done = client.post(f"/tasks/{task}", data={"csrf_token": csrf, "decision": "approve", "limit": "100"})
    assert done.status_code == 302, done.text


def test_four_eyes_keeps_a_task_from_whoever_did_the_step_before_it(client, app, deal):
    _first_review_done_by_both(client, app, deal)
    second, legal = _task(app, deal, "second_review"), _task(app, deal, "legal_check")
    page = client.get("/", query_string={"view": "group"}, headers=EN).text
    assert set(_rows(page)) == {str(legal)}  # second review is not offered to the first reviewer
    assert re.search(r'id="count-group">1<', page)
    task_page = client.get(f"/tasks/{second}", headers=ZH).text
    assert 'id="four-eyes"' in task_page and 'id="task-form"' not in task_page
    assert "此任务须由其他人处理" in task_page
    refused = client.post(f"/tasks/{second}/claim", data={"csrf_token": _csrf(client)}, headers=ZH)
    assert refused.status_code == 403 and "此任务须由其他人处理" in refused.text
    with app.app_context():
        assert db.session.get(HumanTask, second).state == "ready"
        db.session.remove()
    client.post("/logout", data={"csrf_token": _csrf(client)})
    sign_in(client, "sec")  # someone else: both are offered, and the claim goes through
    assert set(_rows(client.get("/", query_string={"view": "group"}).text)) == {str(second), str(legal)}
    assert client.post(f"/tasks/{second}/claim", data={"csrf_token": _csrf(client)}).status_code == 302


def test_done_by_me_lists_what_the_user_completed_newest_first(client, app, deal):
    _first_review_done_by_both(client, app, deal)
    first = _task(app, deal, "first_review")
    legal = _task(app, deal, "legal_check")
    csrf = _csrf(client)
    client.post(f"/tasks/{legal}/claim", data={"csrf_token": csrf})
    assert client.post(f"/tasks/{legal}", data={"csrf_token": csrf}).status_code == 302
    page = client.get("/", query_string={"view": "done"}, headers=EN).text
    assert list(_rows(page)) == [str(legal), str(first)]  # newest first
    assert re.search(r'id="count-done">2<', page) and "Done " in _rows(page)[str(first)]
    assert 'id="count-team"' not in page  # no team view for a reviewer
    client.post("/logout", data={"csrf_token": _csrf(client)})
    sign_in(client, "sec")
    assert _rows(client.get("/", query_string={"view": "done"}).text) == {}  # only one's own


def test_a_done_task_is_overdue_only_if_it_was_completed_after_its_due_time(client, app, auth, deal, clock):
    def start(key: str) -> int:
        started = client.post(f"{API}/process-instances", headers=auth, json={
            "process_id": "review_with_form", "business_key": key, "parties": {"funder": "BANK1", "borrower": "TRADER"}})
        assert started.status_code == 201, started.json
        return started.json["id"]

    on_time, late, still_open = deal, start("K-LATE"), start("K-OPEN")
    _first_review_done_by_both(client, app, on_time)  # done at once; due in two days
    clock.advance(days=3)
    sign_in(client, "both")  # the session of three days ago has expired
    csrf = _csrf(client)
    task = _task(app, late, "first_review")
    client.post(f"/tasks/{task}/claim", data={"csrf_token": csrf})
    assert client.post(f"/tasks/{task}", data={"csrf_token": csrf, "decision": "approve", "limit": "1"}).status_code == 302
    read = reader(app, "both")
    for language, word in (("en", "overdue"), ("zh-CN", "已逾期")):
        done = read("/?view=done", language)
        rows = _rows(done)
        assert word not in rows[str(_task(app, on_time, "first_review"))]  # completed before it was due
        assert word in rows[str(task)]  # completed a day after it was due
        assert re.search(rf'<tr class="overdue" data-task-id="{task}">', done)
        assert not re.search(rf'<tr class="overdue" data-task-id="{_task(app, on_time, "first_review")}">', done)
        assert word in _rows(read("/?view=group", language))[str(_task(app, still_open, "first_review"))]  # open, past due


def test_a_team_lead_sees_the_teams_open_tasks_and_assigns_from_the_list(client, app, deal):
    _first_review_done_by_both(client, app, deal)
    second, legal = _task(app, deal, "second_review"), _task(app, deal, "legal_check")
    client.post(f"/tasks/{legal}/claim", data={"csrf_token": _csrf(client)})
    client.post("/logout", data={"csrf_token": _csrf(client)})
    sign_in(client, "lead")
    page = client.get("/", query_string={"view": "team"}, headers=EN).text
    rows = _rows(page)
    assert set(rows) == {str(second), str(legal)} and "Bo Th" in rows[str(legal)]
    assert re.search(r'id="count-team">2<', page)
    form = re.search(rf'<form[^>]*action="/tasks/{second}/assign".*?</form>', page, re.S).group(0)
    assert re.findall(r'<option value="([^"]+)"', form) == ["sec"]  # not "both", who did the first review
    legal_form = re.search(rf'<form[^>]*action="/tasks/{legal}/assign".*?</form>', page, re.S).group(0)
    assert re.findall(r'<option value="([^"]+)"', legal_form) == ["both", "sec"]  # the same lane, no four-eyes
    assert 'name="next" value="/?view=team"' in form
    done = client.post(f"/tasks/{second}/assign", data={"csrf_token": _csrf(client), "username": "sec",
                                                         "next": "/?view=team"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/?view=team")
    with app.app_context():
        task = db.session.get(HumanTask, second)
        assert task.state == "claimed"
        db.session.remove()
    client.post("/logout", data={"csrf_token": _csrf(client)})
    sign_in(client, "sec")  # no team view for a reviewer: the tab is absent and the view empty
    page = client.get("/", query_string={"view": "team"}).text
    assert 'id="count-team"' not in page and _rows(page) == {}


def test_rows_show_the_borrower_product_and_amount(client, app, deal):
    with app.app_context():
        loans.create_product({**PRODUCT, "name": "Trade finance", "application_process": "review_with_form"})
        db.session.commit()
        db.session.remove()
    task = _task(app, deal, "first_review")
    sign_in(client, "both")
    row = _rows(client.get("/", query_string={"view": "group"}, headers=EN).text)[str(task)]
    assert "Trader Co" in row and "Trade finance" in row and "¥2,500,000.00" in row
    assert "Review with a form" in row and "review_with_form" not in row  # the process by its name
    assert "¥2,500,000.00" in _rows(client.get("/", query_string={"view": "group"}, headers=ZH).text)[str(task)]


def test_the_amount_a_task_names_is_read_as_the_viewers_party_may(client, app, deal):
    _first_review_done_by_both(client, app, deal)  # the funder's reviewer wrote `limit`
    with app.app_context():
        identity.create_user("applicant1", "TRADER", ["applicant"])
        db.session.commit()
        data = db.session.get(ProcessInstance, deal).data
        task = SimpleNamespace(id=1, instance_id=deal, properties={"amountField": "limit"}, shown=None)
        row = (task, "K-REVIEW", "review_with_form", 1, None, None, None, data)
        assert str(inbox._deals(identity.principal_for("both"), [row])[1]["amount"]) == "100"
        borrower = inbox._deals(identity.principal_for("applicant1"), [row])[1]
        assert borrower == {"borrower": "Trader Co", "product": None, "amount": None}  # the funder's field: not shown
        db.session.remove()


def test_four_eyes_also_holds_when_a_lead_assigns(client, app, deal):
    _first_review_done_by_both(client, app, deal)
    second = _task(app, deal, "second_review")
    client.post("/logout", data={"csrf_token": _csrf(client)})
    sign_in(client, "lead")
    page = client.get(f"/tasks/{second}").text
    form = re.search(r'<form[^>]*id="assign-form".*?</form>', page, re.S).group(0)
    assert re.findall(r'<option value="([^"]+)"', form) == ["sec"]  # not whoever did the first review
    refused = client.post(f"/tasks/{second}/assign", data={"csrf_token": _csrf(client), "username": "both"},
                          headers=ZH, follow_redirects=True)
    assert "此人已完成本笔业务中需要双人复核的前一步骤" in refused.text
    with app.app_context():
        assert db.session.get(HumanTask, second).state == "ready"
        db.session.remove()


def _bearer(app, username: str) -> dict[str, str]:
    with app.app_context():
        token = identity.issue_token(username)
        db.session.remove()
    return {"Authorization": f"Bearer {token}"}


def test_the_page_header_names_the_user_by_their_display_name(client, app, deal):
    sign_in(client, "both")
    assert re.findall(r'<span class="who">([^<]*)</span>', client.get("/").text) == ["Bo Th"]
    client.post("/logout", data={"csrf_token": _csrf(client)})
    sign_in(client, "sec")  # no display name: the user name
    assert re.findall(r'<span class="who">([^<]*)</span>', client.get("/").text) == ["sec"]


def test_four_eyes_holds_when_a_lead_assigns_from_the_team_view_or_the_api(client, app, deal):
    _first_review_done_by_both(client, app, deal)
    second = _task(app, deal, "second_review")
    client.post("/logout", data={"csrf_token": _csrf(client)})
    sign_in(client, "lead")
    refused = client.post(f"/tasks/{second}/assign", headers=ZH, follow_redirects=True, data={
        "csrf_token": _csrf(client), "username": "both", "next": "/?view=team"})
    assert "此人已完成本笔业务中需要双人复核的前一步骤" in refused.text and 'id="count-team"' in refused.text
    lead = _bearer(app, "lead")
    for headers, said in ((ZH, "此人已完成本笔业务中需要双人复核的前一步骤：请选择其他人。"),
                          (EN, "This person did an earlier step of this deal that needs a second person: "
                               "choose someone else.")):
        r = client.post(f"{API}/tasks/{second}/assign", json={"username": "both"}, headers={**lead, **headers})
        assert r.status_code == 422 and r.json["error"]["code"] == "four_eyes_assignee"
        assert r.json["error"]["message"] == said and r.json["error"]["fields"] == {"username": [said]}
    with app.app_context():  # no Accept-Language: the token's account's language
        accounts.set_locale(identity.principal_for("lead").id, "en")
        db.session.commit()
        db.session.remove()
    r = client.post(f"{API}/tasks/{second}/assign", json={"username": "both"}, headers=lead)
    assert r.json["error"]["message"].startswith("This person did an earlier step")
    with app.app_context():
        assert db.session.get(HumanTask, second).state == "ready"
        db.session.remove()


def test_refusals_reach_a_chinese_reader_in_chinese(client, app, deal):
    with app.app_context():
        identity.create_user("rev", "BANK1", ["first_reviewer"])
        db.session.remove()
    first = _task(app, deal, "first_review")
    both, rev = _bearer(app, "both"), _bearer(app, "rev")
    assert client.post(f"{API}/tasks/{first}/claim", headers=both).status_code == 200
    taken = client.post(f"{API}/tasks/{first}/claim", headers={**rev, **ZH})
    assert taken.status_code == 409 and taken.json["error"] == {"code": "task_claimed",
                                                                "message": "其他人正在处理此任务。"}
    taken_en = client.post(f"{API}/tasks/{first}/claim", headers={**rev, **EN})
    assert taken_en.json["error"]["message"] == "Someone else is working on this task."
    wrong = client.post(f"{API}/tasks/{first}/complete", json={"data": {"decision": "maybe", "limit": 1}},
                        headers={**both, **ZH})
    assert wrong.status_code == 422 and wrong.json["error"]["code"] == "form_invalid"
    assert wrong.json["error"]["message"] == "表单有误：请查看各字段。"
    assert list(wrong.json["error"]["fields"]) == ["decision"]
    assert not re.search(r"[A-Za-z]{3,}", wrong.json["error"]["fields"]["decision"][0].replace("approve", "")
                         .replace("reject", ""))  # the rule in Chinese, the choices as the form names them
    sign_in(client, "both")  # a Chinese session: the page says the same
    page = client.post(f"/tasks/{first}", headers=ZH, data={"csrf_token": _csrf(client), "decision": "approve"})
    assert page.status_code == 422 and "此项必填" in page.text
    assert client.post(f"{API}/tasks/{first}/complete", headers=both,
                       json={"data": {"decision": "approve", "limit": 100}}).status_code == 200
    second = _task(app, deal, "second_review")
    refused = client.post(f"{API}/tasks/{second}/claim", headers={**both, **ZH})
    assert refused.status_code == 403 and refused.json["error"] == {
        "code": "four_eyes", "message": "您已完成本笔业务中需要双人复核的前一步骤：此任务须由其他人处理。"}
    missing = client.get("/tasks/999999", headers=ZH)  # a service's 404 on a page: its detail in Chinese too
    assert missing.status_code == 404 and "没有此任务，或您无权查看。" in missing.text


def test_outside_a_request_a_refusal_reads_in_english(app, deal):
    """The command line and the worker have no reader: the services' messages stay English there."""
    with app.app_context():
        first = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == deal,
                                                             HumanTask.element_id == "first_review"))
        tasks.claim_task(first, identity.principal_for("both"))
        identity.create_user("rev", "BANK1", ["first_reviewer"])
        with pytest.raises(Conflict) as refused:
            tasks.claim_task(first, identity.principal_for("rev"))
        db.session.remove()
    assert refused.value.message == "Someone else is working on this task." and refused.value.translated
