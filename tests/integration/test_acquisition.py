"""Acquisition (processes/acquisition.bpmn): a channel posts a lead with its API key, an operator
qualifies or drops it in the inbox, a qualified lead's borrower is registered and invited by SMS and
e-mail, the invited user sets a password with the link and signs in; the channel reads the outcome.
Duplicates by credit code or ID number; a wrong key, another channel's lead, a repeated reference.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import HumanTask, Lead, Notification, Organisation, ProcessInstance, User
from app.services.identity import directory as identity
from app.services.notices import sending
from app.services.origination import leads, products
from handlers.identifiers import make_credit_code, make_id_number
from tests.conftest import ROOT
from tests.integration.ledger_support import PRODUCT

CREDIT_CODE = make_credit_code("91310000MA1234567")
OTHER_CODE = make_credit_code("91310000MA7654321")
ID_NUMBER = make_id_number("11010519491231002")
PASSWORD = "Violet-meadow-river-88"


@pytest.fixture
def acquisition(app, runner):
    """The acquisition diagram deployed, an operator with a token, two channels with their keys."""
    forms_dir, app.config["FORMS_DIR"] = app.config["FORMS_DIR"], str(ROOT / "forms")
    try:
        deployed = runner.invoke(args=["processes", "deploy", str(ROOT / "processes" / "acquisition.bpmn")])
        assert deployed.exit_code == 0, deployed.output
    finally:
        app.config["FORMS_DIR"] = forms_dir  # the app outlives the test
    with app.app_context():
        identity.ensure_platform_admin()
        identity.create_user("op1", "PLATFORM", ["operator"])
        products.create_product(None, {**{k: v for k, v in PRODUCT.items() if k != "code"}, "code": "CREDIT-LOAN",
                                       "name": "Credit loan", "kind": "credit_loan"})
        keys = {code: leads.register_channel(code, f"Marketplace {code}")[1] for code in ("MKT1", "MKT2")}
        token = identity.issue_token("op1")
        db.session.commit()
        db.session.remove()
    return {"op": {"Authorization": f"Bearer {token}"}, "MKT1": {"X-Channel-Key": keys["MKT1"]},
            "MKT2": {"X-Channel-Key": keys["MKT2"]}}


def lead_data(**changes: object) -> dict:
    return {"company_name": "Lotus Trading Co., Ltd.", "credit_code": CREDIT_CODE, "contact_name": "Wang Fang",
            "mobile": "13800138000", "email": "wang.fang@lotus.example", "product_code": "CREDIT-LOAN",
            "amount": "500000.00", "external_ref": "MKT-REF-1", **changes}


def qualify_task(app, number: str) -> int:
    with app.app_context():
        task_id = db.session.scalar(
            select(HumanTask.id).join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
            .where(ProcessInstance.business_key == number, HumanTask.state.in_(("ready", "claimed"))))
        db.session.remove()
    assert task_id is not None, f"no open task for {number}"
    return task_id


def decide(app, client, headers, number: str, answer: dict) -> None:
    task_id = qualify_task(app, number)
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=headers).status_code == 200
    r = client.post(f"/api/v1/tasks/{task_id}/complete", headers=headers, json={"data": answer})
    assert r.status_code == 200, r.json


def test_a_channels_lead_qualified_registers_the_borrower_who_sets_a_password_and_signs_in(app, client, acquisition):
    r = client.post("/api/v1/leads", headers=acquisition["MKT1"], json=lead_data())
    assert r.status_code == 201, r.json
    lead = r.json
    assert re.fullmatch(r"LEAD-\d{4}-0001", lead["number"]) and lead["status"] == "new"
    assert "company_name" not in lead and "mobile" not in lead  # the channel's view: number, status, reason

    listed = client.get("/api/v1/leads", headers=acquisition["op"]).json
    assert [i["number"] for i in listed["items"]] == [lead["number"]]
    assert listed["items"][0]["duplicate"] is False and listed["items"][0]["channel"] == "MKT1"

    decide(app, client, acquisition["op"], lead["number"], {"decision": "qualify", "notes": "good prospect"})

    seen = client.get(f"/api/v1/leads/{lead['id']}", headers=acquisition["MKT1"]).json
    assert seen["status"] == "registered" and seen["reason"] is None and "notes" not in seen
    with app.app_context():
        org = db.session.scalar(select(Organisation).where(Organisation.credit_code == CREDIT_CODE))
        assert org is not None and org.name == "Lotus Trading Co., Ltd." and org.kind_codes == ["borrower"]
        [user] = db.session.scalars(select(User).where(User.org_id == org.id))
        assert (user.mobile, user.email, user.display_name) == ("13800138000", "wang.fang@lotus.example", "Wang Fang")
        assert user.password_hash is None
        principal = identity.principal_for(user.username)
        assert principal.roles == frozenset({"applicant"})
        def invitations() -> dict:
            return {n.channel: n for n in db.session.scalars(select(Notification).where(
                Notification.template == "lead_invitation", Notification.business_key == lead["number"]))}

        assert {c: n.status for c, n in invitations().items()} == {"sms": "queued", "email": "queued"}
        assert sending.deliver_queued() == 2  # the worker hands them to the provider after the step committed
        sent = invitations()
        assert sent["sms"].recipient == "13800138000" and sent["email"].recipient == "wang.fang@lotus.example"
        assert sent["sms"].status == "sent" and sent["sms"].provider_message_id and user.username in sent["sms"].body
        link = sent["email"].params["link"]
        assert link in sent["email"].body
        username = user.username
        assert db.session.get(Lead, lead["id"]).org_id == org.id
        db.session.remove()

    token = link.rsplit("/invite/", 1)[1]
    page = client.get(f"/invite/{token}")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = client.post(f"/invite/{token}", data={"csrf_token": csrf, "password": PASSWORD, "confirm": PASSWORD})
    assert done.status_code == 302, done.text
    client.post("/logout", data={"csrf_token": csrf})
    other = app.test_client()
    login = other.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
    signed_in = other.post("/login", data={"csrf_token": csrf, "username": username, "password": PASSWORD})
    assert signed_in.status_code == 302
    assert other.get("/").status_code == 200
    assert client.get(f"/invite/{token}").status_code == 404  # the link is spent


def test_a_dropped_lead_tells_the_channel_why_and_registers_no_one(app, client, acquisition):
    lead = client.post("/api/v1/leads", headers=acquisition["MKT1"], json=lead_data()).json
    task_id = qualify_task(app, lead["number"])
    client.post(f"/api/v1/tasks/{task_id}/claim", headers=acquisition["op"])
    refused = client.post(f"/api/v1/tasks/{task_id}/complete", headers=acquisition["op"],
                          json={"data": {"decision": "drop"}})
    assert refused.status_code == 422 and "reason" in refused.json["error"]["fields"]

    decide(app, client, acquisition["op"], lead["number"],
           {"decision": "drop", "reason": "Outside our regions", "notes": "internal: not worth a call"})
    seen = client.get(f"/api/v1/leads/{lead['id']}", headers=acquisition["MKT1"]).json
    assert (seen["status"], seen["reason"]) == ("dropped", "Outside our regions")
    assert "not worth" not in str(seen)
    with app.app_context():
        assert db.session.scalar(select(Organisation).where(Organisation.credit_code == CREDIT_CODE)) is None
        assert db.session.scalar(select(Notification.id).where(Notification.business_key == lead["number"])) is None
        db.session.remove()


def test_a_repeated_credit_code_marks_the_lead_a_duplicate_of_the_first(app, client, acquisition):
    first = client.post("/api/v1/leads", headers=acquisition["MKT1"], json=lead_data()).json
    second = client.post("/api/v1/leads", headers=acquisition["MKT2"],
                         json=lead_data(external_ref="OTHER-7", company_name="Lotus Trading")).json
    fresh = client.post("/api/v1/leads", headers=acquisition["MKT2"],
                        json=lead_data(external_ref="OTHER-8", credit_code=OTHER_CODE)).json
    by_person = client.post("/api/v1/leads", headers=acquisition["op"],
                            json=lead_data(credit_code=None, id_number=ID_NUMBER)).json
    again_person = client.post("/api/v1/leads", headers=acquisition["op"],
                               json=lead_data(credit_code=None, id_number=ID_NUMBER.lower())).json
    op = acquisition["op"]
    detail = client.get(f"/api/v1/leads/{second['id']}", headers=op).json
    assert detail["duplicate"] is True and detail["duplicate_of"]["number"] == first["number"]
    assert client.get(f"/api/v1/leads/{first['id']}", headers=op).json["duplicate"] is False
    assert client.get(f"/api/v1/leads/{fresh['id']}", headers=op).json["duplicate"] is False
    assert by_person["duplicate"] is False and by_person["channel"] is None
    assert again_person["duplicate_of"]["id"] == by_person["id"]
    assert "duplicate" not in client.get(f"/api/v1/leads/{second['id']}", headers=acquisition["MKT2"]).json
    # the duplicate is the operator's to decide: its task page's key data says what it repeats
    _sign_in(client, "op1")
    task = client.get(f"/tasks/{qualify_task(app, second['number'])}", headers={"Accept-Language": "en"})
    assert task.status_code == 200 and "Possible duplicate of" in task.text and first["number"] in task.text
    fresh_task = client.get(f"/tasks/{qualify_task(app, fresh['number'])}", headers={"Accept-Language": "en"})
    assert first["number"] not in fresh_task.text


def test_a_lead_repeating_a_registered_organisation_is_marked_and_reuses_it(app, client, acquisition):
    with app.app_context():
        org = identity.create_org("BORR1", ["borrower"], "Lotus Trading")
        org.credit_code = CREDIT_CODE
        db.session.commit()
        db.session.remove()
    lead = client.post("/api/v1/leads", headers=acquisition["MKT1"], json=lead_data()).json
    detail = client.get(f"/api/v1/leads/{lead['id']}", headers=acquisition["op"]).json
    assert detail["duplicate"] is True and detail["registered_before"] is True
    assert detail["duplicate_of"] is None and detail["organisation"]["code"] == "BORR1"
    decide(app, client, acquisition["op"], lead["number"], {"decision": "qualify"})
    with app.app_context():
        assert [o.code for o in db.session.scalars(select(Organisation).where(
            Organisation.credit_code == CREDIT_CODE))] == ["BORR1"]
        assert db.session.get(Lead, lead["id"]).status == "registered"
        db.session.remove()


def test_a_wrong_channel_key_is_401_and_another_channels_lead_404(app, client, acquisition):
    assert client.post("/api/v1/leads", headers={"X-Channel-Key": "lfch_wrong"}, json=lead_data()).status_code == 401
    assert client.post("/api/v1/leads", headers={"X-Channel-Key": ""}, json=lead_data()).status_code == 401
    assert client.post("/api/v1/leads", json=lead_data()).status_code == 401
    lead = client.post("/api/v1/leads", headers=acquisition["MKT1"], json=lead_data()).json
    assert client.get(f"/api/v1/leads/{lead['id']}", headers=acquisition["MKT2"]).status_code == 404
    assert client.get(f"/api/v1/leads/{lead['id'] + 1}", headers=acquisition["MKT1"]).status_code == 404
    assert client.get(f"/api/v1/leads/{lead['id']}", headers={"X-Channel-Key": "lfch_wrong"}).status_code == 401
    assert client.get("/api/v1/leads", headers=acquisition["MKT1"]).status_code == 403
    with app.app_context():
        applicant_org = identity.create_org("BORR9", ["borrower"], "Someone")
        identity.create_user("app9", applicant_org.code, ["applicant"])
        other = {"Authorization": f"Bearer {identity.issue_token('app9')}"}
        db.session.remove()
    assert client.get(f"/api/v1/leads/{lead['id']}", headers=other).status_code == 403
    assert client.post("/api/v1/leads", headers=other, json=lead_data()).status_code == 403


def test_the_same_external_ref_twice_answers_the_first_lead(app, client, acquisition):
    first = client.post("/api/v1/leads", headers=acquisition["MKT1"], json=lead_data())
    again = client.post("/api/v1/leads", headers=acquisition["MKT1"], json=lead_data(contact_name="Someone else"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["id"] == first.json["id"] and again.json["number"] == first.json["number"]
    elsewhere = client.post("/api/v1/leads", headers=acquisition["MKT2"], json=lead_data())
    assert elsewhere.status_code == 201 and elsewhere.json["id"] != first.json["id"]
    with app.app_context():
        assert db.session.query(Lead).count() == 2
        assert db.session.query(ProcessInstance).filter(ProcessInstance.process_id == "acquisition").count() == 2
        db.session.remove()


@pytest.mark.parametrize(("changes", "field"), [
    ({"credit_code": CREDIT_CODE[:-1] + ("0" if CREDIT_CODE[-1] != "0" else "1")}, "credit_code"),
    ({"credit_code": None}, "credit_code"),
    ({"credit_code": None, "id_number": ID_NUMBER[:-1] + ("1" if ID_NUMBER[-1] != "1" else "2")}, "id_number"),
    ({"mobile": "12800138000"}, "mobile"),
    ({"email": "not-an-address"}, "email"),
    ({"product_code": "NO-SUCH"}, "product_code"),
    ({"amount": "0"}, "amount"),
    ({"company_name": "   "}, "company_name"),
])
def test_a_lead_with_a_wrong_field_is_refused_naming_it(app, client, acquisition, changes, field):
    r = client.post("/api/v1/leads", headers=acquisition["MKT1"], json=lead_data(**changes))
    assert r.status_code == 422 and field in r.json["error"]["fields"], r.json
    with app.app_context():
        assert db.session.query(Lead).count() == 0
        db.session.remove()


def test_a_wrong_lead_is_refused_in_the_callers_language(client, acquisition):
    wrong = lead_data(mobile="12800138000", email="not-an-address")
    english = client.post("/api/v1/leads", headers={**acquisition["MKT1"], "Accept-Language": "en"}, json=wrong)
    assert english.status_code == 422, english.json
    assert english.json["error"]["message"] == "Some of the lead's fields are missing or wrong."
    assert english.json["error"]["fields"] == {
        "mobile": ["Enter a mainland mobile number (11 digits starting with 1)."],
        "email": ["Enter a valid e-mail address, or leave it empty."]}
    chinese = client.post("/api/v1/leads", headers={**acquisition["MKT1"], "Accept-Language": "zh"}, json=wrong)
    assert chinese.status_code == 422, chinese.json
    assert chinese.json["error"]["message"] == "线索的部分信息缺失或有误。"
    assert chinese.json["error"]["fields"]["mobile"] == ["请填写中国大陆手机号（以 1 开头的 11 位数字）。"]
    missing = client.get("/api/v1/leads/999999", headers={**acquisition["op"], "Accept-Language": "zh"})
    assert missing.status_code == 404 and missing.json["error"]["message"] == "未找到该线索。"
    bad_key = client.get("/api/v1/leads/1", headers={"X-Channel-Key": "lfch_wrong", "Accept-Language": "en"})
    assert bad_key.status_code == 401
    assert bad_key.json["error"]["message"] == "The channel key is missing, wrong or disabled."


def test_a_mobile_number_is_read_as_people_write_it(app, client, acquisition):
    r = client.post("/api/v1/leads", headers=acquisition["op"], json=lead_data(mobile="+86 138-0013-8000"))
    assert r.status_code == 201 and r.json["mobile"] == "13800138000" and r.json["external_ref"] is None


def test_channels_create_prints_the_key_once_and_keeps_only_its_hash(app, runner):
    result = runner.invoke(args=["channels", "create", "MKT9", "Loan Marketplace Nine"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    with app.app_context():
        channel = leads.authenticate_channel(key)
        assert channel.code == "MKT9" and key not in channel.key_hash and len(channel.key_hash) == 64
        db.session.remove()
    assert runner.invoke(args=["channels", "create", "MKT9", "Again"]).exit_code == 1


def _page_csrf(text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)


def _sign_in(client, username: str) -> None:
    with client.application.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        from app.services.identity import accounts
        token = accounts.issue_link_token(user.id, "invite")
        db.session.remove()
    page = client.get(f"/invite/{token}")
    client.post(f"/invite/{token}", data={"csrf_token": _page_csrf(page.text), "password": PASSWORD,
                                          "confirm": PASSWORD})


@pytest.mark.parametrize("language", ["en", "zh"])
def test_operators_enter_a_lead_on_a_page_and_see_it_listed_with_its_duplicate(app, client, acquisition, language):
    client.post("/api/v1/leads", headers=acquisition["MKT1"], json=lead_data())
    _sign_in(client, "op1")
    form = client.get("/leads/new", headers={"Accept-Language": language})
    assert form.status_code == 200
    wrong = client.post("/leads/new", data={"csrf_token": _page_csrf(form.text), "company_name": "Lotus",
                                            "contact_name": "Li Lei", "mobile": "123", "credit_code": CREDIT_CODE},
                        headers={"Accept-Language": language})
    assert wrong.status_code == 422 and 'data-field="mobile"' in wrong.text and "field-error" in wrong.text
    done = client.post("/leads/new", data={"csrf_token": _page_csrf(form.text), "company_name": "Lotus Trading",
                                           "contact_name": "Li Lei", "mobile": "13900139000",
                                           "credit_code": CREDIT_CODE, "amount": "1,000,000.00"},
                       headers={"Accept-Language": language})
    assert done.status_code == 303
    page = client.get(done.headers["Location"], headers={"Accept-Language": language})
    assert page.status_code == 200 and "LEAD-" in page.text and 'id="lead-duplicate"' in page.text
    assert 'id="qualify-task"' in page.text
    listing = client.get("/leads", headers={"Accept-Language": language})
    assert listing.status_code == 200 and listing.text.count('data-lead-id="') == 2
    assert listing.text.count("duplicate-marker") == 1
    expected = "疑似重复" if language == "zh" else "Possible duplicate"
    assert expected in listing.text
    with app.app_context():
        assert db.session.scalar(select(Lead.amount).where(Lead.contact_name == "Li Lei")) == 1000000
        db.session.remove()


def test_the_lead_page_says_every_wrong_field_at_once(app, client, acquisition):
    """An amount the page could not read was said alone: the credit code's, mobile's and e-mail's errors came after."""
    _sign_in(client, "op1")
    form = client.get("/leads/new", headers={"Accept-Language": "en"})
    wrong = client.post("/leads/new", data={"csrf_token": _page_csrf(form.text), "company_name": "Lotus",
                                            "contact_name": "Li Lei", "credit_code": "abc", "mobile": "123",
                                            "email": "x@", "amount": "1,00,0.999"}, headers={"Accept-Language": "en"})
    assert wrong.status_code == 422
    said = {chunk.split('"')[0]: found.group(1) for chunk in wrong.text.split('data-field="')[1:]
            if (found := re.search(r'class="field-error"[^>]*>([^<]+)<', chunk))}
    assert set(said) == {"credit_code", "mobile", "email", "amount"}, said
    assert said["amount"].startswith("Write the amount like 1,000,000.00")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Lead)) == 0
        db.session.remove()
    fine_but_amount = client.post("/leads/new", data={
        "csrf_token": _page_csrf(form.text), "company_name": "Lotus", "contact_name": "Li Lei",
        "credit_code": CREDIT_CODE, "mobile": "13900139000", "amount": "1,00"}, headers={"Accept-Language": "en"})
    assert fine_but_amount.status_code == 422 and 'class="field-error"' in fine_but_amount.text
    with app.app_context():  # the rest was right: the lead is still not entered without its amount
        assert db.session.scalar(select(func.count()).select_from(Lead)) == 0
        db.session.remove()


@pytest.mark.parametrize(("answer", "language", "said"), [
    ({"decision": "drop", "reason": "Outside our regions"}, "en", "Dropped"),
    ({"decision": "qualify"}, "zh", "合格，予以受理")])
def test_a_decided_leads_page_says_how_and_by_whom(app, client, acquisition, answer, language, said):
    """The outcome read 'Decided' and a time: not qualified or dropped, nor by whom."""
    lead = client.post("/api/v1/leads", headers=acquisition["MKT1"], json=lead_data()).json
    decide(app, client, acquisition["op"], lead["number"], answer)
    with app.app_context():
        db.session.execute(update(User).where(User.username == "op1").values(display_name="Wu Yun"))
        db.session.commit()
        db.session.remove()
    _sign_in(client, "op1")
    page = client.get(f"/leads/{lead['id']}", headers={"Accept-Language": language}).text
    assert re.search(rf'id="lead-decision">{said}<', page)
    assert 'id="lead-decided-by">Wu Yun<' in page


def test_lead_pages_are_the_operators(app, client, acquisition):
    with app.app_context():
        org = identity.create_org("BORR9", ["borrower"], "Someone")
        identity.create_user("app9", org.code, ["applicant"])
        db.session.remove()
    _sign_in(client, "app9")
    assert client.get("/leads").status_code == 403
    assert client.get("/leads/new").status_code == 403
    assert 'id="leads-link"' not in client.get("/").text


def test_a_person_qualified_twice_is_registered_once(app, client, acquisition):
    person = lead_data(credit_code=None, id_number=ID_NUMBER, company_name="Li Lei (sole trader)",
                       email=None, product_code=None, amount=None)
    first = client.post("/api/v1/leads", headers=acquisition["MKT1"], json=person).json
    decide(app, client, acquisition["op"], first["number"], {"decision": "qualify"})
    second = client.post("/api/v1/leads", headers=acquisition["MKT2"], json=person).json
    decide(app, client, acquisition["op"], second["number"], {"decision": "qualify"})
    with app.app_context():
        rows = {row.id: row for row in db.session.scalars(select(Lead))}
        assert rows[first["id"]].org_id == rows[second["id"]].org_id is not None
        assert [n.channel for n in db.session.scalars(select(Notification).order_by(Notification.id))] == ["sms"]
        assert db.session.query(User).filter(User.org_id == rows[first["id"]].org_id).count() == 1
        db.session.remove()


def test_the_qualify_task_shows_the_lead_in_the_readers_language(app, client, acquisition):
    lead = client.post("/api/v1/leads", headers=acquisition["MKT1"], json=lead_data(amount=None)).json
    _sign_in(client, "op1")
    task_id = qualify_task(app, lead["number"])
    zh = client.get(f"/tasks/{task_id}", headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 200
    for label in ("审核线索", "企业或个人", "统一社会信用代码", "意向产品", "合格：开户并邀请联系人", "不予受理"):
        assert label in zh.text, label
    assert "Lotus Trading Co., Ltd." in zh.text and "Credit loan" in zh.text and "CREDIT-LOAN" not in zh.text
    en = client.get(f"/tasks/{task_id}", headers={"Accept-Language": "en"})
    assert "Qualify the lead" in en.text and "Unified social credit code" in en.text
