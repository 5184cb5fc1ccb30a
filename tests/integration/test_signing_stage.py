"""The signing stage (`processes/signing.bpmn`, `app/services/signing/flows.py`), started directly
for an approved deal of each product with the application's number as its business key: the
signers verify their identity (a wrong code fails with the reason shown, the third failure stops
the signing), the contract's flow at the e-signature simulator (signers in order, the funder's seal
applied by itself), signing through the simulator's contract API, the completion callback POSTed to
the platform served over HTTP, the signed PDF validating against the sandbox CA, the registration
with its certificate, the daily reminder and the 7-day expiry on the test clock. Also the identity
simulator's HTTP API, over the adapter's real client."""
from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Application,
    ApplicationDocument,
    HumanTask,
    Notification,
    Organisation,
    ProcessInstance,
)
from app.services.context import business_tz
from app.services.errors import Invalid
from app.services.identity import directory as identity
from app.services.origination import details as deal_details
from app.services.origination import timeline as deal_timeline
from app.services.origination.applications import events_of, process_data
from app.services.origination.decisions import reason_in
from app.services.signing import flows
from app.services.simulators import esign, esign_ca, esign_callbacks
from app.services.workflow import instances, tasks, waking
from app.services.workflow.uploads import PENDING_DOCUMENT, Upload
from handlers.contracts import render_contract
from handlers.esign import verify_pdf
from handlers.identifiers import make_credit_code
from handlers.identity import HttpIdentityClient, VerificationRequest
from tests.integration.origination_support import MANUAL_CODE, deploy_shipped, seed_parties
from tests.integration.test_origination_flows import (
    approve_both,
    assert_approved,
    confirm_order,
    confirm_pledge,
    consent,
    draft,
    fresh,
    submit,
    who,
)
from tests.unit.contract_sample import sample_contract, tampered

CORE_CODE = make_credit_code("91420000MA0000001")
BANK_CODE = make_credit_code("91440000MA0000002")
MOBILE = "13800138000"
BORROWER = {"name": "Lotus Trading", "id_number": MANUAL_CODE, "mobile": MOBILE, "code": "123456"}
CORE = {"name": "Yangtze Manufacturing", "id_number": CORE_CODE, "mobile": "13900139000", "code": "123456"}


@pytest.fixture
def deals(app, ctx, runner, admin_token):
    deploy_shipped(app, runner)
    seed_parties()
    for code, credit_code in (("CORE1", CORE_CODE), ("BANK1", BANK_CODE)):
        db.session.scalar(select(Organisation).where(Organisation.code == code)).credit_code = credit_code
    db.session.commit()
    return app


@pytest.fixture
def base_url(app, served):
    """The simulators call the platform back at the test's server (BASE_URL, restored after)."""
    before = app.config.get("BASE_URL")
    app.config["BASE_URL"] = served
    try:
        yield served
    finally:
        app.config["BASE_URL"] = before


def approved(kind: str) -> Application:
    """A deal of `kind` (order, pledge, credit) driven through its product's diagram to approved."""
    row = submit(draft(kind, amount="200000.00" if kind == "credit" else "400000.00"))
    if kind == "order":
        confirm_order(row)
        approve_both(row)
        assert_approved(row, "400000.00")
    elif kind == "pledge":
        confirm_pledge(row)
        approve_both(row)
        assert_approved(row, "400000.00")
    else:
        consent(row)
        approve_both(row, "180000.00")
        assert_approved(row, "180000.00")
    return fresh(row)


def start_signing(row: Application) -> int:
    """`signing` started for the deal, as a product's diagram's call activity will."""
    parties = {"borrower": "BORR1", "funder": "BANK1", **deal_details.parties(row.details)}
    started = instances.start("signing", None, row.number, process_data(row), parties)
    db.session.commit()
    assert started["status"] == "waiting", started
    return int(started["id"])


def tasks_of(instance_id: int) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(HumanTask.element_id).where(
        HumanTask.instance_id == instance_id, HumanTask.state.in_(("ready", "claimed"))).order_by(HumanTask.id)))


def do(instance_id: int, element: str, username: str, answer: dict, uploads: tuple[Upload, ...] = ()) -> None:
    db.session.expire_all()
    task_id = db.session.scalar(select(HumanTask.id).where(
        HumanTask.instance_id == instance_id, HumanTask.element_id == element,
        HumanTask.state.in_(("ready", "claimed"))))
    assert task_id is not None, (element, tasks_of(instance_id))
    tasks.complete_task(task_id, answer, who(username), uploads)


def instance_of(instance_id: int) -> ProcessInstance:
    db.session.expire_all()
    return db.session.get(ProcessInstance, instance_id)


def kinds(row: Application) -> list[str]:
    return [e.kind for e in events_of(row.id)]


def documents(row: Application, kind: str) -> list[ApplicationDocument]:
    return list(db.session.scalars(select(ApplicationDocument).where(
        ApplicationDocument.application_id == row.id, ApplicationDocument.kind == kind)))


def notices(template: str, username: str) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(
        Notification.template == template, Notification.recipient == username, Notification.channel == "in_app")))


def token(username: str) -> dict[str, str]:
    header = {"Authorization": f"Bearer {identity.issue_token(username)}"}
    db.session.commit()
    return header


def sign_through_the_api(client, number: str, username: str) -> dict:
    """`username` lists their flows of the deal and signs the first with the sandbox code."""
    auth = token(username)
    listed = client.get(f"/simulators/esign/api/flows?business_key={number}", headers=auth)
    assert listed.status_code == 200, listed.json
    [flow] = listed.json["items"]
    signed = client.post(f"/simulators/esign/api/flows/{flow['id']}/sign", json={"username": username, "code": "123456"},
                         headers=auth)
    assert signed.status_code == 200, signed.json
    return signed.json


def deliver_callbacks() -> int:
    delivered = esign_callbacks.deliver_callbacks()
    db.session.expire_all()
    return delivered


# -- every product, approved to signed -----------------------------------------------------------

def test_an_order_financing_deal_is_verified_signed_by_three_parties_and_registered(deals, client, base_url):
    row = approved("order")
    instance_id = start_signing(row)
    row = fresh(row)
    assert (row.status, row.stage) == ("approved", "identity_verification")
    assert tasks_of(instance_id) == ["verify_identity_borrower"]

    # a wrong code fails with the reason shown on the task and the timeline; the borrower tries again
    do(instance_id, "verify_identity_borrower", "app1", {**BORROWER, "code": "000000"})
    assert tasks_of(instance_id) == ["verify_identity_borrower"]
    data = instance_of(instance_id).data
    assert data["verification_failure"] == "验证码错误 / The verification code is wrong"
    assert "code" not in data  # the verification code is not kept
    assert kinds(fresh(row))[-1] == "identity_failed"
    do(instance_id, "verify_identity_borrower", "app1", BORROWER)
    assert tasks_of(instance_id) == ["verify_identity_core"]
    data = instance_of(instance_id).data
    assert data["verification_failure"] == ""
    assert not {"name", "id_number", "mobile", "code"} & set(data)  # kept only as the verified signer
    assert data["signers"]["borrower"]["username"] == "app1"
    do(instance_id, "verify_identity_core", "signer1", CORE)

    # the contract's flow: borrower, core enterprise, then the funder's seal; the signers are told
    row = fresh(row)
    assert (row.status, row.stage) == ("signing", "contract_signing")
    [flow] = esign.flows_for(row.number)
    assert [(s.party, s.username, s.status) for s in flow.signers] == [
        ("borrower", "app1", "waiting"), ("core_enterprise", "signer1", "waiting"), ("funder", "seal:BANK1", "waiting")]
    assert esign.auto_parties(flow.flow_id) == ["funder"]
    assert len(documents(row, "contract")) == 1
    [told] = notices("contract_to_sign", "app1")
    assert f"/flows/{flow.flow_id}/sign" in told.body
    # the core enterprise signs after the borrower: told so, not "please sign" while the link says "not your turn"
    assert notices("contract_to_sign", "signer1") == []
    [in_turn] = notices("contract_to_sign_in_turn", "signer1")
    assert f"/flows/{flow.flow_id}/sign" in in_turn.body and "先签署，随后由您签署" in in_turn.body

    # out of turn refused; in turn each signs; the seal follows the last human signature at once
    refused = client.post(f"/simulators/esign/api/flows/{flow.flow_id}/sign",
                          json={"username": "signer1", "code": "123456"}, headers=token("signer1"))
    assert refused.status_code == 409 and refused.json["error"]["code"] == "not_your_turn"
    after_borrower = sign_through_the_api(client, row.number, "app1")
    assert [s["status"] for s in after_borrower["signers"]] == ["signed", "waiting", "waiting"]
    done = sign_through_the_api(client, row.number, "signer1")
    assert done["status"] == "completed" and [s["status"] for s in done["signers"]] == ["signed"] * 3
    assert {"party", "username", "status", "signing_url"} <= set(done["signers"][2])

    # the completion callback reaches the platform over HTTP and the deal moves on
    assert deliver_callbacks() == 1
    row = fresh(row)
    assert (row.status, row.stage) == ("signing", "registration")
    [signed] = documents(row, "signed_contract")
    reports = verify_pdf(bytes(signed.content), [esign_ca.trust_root()])
    assert [r.field for r in reports] == ["sig_borrower", "sig_core_enterprise", "sig_funder"]
    assert all(r.valid and r.intact for r in reports)
    assert [r.signer_name for r in reports] == ["Lotus Trading", "Yangtze Manufacturing", "Pearl River Bank"]
    assert not any(r.intact for r in verify_pdf(tampered(bytes(signed.content)), [esign_ca.trust_root()]))
    # the timeline says who signed, in order and when, before "every party signed" (the provider's flow says so)
    moments = [s.signed_at for s in esign.flows_for(row.number)[0].signers]
    assert all(moments)
    china = business_tz()
    with deals.test_request_context(), force_locale("zh"):
        zh = [e["text"] for e in deal_timeline.timeline(who("app1"), fresh(row), "zh")]
    signed_lines = [t for t in zh if t.startswith(("借款人已签署合同", "核心企业已签署合同", "资金方已在合同上"))]
    assert signed_lines == [
        f"借款人已签署合同（Lotus Trading，{moments[0].astimezone(china):%Y-%m-%d %H:%M}）",
        f"核心企业已签署合同（Yangtze Manufacturing，{moments[1].astimezone(china):%Y-%m-%d %H:%M}）",
        f"资金方已在合同上加盖电子印章（Pearl River Bank，{moments[2].astimezone(china):%Y-%m-%d %H:%M}）"], zh
    assert zh.index(signed_lines[-1]) + 1 == zh.index("各方已签署合同，已签合同已归档"), zh
    en = [e for e in deal_timeline.timeline(who("rev1"), fresh(row), "en") if e["kind"] == "party_signed"]
    assert [(e["by_party"], e["text"].split(" (")[0]) for e in en] == [
        ("borrower", "The borrower signed the contract"), ("core_enterprise", "The core enterprise signed the contract"),
        ("funder", "The funder's seal was applied to the contract")]

    # registration by the platform's operator, with the certificate uploaded
    assert tasks_of(instance_id) == ["register_collateral"]
    certificate = render_contract(sample_contract())  # any PDF will do as the registry's certificate
    do(instance_id, "register_collateral", "op1",
       {"registry": "zhongdeng", "registration_number": "ZD-2026-0001", "registration_date": "2026-11-27",
        "certificate": PENDING_DOCUMENT}, (Upload("certificate", "certificate.pdf", certificate),))
    done_instance = instance_of(instance_id)
    assert done_instance.status == "completed"
    assert (done_instance.data["signing_outcome"], done_instance.data["signing_reason"]) == ("signed", None)
    [kept] = documents(fresh(row), "registration_certificate")
    assert bytes(kept.content) == certificate
    assert kinds(fresh(row))[-1] == "collateral_registered"
    texts = [e["text"] for e in deal_timeline.timeline(who("app1"), fresh(row), "en")]
    assert any("ZD-2026-0001" in t for t in texts)
    with deals.test_request_context(), force_locale("zh"):  # its date as the pages write dates
        zh = [e["text"] for e in deal_timeline.timeline(who("app1"), fresh(row), "zh")]
    assert any("ZD-2026-0001" in t and "2026-11-27" in t for t in zh)


def test_a_pledge_deal_has_two_signers_and_its_registration(deals, client, base_url):
    row = approved("pledge")
    instance_id = start_signing(row)
    do(instance_id, "verify_identity_borrower", "app1", BORROWER)
    [flow] = esign.flows_for(row.number)
    assert [s.party for s in flow.signers] == ["borrower", "funder"]
    sign_through_the_api(client, row.number, "app1")
    assert deliver_callbacks() == 1
    assert fresh(row).stage == "registration" and tasks_of(instance_id) == ["register_collateral"]


def test_a_credit_loan_is_signed_without_registration(deals, client, base_url):
    row = approved("credit")
    instance_id = start_signing(row)
    do(instance_id, "verify_identity_borrower", "app1", BORROWER)
    [flow] = esign.flows_for(row.number)
    assert [(s.party, s.username) for s in flow.signers] == [("borrower", "app1"), ("funder", "seal:BANK1")]
    assert deliver_callbacks() == 0  # nothing ended yet
    sign_through_the_api(client, row.number, "app1")
    assert deliver_callbacks() == 1
    done = instance_of(instance_id)
    assert done.status == "completed" and done.data["signing_outcome"] == "signed"
    row = fresh(row)
    assert (row.status, row.stage) == ("signing", "contract_signing")
    assert len(documents(row, "signed_contract")) == 1 and documents(row, "registration_certificate") == []


# -- identity ---------------------------------------------------------------------------------------

def test_three_failed_verifications_stop_the_signing_with_the_reason(deals):
    row = approved("credit")
    instance_id = start_signing(row)
    failures = ({**BORROWER, "code": "111111"}, {**BORROWER, "name": "Someone Else"},
                {**BORROWER, "id_number": CORE_CODE, "name": "Yangtze Manufacturing"})
    for attempt, answer in enumerate(failures, start=1):
        assert tasks_of(instance_id) == ["verify_identity_borrower"], attempt
        do(instance_id, "verify_identity_borrower", "app1", answer)
    reasons = [e.data["reason_zh"] for e in events_of(row.id) if e.kind == "identity_failed"]
    assert reasons == ["验证码错误", "姓名或名称与证件号码不符", "证件号码与签署方不符"]
    row = fresh(row)
    assert row.status == "expired"
    assert row.reason == "A signer failed identity verification three times"
    assert reason_in(row, "zh") == "签署人身份验证连续三次失败"
    done = instance_of(instance_id)
    assert done.status == "completed" and done.data["signing_outcome"] == "stopped"
    assert "three times" in done.data["signing_reason"]
    assert esign.flows_for(row.number) == []  # no contract was sent
    for username in ("app1", "rev1"):  # every party is told why
        [told] = notices("signing_stopped", username)
        assert "three times" in told.body or "三次" in told.body
    texts = [e["text"] for e in deal_timeline.timeline(who("app1"), row, "en")]
    assert texts[-1] == "The signing stopped and the application expired: A signer failed identity verification three times"
    assert "The identity verification for the borrower failed (attempt 1): The verification code is wrong" in texts
    with deals.test_request_context(), force_locale("zh"):
        zh = [e["text"] for e in deal_timeline.timeline(who("app1"), row, "zh")]
    assert zh[-1] == "签约已终止，申请已失效：签署人身份验证连续三次失败"
    assert "借款人的身份验证未通过（第 1 次）：验证码错误" in zh


def test_a_malformed_identity_answer_is_refused_by_the_form_and_uses_no_attempt(deals):
    row = approved("credit")
    instance_id = row.instance_id
    first = open_task_id(instance_id)
    typos = (("mobile", "123"), ("mobile", "12800138000"), ("id_number", "123"), ("id_number", "91310000MA1000001I"),
             ("code", "abc"), ("code", "12345"))
    for field, typo in typos:  # each closed the task, used up one of the three attempts and said "任务已完成"
        with pytest.raises(Invalid) as refused:
            do(instance_id, "verify_identity_borrower", "app1", {**BORROWER, field: typo})
        assert list(refused.value.fields) == [field], (field, typo)
        db.session.rollback()
    with deals.test_request_context(), force_locale("zh"), pytest.raises(Invalid) as in_zh:
        do(instance_id, "verify_identity_borrower", "app1", {**BORROWER, "mobile": "123", "id_number": "123",
                                                             "code": "abc"})
    db.session.rollback()
    assert in_zh.value.fields == {"mobile": ["请填写 11 位中国大陆手机号码（以 13 至 19 开头）。"],
                                  "id_number": ["请填写 18 位统一社会信用代码或 18 位身份证号（数字及字母，不含 I、O、S、V、Z）。"],
                                  "code": ["请填写 6 位数字验证码。"]}
    with pytest.raises(Invalid) as in_en:
        do(instance_id, "verify_identity_borrower", "app1", {**BORROWER, "code": "abc"})
    db.session.rollback()
    assert in_en.value.fields == {"code": ["Enter the 6-digit verification code."]}
    assert open_task_id(instance_id) == first and "identity_failed" not in kinds(row)  # no attempt was used
    do(instance_id, "verify_identity_borrower", "app1", {**BORROWER, "code": "654321"})  # well formed, wrong: counted
    assert kinds(row).count("identity_failed") == 1 and tasks_of(instance_id) == ["verify_identity_borrower"]


def test_the_identity_simulator_api_answers_the_adapters_client(deals, served, app):
    client = HttpIdentityClient(f"{served}/simulators/identity", app.config["SIMULATOR_API_KEY"], retries=0)
    good = client.verify(VerificationRequest(name="Lotus Trading", credit_code=MANUAL_CODE, mobile=MOBILE,
                                             code="123456"))
    assert good.verified and good.reference.startswith("SIM-IDV-")
    wrong = client.verify(VerificationRequest(name="Lotus Trading Ltd", credit_code=MANUAL_CODE, mobile=MOBILE,
                                              code="123456"))
    assert (wrong.verified, wrong.reason_code) == (False, "name_mismatch")  # the platform's organisation's name
    sent = client.send_code(MOBILE)  # 获取验证码: the simulator sends no SMS and says its sandbox code
    assert sent.reference.startswith("SIM-SMS-") and sent.sandbox_code == "123456"
    assert deals.test_client().post("/simulators/identity/api/codes", json={"mobile": MOBILE}).status_code == 401


def test_the_identity_simulator_api_needs_the_simulator_key(deals, client):
    body = {"name": "Lotus Trading", "credit_code": MANUAL_CODE, "mobile": MOBILE, "code": "123456"}
    assert client.post("/simulators/identity/api/verify", json=body).status_code == 401
    answer = client.post("/simulators/identity/api/verify", json={**body, "code": "1"},
                         headers={"Authorization": f"Bearer {deals.config['SIMULATOR_API_KEY']}"})
    assert answer.status_code == 200 and answer.json["reason_code"] == "wrong_code"


# -- reminders and expiry ----------------------------------------------------------------------------

def test_an_unsigned_contract_is_reminded_daily_and_expires_after_7_days(deals, clock):
    row = approved("credit")
    instance_id = start_signing(row)
    do(instance_id, "verify_identity_borrower", "app1", BORROWER)
    assert fresh(row).status == "signing"
    for day in range(1, 7):
        clock.advance(days=1)
        assert instance_id in waking.wake_due().woken, day
        db.session.expire_all()
        assert len(notices("contract_reminder", "app1")) == day
    assert fresh(row).status == "signing"
    clock.advance(days=1)
    assert instance_id in waking.wake_due().woken
    row = fresh(row)
    assert row.status == "expired"
    assert row.reason == "The contract was not signed within 7 days"
    assert reason_in(row, "zh") == "合同未在7日内签署完成"
    done = instance_of(instance_id)
    assert done.status == "completed" and done.data["signing_outcome"] == "stopped"
    assert [e.kind for e in events_of(row.id)].count("signing_reminded") == 6


def test_a_signed_signer_is_not_reminded(deals, clock, client):
    row = approved("order")
    instance_id = start_signing(row)
    do(instance_id, "verify_identity_borrower", "app1", BORROWER)
    do(instance_id, "verify_identity_core", "signer1", CORE)
    sign_through_the_api(client, row.number, "app1")
    clock.advance(days=1)
    waking.wake_due()
    db.session.expire_all()
    assert notices("contract_reminder", "app1") == [] and len(notices("contract_reminder", "signer1")) == 1


def test_a_flow_the_provider_expires_ends_the_signing_with_its_reason(deals, base_url, clock):
    row = approved("credit")
    instance_id = start_signing(row)
    do(instance_id, "verify_identity_borrower", "app1", BORROWER)
    clock.advance(days=6, hours=23)
    waking.wake_due()
    # the provider's own clock ran out first (its flows expire after 7 days, counted from creation)
    [flow] = esign.flows_for(row.number)
    assert esign.expire_due() == 0
    db.session.expire_all()
    clock.advance(hours=1)
    assert esign.expire_due() == 1
    assert deliver_callbacks() == 1
    row = fresh(row)
    assert row.status == "expired" and "not signed by every signer within 7 days" in (row.reason or "")
    assert flows.PROVIDER_ENDED[0] in row.reason and flows.PROVIDER_ENDED[1] in reason_in(row, "zh")
    assert instance_of(instance_id).data["signing_outcome"] == "stopped"
    assert flow.flow_id


# -- over HTTP, as `make run` has it ------------------------------------------------------------------

@pytest.fixture
def over_http(app, served):
    """The identity and e-signature providers are the app's own simulators over HTTP, as `make run`
    has them: the e-signature one only on PostgreSQL (on SQLite the step creating a flow holds the
    write lock the simulator would wait for; it runs in process there). Config restored."""
    keys = ("ESIGN_URL", "ESIGN_API_KEY", "IDENTITY_URL", "IDENTITY_API_KEY", "BASE_URL")
    before = {k: app.config.get(k) for k in keys}
    esign_url = "" if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") else f"{served}/simulators/esign"
    app.config.update(ESIGN_URL=esign_url, ESIGN_API_KEY=app.config["SIMULATOR_API_KEY"],
                      IDENTITY_URL=f"{served}/simulators/identity", IDENTITY_API_KEY=app.config["SIMULATOR_API_KEY"],
                      BASE_URL=served)
    try:
        yield served
    finally:
        app.config.update(before)


def test_the_providers_over_http_sign_a_credit_loan(deals, client, over_http):
    row = approved("credit")
    instance_id = start_signing(row)
    do(instance_id, "verify_identity_borrower", "app1", {**BORROWER, "code": "999999"})
    assert instance_of(instance_id).data["verification_failure"].endswith("The verification code is wrong")
    do(instance_id, "verify_identity_borrower", "app1", BORROWER)
    [flow] = esign.flows_for(row.number)
    assert [(s.party, s.username) for s in flow.signers] == [("borrower", "app1"), ("funder", "seal:BANK1")]
    [told] = notices("contract_to_sign", "app1")
    assert told.body.endswith(f"/simulators/esign/flows/{flow.flow_id}/sign")
    sign_through_the_api(client, row.number, "app1")
    assert deliver_callbacks() == 1
    done = instance_of(instance_id)
    assert done.status == "completed" and done.data["signing_outcome"] == "signed"
    [signed] = documents(fresh(row), "signed_contract")
    assert all(r.valid for r in verify_pdf(bytes(signed.content), [esign_ca.trust_root()]))


# -- what the identity task shows and keeps -------------------------------------------------------

def test_the_identity_task_shows_the_last_failure_in_the_readers_language_and_never_keeps_the_code(deals):
    from app.models import InstanceEvent
    from app.services.workflow.task_view import task_page

    row = approved("credit")  # the product's own diagram waits in its call activity `signing`
    instance_id = row.instance_id
    assert tasks_of(instance_id) == ["verify_identity_borrower"]
    first = open_task_id(instance_id)
    assert shown_failure(task_page(who("app1"), first, "en")) is None  # nothing failed yet: no line
    do(instance_id, "verify_identity_borrower", "app1", {**BORROWER, "code": "654321"})

    again = open_task_id(instance_id)
    assert again != first
    # the task reads the subprocess's variables (the instance's own data does not hold them)
    assert shown_failure(task_page(who("app1"), again, "en")) == "The verification code is wrong"
    with deals.test_request_context(), force_locale("zh"):
        assert shown_failure(task_page(who("app1"), again, "zh")) == "验证码错误"

    # the code went to the identity check and is kept nowhere: not with the task, not in the history
    done = db.session.get(HumanTask, first)
    assert done.state == "completed" and "code" not in done.data and done.data["name"] == BORROWER["name"]
    completed = [e.details for e in db.session.scalars(select(InstanceEvent).where(
        InstanceEvent.instance_id == instance_id, InstanceEvent.kind == "task_completed"))]
    assert completed and all("654321" not in str(data) for data in completed)


def open_task_id(instance_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(select(HumanTask.id).where(
        HumanTask.instance_id == instance_id, HumanTask.state.in_(("ready", "claimed"))))


def shown_failure(page: dict) -> str:
    return next((item["value"] for item in page["key_data"] if item["name"] == "verification_failure"), None)


def test_a_failed_identity_answer_on_the_page_says_so_with_the_attempts_left_and_opens_the_retry(deals):
    """The signer who answers well formed but wrong reads that the verification failed, why, and how many
    attempts are left, on the task to try again in (it said "任务已完成" on the task list before); the
    third failure says the signing stopped."""
    import re

    from tests.integration.test_disbursement_stage import outside
    from tests.integration.test_identity import set_password, sign_in

    row = approved("credit")
    instance_id = row.instance_id
    first = open_task_id(instance_id)
    db.session.commit()
    set_password(deals, "app1")
    browser = deals.test_client()
    outside(lambda: sign_in(browser, "app1"))

    def answer(task_id: int, language: str):
        def post():
            headers = {"Accept-Language": language}
            form = browser.get(f"/tasks/{task_id}", headers=headers)
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
            return browser.post(f"/tasks/{task_id}", headers=headers, follow_redirects=True,
                                data={"csrf_token": csrf, **BORROWER, "code": "654321"})
        return outside(post)

    said = answer(first, "zh")
    second = open_task_id(instance_id)
    assert second != first and said.request.path == f"/tasks/{second}"
    assert "身份验证未通过：验证码错误。还剩 2 次机会，请核对信息后重试。" in said.text
    assert "任务已完成。" not in said.text
    said = answer(second, "en")
    third = open_task_id(instance_id)
    assert said.request.path == f"/tasks/{third}"
    assert ("Identity verification failed: The verification code is wrong. Attempts left: 1. Please check your "
            "details and try again.") in said.text
    said = answer(third, "zh")
    assert said.request.path == "/" and "身份验证未通过：验证码错误。验证次数已用完，签约已终止。" in said.text



def test_the_signer_gets_the_verification_code_on_the_task_page_and_the_form_stays_as_typed(deals):
    """There was no 获取验证码: the field's hint told every signer the sandbox code. The button has the provider
    send the code to the mobile typed; the simulator's answer says its sandbox code, a real provider's would not."""
    import re

    from tests.integration.test_disbursement_stage import outside
    from tests.integration.test_identity import set_password, sign_in

    row = approved("credit")
    task_id = open_task_id(row.instance_id)
    db.session.commit()
    for username in ("app1", "signer1"):
        set_password(deals, username)
    browser, other = deals.test_client(), deals.test_client()
    outside(lambda: sign_in(browser, "app1"))
    outside(lambda: sign_in(other, "signer1"))

    def press(who, mobile: str, language: str = "zh"):
        def post():
            headers = {"Accept-Language": language}
            form = who.get(f"/tasks/{task_id}", headers=headers)
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
            return form.text, who.post(f"/tasks/{task_id}", headers=headers, data={
                "csrf_token": csrf, "name": BORROWER["name"], "id_number": BORROWER["id_number"], "mobile": mobile,
                "code": "", "send_code": "1"})
        return outside(post)

    form, sent = press(browser, "13800138000")
    assert 'id="send-code"' in form and "123456" not in form  # the hint no longer tells every signer the code
    assert sent.status_code == 200 and "验证码已通过短信发送至 138****8000。（模拟器：沙箱验证码为 123456。）" in sent.text
    assert 'value="Lotus Trading"' in sent.text and 'value="13800138000"' in sent.text  # what was typed stays
    _form, english = press(browser, "13800138000", "en")
    assert "The verification code was sent to 138****8000 by SMS. (Simulator: its sandbox code is 123456.)" \
        in english.text
    _form, bad = press(browser, "123")
    assert bad.status_code == 422 and "请填写 11 位中国大陆手机号码（以 13 至 19 开头）。" in bad.text
    db.session.expire_all()
    assert db.session.get(HumanTask, task_id).state in ("ready", "claimed")  # nothing was completed
    assert "identity_failed" not in kinds(row)
    _form, theirs = press(other, "13800138000")  # the core enterprise's signer: not their task
    assert theirs.status_code != 200 and "验证码已通过短信发送" not in theirs.text
