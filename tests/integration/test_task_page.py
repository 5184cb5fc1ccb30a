"""The task page: key data formatted by locale (money in CNY, dates), and a team lead's assignment."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, User
from app.services.identity import directory as identity
from app.services.workflow.forms import display_kinds
from tests.integration.test_identity import set_password, sign_in

API = "/api/v1"


@pytest.fixture
def task_id(app, client, auth, deploy):
    deploy("terms_check.bpmn")
    with app.app_context():
        identity.create_org("BANK1", ["funder"], "Bank One")
        identity.create_org("BANK2", ["funder"], "Bank Two")
        identity.create_org("TRADER", ["borrower"], "Trader Co")
        for user, org, roles in (("lead1", "BANK1", ["team_lead"]), ("rev1", "BANK1", ["first_reviewer"]),
                                 ("rev1b", "BANK1", ["first_reviewer"]), ("sec1", "BANK1", ["second_reviewer"]),
                                 ("lead2", "BANK2", ["team_lead"]), ("rev2", "BANK2", ["first_reviewer"])):
            identity.create_user(user, org, roles, display_name="Reviewer Bo" if user == "rev1b" else None)
        db.session.remove()
    for user in ("lead1", "rev1", "lead2"):
        set_password(app, user)
    started = client.post(f"{API}/process-instances", headers=auth, json={
        "process_id": "terms_check", "business_key": "K-TERMS", "parties": {"funder": "BANK1", "borrower": "TRADER"},
        "data": {"agreed_amount": "1234567.8", "first_due": "2026-12-10", "purpose": "1234567.8",
                 "items": [{"invoice_amount": "500"}]}})
    assert started.status_code == 201, started.json
    with app.app_context():
        found = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == started.json["id"]))
        db.session.remove()
    return found


def _key_data(page_text: str) -> dict[str, str]:
    block = re.search(r'<dl class="data" id="key-data">(.*?)</dl>', page_text, re.S).group(1)
    return {k: re.sub(r"<[^>]+>", "", v).strip()
            for k, v in re.findall(r'<dd data-field="([^"]+)">(.*?)</dd>', block, re.S)}


def test_money_and_dates_in_the_key_data_follow_the_language(client, task_id):
    sign_in(client, "rev1")
    zh = _key_data(client.get(f"/tasks/{task_id}", headers={"Accept-Language": "zh-CN"}).text)
    assert zh["agreed_amount"] == "¥1,234,567.80"
    assert zh["first_due"] == "2026-12-10"  # dates read one way in both languages
    assert zh["purpose"] == "1234567.8"  # no form shows it as money: as stored
    en = _key_data(client.get(f"/tasks/{task_id}", headers={"Accept-Language": "en"}).text)
    assert en["agreed_amount"] == "¥1,234,567.80"
    assert en["first_due"] == "2026-12-10"


def test_display_kinds_come_from_the_forms_nested_fields_included():
    schema = {"properties": {"when": {"type": "string", "format": "date"}, "n": {"type": "integer"}}}
    ui = {"amount": {"ui:widget": "money"}, "rows": {"items": {"fee": {"ui:widget": "money"}}},
          "signed_on": {"ui:widget": "date"}}
    assert display_kinds([schema, ui]) == {"when": "date", "amount": "money", "fee": "money", "signed_on": "date"}
    assert display_kinds([]) == {}


def test_a_team_lead_assigns_from_the_task_page(client, app, task_id):
    sign_in(client, "lead1")
    page = client.get(f"/tasks/{task_id}", headers={"Accept-Language": "en"}).text
    assert 'id="task-form"' not in page  # a lead follows the task; the reviewers work it
    assert "waits for someone with the role First reviewer" in page  # the role by its name
    form = re.search(r'<form[^>]*id="assign-form".*?</form>', page, re.S).group(0)
    options = re.findall(r'<option value="([^"]+)"', form)
    assert options == ["rev1", "rev1b"]  # holders of the lane's role at the deal's funder only
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    done = client.post(f"/tasks/{task_id}/assign", data={"csrf_token": csrf, "username": "rev1b"})
    assert done.status_code == 302
    with app.app_context():
        task = db.session.get(HumanTask, task_id)
        assignee = db.session.scalar(select(User.username).where(User.id == task.claimed_by_id))
        assert (task.state, assignee) == ("claimed", "rev1b")
        db.session.remove()
    after = client.get(f"/tasks/{task_id}", headers={"Accept-Language": "en"}).text
    assert 'value="rev1b" selected' in after and "Reviewer Bo is working on this task." in after  # by name


def test_assigning_someone_not_eligible_is_refused_and_changes_nothing(client, app, task_id):
    sign_in(client, "lead1")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get(f"/tasks/{task_id}").text).group(1)
    refused = client.post(f"/tasks/{task_id}/assign", data={"csrf_token": csrf, "username": "sec1"},
                          follow_redirects=True, headers={"Accept-Language": "en"})
    assert "No active user of that name may work this task." in refused.text
    refused = client.post(f"/tasks/{task_id}/assign", data={"csrf_token": csrf, "username": "sec1"},
                          follow_redirects=True, headers={"Accept-Language": "zh-CN"})
    assert "没有该用户名的有效用户可以处理此任务。" in refused.text
    with app.app_context():
        assert db.session.get(HumanTask, task_id).state == "ready"
        db.session.remove()


def test_no_assign_form_for_a_reviewer_and_none_across_organisations(client, task_id):
    sign_in(client, "rev1")
    page = client.get(f"/tasks/{task_id}").text
    assert 'id="assign-form"' not in page and 'id="task-form"' in page  # offered to rev1: the form
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302
    sign_in(client, "lead2")
    assert client.get(f"/tasks/{task_id}").status_code == 404
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)
    assert client.post(f"/tasks/{task_id}/assign", data={"csrf_token": csrf, "username": "rev1"}).status_code == 404


def test_an_inbox_page_past_the_end_is_an_empty_page_not_an_overflow(client, task_id):
    sign_in(client, "rev1")
    for page in ("2", str(10 ** 20), "-3", "x"):
        assert client.get("/", query_string={"page": page}).status_code == 200


def test_a_money_input_says_which_format_it_wants(client, task_id):
    sign_in(client, "rev1")
    zh = client.get(f"/tasks/{task_id}", headers={"Accept-Language": "zh-CN"}).text
    hint = re.search(r'<small id="f-([^"]+)-format" class="format">([^<]+)</small>', zh)
    assert hint is not None and "1,000,000.00" in hint.group(2)
    assert f'aria-describedby="f-{hint.group(1)}-format"' in zh


def test_a_form_says_every_wrong_field_at_once(client, app, task_id):
    """An amount the page could not read was said alone: the form's own checks of the other fields came after."""
    sign_in(client, "rev1")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get(f"/tasks/{task_id}").text).group(1)
    wrong = client.post(f"/tasks/{task_id}", data={"csrf_token": csrf, "agreed_amount": "abc",
                                                   "first_due": "2026-13-45"}, headers={"Accept-Language": "en"})
    assert wrong.status_code == 422
    said = {chunk.split('"')[0]: found.group(1) for chunk in wrong.text.split('data-field="')[1:]
            if (found := re.search(r'class="field-error"[^>]*>([^<]+)<', chunk))}
    assert said == {"agreed_amount": "Write the amount like 1,000,000.00 (commas optional, at most two decimals).",
                    "first_due": "Must be a date written as YYYY-MM-DD."}
    with app.app_context():
        assert db.session.get(HumanTask, task_id).state in ("ready", "claimed")
        db.session.remove()
