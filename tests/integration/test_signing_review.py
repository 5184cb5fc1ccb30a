# ruff: noqa: F811  (the `journey` fixture comes from test_signing_to_loan_api)
"""Review of the signing and disbursement stage (issue 14): the registration certificate is a PDF or
an image, nothing else; the funds go to the borrower whatever name the release form carries."""
from __future__ import annotations

import base64
import io
import json
import re
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import Disbursement, Loan, Notification
from app.models import PaymentOrder as OrderRow
from app.services.identity import directory as identity
from app.services.signing import disbursements
from handlers.esign import sign_callback
from tests.integration.origination_support import FAST_CODE
from tests.integration.test_identity import sign_in
from tests.integration.test_money_races import race_posts
from tests.integration.test_signing_to_loan_api import (  # noqa: F401 - journey is a fixture
    BORROWER_NAME,
    ESIGN_CALLBACK,
    PAYEE,
    Journey,
    certificate,
    journey,
    to_disbursing,
    to_signing,
)
from tests.integration.test_simulators import csrf_of


def _registration(journey: Journey) -> dict[str, Any]:
    application = to_signing(journey, "pledge_financing")
    journey.sign(application["number"], "app1")
    assert journey.esign_job() == 1
    assert journey.read(application)["stage"] == "registration"
    return application


def _register(journey: Journey, task_id: int, data_url: str):
    return journey.client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {
        "registry": "zhongdeng", "registration_number": "ZD-2026-0042", "registration_date": "2026-11-27",
        "certificate": data_url}}, headers={"Authorization": f"Bearer {journey.tokens['op1']}"})


def test_a_registration_certificate_that_is_not_a_pdf_or_an_image_is_refused_and_changes_nothing(journey):
    application = _registration(journey)
    task_id = journey.task_of("op1", application["number"], "register_collateral")
    journey.as_user("op1").post(f"/tasks/{task_id}/claim")
    for name, content in (("certificate.csv", "登记编号,ZD-2026-0042\n".encode()),
                          ("certificate.zip", b"PK\x03\x04" + b"\x00" * 60)):
        encoded = base64.b64encode(content).decode("ascii")
        refused = _register(journey, task_id, f"data:application/pdf;name={name};base64,{encoded}")
        assert refused.status_code == 422, refused.get_data(as_text=True)
        assert "certificate" in refused.get_json()["error"]["fields"]
        seen = journey.read(application)
        assert (seen["status"], seen["stage"]) == ("signing", "registration")
        assert "registration_certificate" not in [d["kind"] for d in seen["documents"]]
    encoded = base64.b64encode(certificate()).decode("ascii")
    taken = _register(journey, task_id, f"data:application/pdf;name=certificate.pdf;base64,{encoded}")
    assert taken.status_code == 200, taken.get_data(as_text=True)
    assert journey.read(application)["stage"] == "disbursement"


def test_the_funds_are_paid_to_the_borrower_and_no_other_holder_can_be_named(journey):
    """The release form has no holder's name (the borrower's is in its key data): one sent anyway is
    refused, and the order names the borrower."""
    application = to_disbursing(journey, "credit_loan")
    release = journey.task_of("fin1", application["number"], "release_funds")
    refused = _complete(journey, "fin1", release, {**PAYEE, "payee_name": "Mallory Consulting Ltd"})
    assert refused.status_code == 422, refused.get_data(as_text=True)
    journey.release(application["number"])
    with journey.app.app_context():
        order_id = db.session.scalar(select(Disbursement.order_id).where(
            Disbursement.application_id == application["id"]))
        row = db.session.scalar(select(OrderRow).where(OrderRow.order_id == order_id))
        assert row is not None
        assert row.order["payee"]["name"] == BORROWER_NAME
        assert row.order["payee"]["number"] == PAYEE["payee_account"]
        db.session.remove()


def test_a_completion_callback_for_another_flow_of_the_deal_changes_nothing(journey):
    application = to_signing(journey, "credit_loan")
    number = application["number"]
    before = journey.read(application)
    for status in ("completed", "expired"):
        event = json.dumps({"business_key": number, "flow_id": "FLOW-NOT-THE-DEALS", "reason": "", "status": status},
                           sort_keys=True).encode("utf-8")
        signed = sign_callback(journey.app.config["ESIGN_CALLBACK_SECRET"], event, journey.clock.current,
                               f"another-flow-{status}")
        status_code, _answer = journey.post_callback(ESIGN_CALLBACK, event,
                                                     {"Content-Type": "application/json", **signed})
        assert status_code == 200
        seen = journey.read(application)
        assert (seen["status"], seen["stage"]) == ("signing", "contract_signing")
        assert "signed_contract" not in [d["kind"] for d in seen["documents"]]
    # the deal's own flow still completes it
    journey.sign(number, "app1")
    assert journey.esign_job() == 1
    after = journey.read(application)
    assert (after["status"], after["stage"]) == ("disbursing", "disbursement")
    assert before["status"] == "signing"


def test_another_organisations_people_cannot_read_or_do_the_deals_signing_and_disbursement_tasks(journey):
    with journey.app.app_context():
        identity.create_org("BANK2", ["funder"], "Jade River Bank")
        identity.create_user("fin2", "BANK2", ["finance"])
        journey.tokens["fin2"] = identity.issue_token("fin2")
        db.session.commit()
        db.session.remove()
    application = journey.approved("credit_loan")
    number = application["number"]
    verify = journey.task_of("app1", number, "verify_identity_borrower")
    app2 = {"Authorization": f"Bearer {journey.tokens['app2']}"}
    assert journey.client.get(f"/api/v1/tasks/{verify}", headers=app2).status_code == 404
    assert journey.client.post(f"/api/v1/tasks/{verify}/claim", headers=app2).status_code == 404
    done = journey.client.post(f"/api/v1/tasks/{verify}/complete", headers=app2, json={"data": {
        "name": "Jade Foods", "id_number": FAST_CODE, "mobile": "13800138000", "code": "123456"}})
    assert done.status_code == 404
    assert journey.read(application)["stage"] == "identity_verification"
    assert journey.client.get("/simulators/esign/api/flows", query_string={"business_key": number},
                              headers=app2).get_json() == {"items": []}

    deal = to_disbursing(journey, "credit_loan")
    release = journey.task_of("fin1", deal["number"], "release_funds")
    fin2 = {"Authorization": f"Bearer {journey.tokens['fin2']}"}
    assert journey.client.get(f"/api/v1/tasks/{release}", headers=fin2).status_code == 404
    taken = journey.client.post(f"/api/v1/tasks/{release}/complete", headers=fin2, json={"data": PAYEE})
    assert taken.status_code == 404
    assert journey.client.get(f"/api/v1/applications/{deal['id']}", headers=fin2).status_code == 404
    seen = journey.read(deal)
    assert (seen["status"], seen["stage"], seen["loan_id"]) == ("disbursing", "disbursement", None)
    with journey.app.app_context():
        assert db.session.scalar(select(Disbursement.id).where(Disbursement.application_id == deal["id"])) is None
        db.session.remove()


def test_two_finance_users_releasing_at_once_and_a_double_submit_place_one_order(journey):
    deal = to_disbursing(journey, "credit_loan")
    with journey.app.app_context():
        identity.create_user("fin1b", "BANK1", ["finance"])
        journey.tokens["fin1b"] = identity.issue_token("fin1b")
        db.session.commit()
        db.session.remove()
    release = journey.task_of("fin1", deal["number"], "release_funds")
    body = json.dumps({"data": PAYEE}).encode("utf-8")
    posts = [(f"/api/v1/tasks/{release}/complete",
              {"Authorization": f"Bearer {journey.tokens[user]}", "Content-Type": "application/json"}, body)
             for user in ("fin1", "fin1b", "fin1", "fin1b")]
    answers = race_posts(journey.app.config["BASE_URL"], posts)
    statuses = sorted(status for status, _ in answers)
    assert statuses.count(200) == 1 and all(400 <= s < 500 for s in statuses if s != 200), answers
    with journey.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Disbursement).where(
            Disbursement.application_id == deal["id"])) == 1
        assert db.session.scalar(select(func.count()).select_from(OrderRow)) == 1
        db.session.remove()
    assert journey.read(deal)["status"] == "disbursing"


def _complete(journey: Journey, user: str, task_id: int, data: Any):
    return journey.client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": data},
                               headers={"Authorization": f"Bearer {journey.tokens[user]}"})


def test_wrong_form_data_on_the_signing_and_release_tasks_is_a_422_naming_the_fields_and_changes_nothing(journey):
    application = _registration(journey)
    number = application["number"]
    register = journey.task_of("op1", number, "register_collateral")
    encoded = base64.b64encode(certificate()).decode("ascii")
    good = {"registry": "zhongdeng", "registration_number": "ZD-1", "registration_date": "2026-11-27",
            "certificate": f"data:application/pdf;name=c.pdf;base64,{encoded}"}
    for wrong, field in (({**good, "registration_date": "2026-13-45"}, "registration_date"),
                         ({**good, "registration_date": "2030-01-01"}, "registration_date"),  # was taken
                         ({**good, "registry": "somewhere"}, "registry"),
                         ({**good, "registration_number": ""}, "registration_number"),
                         ({**good, "certificate": "document:1"}, "certificate"),
                         ({**good, "certificate": "data:application/pdf;base64,!!!"}, "certificate")):
        answer = _complete(journey, "op1", register, wrong)
        assert answer.status_code == 422, (field, answer.get_data(as_text=True))
        assert field in answer.get_json()["error"]["fields"], (field, answer.get_json())
    assert journey.read(application)["stage"] == "registration"
    assert _complete(journey, "op1", register, good).status_code == 200

    deal = journey.read(application)
    release = journey.task_of("fin1", number, "release_funds")
    for wrong, field in (({**PAYEE, "amount": "1.00"}, ""), ({**PAYEE, "payee_account": "not-an-account"}, "payee_account"),
                         ({**PAYEE, "confirmed": False}, "confirmed"), ({**PAYEE, "payee_bank": ""}, "payee_bank")):
        answer = _complete(journey, "fin1", release, wrong)
        assert answer.status_code == 422, (field, answer.get_data(as_text=True))
        if field:
            assert field in answer.get_json()["error"]["fields"], (field, answer.get_json())
    seen = journey.read(deal)
    assert (seen["status"], seen["stage"]) == ("disbursing", "disbursement")
    with journey.app.app_context():
        assert db.session.scalar(select(Disbursement.id).where(Disbursement.application_id == deal["id"])) is None
        db.session.remove()


def test_a_flow_the_provider_expires_gives_a_reason_in_chinese_without_a_code_or_english(journey):
    application = to_signing(journey, "credit_loan")
    journey.clock.advance(days=7, hours=1)  # the provider's clock runs out before the platform's timer is woken
    assert journey.esign_job() == 1
    answers = {}
    for language in ("zh", "en"):
        r = journey.client.get(f"/api/v1/applications/{application['id']}", headers={
            "Authorization": f"Bearer {journey.tokens['app1']}", "Accept-Language": language})
        assert r.status_code == 200
        answers[language] = r.get_json()
    assert answers["zh"]["status"] == "expired"
    zh, en = answers["zh"]["reason"], answers["en"]["reason"]
    assert zh.startswith("电子签约服务商终止了签署") and not re.search(r"[A-Za-z]", zh), zh
    assert en.startswith("The e-signature provider ended the signing") and "expired" in en, en


def test_a_settlement_that_fails_half_way_leaves_nothing_and_its_retry_books_the_loan_and_tells_the_borrower(
        journey, monkeypatch):
    deal = to_disbursing(journey, "credit_loan")
    told = disbursements._tell_borrower
    failures = []

    def tell_once_failing(row, loan):
        if not failures:
            failures.append(row.number)
            raise RuntimeError("the notices' queue is down")
        told(row, loan)

    monkeypatch.setattr(disbursements, "_tell_borrower", tell_once_failing)
    journey.release(deal["number"])
    journey.payments_job(seconds=3)
    assert failures == [deal["number"]]
    seen = journey.read(deal)
    assert (seen["status"], seen["loan_id"]) == ("disbursing", None)  # nothing half done while it waits
    with journey.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Loan)) == 0
        db.session.remove()
    journey.timers(minutes=1)  # the settlement's retry
    seen = journey.read(deal)
    assert seen["status"] == "active" and seen["loan_id"] is not None
    with journey.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Loan)) == 1
        assert db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.template == "loan_disbursed")) >= 1
        db.session.remove()


def test_the_registration_page_refuses_a_certificate_that_is_not_a_pdf_or_an_image_next_to_its_field(journey):
    application = _registration(journey)
    task_id = journey.task_of("op1", application["number"], "register_collateral")
    browser = journey.app.test_client()
    assert sign_in(browser, "op1").status_code == 302
    page = browser.get(f"/tasks/{task_id}", headers={"Accept-Language": "zh"})
    assert page.status_code == 200
    form = {"csrf_token": csrf_of(page.text), "registry": "zhongdeng", "registration_number": "ZD-1",
            "registration_date": "2026-11-27",
            "certificate": (io.BytesIO("登记编号,ZD-1\n".encode()), "certificate.csv")}
    refused = browser.post(f"/tasks/{task_id}", data=form, content_type="multipart/form-data",
                           headers={"Accept-Language": "zh"})
    assert refused.status_code == 422
    assert "此处不接受 CSV 文件：文件须为 PDF, PNG, JPEG。" in refused.get_data(as_text=True)
    seen = journey.read(application)
    assert (seen["stage"], "registration_certificate" in [d["kind"] for d in seen["documents"]]) == (
        "registration", False)
