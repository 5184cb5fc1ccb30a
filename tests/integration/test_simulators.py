"""The simulators served by the app (`app/simulators/`): the adapters' real HTTP clients against the
app over real HTTP, the risk provider down under a deal's service task, and the simulators' pages."""
from __future__ import annotations

import json
import re
import socket
import urllib.error
import urllib.request

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Notification as NotificationRow
from app.models import RiskReport as RiskReportRow
from app.services.errors import Conflict, Invalid
from app.services.identity import directory as identity
from app.services.origination import applications, products, risk
from handlers.errors import ProviderError
from handlers.identifiers import make_credit_code, make_id_number
from handlers.notify import HttpNotifyClient, Notification, SendResult
from handlers.risk import HttpRiskClient, RiskRequest, SimulatedRisk
from tests.integration.instance_api import API, history, instance, kinds, start, wake
from tests.integration.test_identity import set_password, sign_in

EN, ZH = {"Accept-Language": "en"}, {"Accept-Language": "zh-CN"}
COMPANY = make_credit_code("91310000123456789")
PERSON = make_id_number("11010519491231002")
BANNER_EN, BANNER_ZH = "Simulator — not a real provider", "模拟器——并非真实服务商"
CREDIT_PRODUCT = {"code": "CREDIT", "name": "Credit loan", "annual_rate": "12", "min_amount": "100",
                  "max_amount": "1000000", "min_term": 1, "max_term": 36, "kind": "credit_loan", "documents": []}


def no_wait(_seconds: float) -> None:
    """The clients' backoff, without waiting."""


def request_for(subject: str = COMPANY, kind: str = "credit_code", amount: str = "500000.00") -> RiskRequest:
    return RiskRequest(subject=subject, subject_kind=kind, name="Trader Co", amount=amount,  # type: ignore[arg-type]
                       product_kind="credit_loan")


@pytest.fixture
def key(app) -> str:
    assert app.config["SIMULATOR_API_KEY"], "the simulators need a key to be reachable at all"
    return app.config["SIMULATOR_API_KEY"]


@pytest.fixture
def risk_client(served, key) -> HttpRiskClient:
    return HttpRiskClient(f"{served}/simulators/risk", key, timeout=10, retries=0, sleep=no_wait)


@pytest.fixture
def notify_client(served, key) -> HttpNotifyClient:
    return HttpNotifyClient(f"{served}/simulators/notify", key, timeout=10, retries=0, sleep=no_wait)


def raw_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    """POST without the adapter: (status, JSON answer)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


@pytest.fixture
def people(app, admin_token):
    """A platform operator and analyst, a funder, and a borrower with its applicant, all with passwords."""
    with app.app_context():
        identity.create_org("BANK1", ["funder"], "Bank One")
        identity.create_org("TRADER", ["borrower"], "Trader Co")
        identity.create_user("op", "PLATFORM", ["operator"])
        identity.create_user("ana", "PLATFORM", ["analyst"])
        identity.create_user("appl", "TRADER", ["applicant"])
        db.session.remove()
    for user in ("op", "ana", "appl"):
        set_password(app, user)


def test_the_blacklists_refusals_read_in_the_readers_language(app, people):
    with app.app_context():
        risk.add_to_blacklist(identity.principal_for("op"), COMPANY, "fraud case 7")
        db.session.remove()
    for headers, duplicate, wrong in (
            (EN, "This identifier is already on the blacklist.",
             "Not a valid ID number or unified social credit code (18 characters, with its check character)."),
            (ZH, "该证件号码已在黑名单上。", "不是有效的身份证号码或统一社会信用代码（18 位，含校验位）。")):
        with app.test_request_context("/", headers=headers):  # a request of its own: its reader's language
            operator = identity.principal_for("op")
            with pytest.raises(Conflict) as again:
                risk.add_to_blacklist(operator, COMPANY.lower(), "twice")
            assert again.value.message == duplicate
            with pytest.raises(Invalid) as bad:
                risk.add_to_blacklist(operator, "91310000123456780", "")
            assert bad.value.message == wrong and bad.value.fields == {"subject": [wrong]}
            assert [entry.reason for entry in risk.blacklist(operator)] == ["fraud case 7"]
            db.session.remove()


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def signed_in(app, username: str):
    browser = app.test_client()
    assert sign_in(browser, username).status_code == 302
    return browser


# -- risk over HTTP ---------------------------------------------------------------------------

def test_assessing_over_http_gives_the_report_the_simulator_gives_in_process(app, risk_client):
    for asked in (request_for(), request_for(PERSON, "id_number", "3000000.00")):
        over_http = risk_client.assess(asked)
        assert over_http == SimulatedRisk().assess(asked)
        assert over_http.provider == "simulator" and not over_http.blacklisted
    assert risk_client.assess(request_for()) == risk_client.assess(request_for())  # deterministic


def test_the_blacklist_edited_on_the_page_changes_the_answer_over_http(app, risk_client, people):
    before = risk_client.assess(request_for())
    assert not before.blacklisted and before.hits == []
    operator = signed_in(app, "op")
    page = operator.get("/simulators/risk/", headers=EN)
    assert page.status_code == 200 and 'id="blacklist"' in page.text
    added = operator.post("/simulators/risk/blacklist", headers=EN,
                          data={"csrf_token": csrf_of(page.text), "subject": COMPANY.lower(), "reason": "fraud case 7"})
    assert added.status_code == 303
    listed = operator.get("/simulators/risk/", headers=EN).text
    assert COMPANY in listed and "fraud case 7" in listed

    hit = risk_client.assess(request_for())
    assert hit.blacklisted and hit.hits == ["blacklist"] and hit.grade == "E" and hit.score == 300
    assert hit.report_id != before.report_id
    assert not risk_client.assess(request_for(PERSON, "id_number")).blacklisted  # only the listed subject

    again = operator.post("/simulators/risk/blacklist", headers=EN,
                          data={"csrf_token": csrf_of(listed), "subject": COMPANY, "reason": "twice"})
    assert again.status_code == 409 and "already on the blacklist" in again.text
    bad = operator.post("/simulators/risk/blacklist", headers=EN,
                        data={"csrf_token": csrf_of(listed), "subject": "91310000123456780", "reason": ""})
    assert bad.status_code == 422 and "Not a valid ID number" in bad.text

    [entry_id] = re.findall(r'data-entry-id="(\d+)"', listed)
    removed = operator.post(f"/simulators/risk/blacklist/{entry_id}/remove", headers=EN,
                            data={"csrf_token": csrf_of(listed)})
    assert removed.status_code == 303
    assert risk_client.assess(request_for()) == before
    gone = operator.post(f"/simulators/risk/blacklist/{entry_id}/remove", headers=EN,
                         data={"csrf_token": csrf_of(listed)})
    assert gone.status_code == 404


def test_a_wrong_or_missing_key_is_401(served, key):
    wrong = HttpRiskClient(f"{served}/simulators/risk", key + "-not", retries=0, sleep=no_wait)
    with pytest.raises(ProviderError) as refused:
        wrong.assess(request_for())
    assert refused.value.status == 401
    with pytest.raises(ProviderError) as refused:
        HttpNotifyClient(f"{served}/simulators/notify", "nope", retries=0, sleep=no_wait).send(
            Notification(channel="sms", to="13800138000", subject="", body="hello"))
    assert refused.value.status == 401
    body = json.dumps(request_for().to_dict()).encode()
    status, answer = raw_post(f"{served}/simulators/risk/api/assess", body, {"Content-Type": "application/json"})
    assert status == 401 and answer["error"]["code"] == "unauthorized"


def test_the_simulator_key_unset_refuses_every_caller(app, served, monkeypatch):
    monkeypatch.setitem(app.config, "SIMULATOR_API_KEY", "")
    status, _answer = raw_post(f"{served}/simulators/risk/api/assess", json.dumps(request_for().to_dict()).encode(),
                               {"Authorization": "Bearer ", "Content-Type": "application/json"})
    assert status == 401


def test_a_body_that_does_not_read_is_400_and_a_refused_subject_422(served, key, risk_client):
    url, auth = f"{served}/simulators/risk/api/assess", {"Authorization": f"Bearer {key}",
                                                        "Content-Type": "application/json"}
    for body in (b"not json", b"[1, 2]", json.dumps({"subject_kind": "credit_code", "amount": "1.00"}).encode(),
                 json.dumps({**request_for().to_dict(), "subject_kind": "passport"}).encode(),
                 json.dumps({**request_for().to_dict(), "amount": "lots"}).encode()):
        status, answer = raw_post(url, body, auth)
        assert status == 400 and answer["error"]["code"] == "bad_request", body
    with pytest.raises(ProviderError) as refused:  # a malformed credit code: the bureau refuses it
        risk_client.assess(request_for(COMPANY[:-1] + ("0" if COMPANY[-1] != "0" else "1")))
    assert refused.value.status == 422 and "not a valid unified social credit code" in refused.value.message


# -- notify over HTTP -------------------------------------------------------------------------

def test_a_message_sent_over_http_is_recorded_once_per_idempotency_key(app, notify_client):
    sms = Notification(channel="sms", to="13800138000", subject="", body="您的验证码是 123456", ref="sim-test-1")
    first = notify_client.send(sms)
    assert isinstance(first, SendResult) and first.status == "delivered"
    assert notify_client.send(sms) == first  # a retried send: the same receipt, recorded once
    mail = notify_client.send(Notification(channel="email", to="ops@example.com", subject="Hello", body="Body"))
    assert mail.provider_message_id != first.provider_message_id
    with pytest.raises(ProviderError) as refused:
        notify_client.send(Notification(channel="sms", to="12345", subject="", body="x"))
    assert refused.value.status == 422 and "mobile" in refused.value.message
    with app.app_context():
        rows = list(db.session.scalars(select(NotificationRow).order_by(NotificationRow.id)))
        db.session.remove()
    assert [(r.channel, r.recipient, r.provider, r.provider_message_id, r.body) for r in rows] == [
        ("sms", "13800138000", "simulator", first.provider_message_id, "您的验证码是 123456"),
        ("email", "ops@example.com", "simulator", mail.provider_message_id, "Body")]


def test_the_platform_sends_through_the_simulator_over_http_into_the_outbox(app, served, key, people, monkeypatch):
    """NOTIFY_URL naming the app's own simulator: the platform's row and the simulator's, the outbox shows it once.

    The send queues the SMS in the step's transaction; the worker hands it over after the commit,
    holding no transaction while the simulator writes (also on SQLite, one writer at a time)."""
    from app.services.notices import sending

    monkeypatch.setitem(app.config, "NOTIFY_URL", f"{served}/simulators/notify")
    monkeypatch.setitem(app.config, "NOTIFY_API_KEY", key)
    with app.app_context():
        ids = sending.send("lead_invitation", {"company": "Trader Co", "username": "appl", "link": "https://x/y"},
                           addresses=[("sms", "13900139000")], idempotency_key="invite-1")
        db.session.commit()
        assert db.session.get(NotificationRow, ids[0]).status == "queued"
        assert sending.deliver_queued() == 1 and sending.deliver_queued() == 0  # handed over once
        platform_row = db.session.get(NotificationRow, ids[0])
        assert platform_row.provider == f"{served}/simulators/notify" and platform_row.status == "sent"
        db.session.remove()
    outbox = signed_in(app, "op").get("/simulators/notify/", headers=EN).text
    assert outbox.count("13900139000") == 1 and "Trader Co" in outbox


# -- the risk provider down under a deal ------------------------------------------------------

def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def deal(app, client, auth, deploy, people):
    """A credit-loan application of TRADER (a person's ID number) and a started instance of the test
    diagram whose one service task is `risk.assess`, its business key the application's number."""
    deploy("risk_assess_only.bpmn")
    with app.app_context():
        products.create_product(None, CREDIT_PRODUCT)
        db.session.commit()
        row = applications.create_application(identity.principal_for("appl"), {
            "product": "CREDIT", "amount": "200000.00", "term_months": 12, "purpose": "working capital",
            "funder": "BANK1", "details": {"id_number": PERSON}})
        number = row.number
        db.session.remove()
    return number


def test_the_risk_provider_down_ends_in_an_incident_and_its_retry_lets_the_deal_go_on(
        app, client, auth, clock, served, key, deal, monkeypatch):
    monkeypatch.setitem(app.config, "RISK_URL", f"http://127.0.0.1:{closed_port()}/simulators/risk")
    monkeypatch.setitem(app.config, "RISK_API_KEY", key)
    monkeypatch.setitem(app.config, "RISK_TIMEOUT", 2)
    inst = start(client, auth, "risk_assess_only", business_key=deal)
    assert inst["status"] == "waiting"  # the first try failed: the task waits for its retry
    [failed] = kinds(history(client, auth, inst["id"]), "service_failed")
    assert failed["element_id"] == "assess" and "unreachable" in failed["details"]["error"]
    for seconds in (10, 20):
        clock.advance(seconds=seconds)
        assert wake(app) == [inst["id"]]
    assert instance(client, auth, inst["id"])["status"] == "error"
    [incident] = client.get(f"{API}/incidents", query_string={"state": "open"}, headers=auth).json["items"]
    assert incident["instance_id"] == inst["id"] and incident["element_id"] == "assess"
    assert "ProviderUnavailable" in incident["message"] and "unreachable" in incident["message"]
    with app.app_context():
        assert db.session.scalar(select(RiskReportRow.id)) is None
        db.session.remove()

    monkeypatch.setitem(app.config, "RISK_URL", f"{served}/simulators/risk")  # the provider is back
    clock.advance(minutes=5)
    retried = client.post(f"{API}/incidents/{incident['id']}/retry", headers=auth)
    assert retried.status_code == 200 and retried.json["state"] == "resolved", retried.json
    done = instance(client, auth, inst["id"])
    expected = SimulatedRisk().assess(RiskRequest(subject=PERSON, subject_kind="id_number", name="",
                                                  amount="200000.00", product_kind="credit_loan"))
    assert done["status"] == "completed"
    assert done["data"]["risk"]["report_id"] == expected.report_id and done["data"]["risk"]["score"] == expected.score
    with app.app_context():
        [stored] = db.session.scalars(select(RiskReportRow)).all()
        assert (stored.business_key, stored.report_id, stored.provider) == (deal, expected.report_id, "simulator")
        db.session.remove()


# -- the pages --------------------------------------------------------------------------------

SIMULATOR_PAGES = ("/simulators/", "/simulators/risk/", "/simulators/notify/")


def test_a_borrower_may_not_open_the_simulators(app, people):
    borrower = signed_in(app, "appl")
    for path in SIMULATOR_PAGES:
        assert borrower.get(path, headers=EN).status_code == 403, path
    page = borrower.get("/", headers=EN).text
    assert 'href="/simulators/"' not in page  # the header offers them to platform staff only
    refused = borrower.post("/simulators/risk/blacklist", headers=EN,
                            data={"csrf_token": csrf_of(page), "subject": COMPANY, "reason": "x"})
    assert refused.status_code == 403
    tried = borrower.post("/simulators/risk/", headers=EN, data={
        "csrf_token": csrf_of(page), "subject": COMPANY, "subject_kind": "credit_code", "amount": "1.00",
        "product_kind": "credit_loan"})
    assert tried.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(NotificationRow.id)) is None
        db.session.remove()
    assert app.test_client().get("/simulators/risk/").status_code == 302  # not signed in: the sign-in page


def test_platform_staff_see_the_simulators_with_the_banner_in_both_languages(app, people):
    for user in ("op", "ana"):
        browser = signed_in(app, user)
        for path in SIMULATOR_PAGES:
            english, chinese = browser.get(path, headers=EN), browser.get(path, headers=ZH)
            assert english.status_code == chinese.status_code == 200, (user, path)
            assert BANNER_EN in english.text and BANNER_ZH not in english.text, (user, path)
            assert BANNER_ZH in chinese.text and BANNER_EN not in chinese.text, (user, path)
            assert 'href="/simulators/"' in english.text  # the header links here
    # the analyst reads but does not edit the blacklist
    assert 'id="blacklist"' not in signed_in(app, "ana").get("/simulators/risk/", headers=EN).text
    analyst = signed_in(app, "ana")
    page = analyst.get("/simulators/risk/", headers=EN).text
    assert analyst.post("/simulators/risk/blacklist", headers=EN,
                        data={"csrf_token": csrf_of(page), "subject": COMPANY}).status_code == 403


def test_trying_an_assessment_on_the_page_shows_the_simulators_report(app, people):
    analyst = signed_in(app, "ana")
    page = analyst.get("/simulators/risk/", headers=ZH).text
    tried = analyst.post("/simulators/risk/", headers=ZH, data={
        "csrf_token": csrf_of(page), "subject": PERSON, "subject_kind": "id_number", "name": "张三",
        "amount": "500000.00", "product_kind": "credit_loan"})
    expected = SimulatedRisk().assess(RiskRequest(subject=PERSON, subject_kind="id_number", name="张三",
                                                  amount="500000.00", product_kind="credit_loan"))
    assert tried.status_code == 200 and expected.report_id in tried.text
    assert f'data-score="{expected.score}"' in tried.text and BANNER_ZH in tried.text
    refused = analyst.post("/simulators/risk/", headers=EN, data={
        "csrf_token": csrf_of(page), "subject": "110105194912310020", "subject_kind": "id_number",
        "amount": "500000.00", "product_kind": "credit_loan"})
    assert refused.status_code == 422 and "The simulator refused the request" in refused.text
    empty = analyst.post("/simulators/risk/", headers=EN, data={"csrf_token": csrf_of(page), "subject_kind": "x"})
    assert empty.status_code == 422 and "Fill in every field" in empty.text
    with app.app_context():
        assert db.session.scalar(select(RiskReportRow.id)) is None  # trying stores nothing
        db.session.remove()


def test_the_outbox_lists_sms_and_email_newest_first_paged(app, people, clock):
    from app.services.notices import outbox

    with app.app_context():
        for i in range(23):
            outbox.receive(Notification(channel="sms" if i % 2 else "email",
                                        to="13800138000" if i % 2 else f"user{i}@example.com",
                                        subject=f"Subject {i}", body=f"Message number {i:02d}"))
            clock.advance(seconds=1)
        db.session.remove()
    operator = signed_in(app, "op")
    first = operator.get("/simulators/notify/", headers=EN).text
    numbers = re.findall(r"Message number (\d+)", first)
    assert numbers == [f"{i:02d}" for i in range(22, 2, -1)] and "page 1 of 2" in first
    second = operator.get("/simulators/notify/", query_string={"page": 2}, headers=EN).text
    assert re.findall(r"Message number (\d+)", second) == ["02", "01", "00"]
    sms = operator.get("/simulators/notify/", query_string={"channel": "sms"}, headers=EN).text
    assert re.findall(r"Message number (\d+)", sms) == [f"{i:02d}" for i in range(21, 0, -2)]
    assert "user" not in "".join(re.findall(r"<td>([^<]*@[^<]*)</td>", sms))
    chinese = operator.get("/simulators/notify/", headers=ZH).text
    assert "短信" in chinese and BANNER_ZH in chinese
