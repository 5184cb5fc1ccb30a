"""The loan API on every backend: who sees which loan, bills and balances, pay-off quotes, offline payments
recorded once and confirmed by finance, the trial balance, and bad input refused without changing anything."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import JournalEntry, Payment
from app.services.ledger import adjustments
from tests.integration.ledger_support import assert_books_balance, business_day, two_loans

START = date(2026, 1, 10)  # 12,000 at 12 % over 12 months, 1 % fee: bills of 1,066.19 on the 10th
USERS = {  # username: (organisation, role)
    "applicant1": ("BORR1", "applicant"), "applicant2": ("BORR2", "applicant"),
    "finance1": ("BANK1", "finance"), "reviewer1": ("BANK1", "first_reviewer"), "lead1": ("BANK1", "team_lead"),
    "finance2": ("BANK2", "finance"), "auditor": ("PLATFORM", "auditor"), "operator": ("PLATFORM", "operator"),
    "signer1": ("CORE1", "core_signer"),
}
REASON = {"reason": "no such transfer arrived"}  # a rejection names its reason
ORGS = {"BORR1": "borrower", "BORR2": "borrower", "BANK1": "funder", "BANK2": "funder", "CORE1": "core_enterprise"}


class World:
    def __init__(self, client, headers: dict[str, dict[str, str]], loan1: int, loan2: int) -> None:
        self.client, self.headers, self.loan1, self.loan2 = client, headers, loan1, loan2

    def get(self, who: str, path: str, **kwargs: Any):
        return self.client.get(f"/api/v1{path}", headers=self.headers[who], **kwargs)

    def post(self, who: str, path: str, body: Any = None):
        return self.client.post(f"/api/v1{path}", headers=self.headers[who], json=body)

    def pay(self, who: str, loan_id: int, amount: Any = "1066.19", key: str = "voucher-1", **more: Any):
        return self.post(who, f"/loans/{loan_id}/payments", {"amount": amount, "idempotency_key": key, **more})


@pytest.fixture
def world(app, client, clock, admin_token) -> World:
    business_day(clock, START)
    with app.app_context():
        headers, ids = two_loans(ORGS, USERS, START)
        headers.update({"admin": {"Authorization": f"Bearer {admin_token}"}})
        db.session.remove()
    return World(client, headers, *ids)


def payments_count(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Payment))
        db.session.remove()
    return int(count or 0)


def error(response) -> dict[str, Any]:
    assert set(response.json) == {"error"}, response.json
    return response.json["error"]


# -- seeing loans -------------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "sees"), [
    ("applicant1", {1}), ("applicant2", {2}), ("finance1", {1}), ("reviewer1", {1}), ("lead1", {1}),
    ("finance2", {2}), ("auditor", {1, 2}), ("operator", {1, 2}), ("admin", {1, 2}), ("signer1", set()),
])
def test_each_user_sees_their_organisations_loans_and_404_for_the_others(world, who, sees):
    ids = {1: world.loan1, 2: world.loan2}
    listed = world.get(who, "/loans")
    assert listed.status_code == 200
    assert {item["id"] for item in listed.json["items"]} == {ids[n] for n in sees}
    assert listed.json["total"] == len(sees)
    for n, loan_id in ids.items():
        for path in ("", "/schedule-versions", "/payments", "/payoff-quote"):
            response = world.get(who, f"/loans/{loan_id}{path}")
            assert response.status_code == (200 if n in sees else 404), (who, n, path, response.json)
    assert world.get(who, "/loans/999999").status_code == 404


def test_a_loan_shows_its_current_schedule_bills_and_balances_with_money_as_strings(world):
    response = world.get("applicant1", f"/loans/{world.loan1}")
    assert response.status_code == 200
    loan = response.json
    assert (loan["business_key"], loan["product_code"], loan["status"]) == ("LOAN-1", "CREDIT12", "active")
    assert (loan["principal"], loan["annual_rate"], loan["credit_balance"]) == ("12000.00", "12", "0.00")
    schedule = loan["schedule"]
    assert (schedule["version"], schedule["current"], schedule["reason"]) == (1, True, "booked")
    bills = schedule["instalments"]
    assert len(bills) == 12 and bills[0]["due_date"] == "2026-02-10" and bills[0]["status"] == "pending"
    assert (bills[0]["principal_due"], bills[0]["interest_due"], bills[0]["owed"]) == ("946.19", "120.00", "1066.19")
    assert loan["balances"] == {"principal_outstanding": "12000.00", "interest_receivable": "0.00",
                                "penalty_receivable": "0.00", "fee_receivable": "0.00", "credit": "0.00"}
    filtered = world.get("auditor", "/loans", query_string={"business_key": "LOAN-2", "status": "active"})
    assert [item["id"] for item in filtered.json["items"]] == [world.loan2]
    assert world.get("auditor", "/loans", query_string={"status": "lost"}).status_code == 422


def test_the_payoff_quote_for_a_date_and_bad_dates(world):
    quote = world.get("applicant1", f"/loans/{world.loan1}/payoff-quote", query_string={"date": "2026-02-08"})
    assert quote.status_code == 200
    assert quote.json == {"on": "2026-02-08", "dues": "0.00", "principal": "12000.00", "interest": "112.26",
                          "fee": "110.54", "total": "12222.80", "credit": "0.00", "to_pay": "12222.80"}
    for bad in ("2026-02-30", "08/02/2026", "tomorrow"):
        response = world.get("applicant1", f"/loans/{world.loan1}/payoff-quote", query_string={"date": bad})
        assert response.status_code == 422 and "date" in error(response)["fields"], bad
    before = world.get("applicant1", f"/loans/{world.loan1}/payoff-quote", query_string={"date": "2025-12-31"})
    assert before.status_code == 422 and "disbursement" in error(before)["message"]
    other = world.get("applicant1", f"/loans/{world.loan2}/payoff-quote", query_string={"date": "2026-02-08"})
    assert other.status_code == 404 and error(other)["code"] == "not_found"


# -- offline payments ----------------------------------------------------------------------------

def test_an_offline_payment_is_recorded_once_per_key_and_booked_once_by_finance(app, world, clock):
    business_day(clock, date(2026, 2, 8))
    first = world.pay("applicant1", world.loan1)
    assert first.status_code == 201, first.json
    payment = first.json
    assert (payment["status"], payment["amount"], payment["channel"]) == ("pending", "1066.19", "offline")
    assert payment["idempotency_key"] == "voucher-1" and payment["booked_on"] is None

    again = world.pay("applicant1", world.loan1)  # the same request again (a retry, a double click)
    assert again.status_code == 200 and again.json["id"] == payment["id"]
    clash = world.pay("applicant1", world.loan1, "500.00")
    assert clash.status_code == 409 and error(clash)["code"] == "conflict"
    elsewhere = world.pay("applicant2", world.loan2)  # keys are the caller's own, per loan
    assert elsewhere.status_code == 201 and elsewhere.json["id"] != payment["id"]
    assert payments_count(app) == 2

    confirm = f"/loans/{world.loan1}/payments/{payment['id']}/confirm"
    for who, status in (("applicant1", 403), ("reviewer1", 403), ("lead1", 403), ("auditor", 403),
                        ("finance2", 404), ("applicant2", 404)):
        response = world.post(who, confirm)
        assert response.status_code == status, (who, response.json)
    assert world.get("finance1", f"/loans/{world.loan1}/payments").json[0]["status"] == "pending"

    business_day(clock, date(2026, 2, 9))
    booked = world.post("finance1", confirm)
    assert booked.status_code == 200
    assert (booked.json["status"], booked.json["booked_on"]) == ("booked", "2026-02-09")
    allocation = booked.json["allocation"]
    assert allocation["prepaid_principal"] == "0.00"  # a day before its due date, it pays bill 1
    assert allocation["instalments"] == [{"number": 1, "penalties": "0.00", "fees": "0.00", "interest": "120.00",
                                          "principal": "946.19"}]
    again = world.post("finance1", confirm)  # a second click is a conflict and books nothing
    assert again.status_code == 409 and again.json["error"]["message"] == "the payment is booked"
    assert world.post("finance1", f"/loans/{world.loan1}/payments/{payment['id']}/reject", REASON).status_code == 409
    assert world.post("finance1", f"/loans/{world.loan2}/payments/{payment['id']}/confirm").status_code == 404

    bills = world.get("applicant1", f"/loans/{world.loan1}").json["schedule"]["instalments"]
    assert (bills[0]["status"], bills[0]["owed"], bills[0]["paid_on"]) == ("paid", "0.00", "2026-02-09")
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(JournalEntry.kind == "payment")) == 1
        assert_books_balance(world.loan1, world.loan2)
        db.session.remove()


def test_finance_rejects_a_voucher_without_money_and_nothing_is_booked(app, world):
    payment = world.pay("applicant1", world.loan1, key="bounced").json
    rejected = world.post("finance1", f"/loans/{world.loan1}/payments/{payment['id']}/reject", REASON)
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    assert world.post("finance1", f"/loans/{world.loan1}/payments/{payment['id']}/confirm").status_code == 409
    assert world.post("admin", f"/loans/{world.loan1}/payments/999999/confirm").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(JournalEntry.kind == "payment")) == 0
        db.session.remove()


def test_a_decision_is_taken_once_and_a_voucher_of_a_loan_written_off_is_not_booked(app, world):
    payment = world.pay("applicant1", world.loan1, "100.00", key="twice").json
    reject = f"/loans/{world.loan1}/payments/{payment['id']}/reject"
    assert world.post("finance1", reject, REASON).status_code == 200
    again = world.post("finance1", reject, REASON)
    assert again.status_code == 409 and error(again)["message"] == "the payment is rejected"

    late = world.pay("applicant1", world.loan1, "100.00", key="late").json
    with app.app_context():
        adjustments.write_off(world.loan1)
        db.session.commit()
        db.session.remove()
    refused = world.post("finance1", f"/loans/{world.loan1}/payments/{late['id']}/confirm")
    assert refused.status_code == 409 and error(refused)["message"] == "the loan is written_off"
    assert world.get("finance1", f"/loans/{world.loan1}/payments").json[1]["status"] == "pending"
    assert world.post("finance1", f"/loans/{world.loan1}/payments/{late['id']}/reject", REASON).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(JournalEntry.kind == "payment")) == 0
        assert_books_balance(world.loan1)
        db.session.remove()


def test_a_prepayment_through_the_api_adds_a_schedule_version_and_the_old_one_stays(world, clock):
    business_day(clock, date(2026, 2, 10))
    payment = world.pay("admin", world.loan1, "4066.19", key="prepay", prepayment="reduce_instalment").json
    assert world.post("finance1", f"/loans/{world.loan1}/payments/{payment['id']}/confirm").status_code == 200
    versions = world.get("reviewer1", f"/loans/{world.loan1}/schedule-versions").json
    assert [(v["version"], v["reason"], v["current"], v["payment_id"]) for v in versions] == [
        (1, "booked", False, None), (2, "reduce_instalment", True, payment["id"])]
    assert [len(v["instalments"]) for v in versions] == [12, 12]
    assert versions[0]["instalments"][1]["principal_due"] == "955.65"  # the old bill 2, as it was
    assert Decimal(versions[1]["instalments"][1]["principal_due"]) > Decimal("2900")  # with the prepayment
    loan = world.get("applicant1", f"/loans/{world.loan1}").json
    assert loan["schedule"]["version"] == 2 and loan["schedule"]["level_payment"] is not None
    assert Decimal(loan["balances"]["principal_outstanding"]) < Decimal("8100")


@pytest.mark.parametrize(("body", "field"), [
    ({"amount": "-5.00", "idempotency_key": "k"}, "amount"),
    ({"amount": "0.00", "idempotency_key": "k"}, "amount"),
    ({"amount": "10.001", "idempotency_key": "k"}, "amount"),
    ({"amount": 10.5, "idempotency_key": "k"}, "amount"),
    ({"amount": "1e3", "idempotency_key": "k"}, "amount"),
    ({"amount": "abc", "idempotency_key": "k"}, "amount"),
    ({"amount": "100.00"}, "idempotency_key"),
    ({"amount": "100.00", "idempotency_key": ""}, "idempotency_key"),
    ({"amount": "100.00", "idempotency_key": "k", "prepayment": "skip_one"}, "prepayment"),
    ({"amount": "100.00", "idempotency_key": "k", "channel": "online"}, "channel"),
    ({"amount": "100.00", "idempotency_key": "k", "document_id": 424242}, "document_id"),
])
def test_bad_payments_are_refused_naming_the_field_and_change_nothing(app, world, body, field):
    response = world.post("applicant1", f"/loans/{world.loan1}/payments", body)
    assert response.status_code == 422, response.json
    assert field in error(response)["fields"]
    assert payments_count(app) == 0


def test_only_the_borrower_or_the_platform_admin_records_a_payment_and_another_orgs_loan_is_404(app, world):
    for who, status in (("finance1", 403), ("reviewer1", 403), ("lead1", 403), ("auditor", 403),
                        ("operator", 403), ("applicant2", 404), ("finance2", 404), ("signer1", 404)):
        response = world.pay(who, world.loan1, key=f"by-{who}")
        assert response.status_code == status, (who, response.json)
        assert error(response)["message"]
    assert world.pay("applicant1", 999999).status_code == 404
    assert payments_count(app) == 0
    assert world.pay("admin", world.loan1, key="by-admin").status_code == 201


def test_no_payment_on_a_closed_loan(world, clock):
    quote = world.get("admin", f"/loans/{world.loan1}/payoff-quote").json
    payment = world.pay("applicant1", world.loan1, quote["to_pay"], key="payoff").json
    assert world.post("finance1", f"/loans/{world.loan1}/payments/{payment['id']}/confirm").json["allocation"][
        "settled"] is True
    assert world.get("applicant1", f"/loans/{world.loan1}").json["status"] == "closed"
    late = world.pay("applicant1", world.loan1, "10.00", key="late")
    assert late.status_code == 409 and "closed" in error(late)["message"]


# -- the trial balance ---------------------------------------------------------------------------

def test_the_trial_balance_is_for_platform_staff_and_a_funders_finance_sees_its_own_loans(world):
    whole = world.get("auditor", "/ledger/trial-balance")
    assert whole.status_code == 200 and whole.json["scope"] == "all" and whole.json["total"] == "0.00"
    assert whole.json["balances"]["loan_principal"] == "24000.00"
    own = world.get("finance1", "/ledger/trial-balance")
    assert own.status_code == 200 and own.json["scope"] == "funder"
    assert (own.json["balances"]["loan_principal"], own.json["total"]) == ("12000.00", "0.00")
    for who in ("applicant1", "reviewer1", "lead1", "signer1"):
        response = world.get(who, "/ledger/trial-balance")
        assert response.status_code == 403 and error(response)["code"] == "forbidden", who
    assert world.client.get("/api/v1/ledger/trial-balance").status_code == 401
