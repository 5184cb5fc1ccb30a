"""From `approved` to `active` through the products' own diagrams (each calls `signing`, then
`disbursement`), over HTTP only, as an outside check drives it (issue 14, "How it is checked"):

- the platform's API: applications, the task API for the identity verification, registration
  (the certificate as a data URL) and release-funds forms, the loans API and the trial balance;
- the e-signature simulator's contract API (`GET /simulators/esign/api/flows?business_key=`,
  `POST .../flows/{id}/sign` as the signer by bearer token);
- the providers' callbacks, which the simulators POST to the served app (BASE_URL) when the
  worker's jobs run (`app/scheduler.py`: e-sign callbacks; payments settle + deliver), run here
  explicitly between steps, on the test clock;
- the payment simulator's injection page (failures, notifications twice), as the platform's operator.

On both databases. The borrower is named in Chinese, which `pdftotext` must find in the signed PDF.
"""
from __future__ import annotations

import base64
import functools
import json
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from app.extensions import db
from app.lending.schedule import generate_schedule
from app.models import Disbursement, Organisation, Product
from app.services.identity import directory as identity
from app.services.ledger import loans
from app.services.simulators import esign, esign_ca, esign_callbacks
from app.services.simulators import payments as payments_simulator
from app.services.workflow import waking
from handlers.contracts import render_contract
from handlers.esign import sign_callback, verify_pdf
from handlers.identifiers import make_credit_code
from handlers.payments import Notification
from handlers.payments.callbacks import sign_notification
from tests.conftest import REQUIRE_SERVICES
from tests.integration.ledger_support import business_day
from tests.integration.origination_support import MANUAL_CODE, USERS, deploy_shipped, seed_parties
from tests.integration.test_identity import set_password, sign_in
from tests.integration.test_origination_api import Deals
from tests.integration.test_simulators import csrf_of
from tests.unit.contract_sample import sample_contract, tampered

BORROWER_NAME = "上海莲花贸易有限公司"  # BORR1, named in Chinese: the signed PDF must carry it as text
CORE_CODE = make_credit_code("91420000MA0000001")
BANK_CODE = make_credit_code("91440000MA0000002")
BORROWER = {"name": BORROWER_NAME, "id_number": MANUAL_CODE, "mobile": "13800138000", "code": "123456"}
CORE = {"name": "Yangtze Manufacturing", "id_number": CORE_CODE, "mobile": "13900139000", "code": "123456"}
PAYEE = {"payee_account": "6222 0210 0100 7777", "payee_bank": "ICBC Shanghai",  # the application's (origination_support)
         "confirmed": True}
ESIGN_CALLBACK = "/api/v1/callbacks/esign"
PAYMENTS_CALLBACK = "/api/v1/callbacks/payments"
KINDS = ("order_financing", "pledge_financing", "credit_loan")
APPROVED = {"order_financing": "400000.00", "pledge_financing": "400000.00", "credit_loan": "180000.00"}
SIGNERS = {"order_financing": ["borrower", "core_enterprise", "funder"], "pledge_financing": ["borrower", "funder"],
           "credit_loan": ["borrower", "funder"]}
PRODUCT_CODE = {"order_financing": "ORDER-FIN", "pledge_financing": "PLEDGE-FIN", "credit_loan": "CREDIT-LOAN"}
TERM_MONTHS = 6


class Journey(Deals):
    """The deals of test_origination_api, carried on after approval, and the worker's jobs."""

    def __init__(self, app, client, tokens: dict[str, str], clock) -> None:
        super().__init__(app, client, tokens)
        self.clock = clock

    def approved(self, kind: str) -> dict[str, Any]:
        application = self.submitted(kind)
        self.intake(kind, application)
        self.approve(application, APPROVED[kind])
        seen = self.read(application)
        assert (seen["status"], seen["stage"], seen["approved_amount"]) == (
            "approved", "identity_verification", APPROVED[kind])
        assert self.tasks_of("app1", application["number"]) == ["verify_identity_borrower"]
        return seen

    def verify(self, user: str, number: str, element: str, answer: dict[str, str]) -> None:
        self.complete(user, number, element, answer)

    def flows(self, number: str, user: str) -> list[dict[str, Any]]:
        listed = self.client.get("/simulators/esign/api/flows", query_string={"business_key": number},
                                 headers={"Authorization": f"Bearer {self.tokens[user]}"})
        assert listed.status_code == 200, listed.get_data(as_text=True)
        return listed.get_json()["items"]

    def sign(self, number: str, user: str) -> dict[str, Any]:
        """`user` finds the deal's flow at the simulator and signs it with the sandbox code."""
        [flow] = self.flows(number, user)
        signed = self.client.post(f"/simulators/esign/api/flows/{flow['id']}/sign",
                                  json={"username": user, "code": "123456"},
                                  headers={"Authorization": f"Bearer {self.tokens[user]}"})
        assert signed.status_code == 200, signed.get_data(as_text=True)
        return signed.get_json()

    def register(self, number: str) -> None:
        """The platform's operator records the registration with the registry's certificate (a PDF)."""
        encoded = base64.b64encode(certificate()).decode("ascii")
        self.complete("op1", number, "register_collateral", {
            "registry": "zhongdeng", "registration_number": "ZD-2026-0042", "registration_date": "2026-11-27",
            "certificate": f"data:application/pdf;name=certificate.pdf;base64,{encoded}"})

    def release(self, number: str, **payee: str) -> None:
        self.complete("fin1", number, "release_funds", {**PAYEE, **payee})

    # -- the worker's jobs, run explicitly (app/scheduler.py) --

    def esign_job(self, capture: list | None = None) -> int:
        """The e-signature simulator's job: flows past their expiry, then its callbacks POSTed to the served app."""
        def post(url: str, body: bytes, headers: dict[str, str]) -> int:
            answered = esign_callbacks.http_post(url, body, headers)
            if capture is not None:
                capture.append((body, headers, answered))
            return answered

        with self.app.app_context():
            try:
                esign.expire_due()
                return esign_callbacks.deliver_callbacks(post)
            finally:
                db.session.remove()

    def payments_job(self, **advance: float) -> tuple[int, int]:
        """The clock moved on, then the payment simulator's job: (orders settled, notifications taken)."""
        self.clock.advance(**advance)
        with self.app.app_context():
            try:
                return payments_simulator.settle_due(), payments_simulator.deliver_notifications()
            finally:
                db.session.remove()

    def timers(self, **advance: float) -> int:
        self.clock.advance(**advance)
        with self.app.app_context():
            try:
                return len(waking.wake_due().woken)
            finally:
                db.session.remove()

    def inject(self, **plan: str) -> None:
        """The platform's operator sets what the next payment orders suffer, on the simulator's page."""
        browser = self.app.test_client()
        assert sign_in(browser, "op1").status_code == 302
        page = browser.get("/simulators/payments/", headers={"Accept-Language": "en"})
        assert page.status_code == 200
        form = {"fail_next": "0", "fail_reason": "", "late_next": "0", "late_minutes": "10", "twice_next": "0", **plan}
        done = browser.post("/simulators/payments/injection", data={"csrf_token": csrf_of(page.text), **form})
        assert done.status_code == 303, done.get_data(as_text=True)

    # -- what an outside check reads --

    def loan(self, loan_id: int, user: str = "app1") -> dict[str, Any]:
        return self.as_user(user).get(f"/loans/{loan_id}")

    def trial_balance(self) -> dict[str, Any]:
        return self.as_user("admin").get("/ledger/trial-balance")

    def document(self, application: dict[str, Any], kind: str) -> bytes:
        [doc] = [d for d in self.read(application)["documents"] if d["kind"] == kind]
        r = self.client.get(f"/api/v1/applications/{application['id']}/documents/{doc['id']}",
                            headers=self.as_user("app1").headers)
        assert r.status_code == 200 and r.mimetype == "application/pdf"
        return r.data

    def post_callback(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
        r = self.client.post(path, data=body, headers=headers)
        return r.status_code, r.get_json()


@pytest.fixture
def journey(app, client, runner, admin_token, clock, served) -> Any:
    """The shipped diagrams, the parties (BORR1 named in Chinese; the core enterprise and the funder with
    credit codes, the funder's finance fin1), a token each, and the simulators calling the served app back."""
    business_day(clock, date(2026, 11, 30))
    deploy_shipped(app, runner)
    with app.app_context():
        seed_parties()
        for code, name, credit_code in (("BORR1", BORROWER_NAME, MANUAL_CODE), ("CORE1", None, CORE_CODE),
                                        ("BANK1", None, BANK_CODE)):
            org = db.session.query(Organisation).filter_by(code=code).one()
            org.credit_code = credit_code
            org.name = name or org.name
        identity.create_user("fin1", "BANK1", ["finance"], display_name="Finance Zhao")
        tokens = {name: identity.issue_token(name) for name in [u[0] for u in USERS] + ["fin1"]}
        db.session.commit()
        db.session.remove()
    tokens["admin"] = admin_token
    set_password(app, "op1")
    before = app.config.get("BASE_URL")
    app.config["BASE_URL"] = served
    try:
        yield Journey(app, client, tokens, clock)
    finally:
        app.config["BASE_URL"] = before


@functools.cache
def certificate() -> bytes:
    """The registry's certificate: any PDF will do (rendered once)."""
    return render_contract(sample_contract())


def pdf_text(pdf: bytes, tmp_path) -> str:
    """The PDF's text as `pdftotext` (poppler-utils) extracts it."""
    if shutil.which("pdftotext") is None:
        if REQUIRE_SERVICES:
            pytest.fail("LOANFLOW_REQUIRE_SERVICES=1 but pdftotext (poppler-utils) is not installed")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "signed.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          timeout=60).stdout.decode("utf-8")


def to_signing(journey: Journey, kind: str) -> dict[str, Any]:
    """Approved, every signer verified: the contract is at the e-signature provider."""
    application = journey.approved(kind)
    number = application["number"]
    journey.verify("app1", number, "verify_identity_borrower", BORROWER)
    if kind == "order_financing":
        assert journey.tasks_of("signer1", number) == ["verify_identity_core"]
        journey.verify("signer1", number, "verify_identity_core", CORE)
    seen = journey.read(application)
    assert (seen["status"], seen["stage"]) == ("signing", "contract_signing")
    return seen


def to_disbursing(journey: Journey, kind: str) -> dict[str, Any]:
    """Signed (and registered): the funds wait for the funder's finance."""
    application = to_signing(journey, kind)
    number = application["number"]
    journey.sign(number, "app1")
    if kind == "order_financing":
        journey.sign(number, "signer1")
    assert journey.esign_job() == 1
    if kind != "credit_loan":
        assert journey.read(application)["stage"] == "registration"
        journey.register(number)
    seen = journey.read(application)
    assert (seen["status"], seen["stage"], seen["loan_id"]) == ("disbursing", "disbursement", None)
    assert journey.tasks_of("fin1", number) == ["release_funds"]
    return seen


def assert_active_with_the_products_schedule(journey: Journey, application: dict[str, Any], kind: str) -> dict:
    """`active` with `loan_id`; the loan (read through the loans API) has the approved amount, the term and the
    product's rate, its schedule the product's for those terms; the books balance."""
    seen = journey.read(application)
    assert (seen["status"], seen["stage"]) == ("active", "loan")
    assert isinstance(seen["loan_id"], int)
    loan = journey.loan(seen["loan_id"])
    amount = Decimal(APPROVED[kind])
    with journey.app.app_context():
        product = db.session.query(Product).filter_by(code=PRODUCT_CODE[kind]).one()
        disbursed_on = loans.business_today()
        expected = loans.product_rules(product).terms_for(amount, TERM_MONTHS, disbursed_on)
        rate = product.annual_rate
        db.session.remove()
    schedule = generate_schedule(expected)
    assert (loan["business_key"], loan["status"], loan["principal"], loan["product_code"]) == (
        f"LOAN-{application['number']}", "active", APPROVED[kind], PRODUCT_CODE[kind])
    assert Decimal(loan["annual_rate"]) == rate == Decimal("12")  # the product's rate (origination_support)
    assert loan["disbursed_on"] == disbursed_on.isoformat()
    rows = loan["schedule"]["instalments"]
    assert [(r["number"], r["due_date"], Decimal(r["principal_due"]), Decimal(r["interest_due"])) for r in rows] == [
        (i.number, i.due_date.isoformat(), i.principal, i.interest) for i in schedule.instalments]
    assert len(rows) == TERM_MONTHS and sum(Decimal(r["principal_due"]) for r in rows) == amount
    assert all(Decimal(r["interest_due"]) > 0 for r in rows) and Decimal(rows[-1]["balance"]) == 0
    assert rows[0]["start_date"] == disbursed_on.isoformat()
    assert Decimal(loan["balances"]["principal_outstanding"]) == amount
    assert Decimal(journey.trial_balance()["total"]) == 0
    return loan


# -- every product, approved to active --------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_each_product_goes_from_approved_to_active_with_its_schedule_and_a_signed_contract(
        journey, kind, tmp_path):
    application = to_signing(journey, kind)
    number = application["number"]
    # the contract's flow at the provider: the human signers in order, the funder's seal by itself
    [flow] = journey.flows(number, "app1")
    assert [s["party"] for s in flow["signers"]] == SIGNERS[kind]
    assert all({"party", "username", "status", "signing_url"} <= set(s) for s in flow["signers"])
    assert flow["signers"][0]["username"] == "app1" and flow["signers"][0]["signing_url"]
    assert "contract" in [d["kind"] for d in application["documents"]]

    after_borrower = journey.sign(number, "app1")
    if kind == "order_financing":
        assert [s["status"] for s in after_borrower["signers"]] == ["signed", "waiting", "waiting"]
        done = journey.sign(number, "signer1")
    else:
        done = after_borrower
    assert done["status"] == "completed" and {s["status"] for s in done["signers"]} == {"signed"}
    assert journey.read(application)["stage"] == "contract_signing"  # nothing until the callback arrives
    assert journey.esign_job() == 1

    # the signed PDF: every signer's signature intact against the simulator's CA; one byte changed fails
    signed = journey.document(application, "signed_contract")
    with journey.app.app_context():
        roots = [esign_ca.trust_root()]
        db.session.remove()
    reports = verify_pdf(signed, roots)
    assert [r.field for r in reports] == [f"sig_{party}" for party in SIGNERS[kind]]
    assert all(r.valid and r.intact for r in reports), reports
    assert reports[0].signer_name == BORROWER_NAME
    assert not any(r.valid and r.intact for r in verify_pdf(tampered(signed), roots))
    text = pdf_text(signed, tmp_path)
    assert BORROWER_NAME in text.replace(" ", "").replace("\n", "")

    if kind == "credit_loan":
        assert journey.tasks_of("op1", number) == []  # no registration
    else:
        assert (journey.read(application)["stage"], journey.tasks_of("op1", number)) == (
            "registration", ["register_collateral"])
        assert journey.tasks_of("fin1", number) == []  # disbursement waits for the registration
        bad = journey.as_user("op1")
        task_id = journey.task_of("op1", number, "register_collateral")
        bad.post(f"/tasks/{task_id}/claim")
        refused = bad.post(f"/tasks/{task_id}/complete", {"data": {
            "registry": "zhongdeng", "registration_number": "ZD-2026-0042", "registration_date": "2026-11-27",
            "certificate": "data:application/pdf;base64,not base64!"}}, expect=422)
        assert "certificate" in refused["error"]["fields"], refused
        assert bad.get(f"/tasks/{task_id}")["state"] == "claimed"  # still op1's to do
        bad.post(f"/tasks/{task_id}/unclaim")
        journey.register(number)
        kept = journey.document(application, "registration_certificate")
        assert kept == certificate()
    seen = journey.read(application)
    assert (seen["status"], seen["stage"], seen["loan_id"]) == ("disbursing", "disbursement", None)

    journey.release(number)
    assert journey.payments_job() == (0, 0)  # the gateway settles a few seconds after it takes the order
    assert journey.read(application)["loan_id"] is None
    assert journey.payments_job(seconds=3) == (1, 1)
    loan = assert_active_with_the_products_schedule(journey, application, kind)
    assert journey.read(application, "fin1")["loan_id"] == loan["id"]  # the funder reads it too
    kinds = [e["kind"] for e in journey.read(application)["timeline"]]
    assert kinds[-1] == "loan_booked"


# -- signing stops ------------------------------------------------------------------------------------

THREE_FAILURES = ("A signer failed identity verification three times", "签署人身份验证连续三次失败")
NOT_SIGNED = ("The contract was not signed within 7 days", "合同未在7日内签署完成")


def assert_expired(journey: Journey, application: dict[str, Any], reason: tuple[str, str]) -> None:
    """`expired` with `reason` (English, Chinese) shown to the borrower in their language, on the
    timeline and in a notice; no task left for anyone and no loan."""
    english, chinese = reason
    seen = journey.read(application)
    assert (seen["status"], seen["reason"], seen["loan_id"]) == ("expired", english, None)
    assert seen["timeline"][-1]["text"] == f"The signing stopped and the application expired: {english}"
    caller = journey.as_user("app1")
    caller.headers = {**caller.headers, "Accept-Language": "zh"}
    in_chinese = caller.get(f"/applications/{application['id']}")
    assert in_chinese["reason"] == chinese
    assert in_chinese["timeline"][-1]["text"] == f"签约已终止，申请已失效：{chinese}"
    notice = journey.last_notice(application)
    assert notice["template"] == "signing_stopped" and english in notice["body"]
    for user in ("app1", "signer1", "op1", "fin1"):
        assert journey.tasks_of(user, application["number"]) == [], user
    assert journey.as_user("app1").get("/loans", query_string={"business_key": f"LOAN-{application['number']}"})[
        "items"] == []


def test_a_signer_failing_identity_three_times_expires_the_application_with_the_reason(journey):
    application = journey.approved("order_financing")
    number = application["number"]
    journey.verify("app1", number, "verify_identity_borrower", BORROWER)
    wrong = ({**CORE, "code": "000000"}, {**CORE, "name": "Someone Else"}, {**CORE, "mobile": "13900139000",
                                                                            "code": "654321"})
    for attempt, answer in enumerate(wrong, start=1):
        assert journey.tasks_of("signer1", number) == ["verify_identity_core"], attempt
        journey.verify("signer1", number, "verify_identity_core", answer)
        if attempt < 3:
            assert journey.read(application)["status"] == "approved"
    assert_expired(journey, application, THREE_FAILURES)
    failures = [e["text"] for e in journey.read(application)["timeline"] if e["kind"] == "identity_failed"]
    assert len(failures) == 3 and "(attempt 1): The verification code is wrong" in failures[0], failures
    assert journey.flows(number, "app1") == []  # no contract was sent for signing


def test_a_contract_not_signed_in_7_days_expires_the_application_with_the_reason(journey):
    application = to_signing(journey, "credit_loan")
    for day in range(1, 7):
        journey.timers(days=1)
        assert journey.read(application)["status"] == "signing", day
        reminders = [n for n in journey.as_user("app1").get("/notices")["items"]
                     if n["business_key"] == application["number"] and n["template"] == "contract_reminder"]
        assert len(reminders) == day  # reminded daily
    journey.timers(days=1)
    assert_expired(journey, application, NOT_SIGNED)
    journey.esign_job()  # the provider's own expiry of the flow, if due, changes nothing
    assert journey.read(application)["reason"] == NOT_SIGNED[0]


# -- callbacks: forged, replayed, duplicated -------------------------------------------------------

def test_esign_callbacks_forged_replayed_and_duplicated_change_nothing(journey):
    application = to_signing(journey, "credit_loan")
    number = application["number"]
    done = journey.sign(number, "app1")
    event = json.dumps({"business_key": number, "flow_id": done["id"], "reason": "", "status": "completed"},
                       sort_keys=True).encode("utf-8")
    before = journey.read(application)

    forged = sign_callback("not-the-providers-secret", event, journey.clock.current, "forged-nonce-1")
    status, answer = journey.post_callback(ESIGN_CALLBACK, event, {"Content-Type": "application/json", **forged})
    assert (status, answer["error"]["code"]) == (401, "bad_signature")
    assert journey.read(application) == before  # nothing changed

    captured: list[tuple[bytes, dict[str, str], int]] = []
    assert journey.esign_job(captured) == 1  # the genuine callback
    [(body, headers, answered)] = captured
    assert answered == 200 and json.loads(body)["flow_id"] == done["id"]
    after = journey.read(application)
    assert (after["status"], after["stage"]) == ("disbursing", "disbursement")

    replayed = journey.post_callback(ESIGN_CALLBACK, body, headers)  # the same request again
    assert (replayed[0], replayed[1]["error"]["code"]) == (401, "replayed")
    assert journey.read(application) == after

    secret = journey.app.config["ESIGN_CALLBACK_SECRET"]
    journey.clock.advance(minutes=1)
    again = sign_callback(secret, body, journey.clock.current, "a-new-nonce-for-the-same-event")
    assert journey.post_callback(ESIGN_CALLBACK, body, {"Content-Type": "application/json", **again}) == (
        200, {"duplicate": True})
    assert journey.read(application) == after
    assert [d["kind"] for d in after["documents"]].count("signed_contract") == 1
    assert journey.tasks_of("fin1", number) == ["release_funds"]


def test_payments_callbacks_forged_replayed_and_duplicated_change_nothing(journey, monkeypatch):
    application = to_disbursing(journey, "credit_loan")
    number = application["number"]
    journey.release(number)
    before = journey.read(application)
    with journey.app.app_context():  # the order the gateway took (its id is what a forger would aim at)
        order = db.session.query(Disbursement).one()
        order_id, key = order.order_id, order.idempotency_key
        db.session.remove()
    assert key == f"{number}:disbursement:1"
    genuine = Notification(notification_id="PN-FORGED-1", order_id=order_id,
                           idempotency_key=key, kind="disbursement", status="succeeded",
                           amount=APPROVED["credit_loan"], settled_at=journey.clock.current, business_key=number)
    forged = sign_notification("not-the-gateways-secret", genuine, journey.clock.current, "forged-nonce-1")
    status, answer = journey.post_callback(PAYMENTS_CALLBACK, forged.body, forged.headers)
    assert (status, answer["error"]["code"]) == (401, "bad_signature")
    assert journey.read(application) == before and before["loan_id"] is None

    captured: list[tuple[bytes, dict[str, str], str]] = []
    real_post = payments_simulator._post

    def recording_post(url: str, body: bytes, headers: dict[str, str]) -> str:
        error = real_post(url, body, headers)
        captured.append((body, headers, error))
        return error

    monkeypatch.setattr(payments_simulator, "_post", recording_post)
    assert journey.payments_job(seconds=3) == (1, 1)  # the genuine notification
    [(body, headers, error)] = captured
    assert error == "" and json.loads(body)["business_key"] == number
    loan = assert_active_with_the_products_schedule(journey, application, "credit_loan")
    after = journey.read(application)

    replayed = journey.post_callback(PAYMENTS_CALLBACK, body, dict(headers))
    assert (replayed[0], replayed[1]["error"]["code"]) == (401, "replayed")
    assert journey.read(application) == after

    journey.clock.advance(minutes=1)
    again = sign_notification(journey.app.config["PAYMENTS_CALLBACK_SECRET"], Notification.from_dict(json.loads(body)),
                              journey.clock.current, "a-new-nonce-for-the-same-notification")
    assert journey.post_callback(PAYMENTS_CALLBACK, again.body, again.headers) == (200, {"duplicate": True})
    assert journey.read(application) == after
    assert journey.loan(loan["id"]) == loan  # booked once: the same loan, the same schedule and balances
    assert len(journey.as_user("app1").get("/loans", query_string={"business_key": f"LOAN-{number}"})["items"]) == 1


# -- payments: a failure, then the retry; a notification twice ----------------------------------

def test_a_failed_payment_goes_back_to_finance_and_the_retry_notified_twice_books_the_loan_once(journey):
    application = to_disbursing(journey, "credit_loan")
    number = application["number"]
    journey.inject(fail_next="1", fail_reason="收款账户已冻结 The payee account is frozen")
    journey.release(number)
    assert journey.payments_job(seconds=3) == (1, 1)
    seen = journey.read(application)
    assert (seen["status"], seen["stage"], seen["loan_id"]) == ("disbursing", "disbursement", None)
    [failed] = [e for e in seen["timeline"] if e["kind"] == "disbursement_failed"]
    assert "The payee account is frozen" in failed["text"]
    assert seen["timeline"][-1]["kind"] == "waiting"  # on the funder's finance again
    assert journey.tasks_of("fin1", number) == ["release_funds"]  # back to finance, with the reason

    journey.inject(twice_next="1")
    journey.release(number, payee_account="6222021001007777")  # the same account, typed without spaces
    assert journey.payments_job(seconds=3) == (1, 2)  # two copies of one notification, both taken
    loan = assert_active_with_the_products_schedule(journey, application, "credit_loan")
    assert journey.as_user("app1").get("/loans", query_string={"business_key": f"LOAN-{number}"})["total"] == 1
    kinds = [e["kind"] for e in journey.read(application)["timeline"]]
    assert kinds.count("loan_booked") == 1 and kinds.count("disbursement_failed") == 1
    assert journey.payments_job(minutes=5) == (0, 0)  # nothing left to send
    assert journey.loan(loan["id"]) == loan


def test_finance_stops_a_disbursement_that_cannot_be_paid_and_the_deal_ends_for_every_party(journey):
    """A payee account frozen for good left finance to retry the same account for ever: finance may now stop the
    disbursement with a reason; the deal expires at disbursement, every party is told, the product's instance ends
    at "Disbursement stopped" (not "Loan active") and no loan is booked."""
    from app.models import InstanceEvent, ProcessInstance
    application = to_disbursing(journey, "order_financing")
    number = application["number"]
    journey.inject(fail_next="1", fail_reason="收款账户已冻结 The payee account is frozen")
    journey.release(number)
    assert journey.payments_job(seconds=3) == (1, 1)
    task_id = journey.task_of("fin1", number, "release_funds")
    finance = journey.as_user("fin1")
    finance.post(f"/tasks/{task_id}/claim")
    blank = finance.post(f"/tasks/{task_id}/complete", {"data": {"decision": "stop", "stop_reason": "  "}}, expect=422)
    assert set(blank["error"]["fields"]) == {"stop_reason"}, blank
    assert finance.get(f"/tasks/{task_id}")["state"] == "claimed"  # refused: nothing changed
    assert journey.read(application)["status"] == "disbursing"
    finance.post(f"/tasks/{task_id}/complete", {"data": {"decision": "stop",
                                                         "stop_reason": "The account is frozen by the court"}})
    seen = journey.read(application)
    assert (seen["status"], seen["stage"], seen["loan_id"]) == ("expired", "disbursement", None)
    assert seen["reason"] == "The account is frozen by the court"
    assert seen["timeline"][-1]["text"] == (
        "The funder stopped the disbursement and the deal ended: The account is frozen by the court")
    notice = journey.last_notice(application)
    assert notice["template"] == "disbursement_stopped" and "frozen by the court" in notice["body"]
    for user in ("app1", "signer1", "fin1"):
        assert journey.tasks_of(user, number) == [], user
    assert journey.as_user("app1").get("/loans", query_string={"business_key": f"LOAN-{number}"})["items"] == []
    with journey.app.app_context():
        product = db.session.query(ProcessInstance).filter_by(business_key=number, process_id="order_financing").one()
        [done] = db.session.query(InstanceEvent).filter_by(instance_id=product.id, kind="completed").all()
        assert (product.status, done.details["end_events"]) == ("completed", ["end_disbursement_stopped"])
        assert [d.status for d in db.session.query(Disbursement)] == ["failed"]
        db.session.remove()
