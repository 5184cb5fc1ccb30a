"""The e-signature simulator (`app/services/simulators/`, `app/simulators/esign_*`): the platform's
real client creates a flow over HTTP, each signer signs in turn through the JSON API with their own
bearer token (out of turn, a wrong code, someone else's name refused), the signed PDF validates
against the sandbox CA with every signer, the worker's delivery POSTs a signed callback; the signing
page with a browser session; expiry."""
from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509

from app.extensions import db
from app.services.errors import Conflict
from app.services.identity import directory as identity
from app.services.simulators import esign, esign_ca, esign_callbacks
from handlers.contracts import render_contract
from handlers.esign import FlowEvent, FlowRequest, HttpESignClient, Signer, verify_callback, verify_pdf
from tests.integration.test_identity import set_password, sign_in
from tests.unit.contract_sample import BORROWER, CORE, FUNDER, sample_contract

BANNER_EN, BANNER_ZH = "Simulator — not a real provider", "模拟器——并非真实服务商"
SIGNERS = (Signer(BORROWER.role, BORROWER.name, BORROWER.identifier, "alice"),
           Signer(CORE.role, CORE.name, CORE.identifier, "carol"),
           Signer(FUNDER.role, FUNDER.name, FUNDER.identifier, "fred"))
KEY = "HT-2026-000123"


def no_wait(_seconds: float) -> None:
    """The client's backoff, without waiting."""


@pytest.fixture(scope="module")
def contract() -> bytes:
    return render_contract(sample_contract())


@pytest.fixture
def signers(app) -> dict[str, dict[str, str]]:
    """The three signers (borrower, core enterprise, funder) and a bystander, each with a bearer token."""
    with app.app_context():
        identity.create_org("TRADER", ["borrower"], "Trader Co")
        identity.create_org("MAKER", ["core_enterprise"], "Maker Co")
        identity.create_org("BANK1", ["funder"], "Bank One")
        identity.create_user("alice", "TRADER", ["applicant"])
        identity.create_user("carol", "MAKER", ["core_signer"])
        identity.create_user("fred", "BANK1", ["finance"])
        identity.create_user("bob", "TRADER", ["applicant"])
        tokens = {name: {"Authorization": f"Bearer {identity.issue_token(name)}"} for name in
                  ("alice", "carol", "fred", "bob")}
        db.session.commit()
        db.session.remove()
    return tokens


@pytest.fixture
def client_of(served, app) -> HttpESignClient:
    return HttpESignClient(f"{served}/simulators/esign", app.config["SIMULATOR_API_KEY"],
                           app.config["ESIGN_CALLBACK_SECRET"], timeout=10, retries=0, sleep=no_wait)


class Captured(BaseHTTPRequestHandler):
    """Answers 200 to every POST and keeps (path, headers, body)."""

    received: list[tuple[str, dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.received.append((self.path, dict(self.headers.items()), body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def platform() -> Iterator[tuple[str, list]]:
    """A stand-in for the platform's callback endpoint: (its base URL, the requests it received)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Captured)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def base_url(app, platform, monkeypatch) -> str:
    """BASE_URL pointing at the stand-in platform while the test runs."""
    monkeypatch.setitem(app.config, "BASE_URL", platform[0])
    return platform[0]


def call(method: str, url: str, headers: dict[str, str], body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", "Accept-Language": "en", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def flows_url(served: str) -> str:
    return f"{served}/simulators/esign/api/flows"


def test_a_flow_is_created_signed_in_order_verified_and_called_back(app, served, signers, client_of, contract,
                                                                    base_url, platform, clock):
    flow_id = client_of.create_flow(FlowRequest(KEY, "合同.pdf", contract, SIGNERS))
    assert flow_id.startswith("EF-")
    assert client_of.create_flow(FlowRequest(KEY, "合同.pdf", contract, SIGNERS)) == flow_id  # a retry: the same flow

    status, listed = call("GET", f"{flows_url(served)}?business_key={KEY}", signers["alice"])
    assert status == 200 and [f["id"] for f in listed["items"]] == [flow_id]
    item = listed["items"][0]
    assert item["status"] == "signing"
    assert [(s["party"], s["username"], s["status"]) for s in item["signers"]] == [
        ("borrower", "alice", "waiting"), ("core_enterprise", "carol", "waiting"), ("funder", "fred", "waiting")]
    assert item["signers"][0]["signing_url"] == f"{served}/simulators/esign/flows/{flow_id}/sign"
    assert call("GET", f"{flows_url(served)}?business_key={KEY}", signers["bob"])[1]["items"] == []  # not his
    assert call("GET", f"{flows_url(served)}?business_key={KEY}", {})[0] == 401

    sign_url = f"{flows_url(served)}/{flow_id}/sign"
    status, out_of_turn = call("POST", sign_url, signers["carol"], {"username": "carol", "code": "123456"})
    assert (status, out_of_turn["error"]["code"]) == (409, "not_your_turn")
    status, wrong = call("POST", sign_url, signers["alice"], {"username": "alice", "code": "654321"})
    assert (status, wrong["error"]["code"]) == (422, "wrong_code")
    status, impostor = call("POST", sign_url, signers["bob"], {"username": "alice", "code": "123456"})
    assert (status, impostor["error"]["code"]) == (403, "not_yourself")
    status, bystander = call("POST", sign_url, signers["bob"], {"username": "bob", "code": "123456"})
    assert (status, bystander["error"]["code"]) == (403, "not_a_signer")
    assert call("POST", sign_url, {}, {"username": "alice", "code": "123456"})[0] == 401

    for number, name in enumerate(("alice", "carol", "fred"), start=1):
        status, after = call("POST", sign_url, signers[name], {"username": name, "code": "123456"})
        assert status == 200, after
        assert [s["status"] for s in after["signers"]] == ["signed"] * number + ["waiting"] * (3 - number)
        with app.app_context():
            queued = esign_callbacks.pending()
            db.session.remove()
        assert len(queued) == (1 if number == 3 else 0)  # queued only once everyone signed, not yet sent
    assert after["status"] == "completed" and platform[1] == []
    status, again = call("POST", sign_url, signers["fred"], {"username": "fred", "code": "123456"})
    assert (status, again["error"]["code"]) == (409, "not_signing")

    signed = client_of.signed_document(flow_id)
    with urllib.request.urlopen(f"{served}/simulators/esign/ca.pem") as published:  # the provider's root, public
        root = x509.load_pem_x509_certificate(published.read())
    with app.app_context():
        assert root == esign_ca.sandbox_ca().certificate
        db.session.remove()
    reports = verify_pdf(signed, [root])
    assert [(r.field, r.signer_name, r.valid) for r in reports] == [
        ("sig_borrower", BORROWER.name, True), ("sig_core_enterprise", CORE.name, True), ("sig_funder", FUNDER.name, True)]
    assert signed.startswith(contract)  # each signature an incremental update of the original

    with app.app_context():
        assert esign_callbacks.deliver_callbacks() == 1
        assert esign_callbacks.pending() == [] and esign_callbacks.deliver_callbacks() == 0  # sent once
        db.session.remove()
    [(path, headers, body)] = platform[1]
    assert path == "/api/v1/callbacks/esign"
    seen: list[str] = []
    verify_callback(app.config["ESIGN_CALLBACK_SECRET"], headers, body, clock(), lambda n: n in seen or seen.append(n))
    assert FlowEvent.from_dict(json.loads(body)) == FlowEvent(flow_id, KEY, "completed")
    event = client_of.parse_callback(headers, body, clock(), lambda _nonce: False)
    assert event.status == "completed"


def test_the_platforms_apis_need_the_simulators_key(served, signers, contract):
    answer = call("POST", flows_url(served), signers["alice"], {"business_key": KEY})
    assert answer[0] == 401
    assert call("GET", f"{flows_url(served)}/EF-nothing/document", signers["alice"])[0] == 401


def test_a_callback_that_is_not_taken_is_tried_again_later(app, signers, contract, clock):
    answers = [503, 200]
    sent: list[str] = []

    def post(url: str, _body: bytes, headers: dict[str, str]) -> int:
        sent.append(headers["X-Esign-Nonce"])
        assert url == "http://platform.example/callbacks"
        return answers.pop(0)

    with app.app_context():
        flow = esign.create_flow(FlowRequest(KEY, "c.pdf", contract, SIGNERS[:1]), "http://platform.example/callbacks")
        esign.sign(flow.flow_id, "alice", "123456")
        assert esign_callbacks.deliver_callbacks(post) == 0
        assert esign_callbacks.deliver_callbacks(post) == 0 and len(sent) == 1  # not yet due again
        clock.advance(seconds=11)
        assert esign_callbacks.deliver_callbacks(post) == 1
        assert len(set(sent)) == 2 and esign_callbacks.pending() == []  # a new nonce each attempt
        db.session.remove()


def test_a_flow_created_without_base_url_calls_back_where_the_platform_is_served(app, served, signers, client_of,
                                                                                 contract, monkeypatch):
    monkeypatch.setitem(app.config, "BASE_URL", "")
    flow_id = client_of.create_flow(FlowRequest(KEY, "c.pdf", contract, SIGNERS[:1]))
    with app.app_context():
        esign.sign(flow_id, "alice", "123456")
        [queued] = esign_callbacks.pending()
        db.session.remove()
    assert queued["url"] == f"{served}/api/v1/callbacks/esign"
    assert queued["event"]["status"] == "completed"


def test_an_unsigned_flow_expires_after_seven_days(app, signers, contract, clock, served):
    with app.app_context():
        flow = esign.create_flow(FlowRequest(KEY, "c.pdf", contract, SIGNERS), "http://platform.example/cb")
        clock.advance(days=6, hours=23)
        assert esign.expire_due() == 0
        clock.advance(hours=2)
        assert esign.expire_due() == 1 and esign.expire_due() == 0
        [view] = esign.flows_for(KEY)
        assert view.status == "expired" and view.next_signer is None
        [queued] = esign_callbacks.pending()
        assert queued["event"]["status"] == "expired" and queued["event"]["reason"]
        db.session.remove()
    status, refused = call("POST", f"{flows_url(served)}/{flow.flow_id}/sign", signers["alice"],
                           {"username": "alice", "code": "123456"})
    assert (status, refused["error"]["code"]) == (409, "not_signing")


def test_signing_refused_past_the_expiry_expires_the_flow(app, signers, contract, clock):
    with app.app_context():
        flow = esign.create_flow(FlowRequest(KEY, "c.pdf", contract, SIGNERS), "http://platform.example/cb")
        clock.advance(days=8)
        with pytest.raises(Conflict) as refused:
            esign.sign(flow.flow_id, "alice", "123456")
        assert refused.value.code == "not_signing"
        assert esign.flows_for(KEY)[0].status == "expired"
        db.session.remove()


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_the_signing_page_signs_with_a_session(app, signers, contract):
    for name in ("alice", "carol", "bob"):
        set_password(app, name)
    with app.app_context():
        flow = esign.create_flow(FlowRequest(KEY, "借款合同.pdf", contract, SIGNERS[:2]), "http://platform.example/cb")
        db.session.remove()
    page_url = f"/simulators/esign/flows/{flow.flow_id}/sign"
    browsers = {}
    for name in ("alice", "carol", "bob"):
        browsers[name] = app.test_client()
        assert sign_in(browsers[name], name).status_code == 302

    assert browsers["bob"].get(page_url).status_code == 403
    assert browsers["bob"].get(f"/simulators/esign/flows/{flow.flow_id}/document").status_code == 403
    assert app.test_client().get(page_url).status_code in (302, 401)  # signed in first

    page = browsers["alice"].get(page_url, headers={"Accept-Language": "en"})
    assert page.status_code == 200
    for shown in (BANNER_EN, "123456", "借款合同.pdf", BORROWER.name, CORE.name, 'id="esign-sign-form"'):
        assert shown in page.text
    in_chinese = browsers["alice"].get(page_url, headers={"Accept-Language": "zh-CN"}).text
    assert BANNER_ZH in in_chinese and "沙箱验证码 123456" in in_chinese and "签署合同" in in_chinese
    download = browsers["alice"].get(f"/simulators/esign/flows/{flow.flow_id}/document")
    assert download.status_code == 200 and download.data == contract and download.mimetype == "application/pdf"
    assert 'id="esign-sign-form"' not in browsers["carol"].get(page_url).text  # not her turn yet

    wrong = browsers["alice"].post(page_url, data={"csrf_token": csrf_of(page.text), "code": "000000"},
                                   headers={"Accept-Language": "en"})
    assert wrong.status_code == 422 and "Wrong verification code" in wrong.text
    signers_table = re.search(r'<table id="esign-signers">(.*?)</table>', in_chinese, re.S).group(1)
    assert "alice" not in signers_table and "carol" not in signers_table  # no account codes: who signs, in words
    assert "由您凭验证码签署" in signers_table and "由其签署人凭验证码签署" in signers_table
    done = browsers["alice"].post(page_url, data={"csrf_token": csrf_of(page.text), "code": "123456"},
                                  headers={"Accept-Language": "zh-CN"})
    assert done.status_code == 303
    after = browsers["alice"].get(done.headers["Location"], headers={"Accept-Language": "zh-CN"}).text
    assert "已签署。您的签名已加入合同。" in after
    assert 'href="/applications/" id="esign-back"' in after
    page = browsers["carol"].get(page_url)
    assert 'data-party="borrower" data-status="signed"' in page.text and 'id="esign-sign-form"' in page.text
    assert browsers["carol"].post(page_url, data={"csrf_token": csrf_of(page.text), "code": "123456"}).status_code == 303
    with app.app_context():
        assert esign.flows_for(KEY)[0].status == "completed"
        signed = esign.signed_document(flow.flow_id)[1]
        root = esign_ca.sandbox_ca().certificate
        db.session.remove()
    assert [r.signer_name for r in verify_pdf(signed, [root]) if r.valid] == [BORROWER.name, CORE.name]
    assert browsers["alice"].get(f"/simulators/esign/flows/{flow.flow_id}/document").data == signed
