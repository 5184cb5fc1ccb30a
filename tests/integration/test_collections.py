"""The collections case (`processes/collections.bpmn`) through the engine, with the batch moving the
dates: escalation through every bucket to a debt sale, a write-off, a kept and a broken promise,
the contact hours, the maker who may not approve their own proposal, and the agencies' isolation.
Each ends with the loan's expected state and a zero trial balance, on SQLite and PostgreSQL."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

from app.extensions import db
from app.models import (
    AuditEntry,
    Document,
    HumanTask,
    InstanceEvent,
    Loan,
    Notification,
    Organisation,
    Payment,
    ProcessInstance,
    User,
)
from app.models import Product as LoanProduct
from app.services import clock as service_clock
from app.services.collections import cases as cases_of
from app.services.collections import contacts, views
from app.services.errors import Forbidden, Invalid, NotFound
from app.services.identity import directory as identity
from app.services.ledger import loans
from app.services.ledger.eod import run_eod
from app.services.ledger.repayments import PaymentNotice, quote_payoff, take_payment
from app.services.workflow import inbox, tasks, waking
from app.services.workflow.outbox import enqueue
from app.services.workflow.outbox_delivery import deliver_outbox
from tests.conftest import ROOT
from tests.integration.ledger_support import assert_books_balance, business_day, product
from tests.integration.test_disbursement_stage import reader
from tests.integration.test_identity import set_password, sign_in

CHINA = ZoneInfo("Asia/Shanghai")
START = date(2026, 1, 10)
FIRST_OVERDUE = date(2026, 2, 14)  # instalment 1 falls due on 10 Feb; 3 days of grace
USERS = {"agent1": ("PLATFORM", "collections_agent"), "op1": ("PLATFORM", "operator"),
         "fin1": ("BANK1", "finance"), "fin2": ("BANK1", "finance"), "app1": ("BORR1", "applicant"),
         "ag1": ("AG1", "collections_agent"), "ag2": ("AG2", "collections_agent")}


@pytest.fixture
def world(app, ctx, runner, admin_token):
    """The shipped collections diagram and decision, the parties and their users, a product."""
    forms_dir, app.config["FORMS_DIR"] = app.config["FORMS_DIR"], str(ROOT / "forms")
    try:
        deployed = runner.invoke(args=["processes", "deploy", str(ROOT / "processes" / "collections.bpmn"),
                                       str(ROOT / "processes" / "collections_action.dmn")])
        assert deployed.exit_code == 0, deployed.output
    finally:
        app.config["FORMS_DIR"] = forms_dir
    identity.create_org("BORR1", ["borrower"], "Lotus Trading")
    identity.create_org("BANK1", ["funder"], "Pearl River Bank")
    identity.create_org("AG1", ["collection_agency"], "Swift Recovery")
    identity.create_org("AG2", ["collection_agency"], "Steady Collections")
    for name, (org, role) in USERS.items():
        identity.create_user(name, org, [role], mobile="13800138000" if name == "app1" else None)
    db.session.commit()
    product()
    return app


def who(username: str):
    return identity.principal_for(username)


def _locale(username: str, locale: str | None) -> None:
    db.session.scalar(select(User).where(User.username == username)).locale = locale


def book_loan(clock, pledged: bool = False) -> int:
    """LOAN-1 of BORR1 funded by BANK1: 12,000.00 over 12 months from START (a pledge-financing product's, if asked)."""
    business_day(clock, START)
    if pledged:
        db.session.scalar(select(LoanProduct).where(LoanProduct.code == "CREDIT12")).kind = "pledge_financing"
    loan = loans.book_loan(loans.LoanRequest("CREDIT12", "LOAN-1", _org("BORR1"), Decimal("12000.00"), 12, START,
                                             funder_org_id=_org("BANK1")))
    db.session.commit()
    run_eod(START)
    return loan.id


def _org(code: str) -> int:
    return db.session.scalar(select(Organisation.id).where(Organisation.code == code))


def batch(clock, day: date) -> None:
    """The end-of-day batch for `day` (the clock at 10:00 China time that day), then the outbox; the
    worker's timers first, as the worker wakes them on time."""
    business_day(clock, day)
    db.session.commit()
    waking.wake_due()
    run_eod(day)
    db.session.commit()
    deliver_outbox()


def open_case(loan_id: int, day: date) -> int:
    """What post_loan does when the batch says the loan is overdue: the collections_opened message."""
    loan = db.session.get(Loan, loan_id, populate_existing=True)
    enqueue("collections_opened", loan.business_key, {
        "loan_id": loan.id, "application_number": "1", "business_date": day.isoformat(), "dpd": loan.dpd,
        "amount_overdue": "0", "parties": {"borrower": "BORR1", "funder": "BANK1"}},
        f"collections:{loan.id}:{day.isoformat()}", loan_id=loan.id, start_process="collections")
    db.session.commit()
    deliver_outbox()
    instance_id = db.session.scalar(select(ProcessInstance.id).where(ProcessInstance.process_id == "collections"))
    assert instance_id is not None
    return instance_id


def instance(instance_id: int) -> ProcessInstance:
    db.session.expire_all()
    return db.session.get(ProcessInstance, instance_id)


def open_tasks(instance_id: int) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(HumanTask.element_id).where(
        HumanTask.instance_id == instance_id, HumanTask.state.in_(("ready", "claimed"))).order_by(HumanTask.id)))


def task_id(instance_id: int, element: str) -> int:
    found = db.session.scalar(select(HumanTask.id).where(
        HumanTask.instance_id == instance_id, HumanTask.element_id == element,
        HumanTask.state.in_(("ready", "claimed"))))
    assert found is not None, (element, open_tasks(instance_id))
    return found


def do(instance_id: int, element: str, username: str, answer: dict) -> None:
    db.session.expire_all()
    tasks.complete_task(task_id(instance_id, element), answer, who(username))


def contact(instance_id: int, username: str = "agent1", day: date | None = None, at: str = "10:30",
            **answer: str) -> None:
    day = day or service_clock.now().astimezone(CHINA).date()  # the day as the platform's clock has it
    do(instance_id, "contact", username, {"contact_date": day.isoformat(), "contact_time": at, "channel": "phone",
                                          "outcome": "reached", "next_step": "continue", "note": "called", **answer})


def ended_at(instance_id: int) -> str | None:
    row = instance(instance_id)
    if row.status != "completed":
        return None
    return db.session.scalar(select(InstanceEvent.element_id).where(
        InstanceEvent.instance_id == instance_id, InstanceEvent.kind == "completed"))


def wake_at(clock, moment: datetime) -> int:
    db.session.commit()
    clock.current = moment.astimezone(UTC)
    woken = len(waking.wake_due().woken)
    db.session.expire_all()
    return woken


def data(instance_id: int) -> dict:
    return instance(instance_id).data


def audits(action_prefix: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action.like(f"{action_prefix}%"))
                                   .order_by(AuditEntry.id)))


def test_a_case_escalates_through_every_bucket_to_a_debt_sale(world, clock, client, app):
    loan_id = book_loan(clock)
    batch(clock, FIRST_OVERDUE)
    case = open_case(loan_id, FIRST_OVERDUE)
    assert (data(case)["action"], data(case)["bucket"]) == ("sms_phone", "1-30")
    sms = db.session.scalars(select(Notification).where(Notification.template == "collections_reminder",
                                                        Notification.channel == "sms")).all()
    assert [n.recipient for n in sms] == ["13800138000"]  # the borrower's applicant, inside the hours
    assert "逾期期间每日计收罚息" in sms[0].body or "Penalty interest accrues on it every day" in sms[0].body, sms[0].body
    contact(case, day=FIRST_OVERDUE)
    assert open_tasks(case) == []  # waiting: the batch's earlier bucket_changed (to 1-30) was decided already

    batch(clock, date(2026, 3, 13))  # 31 days: a field visit (over 1,000.00 overdue)
    assert (data(case)["action"], data(case)["bucket"], open_tasks(case)) == ("field_visit", "31-60", ["contact"])
    contact(case, day=date(2026, 3, 13), channel="field_visit")

    batch(clock, date(2026, 4, 12))  # 61 days: the demand letter, kept with the case
    assert (data(case)["action"], data(case)["may_sell"]) == ("demand_letter", True)
    letter = db.session.scalar(select(Document).where(Document.instance_id == case, Document.field == "demand_letter"))
    assert letter is not None and letter.content.startswith(b"%PDF") and data(case)["letter_document"] == \
        f"document:{letter.id}"
    contact(case, day=date(2026, 4, 12), channel="letter")

    batch(clock, date(2026, 5, 12))  # 91 days, no pledge: litigation, finance told
    assert (data(case)["action"], data(case)["action_name_zh"]) == ("litigation", "诉讼")
    assert db.session.scalar(select(Notification.id).where(Notification.template == "collections_escalated"))
    contact(case, day=date(2026, 5, 12), next_step="propose_debt_sale")
    assert open_tasks(case) == ["propose_sale"]
    do(case, "propose_sale", "op1", {"agency": "NOBODY", "discount_percent": 60, "reason": "No assets"})
    assert open_tasks(case) == ["propose_sale"] and "NOBODY" in data(case)["sale_error_en"]  # back to the maker
    do(case, "propose_sale", "op1", {"agency": "AG1", "discount_percent": 60, "reason": "No assets"})
    assert open_tasks(case) == ["approve_sale"]
    outstanding = Decimal(data(case)["sale_outstanding"])
    price = Decimal(data(case)["sale_price"])
    assert price == (outstanding * Decimal("0.4")).quantize(Decimal("0.01"))
    db.session.commit()
    set_password(app, "fin1")
    with app.app_context():
        sign_in(client, "fin1")
        proposal = client.get(f"/tasks/{task_id(case, 'approve_sale')}", headers={"Accept-Language": "en"})
    assert proposal.status_code == 200 and "Swift Recovery" in proposal.text and "受让方（催收机构）" in proposal.text
    do(case, "approve_sale", "fin1", {"decision": "approve", "decision_note": "Best offer"})

    assert ended_at(case) == "end_sold"
    loan = db.session.get(Loan, loan_id, populate_existing=True)
    assert loan.status == "written_off"
    sale = db.session.scalar(select(Payment).where(Payment.loan_id == loan_id, Payment.channel == "debt_sale"))
    assert (sale.amount, sale.status) == (price, "booked")
    actions = [a.action for a in audits("collections_debt_sale")]
    assert actions[-1] == "collections_debt_sale_approved" and "collections_debt_sale_proposed" in actions
    approved = audits("collections_debt_sale_approved")[0]
    assert approved.actor_id == who("fin1").id and approved.details["proposed_by"] == who("op1").id
    assert views.case(who("ag1"), case, "en")["agency"] == "Swift Recovery"  # the buyer sees the case now
    assert_books_balance(loan_id)


def test_a_case_ends_in_a_write_off_approved_by_a_second_person(world, clock):
    loan_id = book_loan(clock, pledged=True)
    batch(clock, date(2026, 5, 12))
    case = open_case(loan_id, date(2026, 5, 12))
    assert data(case)["action"] == "disposal"  # 91+ with pledged goods
    contact(case, day=date(2026, 5, 12), next_step="propose_write_off")
    do(case, "propose_write_off", "op1", {"reason": "The borrower is insolvent"})
    assert open_tasks(case) == ["approve_write_off"]
    do(case, "approve_write_off", "fin2", {"decision": "approve", "decision_note": "Agreed"})
    assert ended_at(case) == "end_write_off"
    assert db.session.get(Loan, loan_id, populate_existing=True).status == "written_off"
    entry = audits("collections_write_off_approved")[0]
    assert entry.actor_id == who("fin2").id and entry.details["proposed_by"] == who("op1").id
    assert_books_balance(loan_id)


def test_a_kept_promise_ends_the_case(world, clock):
    loan_id = book_loan(clock)
    batch(clock, FIRST_OVERDUE)
    case = open_case(loan_id, FIRST_OVERDUE)
    contact(case, day=FIRST_OVERDUE, outcome="promised", promise_date="2026-02-20", promise_amount="500.00")
    assert data(case)["check_at"].startswith("2026-02-21T09:00")
    business_day(clock, date(2026, 2, 18))
    take_payment(PaymentNotice(loan_id=loan_id, idempotency_key="pay-500", amount="500.00"))
    db.session.commit()
    assert wake_at(clock, datetime(2026, 2, 21, 8, 59, tzinfo=CHINA)) == 0
    assert wake_at(clock, datetime(2026, 2, 21, 9, 0, tzinfo=CHINA)) == 1
    assert ended_at(case) == "end_kept"
    loan = db.session.get(Loan, loan_id, populate_existing=True)
    assert loan.status == "active"
    promises = views.case(who("agent1"), case, "en")["promises"]
    assert [(p["promise_date"], p["promise_amount"], p["outcome_label"]) for p in promises] == [
        ("2026-02-20", "500.00", "Promised to pay")]
    assert_books_balance(loan_id)


def test_a_broken_promise_escalates(world, clock):
    loan_id = book_loan(clock)
    batch(clock, FIRST_OVERDUE)
    case = open_case(loan_id, FIRST_OVERDUE)
    contact(case, day=FIRST_OVERDUE, outcome="promised", promise_date="2026-02-20", promise_amount="500.00")
    assert wake_at(clock, datetime(2026, 2, 21, 9, 0, tzinfo=CHINA)) == 1
    assert ended_at(case) is None
    assert (data(case)["broken_promises"], data(case)["action"], open_tasks(case)) == (1, "field_visit", ["contact"])
    assert views.case(who("agent1"), case, "zh")["action"] == "上门催收"
    loan = db.session.get(Loan, loan_id, populate_existing=True)
    assert (loan.status, loan.bucket) == ("active", "1-30")  # the loan did not move; the case did
    assert_books_balance(loan_id)


def test_contacts_happen_only_between_eight_and_nine_china_time(world, clock, app):
    loan_id = book_loan(clock)
    batch(clock, FIRST_OVERDUE)
    clock.current = datetime.combine(FIRST_OVERDUE, time(22, 0), tzinfo=CHINA).astimezone(UTC)
    case = open_case(loan_id, FIRST_OVERDUE)
    reminders = select(Notification.created_at).where(Notification.template == "collections_reminder")
    assert db.session.scalars(reminders).all() == [] and open_tasks(case) == []  # waits for 08:00
    assert wake_at(clock, datetime.combine(FIRST_OVERDUE + timedelta(days=1), time(7, 59), tzinfo=CHINA)) == 0
    assert wake_at(clock, datetime.combine(FIRST_OVERDUE + timedelta(days=1), time(8, 0), tzinfo=CHINA)) == 1
    sent = db.session.scalars(reminders).all()
    assert sent and all(at.astimezone(CHINA).time() == time(8, 0) for at in sent)
    assert open_tasks(case) == ["contact"]

    for late in ("21:01", "22:30", "07:59"):
        with pytest.raises(Invalid) as refused:
            contact(case, at=late)
        assert "between 08:00 and 21:00 China time" in str(refused.value.fields["contact_time"][0])
        assert len(refused.value.fields["contact_time"]) == 1
        db.session.rollback()
    for malformed in ("25:99", "abc", "9:30"):  # not a time: said so, not that it is outside the hours
        with pytest.raises(Invalid) as refused:
            contact(case, at=malformed)
        assert refused.value.fields["contact_time"] == ["Write the time as HH:MM, for example 14:30."]
    db.session.rollback()
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        with pytest.raises(Invalid) as refused:
            contact(case, at="21:30")
        assert "北京时间 08:00 至 21:00" in str(refused.value.fields["contact_time"][0])
    db.session.rollback()
    assert open_tasks(case) == ["contact"] and views.case(who("agent1"), case, "en")["contacts"] == []
    contact(case, at="21:00")
    assert [c["contact_time"] for c in views.case(who("agent1"), case, "en")["contacts"]] == ["21:00"]
    assert_books_balance(loan_id)


def test_a_contact_is_recorded_only_once_it_happened_and_a_promise_only_for_a_day_to_come(world, clock):
    loan_id = book_loan(clock)
    batch(clock, date(2026, 4, 12))
    case = open_case(loan_id, date(2026, 4, 12))
    clock.current = datetime(2026, 4, 12, 10, 0, tzinfo=CHINA).astimezone(UTC)
    for answer, field, said in (({"day": date(2026, 5, 1)}, "contact_date", "Must be today (2026-04-12) or earlier."),
                                ({"outcome": "promised", "promise_date": "2026-04-11", "promise_amount": "100"},
                                 "promise_date", "Must be today (2026-04-12) or later.")):
        with pytest.raises(Invalid) as refused:  # a contact dated next month was recorded as made
            contact(case, **answer)
        assert refused.value.fields[field] == [said]
        db.session.rollback()
    assert open_tasks(case) == ["contact"] and views.case(who("agent1"), case, "en")["contacts"] == []
    contact(case, day=date(2026, 4, 11), outcome="promised", promise_date="2026-04-12", promise_amount="100")
    assert [c["contact_date"] for c in views.case(who("agent1"), case, "en")["contacts"]] == ["2026-04-11"]


def test_a_case_shows_the_loan_as_it_stands_and_how_to_reach_the_borrower(world, clock, app, client):
    loan_id = book_loan(clock)
    batch(clock, FIRST_OVERDUE)
    case = open_case(loan_id, FIRST_OVERDUE)
    opened = views.case(who("agent1"), case, "en")
    assert (opened["dpd"], opened["amount_overdue"]) == (4, str(cases_of.amount_overdue(loan_id)))
    assert opened["reach"] == [{"name": "app1", "mobile": "13800138000", "email": ""}]  # the borrower's user
    assert [(b["number"], b["owed"]) for b in opened["bills"]] == [(1, cases_of.amount_overdue(loan_id))]  # bill by bill
    batch(clock, date(2026, 3, 1))  # two weeks on, in the same bucket: the case is told nothing, penalties grew
    later = views.case(who("agent1"), case, "en")
    owed = cases_of.amount_overdue(loan_id)
    assert (later["dpd"], later["amount_overdue"]) == (19, str(owed))  # was the figures of the day it opened
    assert owed > Decimal(opened["amount_overdue"]) and instance(case).data["dpd"] == 4
    assert [c["dpd"] for c in views.cases(who("agent1"), "en")] == [19]
    assert views.cases(who("agent1"), "en")[0]["reach"] == []  # the list does not read contacts
    set_password(app, "agent1")
    with app.app_context():
        sign_in(client, "agent1")
        page = client.get(f"/collections/{case}", headers={"Accept-Language": "zh-CN"}).text
    assert "借款人联系方式" in page and "13800138000" in page and ">19<" in page
    assert "逾期账单" in page and "2026-02-10" in page  # the bills the collector asks for (they have no loan page)


def test_the_inbox_shows_a_contact_tasks_amount_overdue(world, clock, app, client):
    loan_id = book_loan(clock)
    batch(clock, FIRST_OVERDUE)
    case = open_case(loan_id, FIRST_OVERDUE)
    owed = Decimal(data(case)["amount_overdue"])
    assert owed > 0
    row = inbox.inbox(who("agent1"), inbox.InboxFilters(view="group"))["items"][0]
    assert (row["element_id"], Decimal(str(row["amount"]))) == ("contact", owed)  # the column was empty
    db.session.commit()
    set_password(app, "agent1")
    with app.app_context():
        sign_in(client, "agent1")
        page = client.get("/", query_string={"view": "group"}, headers={"Accept-Language": "zh-CN"}).text
    assert f'<td class="amount">¥{owed:,.2f}</td>' in page


def test_an_overdue_loan_shows_as_overdue_with_its_days_and_amount(world, clock, app):
    loan_id = book_loan(clock)
    batch(clock, date(2026, 3, 1))
    loan = db.session.get(Loan, loan_id, populate_existing=True)
    owed = cases_of.amount_overdue(loan_id)
    assert (loan.status, loan.dpd) == ("active", 19) and owed > 0
    db.session.commit()
    set_password(app, "fin1")
    read = reader(app, "fin1")
    for language, overdue, running in (("zh-CN", "逾期 19 天", "还款中"), ("en", "Overdue, 19 days", "Active")):
        listed = re.search(rf'<tr data-loan-id="{loan_id}">(.*?)</tr>', read("/loans", language), re.S).group(1)
        assert overdue in listed and running not in listed  # it said "active" (还款中)
        assert f"{owed:,.2f}" in listed
        page = read(f"/loans/{loan_id}", language)
        summary = re.search(r'<section class="card" id="loan-summary".*?</section>', page, re.S).group(0)
        assert overdue in summary and f"{owed:,.2f}" in summary


def test_the_maker_cannot_approve_their_own_proposal(world, clock):
    loan_id = book_loan(clock)
    batch(clock, date(2026, 4, 12))
    case = open_case(loan_id, date(2026, 4, 12))
    assert data(case)["action"] == "demand_letter"
    contact(case, day=date(2026, 4, 12), next_step="propose_write_off")  # not before 91 days: keeps collecting
    assert open_tasks(case) == []
    assert wake_at(clock, datetime(2026, 5, 17, 8, 59, tzinfo=CHINA)) == 0
    assert wake_at(clock, datetime(2026, 5, 17, 9, 0, tzinfo=CHINA)) == 1  # the follow-up 35 days on decides again
    assert open_tasks(case) == ["contact"]
    contact(case, day=date(2026, 5, 17), next_step="propose_debt_sale")
    do(case, "propose_sale", "admin", {"agency": "AG1", "discount_percent": 50, "reason": "Slow payer"})
    with pytest.raises(Forbidden) as refused:
        do(case, "approve_sale", "admin", {"decision": "approve", "decision_note": "Mine"})
    assert refused.value.code == "four_eyes"
    db.session.rollback()
    do(case, "approve_sale", "fin1", {"decision": "reject", "decision_note": "Too cheap"})
    assert ended_at(case) is None and open_tasks(case) == []  # rejected: collecting goes on
    rejected = audits("collections_debt_sale_rejected")[0]
    assert rejected.actor_id == who("fin1").id and rejected.details["proposed_by"] == who("admin").id
    loan = db.session.get(Loan, loan_id, populate_existing=True)
    assert loan.status == "active"
    assert db.session.scalar(select(Payment.id).where(Payment.channel == "debt_sale")) is None
    assert_books_balance(loan_id)


def offered(username: str) -> list[int]:
    page = inbox.inbox(who(username), inbox.InboxFilters(view="group"))
    return [item["instance_id"] for item in page["items"]]


def test_agencies_see_only_the_cases_assigned_to_them(world, clock, client, app):
    loan_id = book_loan(clock)
    batch(clock, FIRST_OVERDUE)
    case = open_case(loan_id, FIRST_OVERDUE)
    assert case in offered("agent1") and offered("ag1") == [] and offered("ag2") == []
    assert views.case(who("agent1"), case, "en")["agency"] is None  # the platform's own agents work it
    platform = db.session.scalar(select(Organisation.name).where(Organisation.code == "PLATFORM"))
    assert views.case(who("agent1"), case, "en")["in_house"] == platform  # named as the task's parties name it
    with pytest.raises(Forbidden):
        views.assign(who("agent1"), case, "AG1")  # only platform operators assign
    views.assign(who("op1"), case, "AG1")
    assert offered("ag1") == [case] and offered("ag2") == []
    assert [c["id"] for c in views.cases(who("ag1"), "en")] == [case]
    assert views.cases(who("ag2"), "en") == []
    with pytest.raises(NotFound):
        views.case(who("ag2"), case, "en")
    assert [c["id"] for c in views.cases(who("fin1"), "en")] == [case]  # the funder's finance
    with pytest.raises(Forbidden):
        views.cases(who("app1"), "en")  # the borrower has no collections list
    db.session.commit()
    for name in ("ag1", "ag2"):
        set_password(app, name)
    with app.app_context():  # each reader's requests in their own context (who is signed in is kept in `g`)
        sign_in(client, "ag1")
        page = client.get("/collections", headers={"Accept-Language": "en"})
        assert client.get(f"/collections/{case}").status_code == 200
        task_page = client.get(f"/tasks/{task_id(case, 'contact')}")
    assert page.status_code == 200 and "LOAN-1" in page.text and "短信及电话催收" in page.text  # ag1 reads Chinese
    assert "sms_phone" not in page.text and "1-30" not in page.text and "逾期1至30天" in page.text
    assert task_page.status_code == 200 and "短信及电话催收" in task_page.text and "sms_phone" not in task_page.text
    assert "联系时间（北京时间，时:分）" in task_page.text  # the contact form, in the reader's language
    with app.app_context():
        other = app.test_client()
        sign_in(other, "ag2")
        assert other.get(f"/collections/{case}").status_code == 404
        assert "LOAN-1" not in other.get("/collections").text
    token = {name: {"Authorization": f"Bearer {identity.issue_token(name)}"} for name in ("ag1", "ag2", "agent1", "op1")}
    db.session.commit()
    assert client.get(f"/api/v1/collections/{case}", headers=token["ag2"]).status_code == 404
    assert client.get("/api/v1/collections", headers=token["ag2"]).get_json() == []
    answer = client.get(f"/api/v1/collections/{case}", headers={**token["ag1"], "Accept-Language": "en"})
    assert answer.status_code == 200
    assert (answer.get_json()["agency"], answer.get_json()["action"]) == ("Swift Recovery", "SMS and phone call")
    moved = client.put(f"/api/v1/collections/{case}/assignment", json={"agency": "AG2"}, headers=token["agent1"])
    assert moved.status_code == 403
    moved = client.put(f"/api/v1/collections/{case}/assignment", json={"agency": "BANK1"}, headers=token["op1"])
    assert moved.status_code == 422  # not a collection agency
    contact(case, username="ag1", day=FIRST_OVERDUE)
    assert [c["channel_label"] for c in views.case(who("ag1"), case, "en")["contacts"]] == ["Phone call"]
    moved = client.put(f"/api/v1/collections/{case}/assignment", json={"agency": "AG2"}, headers=token["op1"])
    assert moved.status_code == 200 and moved.get_json()["agency"] == "Steady Collections"
    assert offered("ag2") == [] and views.cases(who("ag1"), "en") == []  # nothing open; AG1 no longer sees it
    assert [c["id"] for c in views.cases(who("ag2"), "en")] == [case]
    assert db.session.get(Loan, loan_id, populate_existing=True).status == "active"
    assert_books_balance(loan_id)


def test_a_loan_repaid_in_full_ends_its_case_and_withdraws_its_open_contact_task(world, clock):
    loan_id = book_loan(clock)
    batch(clock, FIRST_OVERDUE)
    case = open_case(loan_id, FIRST_OVERDUE)
    business_day(clock, date(2026, 2, 16))
    payoff = quote_payoff(loan_id)["to_pay"]
    take_payment(PaymentNotice(loan_id=loan_id, idempotency_key="payoff", amount=payoff))
    db.session.commit()
    assert open_tasks(case) == ["contact"]
    deliver_outbox()  # loan_closed reaches the case at its contact task: nobody need call any more
    assert ended_at(case) == "end_closed" and open_tasks(case) == []
    assert db.session.get(Loan, loan_id, populate_existing=True).status == "closed"
    assert views.case(who("fin1"), case, "zh")["ended"] == "贷款已结清"
    assert_books_balance(loan_id)


def test_penalty_interest_is_waived_only_as_approved(world, clock):
    loan_id = book_loan(clock)
    batch(clock, date(2026, 3, 13))
    case = open_case(loan_id, date(2026, 3, 13))
    penalty = sum((r.penalty_due for r in loans.instalments(loan_id)), Decimal(0))
    assert penalty > 0
    contact(case, day=date(2026, 3, 13), next_step="propose_waiver")
    with pytest.raises(Invalid) as refused:  # more than is owed: the form refuses it, nothing goes to finance
        do(case, "propose_waiver", "op1", {"waive_amount": "99999.00", "reason": "Hardship"})
    assert "waive_amount" in refused.value.fields and open_tasks(case) == ["propose_waiver"]
    do(case, "propose_waiver", "op1", {"reason": "Hardship"})
    do(case, "approve_waiver", "fin1", {"decision": "reject", "decision_note": "Not yet"})
    assert audits("collections_waiver_rejected")[0].details["proposed_by"] == who("op1").id
    assert sum((r.penalty_waived for r in loans.instalments(loan_id)), Decimal(0)) == 0
    assert wake_at(clock, datetime(2026, 4, 17, 9, 0, tzinfo=CHINA)) == 1  # the follow-up: decide, contact again
    contact(case, day=date(2026, 4, 17), next_step="propose_waiver")
    do(case, "propose_waiver", "op1", {"reason": "Pays the rest this week"})
    do(case, "approve_waiver", "fin2", {"decision": "approve", "decision_note": "Agreed"})
    waived = sum((r.penalty_waived for r in loans.instalments(loan_id)), Decimal(0))
    entry = audits("collections_waiver_approved")[0]
    assert waived == Decimal(entry.details["waived"]) == penalty and entry.details["proposed_by"] == who("op1").id
    assert ended_at(case) is None and open_tasks(case) == []  # waiting again
    assert db.session.get(Loan, loan_id, populate_existing=True).status == "active"
    assert_books_balance(loan_id)


def test_a_waiver_is_proposed_on_todays_figures_and_at_most_the_penalty_owed(world, clock):
    """The maker and the checker decide on money: the task shows the loan as it stands when the waiver is
    proposed (not as the case last read it) and the penalty interest owed, and refuses to propose more."""
    loan_id = book_loan(clock)
    batch(clock, FIRST_OVERDUE)
    case = open_case(loan_id, FIRST_OVERDUE)
    batch(clock, date(2026, 2, 24))  # ten days on, the same bucket: the case has not read the loan again
    contact(case, day=date(2026, 2, 24), next_step="propose_waiver")
    loan = db.session.get(Loan, loan_id, populate_existing=True)
    owed = sum((r.penalty_due - r.penalty_paid - r.penalty_waived for r in loans.instalments(loan_id)), Decimal(0))
    [proposal] = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == case,
                                                            HumanTask.element_id == "propose_waiver"))
    assert proposal.shown["dpd"] == loan.dpd and loan.dpd > 10
    assert Decimal(proposal.shown["amount_overdue"]) == cases_of.amount_overdue(loan_id)
    assert Decimal(proposal.shown["penalty_owed"]) == owed > 0
    with pytest.raises(Invalid) as refused:
        do(case, "propose_waiver", "op1", {"waive_amount": f"{owed + Decimal('0.01')}", "reason": "Hardship"})
    assert "waive_amount" in refused.value.fields
    assert open_tasks(case) == ["propose_waiver"]
    do(case, "propose_waiver", "op1", {"waive_amount": f"{owed}", "reason": "Pays the rest this week"})
    [approval] = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == case,
                                                            HumanTask.element_id == "approve_waiver"))
    assert Decimal(approval.shown["penalty_owed"]) == owed  # the checker sees what the waiver is measured against
    do(case, "approve_waiver", "fin1", {"decision": "approve", "decision_note": "Agreed"})
    assert sum((r.penalty_waived for r in loans.instalments(loan_id)), Decimal(0)) == owed
    assert_books_balance(loan_id)


def test_a_contact_task_left_open_gives_way_to_the_next_bucket_with_todays_figures(world, clock):
    loan_id = book_loan(clock)
    batch(clock, FIRST_OVERDUE)
    case = open_case(loan_id, FIRST_OVERDUE)
    [first] = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == case, HumanTask.element_id == "contact",
                                                        HumanTask.state == "ready"))
    assert first.shown["dpd"] < 31
    batch(clock, date(2026, 3, 13))  # nobody called: 31 days past due, the bucket moves on
    db.session.expire_all()
    tasks_now = db.session.scalars(select(HumanTask).where(HumanTask.instance_id == case,
                                                          HumanTask.element_id == "contact").order_by(HumanTask.id)).all()
    assert [t.state for t in tasks_now if t.id >= first.id] == ["cancelled", "ready"]
    assert data(case)["action"] == "field_visit" and tasks_now[-1].shown["dpd"] >= 31
    assert Decimal(tasks_now[-1].shown["amount_overdue"]) > Decimal(first.shown["amount_overdue"])
    assert_books_balance(loan_id)


def alone(app, call, path: str, **kwargs):
    """One request in its own app context, in Chinese (the test's context would keep one request's CSRF token in `g`
    for the next reader's)."""
    with app.app_context():
        return call(path, headers={"Accept-Language": "zh-CN"}, **kwargs)


def browser_of(app, username: str):
    set_password(app, username)
    browser = app.test_client()
    with app.app_context():
        assert sign_in(browser, username).status_code in (302, 303)
    return browser


def csrf_of_text(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def log(case: int, username: str = "agent1", day: date | None = None, at: str = "09:30", **answer: str) -> int:
    """A contact logged on the case's page (not its task)."""
    day = day or service_clock.now().astimezone(CHINA).date()
    return contacts.log_contact(who(username), case, {"contact_date": day.isoformat(), "contact_time": at,
                                                      "channel": "phone", "outcome": "no_answer", **answer})


def test_an_agent_logs_every_contact_on_the_case_page_between_its_contact_tasks(world, clock, app):
    loan_id = book_loan(clock)
    batch(clock, FIRST_OVERDUE)
    case = open_case(loan_id, FIRST_OVERDUE)
    contact(case, at="08:30", outcome="no_answer")  # keep collecting: the case waits, no task is left
    assert open_tasks(case) == []
    log(case, at="09:00")  # the next call, and the next: as many as happen, with nothing for the case to wake
    log(case, at="09:45", channel="sms", outcome="promised", promise_date="2026-02-20", promise_amount="1,200.50",
        note="will pay Friday")
    seen = views.case(who("agent1"), case, "en")
    assert [(c["contact_time"], c["outcome_label"], c["by"]) for c in seen["contacts"]] == [
        ("08:30", "No answer", "agent1"), ("09:00", "No answer", "agent1"), ("09:45", "Promised to pay", "agent1")]
    assert [(c["promise_date"], c["promise_amount"]) for c in seen["promises"]] == [("2026-02-20", "1200.50")]
    assert seen["may_log"] and open_tasks(case) == [] and instance(case).status != "completed"
    assert [a.details["outcome"] for a in audits("collections_contact_logged")] == ["no_answer", "promised"]
    assert views.case(who("fin1"), case, "en")["contacts"][2]["note"] == "will pay Friday"  # finance reads them
    assert not views.case(who("fin1"), case, "en")["may_log"]
    db.session.commit()
    agent = browser_of(app, "agent1")
    page = alone(app, agent.get, f"/collections/{case}").text
    logged = alone(app, agent.post, f"/collections/{case}/contacts", data={
        "csrf_token": csrf_of_text(page), "contact_date": FIRST_OVERDUE.isoformat(), "contact_time": "09:50",
        "channel": "field_visit", "outcome": "reached"})
    again = alone(app, agent.get, f"/collections/{case}").text
    assert "记录联系" in page and "上门拜访" in page  # the form, its choices in the reader's language
    assert re.search(r"平台自有催收人员（[^）]+）", page)  # the in-house agency named as the task's parties name it
    assert logged.status_code == 303 and logged.headers["Location"].endswith(f"/collections/{case}#contacts")
    timeline = again.split('id="contact-timeline"')[1].split("</ol>")[0]
    assert timeline.count("<li") == 4 and "09:50 · 上门拜访 · 已联系，未承诺" in timeline and "记录人" in timeline


def test_a_logged_contact_is_checked_as_the_contact_form_checks_it(world, clock, app):
    loan_id = book_loan(clock)
    batch(clock, FIRST_OVERDUE)  # 10:00 China time
    case = open_case(loan_id, FIRST_OVERDUE)
    for answer, field, said in (
            ({"day": FIRST_OVERDUE + timedelta(days=1)}, "contact_date", "Must be today (2026-02-14) or earlier."),
            ({"at": "10:30"}, "contact_time", "A contact is logged once it has happened: 10:00 China time or earlier."),
            ({"at": "07:59"}, "contact_time", "Borrowers are contacted only between 08:00 and 21:00 China time"),
            ({"at": "25:99"}, "contact_time", "Write the time as HH:MM, for example 14:30."),
            ({"at": "abc"}, "contact_time", "Write the time as HH:MM, for example 14:30."),
            ({"day": FIRST_OVERDUE - timedelta(days=1)}, "contact_date", "The case opened on 2026-02-14"),
            ({"outcome": "promised", "promise_amount": "100"}, "promise_date", "This field is required."),
            ({"outcome": "promised", "promise_date": "2026-02-13", "promise_amount": "100"}, "promise_date",
             "Must be today (2026-02-14) or later."),
            ({"channel": "pigeon"}, "channel", "Choose one of")):
        with pytest.raises(Invalid) as refused:
            log(case, **answer)
        assert str(refused.value.fields[field][0]).startswith(said), (answer, refused.value.fields)
        db.session.rollback()
    assert views.case(who("agent1"), case, "en")["contacts"] == []
    db.session.commit()
    agent = browser_of(app, "agent1")
    page = alone(app, agent.get, f"/collections/{case}").text
    refused_page = alone(app, agent.post, f"/collections/{case}/contacts", data={
        "csrf_token": csrf_of_text(page), "contact_date": FIRST_OVERDUE.isoformat(), "contact_time": "22:30",
        "channel": "phone", "outcome": "no_answer"})
    assert refused_page.status_code == 422 and "仅可在北京时间 08:00 至 21:00 之间联系借款人" in refused_page.text
    assert 'value="22:30"' in refused_page.text  # what was typed stays to be corrected
    assert views.case(who("agent1"), case, "en")["contacts"] == []


def test_only_the_agents_working_the_case_log_its_contacts(world, clock, app):
    loan_id = book_loan(clock)
    batch(clock, FIRST_OVERDUE)
    case = open_case(loan_id, FIRST_OVERDUE)
    for name, refusal in (("ag1", NotFound), ("app1", NotFound), ("fin1", Forbidden), ("op1", Forbidden)):
        with pytest.raises(refusal):  # another organisation does not see the case; a reader of it logs nothing
            log(case, name)
        db.session.rollback()
    log(case, "agent1")  # the platform's own agents while no agency works the case
    views.assign(who("op1"), case, "AG1")
    for name in ("agent1", "ag2"):  # no longer the platform's: its agents no longer see it, nor does another agency
        with pytest.raises(NotFound):
            log(case, name, at="09:40")
        db.session.rollback()
    log(case, "ag1", at="09:40")
    assert [c["by"] for c in views.case(who("ag1"), case, "en")["contacts"]] == ["agent1", "ag1"]
    db.session.commit()
    other = browser_of(app, "ag2")
    page = alone(app, other.get, "/collections").text
    answer = alone(app, other.post, f"/collections/{case}/contacts", data={
        "csrf_token": csrf_of_text(page), "contact_date": FIRST_OVERDUE.isoformat(), "contact_time": "09:50",
        "channel": "phone", "outcome": "no_answer"})
    assert answer.status_code == 404 and len(views.case(who("ag1"), case, "en")["contacts"]) == 2


def test_the_contact_task_says_which_day_its_figures_are_of(world, clock, app):
    loan_id = book_loan(clock)
    batch(clock, FIRST_OVERDUE)
    case = open_case(loan_id, FIRST_OVERDUE)
    batch(clock, date(2026, 3, 1))  # two weeks on: the open task still holds the day it was made's figures
    task = db.session.get(HumanTask, task_id(case, "contact"))
    assert (task.shown or {})["as_of"] == FIRST_OVERDUE.isoformat() and task.shown["dpd"] == 4
    assert views.case(who("agent1"), case, "en")["dpd"] == 19  # the case page: as it stands
    db.session.commit()
    page = alone(app, browser_of(app, "agent1").get, f"/tasks/{task.id}").text
    assert "数据截至（最新数据见催收案件页面）" in page and "2026-02-14" in page
    assert "请在催收案件页面记录" in page  # where the next contacts go
    assert 'type="time" name="contact_time"' in page  # a time picker, not a free text box


def test_the_loan_page_leads_its_readers_to_the_loans_case(world, clock, app):
    loan_id = book_loan(clock)
    batch(clock, FIRST_OVERDUE)
    case = open_case(loan_id, FIRST_OVERDUE)
    assert views.case_of_loan(who("fin1"), "LOAN-1") == case and views.case_of_loan(who("app1"), "LOAN-1") is None
    db.session.commit()
    page = alone(app, browser_of(app, "fin1").get, f"/loans/{loan_id}").text
    assert f'href="/collections/{case}" id="loan-case"' in page and "催收案件" in page
    borrowers = alone(app, browser_of(app, "app1").get, f"/loans/{loan_id}").text
    assert 'id="loan-case"' not in borrowers  # the borrower has no collections pages


def test_with_no_agency_registered_the_operator_is_told_so_not_offered_an_empty_choice(world, clock, client, app):
    """The assignment form offered a list with nothing in it (the demo has no collection agency)."""
    from app.models import OrgKind
    loan_id = book_loan(clock)
    batch(clock, FIRST_OVERDUE)
    case = open_case(loan_id, FIRST_OVERDUE)
    db.session.execute(delete(OrgKind).where(OrgKind.org_id.in_([_org("AG1"), _org("AG2")]),
                                             OrgKind.kind == "collection_agency"))
    db.session.commit()
    set_password(app, "op1")
    with app.app_context():
        sign_in(client, "op1")
        page = client.get("/collections", headers={"Accept-Language": "zh"}).text
    row = page.split(f'data-case="{case}"')[1].split("</tr>")[0]
    assert "尚未登记催收机构" in row and 'name="agency"' not in row


def test_a_waiver_the_ledger_refuses_at_approval_is_said_on_the_case_page(world, clock, app):
    """The borrower paid the penalty between the proposal and the approval: the ledger refuses the waiver. The case
    page said nothing (the reason was in the instance's data only, in English); it says it in the reader's language."""
    loan_id = book_loan(clock)
    batch(clock, FIRST_OVERDUE)
    case = open_case(loan_id, FIRST_OVERDUE)
    batch(clock, date(2026, 2, 24))
    contact(case, day=date(2026, 2, 24), next_step="propose_waiver")
    owed = cases_of.penalty_owed(loan_id)
    do(case, "propose_waiver", "op1", {"waive_amount": f"{owed}", "reason": "Hardship"})
    take_payment(PaymentNotice(loan_id, "pays-the-penalty", owed, received_on=date(2026, 2, 24)))  # penalties first
    _locale("fin1", "en")  # the checker reads English, the maker Chinese
    db.session.commit()
    assert cases_of.penalty_owed(loan_id) == 0
    do(case, "approve_waiver", "fin1", {"decision": "approve", "decision_note": "Agreed"})
    _locale("fin1", None)  # the pages below in the browser's language
    db.session.commit()
    assert sum((r.penalty_waived for r in loans.instalments(loan_id)), Decimal(0)) == 0
    seen = views.case(who("fin1"), case, "en")["waiver"]
    assert (seen["outcome"], Decimal(seen["asked"]), Decimal(seen["owed"])) == ("refused", owed, Decimal("0.00"))
    db.session.commit()
    for username in ("op1", "fin1"):
        page = alone(app, browser_of(app, username).get, f"/collections/{case}").text
        said = page.split('id="waiver"')[1].split("</p>")[0]
        assert f"罚息减免 ¥{owed:,.2f} 已审批但未执行" in said and "仅欠罚息 ¥0.00" in said, said
        assert not re.search(r"[A-Za-z]{3,}", said.split(">", 1)[1]), said  # no English on the Chinese page
    with app.app_context():
        english = browser_of(app, "fin1").get(f"/collections/{case}", headers={"Accept-Language": "en"}).text
    assert f"The penalty waiver of ¥{owed:,.2f} was approved but not booked" in english
    # the maker and the checker are told, each in their own language, with the case's link
    told = {n.recipient: n for n in db.session.scalars(select(Notification).where(
        Notification.template == "collections_waiver_refused", Notification.channel == "in_app"))}
    assert set(told) == {"op1", "fin1"}, told
    for username in ("op1", "fin1"):
        assert f"/collections/{case}" in told[username].body, told[username].body
        assert told[username].business_key == loans.load_loan(loan_id).business_key
    assert f"罚息减免 ¥{owed:,.2f} 已审批但未执行" in told["op1"].body and "¥0.00" in told["op1"].body
    assert f"penalty waiver of ¥{owed:,.2f} on loan LOAN-1 was approved but not booked" in told["fin1"].body
    assert_books_balance(loan_id)


def test_a_promise_more_than_30_days_ahead_is_refused_on_the_task_and_the_case_page(world, clock, app):
    """A promise dated 2099 was taken: its check waited 73 years, the case "promised" all along."""
    from flask_babel import force_locale

    loan_id = book_loan(clock)
    batch(clock, FIRST_OVERDUE)
    case = open_case(loan_id, FIRST_OVERDUE)
    limit = FIRST_OVERDUE + timedelta(days=30)
    for far in (limit + timedelta(days=1), date(2099, 1, 1)):
        promise = {"outcome": "promised", "promise_date": far.isoformat(), "promise_amount": "500.00"}
        with pytest.raises(Invalid) as refused:
            contact(case, day=FIRST_OVERDUE, **promise)
        assert refused.value.fields == {"promise_date": [
            f"Must be at most 30 days from today: {limit.isoformat()} or earlier."]}, refused.value.fields
        db.session.rollback()
        with app.test_request_context(), force_locale("zh"), pytest.raises(Invalid) as logged:
            log(case, at="09:45", **promise)
        assert [str(m) for m in logged.value.fields["promise_date"]] == [
            f"须在今天起 30 天内：不晚于 {limit.isoformat()}。"], logged.value.fields
        db.session.rollback()
    assert views.case(who("agent1"), case, "en")["contacts"] == []
    log(case, at="09:45", outcome="promised", promise_date=limit.isoformat(), promise_amount="500.00")


def test_a_promise_to_pay_nothing_is_refused_and_never_ends_the_case_as_kept(world, clock):
    """A promise of ¥0.00 was taken, on the contact task and on the case's page; at its date the check found
    ¥0.00 paid "at least the promise" and ended the case as kept, the loan still overdue."""
    loan_id = book_loan(clock)
    batch(clock, FIRST_OVERDUE)
    case = open_case(loan_id, FIRST_OVERDUE)
    for zero in ("0", "0.00"):
        with pytest.raises(Invalid) as refused:
            contact(case, day=FIRST_OVERDUE, outcome="promised", promise_date="2026-02-20", promise_amount=zero)
        assert refused.value.fields == {"promise_amount": [
            "Enter an amount above zero, such as 500000.00 (at most 2 decimals)."]}, refused.value.fields
        db.session.rollback()
        with pytest.raises(Invalid) as logged:
            log(case, at="09:45", outcome="promised", promise_date="2026-02-20", promise_amount=zero)
        assert list(logged.value.fields) == ["promise_amount"]
        db.session.rollback()
    assert open_tasks(case) == ["contact"] and data(case).get("promised") in (None, False)
    assert views.case(who("agent1"), case, "en")["contacts"] == []


def test_a_promise_beyond_what_settles_the_loan_is_refused_on_the_task_and_the_case_page(world, clock, app):
    """A promise of ¥1,000,000.00 on a loan of ¥12,000.00 was taken, and the case list read "¥1,000,000.00 by …":
    a promise is at most what settles the loan (its payoff, which the contact task shows)."""
    loan_id = book_loan(clock)
    batch(clock, FIRST_OVERDUE)
    case = open_case(loan_id, FIRST_OVERDUE)
    payoff = Decimal(quote_payoff(loan_id)["to_pay"])
    task = db.session.get(HumanTask, task_id(case, "contact"))
    assert Decimal(task.shown["payoff"]) == payoff  # the agent sees what settles the loan
    too_much = f"{payoff + Decimal('0.01')}"
    with pytest.raises(Invalid) as refused:
        contact(case, day=FIRST_OVERDUE, outcome="promised", promise_date="2026-02-20", promise_amount=too_much)
    assert refused.value.fields == {"promise_amount": [f"Must be at most {payoff:,}."]}, refused.value.fields
    db.session.rollback()
    with pytest.raises(Invalid) as logged:
        log(case, at="09:45", outcome="promised", promise_date="2026-02-20", promise_amount="1000000")
    assert refused.value.fields == {"promise_amount": [f"Must be at most {payoff:,}."]}
    assert list(logged.value.fields) == ["promise_amount"]
    db.session.rollback()
    assert views.case(who("agent1"), case, "en")["contacts"] == []
    log(case, at="09:45", outcome="promised", promise_date="2026-02-20", promise_amount=f"{payoff}")
    contact(case, day=FIRST_OVERDUE, outcome="promised", promise_date="2026-02-20", promise_amount=f"{payoff}")
    assert data(case)["promised"] is True
