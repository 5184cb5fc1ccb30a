"""The deal's diagrams in processes/ (order financing, pledge financing, credit loan and the shared
risk approval), driven through the services a page or the API calls: the borrower's applications,
the parties' tasks, the risk adapter (the simulator, or a stand-in provider), incidents.

Every outcome is read from the application row and its timeline, as the borrower reads it.
"""
from __future__ import annotations

from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from app.extensions import db
from app.models import Application, HumanTask, Incident, ProcessInstance
from app.services.errors import Invalid
from app.services.identity import directory as identity
from app.services.origination import applications, risk
from app.services.workflow import incidents, queries, tasks, waking
from app.services.workflow.task_view import task_page
from handlers.errors import ProviderUnavailable
from handlers.risk import RiskReport, RiskRequest, SimulatedRisk
from tests.integration.origination_support import (
    FAST_CODE,
    MANUAL_CODE,
    OTHER_CODE,
    PAYEE,
    deploy_shipped,
    order_application,
    seed_parties,
)
from tests.integration.test_disbursement_stage import reader
from tests.integration.test_identity import set_password


@pytest.fixture
def deals(app, ctx, runner, admin_token):
    deploy_shipped(app, runner)
    seed_parties()
    return app


def who(username: str):
    return identity.principal_for(username)


def draft(kind: str, amount: str = "400000.00", applicant: str = "app1", **details: str) -> Application:
    data: dict[str, object]
    if kind == "order":
        return applications.create_application(who(applicant), order_application(amount, **details))
    if kind == "pledge":
        data = {"product": "PLEDGE-FIN", "details": {"warehouse": "WH1", "receipt_number": "WR-1", "goods": "Steel coil",
                                                     "quantity": "300", "unit": "t", "unit_price": "4200.00",
                                                     **PAYEE, **details}}
    else:
        data = {"product": "CREDIT-LOAN", "details": {**PAYEE, **(details or {"credit_code": MANUAL_CODE})}}
    return applications.create_application(who(applicant), {
        **data, "amount": amount, "term_months": 6, "purpose": "Raw materials", "funder": "BANK1"})


def submit(row: Application, applicant: str = "app1") -> Application:
    return applications.submit(who(applicant), row.id)


def fresh(row: Application) -> Application:
    db.session.expire_all()
    return db.session.get(Application, row.id)


def open_tasks(row: Application) -> list[str]:
    return list(db.session.scalars(select(HumanTask.element_id).where(
        HumanTask.instance_id == fresh(row).instance_id, HumanTask.state.in_(("ready", "claimed")))
        .order_by(HumanTask.id)))


def do(row: Application, element: str, username: str, answer: dict) -> None:
    db.session.expire_all()
    task_id = db.session.scalar(select(HumanTask.id).where(
        HumanTask.instance_id == fresh(row).instance_id, HumanTask.element_id == element,
        HumanTask.state.in_(("ready", "claimed"))))
    assert task_id is not None, (element, open_tasks(row))
    tasks.complete_task(task_id, answer, who(username))


def timeline(row: Application) -> list[tuple[str, str | None, dict]]:
    return [(e.kind, e.stage, e.data) for e in applications.events_of(row.id)]


def confirm_order(row: Application, amount: str = "600000.00") -> None:
    do(row, "confirm_receivable", "signer1", {"decision": "confirm", "confirmed_amount": amount,
                                               "due_date": "2027-05-31", "collection_account": "6222 0210 0100 8888"})


def confirm_pledge(row: Application, appraised: str = "1260000.00") -> None:
    do(row, "confirm_receipt", "wh1", {"decision": "confirm", "receipt_number": "WR-1", "goods": "Steel coil",
                                        "quantity": "300", "location": "Bay 4", "goods_locked": True})
    assert fresh(row).stage == "appraisal" and open_tasks(row) == ["appraise_goods"]
    unit_value = f"{Decimal(appraised) / 300:.2f}"  # 300 t confirmed
    do(row, "appraise_goods", "op1", {"unit_value": unit_value, "appraised_value": appraised})


def consent(row: Application, applicant: str = "app1") -> None:
    do(row, "credit_consent", applicant, {"consent": True, "mobile": "13800138000"})


APPROVE = {"decision": "approve", "approved_amount": "400000.00", "notes": "Order confirmed"}


def approve_both(row: Application, amount: str = "400000.00") -> None:
    assert open_tasks(row) == ["first_review"]
    do(row, "first_review", "rev1", {**APPROVE, "approved_amount": amount})
    assert fresh(row).stage == "second_review" and open_tasks(row) == ["second_review"]
    do(row, "second_review", "rev2", {**APPROVE, "approved_amount": amount})


def assert_approved(row: Application, amount: str) -> None:
    """Approved, and on to signing (docs/signing.md): the borrower's signer verifies their identity first."""
    row = fresh(row)
    assert (row.status, row.stage, row.approved_amount, row.reason) == (
        "approved", "identity_verification", Decimal(amount), None)
    assert open_tasks(row) == ["verify_identity_borrower"]
    assert db.session.get(ProcessInstance, row.instance_id).status == "waiting"
    assert [(k, s) for k, s, _d in timeline(row)[-2:]] == [("approved", "decided"), ("stage", "identity_verification")]


def approval(row: Application) -> dict:
    """What the timeline's (one) approval line says."""
    [approved] = [d for k, _s, d in timeline(row) if k == "approved"]
    return approved


def fresh_events(row: Application) -> list:
    from app.services.origination.applications import events_of

    return events_of(row.id)


def assert_rejected(row: Application, reason: str) -> None:
    row = fresh(row)
    assert (row.status, row.stage, row.approved_amount) == ("rejected", "decided", None)
    assert reason in (row.reason or ""), row.reason
    assert timeline(row)[-1][0] == "rejected"
    assert open_tasks(row) == []


# -- each product to approved -------------------------------------------------------------------

def test_an_order_financing_deal_goes_from_submission_to_approved(deals):
    row = submit(draft("order"))
    assert (row.status, row.stage) == ("in_review", "core_confirmation")
    assert open_tasks(row) == ["confirm_receivable"]
    confirm_order(row)
    assert fresh(row).stage == "first_review"
    do(row, "first_review", "rev1", {**APPROVE, "notes": "Margin thin; internal watch list"})
    borrower_sees = queries.instance_detail(who("app1"), fresh(row).instance_id)["data"]
    funder_sees = queries.instance_detail(who("rev2"), fresh(row).instance_id)["data"]
    assert funder_sees["collection_account"] == "6222 0210 0100 8888"  # the core enterprise's answer is for it
    assert not {"notes", "decision", "approved_amount", "collection_account", "risk"} & set(borrower_sees)
    assert "Margin thin" not in str(borrower_sees)
    do(row, "second_review", "rev2", APPROVE)
    assert_approved(row, "400000.00")
    final = queries.instance_detail(who("rev2"), fresh(row).instance_id)["data"]
    assert "risk" not in final and final["risk_report_id"].startswith("SIM-")  # the report is kept apart
    assert (final["route"], final["outcome"], final["decision_result"]["approved_amount"]) == (
        "manual", "approved", "400000.00")
    assert "Margin thin" not in str(queries.instance_detail(who("app1"), fresh(row).instance_id)["data"])
    kinds = [k for k, _s, _d in timeline(row)]
    assert kinds[:2] == ["drafted", "submitted"] and kinds[-2:] == ["approved", "stage"]
    assert [s for k, s, _d in timeline(row) if k == "stage"] == [
        "core_confirmation", "risk_check", "first_review", "second_review", "identity_verification"]
    assert "capped" not in kinds  # 600,000 x 80 % is above what was asked


def test_a_reviewer_cannot_approve_more_than_the_borrower_applied_for(deals):
    row = submit(draft("order", amount="400000.00"))
    confirm_order(row)
    for task in ("first_review", "second_review"):
        with pytest.raises(Invalid) as refused:  # the form said "never more than the amount applied for"; it took it
            do(row, task, "rev1" if task == "first_review" else "rev2", {**APPROVE, "approved_amount": "400000.01"})
        assert refused.value.fields == {"approved_amount": ["Must be at most 400,000.00."]}
        assert open_tasks(row) == [task] and fresh(row).approved_amount is None  # nothing changed
        do(row, task, "rev1" if task == "first_review" else "rev2", {**APPROVE, "approved_amount": "380000"})
    assert_approved(row, "380000.00")
    assert approval(row).get("asked") is None  # nothing lowered it


def test_the_core_enterprise_confirms_at_most_the_order_amount_a_due_date_to_come_and_a_bank_account(deals):
    row = submit(draft("order"))  # an order of 600,000.00; the test clock's today is 2026-11-28
    good = {"decision": "confirm", "confirmed_amount": "600000.00", "due_date": "2026-11-28",
            "collection_account": "6222 0210 0100 8888"}
    for wrong, said in (({"confirmed_amount": "9000000.00"}, "Must be at most 600,000.00."),
                        ({"due_date": "2020-01-01"}, "Must be today (2026-11-28) or later."),
                        ({"collection_account": "abc"}, ACCOUNT_FORMAT),
                        ({"collection_account": "6222 021"}, ACCOUNT_FORMAT)):
        with pytest.raises(Invalid) as refused:  # each was taken
            do(row, "confirm_receivable", "signer1", {**good, **wrong})
        assert refused.value.fields == {next(iter(wrong)): [said]}
        db.session.rollback()
    with deals.test_request_context(), force_locale("zh"), pytest.raises(Invalid) as in_zh:
        do(row, "confirm_receivable", "signer1", {**good, "collection_account": "abc"})
    db.session.rollback()
    assert in_zh.value.fields == {"collection_account": ["请填写银行账号：8 至 40 位数字，数字之间可有空格。"]}
    assert (fresh(row).stage, open_tasks(row)) == ("core_confirmation", ["confirm_receivable"])  # nothing changed
    do(row, "confirm_receivable", "signer1", good)
    assert fresh(row).stage == "first_review"


ACCOUNT_FORMAT = "Enter the bank account number: 8 to 40 digits, spaces allowed between them."


def test_the_warehouse_confirms_at_most_the_declared_quantity(deals):
    row = submit(draft("pledge"))  # 300 t declared
    good = {"decision": "confirm", "receipt_number": "WR-1", "goods": "Steel coil", "quantity": "300",
            "location": "Bay 4", "goods_locked": True}
    with pytest.raises(Invalid) as refused:  # ten times the declared quantity was confirmed
        do(row, "confirm_receipt", "wh1", {**good, "quantity": "3000"})
    assert refused.value.fields == {"quantity": ["Must be at most 300."]}
    db.session.rollback()
    assert (fresh(row).stage, open_tasks(row)) == ("warehouse_confirmation", ["confirm_receipt"])
    task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == fresh(row).instance_id))
    shown = {i["name"]: i["label"] for i in task_page(who("wh1"), task_id, "en")["key_data"]}
    assert shown["quantity"] == "Declared quantity"  # the bound, as the warehouse reads it
    do(row, "confirm_receipt", "wh1", {**good, "quantity": "299.5"})
    assert fresh(row).stage == "appraisal"


def test_the_warehouse_starts_from_the_declared_receipt_and_cannot_confirm_another(deals):
    """The form starts with the receipt, goods and quantity the borrower declared (it started empty); another
    receipt number or other goods are refused next to the field: a receipt that is not the declared one is
    disputed, not confirmed."""
    row = submit(draft("pledge"))  # WR-1, Steel coil, 300 t declared
    task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == fresh(row).instance_id))
    assert task_page(who("wh1"), task_id, "en")["form_values"] == {"receipt_number": "WR-1", "goods": "Steel coil",
                                                                   "quantity": "300"}
    good = {"decision": "confirm", "receipt_number": "WR-1", "goods": "Steel coil", "quantity": "300",
            "location": "Bay 4", "goods_locked": True}
    for wrong, said in (({"receipt_number": "WR-10"}, "Must match WR-1, which the task shows."),
                        ({"quantity": "abc"}, "Enter a number above zero, such as 300 or 299.5 (at most 4 decimals)."),
                        ({"goods": "Bananas"}, "Must match Steel coil, which the task shows.")):
        with pytest.raises(Invalid) as refused:
            do(row, "confirm_receipt", "wh1", {**good, **wrong})
        assert refused.value.fields == {next(iter(wrong)): [said]}
        db.session.rollback()
    do(row, "confirm_receipt", "wh1", {**good, "receipt_number": " WR-1 "})
    assert fresh(row).stage == "appraisal"


def test_the_core_enterprise_starts_from_the_orders_amount_and_due_date(deals):
    row = submit(draft("order"))  # an order of 600,000.00
    task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == fresh(row).instance_id))
    values = task_page(who("signer1"), task_id, "en")["form_values"]
    shown = task_page(who("signer1"), task_id, "en")["task"]
    assert values == {"confirmed_amount": "600000.00", "due_date": fresh(row).details["order_due_date"]}, shown


def test_the_appraised_value_is_the_value_per_unit_times_the_quantity(deals):
    row = submit(draft("pledge"))
    do(row, "confirm_receipt", "wh1", {"decision": "confirm", "receipt_number": "WR-1", "goods": "Steel coil",
                                        "quantity": "250", "location": "Bay 4", "goods_locked": True})
    for appraised in ("5.00", "1100000.00", "900000.00"):  # a ¥5 appraisal of 250 t at ¥4,000 went on to review
        with pytest.raises(Invalid) as refused:
            do(row, "appraise_goods", "op1", {"unit_value": "4000", "appraised_value": appraised})
        assert refused.value.fields == {"appraised_value": ["Must be within 5% of 1,000,000.00 (4,000 × 250)."]}
        db.session.rollback()
    with deals.test_request_context(), force_locale("zh"), pytest.raises(Invalid) as refused_zh:
        do(row, "appraise_goods", "op1", {"unit_value": "4000", "appraised_value": "5.00"})
    db.session.rollback()
    assert refused_zh.value.fields == {"appraised_value": ["应与 1,000,000.00（4,000 × 250）相差不超过 5%。"]}
    assert open_tasks(row) == ["appraise_goods"]
    do(row, "appraise_goods", "op1", {"unit_value": "4000", "appraised_value": "960000.00"})  # 4 % below: a discount
    assert fresh(row).stage != "appraisal"


def test_a_pledge_financing_deal_goes_from_submission_to_approved(deals):
    row = submit(draft("pledge"))
    assert (fresh(row).stage, open_tasks(row)) == ("warehouse_confirmation", ["confirm_receipt"])
    confirm_pledge(row)
    approve_both(row)
    assert_approved(row, "400000.00")


def test_a_credit_loan_goes_from_submission_to_approved(deals):
    row = submit(draft("credit", amount="200000.00"))
    assert (fresh(row).stage, open_tasks(row)) == ("credit_consent", ["credit_consent"])
    consent(row)
    approve_both(row, "180000.00")
    assert_approved(row, "180000.00")


def test_the_borrowers_application_page_leads_to_the_task_the_deal_waits_for(deals, app):
    row = submit(draft("credit", amount="200000.00"))
    consent_task = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == row.instance_id,
                                                               HumanTask.element_id == "credit_consent"))
    db.session.commit()
    for name in ("app1", "rev1"):
        set_password(app, name)
    link = f'href="/tasks/{consent_task}"'
    borrower = reader(app, "app1")
    zh, en = borrower(f"/applications/{row.id}", "zh-CN"), borrower(f"/applications/{row.id}", "en")
    assert link in zh and "去处理" in zh and "征信查询授权" in zh  # it was in the group inbox only
    assert link in en and "Go to the task" in en
    assert link not in reader(app, "rev1")(f"/applications/{row.id}", "en")  # not the reviewer's to do
    consent(row)
    db.session.commit()
    assert "Go to the task" not in borrower(f"/applications/{row.id}", "en")  # now the funder's reviewers'


# -- the risk rules -----------------------------------------------------------------------------

def test_a_blacklisted_subject_is_rejected_by_the_rules_without_a_review(deals):
    risk.add_to_blacklist(who("admin"), OTHER_CODE, "fraud")
    row = submit(draft("credit", amount="200000.00", credit_code=OTHER_CODE))
    consent(row)
    assert_rejected(row, "does not meet the funder's risk criteria")  # the borrower is not told which rule
    assert "blacklist" in fresh_events(row)[-1].data["internal_reason"]  # the funder is
    assert not db.session.scalar(select(func.count()).select_from(HumanTask).where(
        HumanTask.instance_id == row.instance_id, HumanTask.element_id == "first_review"))
    assert risk.latest_report(who("rev1"), row.number).blacklisted is True


def test_grade_a_within_the_fast_track_limit_skips_the_second_review(deals):
    row = submit(draft("credit", amount="200000.00", applicant="app2", credit_code=FAST_CODE), "app2")
    consent(row, "app2")
    do(row, "first_review", "rev1", {**APPROVE, "approved_amount": "200000"})
    assert_approved(row, "200000.00")
    assert not db.session.scalar(select(func.count()).select_from(HumanTask).where(
        HumanTask.instance_id == row.instance_id, HumanTask.element_id == "second_review"))


def test_grade_a_above_the_fast_track_limit_gets_a_second_review(deals):
    row = submit(draft("order", applicant="app2"), "app2")
    confirm_order(row)
    do(row, "first_review", "rev1", APPROVE)
    assert open_tasks(row) == ["second_review"]


# -- rejections, returns, withdrawals -----------------------------------------------------------

def test_the_first_reviewer_rejects_with_a_reason_the_borrower_reads(deals):
    row = submit(draft("order"))
    confirm_order(row)
    with pytest.raises(Invalid) as refused:
        do(row, "first_review", "rev1", {"decision": "reject"})
    assert "reason" in str(refused.value.fields)
    do(row, "first_review", "rev1", {"decision": "reject", "reason": "Repayment history too short",
                                     "notes": "internal"})
    assert_rejected(row, "Repayment history too short")


def test_the_second_reviewer_rejects_with_a_reason(deals):
    row = submit(draft("pledge"))
    confirm_pledge(row)
    do(row, "first_review", "rev1", APPROVE)
    do(row, "second_review", "rev2", {"decision": "reject", "reason": "Steel prices too volatile"})
    assert_rejected(row, "Steel prices too volatile")


def test_a_returned_application_is_edited_resubmitted_and_reviewed_again(deals):
    row = submit(draft("order"))
    confirm_order(row)
    do(row, "first_review", "rev1", {"decision": "return", "reason": "Attach the last three invoices"})
    row = fresh(row)
    assert (row.status, row.stage, row.reason) == ("returned", "supplement", "Attach the last three invoices")
    assert open_tasks(row) == ["supplement"]
    assert timeline(row)[-1][:2] == ("returned", "supplement")
    applications.update_application(who("app1"), row.id, {"amount": "350000.00"})
    applications.add_document(who("app1"), row.id, "invoice", "invoice.pdf", b"%PDF-1.4\n%%EOF\n")
    row = submit(row)
    row = fresh(row)
    assert (row.status, row.stage, row.reason) == ("in_review", "first_review", None)
    assert open_tasks(row) == ["first_review"]
    assert [k for k, _s, _d in timeline(row)][-3:] == ["document_added", "resubmitted", "stage"]
    approve_both(row, "350000.00")
    assert_approved(row, "350000.00")


def test_the_borrowers_answer_to_a_request_for_more_information_is_not_blank(deals):
    row = submit(draft("order"))
    confirm_order(row)
    do(row, "first_review", "rev1", {"decision": "return", "reason": "Attach the last three invoices"})
    for blank in ({}, {"response": ""}, {"response": " \n\u3000 "}):  # a blank answer was taken
        with pytest.raises(Invalid) as refused:
            do(row, "supplement", "app1", blank)
        assert refused.value.fields == {"response": [
            "This field is required." if not blank else "Write your answer: it cannot be blank."]}, blank
        db.session.rollback()
    with deals.test_request_context(), force_locale("zh"), pytest.raises(Invalid) as in_zh:
        do(row, "supplement", "app1", {"response": "   "})
    db.session.rollback()
    assert in_zh.value.fields == {"response": ["请填写补充说明，不能为空。"]}
    assert (fresh(row).status, open_tasks(row)) == ("returned", ["supplement"])
    do(row, "supplement", "app1", {"response": "The invoices are on the application's page"})
    assert (fresh(row).status, open_tasks(row)) == ("in_review", ["first_review"])


def test_an_application_is_submitted_only_with_a_purpose(deals):
    row = applications.create_application(who("app1"), {**order_application(), "purpose": ""})  # a draft may lack it
    for purpose in ("", "  \n "):  # it was submitted with an empty purpose
        applications.update_application(who("app1"), row.id, {"purpose": purpose})
        with pytest.raises(Invalid) as refused:
            submit(row)
        assert refused.value.fields == {"purpose": ["Say what the loan is for (1 to 500 characters)."]}
        db.session.rollback()
        assert (fresh(row).status, fresh(row).instance_id) == ("draft", None)
    with deals.test_request_context(), force_locale("zh"), pytest.raises(Invalid) as in_zh:
        submit(row)
    db.session.rollback()
    assert in_zh.value.fields == {"purpose": ["请填写借款用途（1 至 500 个字符）。"]}
    applications.update_application(who("app1"), row.id, {"purpose": "Raw materials"})
    assert submit(row).status == "in_review"
    confirm_order(row)
    do(row, "first_review", "rev1", {"decision": "return", "reason": "Attach the last three invoices"})
    applications.update_application(who("app1"), row.id, {"purpose": " "})
    with pytest.raises(Invalid) as again:  # nor resubmitted without one
        submit(row)
    assert list(again.value.fields) == ["purpose"]
    db.session.rollback()
    assert (fresh(row).status, open_tasks(row)) == ("returned", ["supplement"])


def test_an_order_financing_application_asks_at_most_the_orders_amount(deals):
    with pytest.raises(Invalid) as refused:  # ¥500,000 was applied for against an order of ¥100,000
        applications.create_application(who("app1"), order_application("500000.00", "100000.00"))
    assert refused.value.fields == {"amount": ["At most the order's amount, ¥100,000.00."]}
    db.session.rollback()
    with deals.test_request_context(), force_locale("zh"), pytest.raises(Invalid) as in_zh:
        applications.create_application(who("app1"), order_application("500000.00", "100000.00"))
    db.session.rollback()
    assert in_zh.value.fields == {"amount": ["不能超过订单金额 ¥100,000.00。"]}
    row = applications.create_application(who("app1"), order_application("100000.00", "100000.00"))
    with pytest.raises(Invalid) as edited:
        applications.update_application(who("app1"), row.id, {"amount": "100000.01"})
    assert list(edited.value.fields) == ["amount"]
    db.session.rollback()
    fresh(row).amount = Decimal("500000.00")  # a draft saved before the rule
    db.session.commit()
    with pytest.raises(Invalid) as stale:
        submit(row)
    assert stale.value.fields == {"amount": ["At most the order's amount, ¥100,000.00."]}
    db.session.rollback()
    assert (fresh(row).status, fresh(row).instance_id) == ("draft", None)


def test_a_withdrawn_application_is_edited_and_submitted_again(deals):
    row = submit(draft("order"))
    first_instance = fresh(row).instance_id
    applications.withdraw(who("app1"), row.id)
    row = fresh(row)
    assert (row.status, row.stage) == ("withdrawn", None)
    assert db.session.get(ProcessInstance, first_instance).status == "cancelled"
    assert db.session.scalar(select(HumanTask.state).where(HumanTask.instance_id == first_instance)) == "cancelled"
    applications.update_application(who("app1"), row.id, {"amount": "300000.00"})
    row = submit(row)
    assert fresh(row).instance_id != first_instance
    confirm_order(row)
    approve_both(row, "300000.00")
    assert_approved(row, "300000.00")
    kinds = [k for k, _s, _d in timeline(row)]
    assert kinds.index("withdrawn") < kinds.index("resubmitted")


def test_the_core_enterprise_disputes_the_receivable(deals):
    row = submit(draft("order"))
    do(row, "confirm_receivable", "signer1", {"decision": "dispute", "reason": "Order PO-1 was cancelled"})
    assert_rejected(row, "Order PO-1 was cancelled")


def test_the_warehouse_refuses_the_receipt(deals):
    row = submit(draft("pledge"))
    do(row, "confirm_receipt", "wh1", {"decision": "dispute", "reason": "No such receipt in our books"})
    assert_rejected(row, "No such receipt in our books")


def test_a_receipt_cannot_be_confirmed_without_locking_the_goods(deals):
    row = submit(draft("pledge"))
    with pytest.raises(Invalid) as refused:
        do(row, "confirm_receipt", "wh1", {"decision": "confirm", "receipt_number": "WR-1", "goods": "Steel coil",
                                            "quantity": "300", "location": "Bay 4", "goods_locked": False})
    assert "goods_locked" in str(refused.value.fields)
    assert open_tasks(row) == ["confirm_receipt"]


# -- caps ---------------------------------------------------------------------------------------

def test_the_advance_ratio_caps_the_approved_amount(deals):
    row = submit(draft("order", amount="500000.00"))
    confirm_order(row, amount="450000.00")  # 450,000 x 80 % = 360,000
    approve_both(row, "500000.00")
    assert_approved(row, "360000.00")
    events = timeline(row)
    [capped] = [d for k, _s, d in events if k == "capped"]
    assert capped["cap"] == "360000.00" and "80%" in capped["reason"] and "80%" in capped["reason_zh"]
    approved = approval(row)
    assert approved["lowered_because"] == "the collateral's cap" and approved["asked"] == "500000.00"


def test_the_lending_ltv_caps_the_approved_amount(deals):
    row = submit(draft("pledge", amount="500000.00"))
    confirm_pledge(row, appraised="700000.00")  # 700,000 x 60 % = 420,000
    approve_both(row, "500000.00")
    assert_approved(row, "420000.00")
    [capped] = [d for k, _s, d in timeline(row) if k == "capped"]
    assert capped["cap"] == "420000.00" and "appraised" in capped["reason"]
    assert approval(row)["lowered_because"] == "the collateral's cap"


# -- the risk provider down ---------------------------------------------------------------------

class DownProvider:
    calls = 0

    def assess(self, request):
        DownProvider.calls += 1
        raise ProviderUnavailable("connection refused", provider="test")


def test_the_risk_provider_down_becomes_an_incident_and_the_deal_goes_on_after_a_retry(deals, clock):
    had = "risk_provider" in deals.extensions
    before = deals.extensions.get("risk_provider")
    deals.extensions["risk_provider"] = DownProvider()
    DownProvider.calls = 0
    try:
        row = submit(draft("credit", amount="200000.00"))
        consent(row)
        assert DownProvider.calls == 1 and fresh(row).stage == "risk_check" and open_tasks(row) == []
        for seconds in (10, 20):  # the service task's retries, 10 s then twice as long
            clock.advance(seconds=seconds)
            waking.wake_due()
        assert DownProvider.calls == 3
        instance = db.session.get(ProcessInstance, fresh(row).instance_id)
        assert instance.status == "error"
        [incident] = db.session.scalars(select(Incident).where(Incident.instance_id == instance.id))
        assert incident.element_id == "assess" and "connection refused" in incident.message
        deals.extensions["risk_provider"] = SimulatedRisk(())
        incidents.retry_incident(incident.id, who("admin"))
    finally:
        if had:
            deals.extensions["risk_provider"] = before
        else:
            deals.extensions.pop("risk_provider", None)
    assert fresh(row).stage == "first_review" and open_tasks(row) == ["first_review"]
    approve_both(row, "200000.00")
    assert_approved(row, "200000.00")


# -- the routing table (processes/risk_route.dmn), row by row -----------------------------------

class FixedRisk:
    """A risk provider answering one score and grade for everyone."""

    def __init__(self, score: int, grade: str) -> None:
        self.score, self.grade = score, grade

    def assess(self, request: RiskRequest) -> RiskReport:
        return RiskReport(report_id="FIX-1", score=self.score, grade=self.grade, blacklisted=False, provider="test")


@pytest.mark.parametrize(("score", "grade", "amount", "route"), [
    (500, "D", "200000.00", "auto_reject"),  # a score below 520
    (560, "E", "200000.00", "auto_reject"),  # grade E
    (520, "D", "200000.00", "manual"),
    (650, "C", "200000.00", "manual"),
    (760, "A", "300000.00", "fast_track"),  # grade A up to 300,000
    (760, "A", "300000.01", "manual"),
])
def test_the_routing_table_decides_by_score_grade_and_amount(deals, score, grade, amount, route):
    had, before = "risk_provider" in deals.extensions, deals.extensions.get("risk_provider")
    deals.extensions["risk_provider"] = FixedRisk(score, grade)
    try:
        row = submit(draft("credit", amount=amount))
        consent(row)
    finally:
        if had:
            deals.extensions["risk_provider"] = before
        else:
            deals.extensions.pop("risk_provider", None)
    if route == "auto_reject":
        assert_rejected(row, "does not meet the funder's risk criteria")
        assert ("520" if grade != "E" else "grade E") in fresh_events(row)[-1].data["internal_reason"]
        return
    do(row, "first_review", "rev1", {**APPROVE, "approved_amount": amount})
    assert open_tasks(row) == (["verify_identity_borrower"] if route == "fast_track" else ["second_review"])
    assert fresh(row).status == ("approved" if route == "fast_track" else "in_review")


def test_the_core_enterprise_reads_that_the_funder_returned_or_rejected_the_deal_but_not_why(deals):
    """The funder's reasons are its words to the borrower: the core enterprise read them on the deal's page
    ("订单对应的历史回款不稳定…", "请补充最近三个月的销售发票")."""
    from app.services.origination import timeline as deal_timeline

    returned = submit(draft("order"))
    confirm_order(returned)
    do(returned, "first_review", "rev1", {"decision": "return", "reason": "Attach the last three invoices"})
    rejected = submit(draft("order"))
    confirm_order(rejected)
    do(rejected, "first_review", "rev1", {"decision": "reject", "reason": "Repayment history too short"})
    with deals.test_request_context(), force_locale("en"):
        def said(username: str, row: Application) -> str:
            return " | ".join(e["text"] for e in deal_timeline.timeline(who(username), fresh(row), "en"))
        for username in ("app1", "rev1", "op1"):
            assert "asks for: Attach the last three invoices" in said(username, returned)
            assert "rejected: Repayment history too short" in said(username, rejected)
        core_returned, core_rejected = said("signer1", returned), said("signer1", rejected)
        assert "The funder returned the application for more information" in core_returned
        assert "invoices" not in core_returned
        assert "The application was rejected" in core_rejected and "Repayment history" not in core_rejected


def test_while_the_funder_waits_for_more_the_borrower_removes_only_what_it_uploaded_since(deals, clock):
    """Awaiting its supplement, the borrower removes a wrong file it just uploaded; what the funder reviewed stays,
    and a submitted application's documents stay (409)."""
    from app.models import ApplicationDocument
    from app.services.errors import Conflict

    row = draft("order")
    reviewed = applications.add_document(who("app1"), row.id, "order", "order.pdf", b"%PDF-1.4\n%%EOF\n").id
    clock.advance(minutes=5)
    row = submit(row)
    with pytest.raises(Conflict):  # in review: nothing is removed
        applications.remove_document(who("app1"), row.id, reviewed)
    db.session.rollback()
    confirm_order(row)
    do(row, "first_review", "rev1", {"decision": "return", "reason": "Attach the last three invoices"})
    clock.advance(days=1)
    wrong = applications.add_document(who("app1"), row.id, "invoice", "bad.pdf", b"%PDF-1.4\n%%EOF\n").id
    assert applications.removable_documents(who("app1"), fresh(row)) == {wrong}
    with pytest.raises(Conflict):
        applications.remove_document(who("app1"), row.id, reviewed)
    db.session.rollback()
    applications.remove_document(who("app1"), row.id, wrong)
    assert db.session.get(ApplicationDocument, wrong) is None
    assert db.session.get(ApplicationDocument, reviewed) is not None
    assert timeline(row)[-1][0] == "document_removed" and timeline(row)[-1][2]["filename"] == "bad.pdf"


def test_the_timeline_says_the_core_enterprise_and_the_warehouse_confirmed(deals):
    """The timeline asked the core enterprise and the warehouse, then went on to the risk check without saying
    that they had answered."""
    from app.services.origination import timeline as deal_timeline

    order = submit(draft("order"))
    confirm_order(order)
    pledge = submit(draft("pledge"))
    confirm_pledge(pledge)
    with deals.test_request_context(), force_locale("en"):
        def texts(row: Application) -> list[str]:
            return [e["text"] for e in deal_timeline.timeline(who("app1"), fresh(row), "en")]
        said = texts(order)
        asked = said.index("The core enterprise was asked to confirm the order")
        assert said[asked + 1] == "The core enterprise confirmed the receivable: ¥600,000.00, due 2027-05-31", said
        said = texts(pledge)
        asked = said.index("The warehouse was asked to confirm the warehouse receipt")
        assert said[asked + 1] == "The warehouse confirmed the warehouse receipt and that the goods are locked"
    with deals.test_request_context(), force_locale("zh"):
        assert "核心企业已确认应收账款：¥600,000.00，到期日 2027-05-31" in [
            e["text"] for e in deal_timeline.timeline(who("rev1"), fresh(order), "zh")]
    less = submit(draft("order"))
    confirm_order(less, amount="450000.00")  # less than the order's 600,000.00: the funder should notice
    with deals.test_request_context(), force_locale("zh"):
        assert "核心企业已确认应收账款：¥450,000.00，到期日 2027-05-31（与订单不一致：订单金额 ¥600,000.00，到期日 2027-05-31）" \
            in [e["text"] for e in deal_timeline.timeline(who("rev1"), fresh(less), "zh")]


def test_the_timeline_says_the_borrower_answered_the_request_for_more_information(deals):
    """After the borrower's reply the timeline went from the funder's request straight to its first review again."""
    from app.services.origination import timeline as deal_timeline

    row = submit(draft("order"))
    confirm_order(row)
    do(row, "first_review", "rev1", {"decision": "return", "reason": "Attach the last three invoices"})
    do(row, "supplement", "app1", {"response": "Attached the invoices of the last three months"})
    with deals.test_request_context(), force_locale("en"):
        said = [e["text"] for e in deal_timeline.timeline(who("rev1"), fresh(row), "en")]
    asked = said.index("The funder returned the application and asks for: Attach the last three invoices")
    assert said[asked + 1] == "The borrower answered the funder's request for more information", said
    assert "Attached the invoices" not in " ".join(said)  # that it answered; what it wrote is on the task


def test_what_the_borrower_supplies_to_the_funder_is_not_the_core_enterprises_to_read(deals, clock):
    """The core enterprise read the sales invoices the borrower supplied at the funder's request."""
    from app.services.errors import NotFound

    row = draft("order")
    order = applications.add_document(who("app1"), row.id, "order", "order.pdf", b"%PDF-1.4\n%%EOF\n").id
    row = submit(row)
    confirm_order(row)
    do(row, "first_review", "rev1", {"decision": "return", "reason": "Attach the last three invoices"})
    clock.advance(hours=2)
    supplied = applications.add_document(who("app1"), row.id, "invoice", "sales.pdf", b"%PDF-1.4\n%%EOF\n").id
    assert [d.id for d in applications.documents_of(who("signer1"), row.id)] == [order]
    with pytest.raises(NotFound):
        applications.get_document(who("signer1"), row.id, supplied)
    for username in ("app1", "rev1"):  # the borrower and the funder read both
        assert {d.id for d in applications.documents_of(who(username), row.id)} >= {order, supplied}


# -- zero -----------------------------------------------------------------------------------------

ZERO_AMOUNT = "Enter an amount above zero, such as 500000.00 (at most 2 decimals)."
ZERO_AMOUNT_ZH = "请填写大于零的金额，例如 500000.00（最多两位小数）。"


def test_a_confirmation_an_appraisal_or_an_approval_of_zero_is_refused_on_the_form(deals):
    """The core enterprise's "confirm ¥0.00" was taken: the cap became ¥0.00, the deal went through both reviews,
    and whatever they approved `origination.decide` refused ("an approval needs an amount above zero") and retried
    into an incident, the borrower reading 资金方复审已开始 for ever. A review approving ¥0, a warehouse confirming
    0 t and an appraisal at ¥0 a unit went the same way. Each is refused next to its field, and nothing changes."""
    order = submit(draft("order"))
    confirm = {"decision": "confirm", "confirmed_amount": "0", "due_date": "2027-03-31",
               "collection_account": "6222 0210 0100 8888"}
    for zero in ("0", "0.00", "000"):
        with pytest.raises(Invalid) as refused:
            do(order, "confirm_receivable", "signer1", {**confirm, "confirmed_amount": zero})
        assert refused.value.fields == {"confirmed_amount": [ZERO_AMOUNT]}
        db.session.rollback()
    with deals.test_request_context(), force_locale("zh"), pytest.raises(Invalid) as in_zh:
        do(order, "confirm_receivable", "signer1", confirm)
    db.session.rollback()
    assert in_zh.value.fields == {"confirmed_amount": [ZERO_AMOUNT_ZH]}
    assert (fresh(order).stage, open_tasks(order)) == ("core_confirmation", ["confirm_receivable"])
    confirm_order(order)
    for task, reviewer in (("first_review", "rev1"), ("second_review", "rev2")):
        with pytest.raises(Invalid) as refused:
            do(order, task, reviewer, {**APPROVE, "approved_amount": "0.00"})
        assert refused.value.fields == {"approved_amount": [ZERO_AMOUNT]}
        db.session.rollback()
        assert open_tasks(order) == [task] and fresh(order).approved_amount is None
        do(order, task, reviewer, APPROVE)
    assert_approved(order, "400000.00")

    pledge = submit(draft("pledge"))
    receipt = {"decision": "confirm", "receipt_number": "WR-1", "goods": "Steel coil", "quantity": "0",
               "location": "Bay 4", "goods_locked": True}
    with pytest.raises(Invalid) as refused:
        do(pledge, "confirm_receipt", "wh1", receipt)
    assert refused.value.fields == {"quantity": ["Enter a number above zero, such as 300 or 299.5 (at most 4 decimals)."]}
    db.session.rollback()
    do(pledge, "confirm_receipt", "wh1", {**receipt, "quantity": "300"})
    with pytest.raises(Invalid) as refused:
        do(pledge, "appraise_goods", "op1", {"unit_value": "0", "appraised_value": "0"})
    assert refused.value.fields == {"unit_value": [ZERO_AMOUNT], "appraised_value": [ZERO_AMOUNT]}
    db.session.rollback()
    assert (fresh(pledge).stage, open_tasks(pledge)) == ("appraisal", ["appraise_goods"])
