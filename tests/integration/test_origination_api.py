"""Every product's deal through the shipped diagrams (processes/ and forms/), over the HTTP API only:
each step by the party whose step it is, with their own bearer token. The applicant drafts, attaches,
submits, edits, withdraws and deletes on /api/v1/applications; the core enterprise, the warehouse,
the platform's operator and the funder's reviewers find their task in their group's inbox
(/api/v1/me/tasks?view=group), claim it and complete it; the operator edits the risk simulator's
blacklist on its page and retries incidents on /api/v1/incidents. Outcomes are read as each party
reads them: the application (status, stage, reason, timeline; the risk report for the funder only)
and the borrower's in-app notices.

tests/integration/test_origination_flows.py drives the same diagrams through the services.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest

from app.extensions import db
from app.services.identity import directory as identity
from tests.integration.instance_api import wake
from tests.integration.ledger_support import business_day
from tests.integration.origination_support import (
    MANUAL_CODE,
    USERS,
    credit_application,
    deploy_shipped,
    order_application,
    pledge_application,
    seed_parties,
)
from tests.integration.test_identity import set_password, sign_in
from tests.integration.test_simulators import closed_port, csrf_of

API = "/api/v1"
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
KINDS = ("order_financing", "pledge_financing", "credit_loan")
ASKED = {"order_financing": "400000.00", "pledge_financing": "400000.00", "credit_loan": "200000.00"}
DRAFTS = {"order_financing": order_application, "pledge_financing": pledge_application,
          "credit_loan": credit_application}
FIRST_STAGE = {"order_financing": "core_confirmation", "pledge_financing": "warehouse_confirmation",
               "credit_loan": "credit_consent"}
FIRST_TASK = {"order_financing": ("signer1", "confirm_receivable"), "pledge_financing": ("wh1", "confirm_receipt"),
              "credit_loan": ("app1", "credit_consent")}  # (who, which task) the product's own stage awaits
REVIEWER = {"first_review": "rev1", "second_review": "rev2"}
NOTES = "Margin thin; keep on the internal watch list"


class Caller:
    """One user speaking to the API with their bearer token, in English."""

    def __init__(self, client, token: str) -> None:
        self.client, self.headers = client, {"Authorization": f"Bearer {token}", "Accept-Language": "en"}

    def call(self, method: str, path: str, body: Any = None, expect: int = 200, **kwargs: Any) -> Any:
        if body is not None:
            kwargs["json"] = body
        r = self.client.open(f"{API}{path}", method=method, headers=self.headers, **kwargs)
        assert r.status_code == expect, (method, path, r.status_code, r.get_data(as_text=True))
        return r.get_json(silent=True)

    def get(self, path: str, expect: int = 200, **kwargs: Any) -> Any:
        return self.call("GET", path, expect=expect, **kwargs)

    def post(self, path: str, body: Any = None, expect: int = 200) -> Any:
        return self.call("POST", path, body, expect=expect)


class Deals:
    """The platform with the shipped diagrams, its parties, and the steps each of them takes."""

    def __init__(self, app, client, tokens: dict[str, str]) -> None:
        self.app, self.client, self.tokens = app, client, tokens

    def as_user(self, name: str) -> Caller:
        return Caller(self.client, self.tokens[name])

    # -- the borrower's application --

    def draft(self, kind: str, amount: str | None = None, **details: str) -> dict[str, Any]:
        body = DRAFTS[kind](amount or ASKED[kind], **details)
        created = self.as_user("app1").call("POST", "/applications", body, expect=201)
        assert (created["status"], created["product_kind"]) == ("draft", kind)
        return created

    def attach(self, application: dict[str, Any], kind: str = "order", filename: str = "order.pdf") -> None:
        self.as_user("app1").call("POST", f"/applications/{application['id']}/documents", expect=201,
                                  data={"kind": kind, "file": (BytesIO(PDF), filename)},
                                  content_type="multipart/form-data")

    def submit(self, application: dict[str, Any]) -> dict[str, Any]:
        return self.as_user("app1").post(f"/applications/{application['id']}/submit")

    def read(self, application: dict[str, Any], user: str = "app1") -> dict[str, Any]:
        return self.as_user(user).get(f"/applications/{application['id']}")

    def submitted(self, kind: str, amount: str | None = None, **details: str) -> dict[str, Any]:
        application = self.submit(self.draft(kind, amount, **details))
        assert (application["status"], application["stage"]) == ("in_review", FIRST_STAGE[kind])
        return application

    # -- the parties' tasks --

    def tasks_of(self, user: str, number: str) -> list[str]:
        """The elements of the deal's tasks in the user's group inbox."""
        page = self.as_user(user).get("/me/tasks", query_string={"view": "group", "business_key": number})
        return [task["element_id"] for task in page["items"]]

    def task_of(self, user: str, number: str, element: str) -> int:
        page = self.as_user(user).get("/me/tasks", query_string={
            "view": "group", "business_key": number, "element_id": element})
        [task] = page["items"]
        assert task["business_key"] == number
        return task["id"]

    def complete(self, user: str, number: str, element: str, data: dict[str, Any]) -> None:
        """The user finds the task in their group's inbox, claims it and completes it with `data`."""
        task_id = self.task_of(user, number, element)
        self.as_user(user).post(f"/tasks/{task_id}/claim")
        self.as_user(user).post(f"/tasks/{task_id}/complete", {"data": data})

    def intake(self, kind: str, application: dict[str, Any], value: str | None = None) -> None:
        """The product's own stage, done: the core enterprise confirms the order (for `value`), the
        warehouse the receipt and the operator appraises the goods (at `value`), or the applicant
        consents to the credit enquiry."""
        number = application["number"]
        if kind == "order_financing":
            self.complete("signer1", number, "confirm_receivable", {
                "decision": "confirm", "confirmed_amount": value or "600000.00", "due_date": "2027-05-31",
                "collection_account": "6222 0210 0100 8888"})
        elif kind == "pledge_financing":
            self.complete("wh1", number, "confirm_receipt", {
                "decision": "confirm", "receipt_number": "WR-1", "goods": "Steel coil", "quantity": "300",
                "location": "Bay 4", "goods_locked": True})
            assert self.read(application)["stage"] == "appraisal"
            appraised = value or "1260000.00"  # 300 t at the value per unit
            self.complete("op1", number, "appraise_goods", {"unit_value": f"{Decimal(appraised) / 300:.2f}",
                                                            "appraised_value": appraised})
        else:
            self.complete("app1", number, "credit_consent", {"consent": True, "mobile": "13800138000"})

    def review(self, application: dict[str, Any], element: str, decision: str, **answer: str) -> None:
        self.complete(REVIEWER[element], application["number"], element, {"decision": decision, **answer})

    def approve(self, application: dict[str, Any], amount: str) -> None:
        assert self.read(application)["stage"] == "first_review"
        self.review(application, "first_review", "approve", approved_amount=amount, notes=NOTES)
        assert self.read(application)["stage"] == "second_review"
        self.review(application, "second_review", "approve", approved_amount=amount)

    def last_notice(self, application: dict[str, Any]) -> dict[str, Any]:
        """The newest in-app notice the applicant has about the application."""
        notices = self.as_user("app1").get("/notices")["items"]  # newest first
        return next(n for n in notices if n["business_key"] == application["number"])


@pytest.fixture
def deals(app, client, runner, admin_token, clock) -> Deals:
    business_day(clock, date(2026, 11, 30))
    deploy_shipped(app, runner)
    with app.app_context():
        seed_parties()
        tokens = {name: identity.issue_token(name) for name, *_ in USERS}
        db.session.commit()
        db.session.remove()
    return Deals(app, client, tokens)


def texts(application: dict[str, Any], kind: str | None = None) -> list[str]:
    return [e["text"] for e in application["timeline"] if kind is None or e["kind"] == kind]


def assert_approved(deals: Deals, application: dict[str, Any], amount: str) -> dict[str, Any]:
    """Approved, and on to signing (docs/signing.md): the borrower's signer verifies their identity first."""
    seen = deals.read(application)
    assert (seen["status"], seen["stage"], seen["approved_amount"], seen["reason"]) == (
        "approved", "identity_verification", amount, None)
    assert [(e["kind"], e["stage"]) for e in seen["timeline"][-3:]] == [
        ("approved", "decided"), ("stage", "identity_verification"), ("waiting", "identity_verification")]
    assert seen["timeline"][-1]["text"] == "Waiting for the borrower's signer to verify their identity"
    assert deals.tasks_of("app1", application["number"]) == ["verify_identity_borrower"]
    notice = deals.last_notice(application)
    assert notice["template"] == "application_approved" and not notice["read"]
    assert notice["subject"] == f"Application {application['number']} approved"
    return seen


def assert_rejected(deals: Deals, application: dict[str, Any], reason: str) -> dict[str, Any]:
    seen = deals.read(application)
    assert (seen["status"], seen["stage"], seen["approved_amount"]) == ("rejected", "decided", None)
    assert reason in seen["reason"], seen["reason"]
    assert seen["timeline"][-1]["kind"] == "rejected" and reason in seen["timeline"][-1]["text"]
    notice = deals.last_notice(application)
    assert notice["template"] == "application_rejected" and reason in notice["body"]
    for user in ("signer1", "wh1", "op1", "rev1", "rev2", "app1"):
        assert deals.tasks_of(user, application["number"]) == [], user
    return seen


# -- each product to approved -------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_a_deal_goes_from_draft_to_approved_and_each_party_sees_its_part(deals, kind):
    amount = ASKED[kind]
    application = deals.draft(kind)
    deals.attach(application)
    application = deals.submit(application)
    number = application["number"]
    assert (application["status"], application["stage"]) == ("in_review", FIRST_STAGE[kind])
    assert application["timeline"][-1]["kind"] == "waiting"
    assert deals.tasks_of("rev1", number) == []  # the funder waits for the product's own stage
    deals.intake(kind, application)
    assert deals.tasks_of("rev1", number) == ["first_review"]
    assert deals.tasks_of("app1", number) == []
    deals.approve(application, amount)

    borrower_sees = assert_approved(deals, application, amount)
    assert "risk" not in borrower_sees and NOTES not in str(borrower_sees)
    assert [d["kind"] for d in borrower_sees["documents"]] == ["order"]
    risk = deals.read(application, "rev2")["risk"]
    assert risk["blacklisted"] is False and risk["report_id"].startswith("SIM-") and risk["grade"] in ("B", "C", "D")
    assert risk["report_id"] not in str(borrower_sees)
    party, _element = FIRST_TASK[kind]
    assert "risk" not in deals.read(application, party)  # nor the core enterprise's or warehouse's
    stages = [e["stage"] for e in borrower_sees["timeline"] if e["kind"] == "stage"]
    assert stages[0] == FIRST_STAGE[kind] and stages[-3:] == ["first_review", "second_review", "identity_verification"]
    assert "risk_check" in stages


# -- the risk rules: a blacklist hit ------------------------------------------------------------

def blacklist(deals: Deals, subject: str) -> None:
    """The platform's operator puts `subject` on the risk simulator's blacklist, on its page."""
    set_password(deals.app, "op1")
    browser = deals.app.test_client()
    assert sign_in(browser, "op1").status_code == 302
    page = browser.get("/simulators/risk/", headers={"Accept-Language": "en"})
    added = browser.post("/simulators/risk/blacklist", headers={"Accept-Language": "en"},
                         data={"csrf_token": csrf_of(page.text), "subject": subject, "reason": "fraud case 7"})
    assert added.status_code == 303


@pytest.mark.parametrize("kind", KINDS)
def test_a_blacklisted_borrower_is_rejected_without_a_review(deals, kind):
    blacklist(deals, MANUAL_CODE)  # BORR1's credit code, and the credit loan's subject
    application = deals.submitted(kind)
    deals.intake(kind, application)
    assert_rejected(deals, application, "does not meet the funder's risk criteria")  # not which rule
    assert "blacklist" not in str(deals.read(application)) and "命中" not in str(deals.read(application))
    funder = deals.read(application, "rev1")
    assert funder["risk"]["blacklisted"] is True and "blacklist" in funder["timeline"][-1]["text"]
    assert "first_review" not in [e["stage"] for e in deals.read(application)["timeline"]]


# -- rejections, returns, withdrawals -----------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("element", ["first_review", "second_review"])
def test_a_reviewer_rejects_and_the_borrower_reads_the_reason(deals, kind, element):
    application = deals.submitted(kind)
    deals.intake(kind, application)
    if element == "second_review":
        deals.review(application, "first_review", "approve", approved_amount=ASKED[kind])
    reviewer = deals.as_user(REVIEWER[element])
    task_id = deals.task_of(REVIEWER[element], application["number"], element)
    reviewer.post(f"/tasks/{task_id}/claim")
    refused = reviewer.post(f"/tasks/{task_id}/complete", {"data": {"decision": "reject"}}, expect=422)
    assert "reason" in str(refused["error"]), refused
    reviewer.post(f"/tasks/{task_id}/complete", {"data": {
        "decision": "reject", "reason": "Repayment history too short", "notes": NOTES}})
    seen = assert_rejected(deals, application, "Repayment history too short")
    assert NOTES not in str(seen) and "risk" not in seen


@pytest.mark.parametrize("kind", KINDS)
def test_a_returned_application_is_supplemented_resubmitted_and_approved(deals, kind):
    application = deals.submitted(kind)
    number = application["number"]
    deals.intake(kind, application)
    deals.review(application, "first_review", "return", reason="Attach the last three invoices", notes=NOTES)

    returned = deals.read(application)
    assert (returned["status"], returned["stage"], returned["reason"]) == (
        "returned", "supplement", "Attach the last three invoices")
    assert "Attach the last three invoices" in texts(returned, "returned")[-1]
    assert returned["timeline"][-1]["kind"] == "waiting" and NOTES not in str(returned)
    notice = deals.last_notice(application)
    assert notice["template"] == "application_returned" and "Attach the last three invoices" in notice["body"]
    assert deals.tasks_of("rev1", number) == [] and deals.tasks_of("app1", number) == ["supplement"]

    deals.as_user("app1").call("PATCH", f"/applications/{application['id']}", {"amount": "150000.00"})
    deals.attach(application, "invoice", "invoices.pdf")
    resubmitted = deals.submit(application)
    assert (resubmitted["status"], resubmitted["stage"], resubmitted["reason"]) == ("in_review", "first_review", None)
    assert [e["kind"] for e in resubmitted["timeline"]][-4:] == ["document_added", "resubmitted", "stage", "waiting"]
    assert deals.tasks_of("rev1", number) == ["first_review"]  # the product's own stage is not done again
    deals.approve(application, "150000.00")
    assert_approved(deals, application, "150000.00")


@pytest.mark.parametrize("kind", KINDS)
def test_a_withdrawn_application_is_edited_resubmitted_and_approved(deals, kind):
    application = deals.submitted(kind)
    number = application["number"]
    deals.intake(kind, application)
    assert deals.tasks_of("rev1", number) == ["first_review"]

    withdrawn = deals.as_user("app1").post(f"/applications/{application['id']}/withdraw")
    assert (withdrawn["status"], withdrawn["stage"]) == ("withdrawn", None)
    assert deals.tasks_of("rev1", number) == []  # the open task is cancelled
    assert "submitted" in [e["kind"] for e in withdrawn["timeline"]]  # the history is kept
    deals.as_user("app1").call("PATCH", f"/applications/{application['id']}", {"amount": "150000.00", "term_months": 5})

    again = deals.submit(application)
    assert (again["status"], again["stage"], again["amount"], again["term_months"]) == (
        "in_review", FIRST_STAGE[kind], "150000.00", 5)
    deals.intake(kind, application)  # a new deal: the product's own stage again
    deals.approve(application, "150000.00")
    seen = assert_approved(deals, application, "150000.00")
    kinds = [e["kind"] for e in seen["timeline"]]
    assert kinds.index("withdrawn") < kinds.index("resubmitted") < kinds.index("approved")


@pytest.mark.parametrize("kind", KINDS)
def test_a_draft_is_deleted_and_a_submitted_application_is_409(deals, kind):
    applicant = deals.as_user("app1")
    draft = deals.draft(kind)
    applicant.call("DELETE", f"/applications/{draft['id']}", expect=204)
    applicant.get(f"/applications/{draft['id']}", expect=404)

    application = deals.submitted(kind)
    applicant.call("DELETE", f"/applications/{application['id']}", expect=409)
    assert deals.read(application)["status"] == "in_review"
    party, element = FIRST_TASK[kind]
    assert deals.tasks_of(party, application["number"]) == [element]  # the deal goes on


# -- the collateral's parties refuse ------------------------------------------------------------

def test_the_core_enterprise_disputes_the_receivable(deals):
    application = deals.submitted("order_financing")
    assert "risk" not in deals.read(application, "signer1")
    deals.complete("signer1", application["number"], "confirm_receivable",
                   {"decision": "dispute", "reason": "Order PO-1 was cancelled"})
    assert_rejected(deals, application, "Order PO-1 was cancelled")
    assert deals.read(application, "rev1")["risk"] is None  # never assessed


def test_the_warehouse_refuses_the_receipt(deals):
    application = deals.submitted("pledge_financing")
    deals.complete("wh1", application["number"], "confirm_receipt",
                   {"decision": "dispute", "reason": "No such receipt in our books"})
    assert_rejected(deals, application, "No such receipt in our books")
    assert deals.read(application, "rev1")["risk"] is None


# -- the caps -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "value", "cap", "why"), [
    ("order_financing", "450000.00", "360000.00", "the confirmed receivable ¥450,000.00 × 80% = ¥360,000.00"),
    ("pledge_financing", "700000.00", "420000.00",
     "the appraised value of the goods ¥700,000.00 × 60% = ¥420,000.00"),
])
def test_the_collateral_caps_the_approved_amount_and_the_timeline_says_why(deals, kind, value, cap, why):
    application = deals.submitted(kind, amount="500000.00")
    deals.intake(kind, application, value=value)
    shown = f"¥{float(cap):,.2f}"
    assert texts(deals.read(application), "capped") == [f"The amount is limited to {shown}: {why}"]
    deals.approve(application, "500000.00")  # the reviewers approve what was asked
    seen = assert_approved(deals, application, cap)
    assert seen["amount"] == "500000.00"
    assert texts(seen, "approved") == [
        f"Approved for {shown}, less than the ¥500,000.00 the reviewers proposed, limited by the collateral's cap"]
    assert f"approved for {shown}." in deals.last_notice(application)["body"]  # ¥360,000.00, as the timeline


# -- the risk provider down ---------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_the_risk_provider_down_becomes_an_incident_and_the_deal_goes_on_after_a_retry(
        deals, kind, clock, monkeypatch):
    monkeypatch.setitem(deals.app.config, "RISK_URL", f"http://127.0.0.1:{closed_port()}/simulators/risk")
    monkeypatch.setattr("handlers.transport.BACKOFF_SECONDS", 0)  # the client's own retries, without waiting
    application = deals.submitted(kind)
    deals.intake(kind, application)
    assert deals.read(application)["stage"] == "risk_check"
    for seconds in (10, 20):  # the service task's retries, 10 s then twice as long
        clock.advance(seconds=seconds)
        wake(deals.app)
    operator = deals.as_user("op1")
    [incident] = operator.get("/incidents", query_string={"state": "open"})["items"]
    assert incident["element_id"] == "assess" and "unreachable" in incident["message"]
    assert deals.read(application)["stage"] == "risk_check" and deals.tasks_of("rev1", application["number"]) == []

    monkeypatch.setitem(deals.app.config, "RISK_URL", "")  # the provider is back: the simulator in process
    assert operator.post(f"/incidents/{incident['id']}/retry")["state"] == "resolved"
    assert operator.get("/incidents", query_string={"state": "open"})["items"] == []
    deals.approve(application, ASKED[kind])
    assert_approved(deals, application, ASKED[kind])


def test_a_resubmission_racing_the_borrowers_own_answer_on_the_task_answers_once(deals, served):
    """The borrower answers the funder's request twice at once: resubmitting (which completes the supplement task)
    locked the application, then the task; the task's own completion locks the task, then its step writes the
    application. On PostgreSQL the two could wait on each other and one ended in a 500. One answers, the other is
    told the task is done; the review goes on once."""
    import json

    from tests.integration.test_money_races import race_posts

    headers = {"Authorization": f"Bearer {deals.tokens['app1']}", "Content-Type": "application/json"}
    for _ in range(3):
        application = deals.submitted("credit_loan")
        number = application["number"]
        deals.intake("credit_loan", application)
        deals.review(application, "first_review", "return", reason="Attach the last three invoices", notes=NOTES)
        task_id = deals.task_of("app1", number, "supplement")
        answer = json.dumps({"data": {"response": "Attached."}}).encode()
        completion, resubmission = race_posts(served, [
            (f"/api/v1/tasks/{task_id}/complete", headers, answer),
            (f"/api/v1/applications/{application['id']}/submit", headers, b"{}")])
        assert sorted((completion[0], resubmission[0])) == [200, 409], (completion, resubmission)
        assert deals.read(application)["status"] == "in_review"
        assert deals.tasks_of("rev1", number) == ["first_review"]
