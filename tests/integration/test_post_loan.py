"""`post_loan` (processes/post_loan.bpmn, docs/post-loan.md) on both databases: started when the loan is
booked, it waits for the end-of-day batch's messages — the bill notice before each due date, the
auto-debit the borrower authorised on the due date (a `debit` order at the payments simulator, its
signed notification delivered over HTTP to the served platform), the overdue alert to finance that
opens a collections case, and the deal closed with its settlement certificate when all is paid.

The deal is disbursed through the disbursement stage as in `test_disbursement_stage`; the batch is
`run_eod(date)` with the clock on that date, the worker's outbox pass `deliver_outbox()`.
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    ApplicationDocument,
    HumanTask,
    Instalment,
    Loan,
    Notification,
    OutboxMessage,
    Payment,
    ProcessInstance,
)
from app.models.signing import RepaymentOrder
from app.services import clock as clocks
from app.services.errors import Invalid
from app.services.identity import directory as identity
from app.services.ledger import loans
from app.services.ledger.eod import run_eod
from app.services.ledger.repayments import PaymentNotice, record_offline_payment, take_payment
from app.services.notices.templates import render
from app.services.signing import online_repayments
from app.services.simulators import payments
from app.services.workflow import inbox, tasks, waking
from app.services.workflow.outbox_delivery import deliver_outbox
from tests.conftest import ROOT
from tests.integration.ledger_support import assert_books_balance
from tests.integration.test_disbursement_stage import (  # noqa: F401  (fixtures)
    PAYEE,
    do,
    fresh,
    open_tasks,
    reader,
    signed_deal,
    stage,
    start_disbursement,
    who,
    worker,
)
from tests.integration.test_identity import set_password

SHANGHAI = timedelta(hours=8)


@pytest.fixture
def post_loan(app, runner, stage):  # noqa: F811  (the imported fixture)
    forms_dir, app.config["FORMS_DIR"] = app.config["FORMS_DIR"], str(ROOT / "forms")
    try:
        deployed = runner.invoke(args=["processes", "deploy", *(str(ROOT / "processes" / name) for name in
                                                                ("post_loan.bpmn", "collections.bpmn", "collections_action.dmn"))])
        assert deployed.exit_code == 0, deployed.output
    finally:
        app.config["FORMS_DIR"] = forms_dir
    return stage


def disbursed(app, clock, authorised: bool = True) -> Loan:
    """A 6-month credit loan of 60,000.00 booked, its `post_loan` started (the contract signed, with its
    auto-debit clause, unless `authorised` is False)."""
    row = signed_deal("60000.00")
    if authorised:
        db.session.add(ApplicationDocument(application_id=row.id, kind="signed_contract", filename="HT-signed.pdf",
                                           content_type="application/pdf", size=4, sha256="0" * 64, content=b"%PDF",
                                           created_at=clocks.now()))
        db.session.commit()
    instance_id = start_disbursement(row)
    do(instance_id, "release_funds", "fin1", PAYEE)
    worker(app, clock, minutes=3)
    [loan] = db.session.scalars(select(Loan).where(Loan.business_key == f"LOAN-{row.number}"))
    assert deliver_outbox() == 1  # loan_booked starts post_loan
    [instance] = post_loan_instances(loan)
    assert instance.status == "waiting"
    assert set(instance.waiting_for) >= {"bill_due_soon", "bill_due", "overdue", "loan_closed"}
    return loan


def post_loan_instances(loan: Loan) -> list[ProcessInstance]:
    db.session.expire_all()
    return list(db.session.scalars(select(ProcessInstance).where(
        ProcessInstance.process_id == "post_loan", ProcessInstance.business_key == loan.business_key)))


def on(clock, day: date, hour: int = 10) -> None:
    """The clock at `hour` o'clock in Shanghai on `day`."""
    clock.current = datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - SHANGHAI


def batch(clock, day: date) -> None:
    """The batch of `day`, run as the worker runs it: just after midnight, when the day is over."""
    on(clock, day + timedelta(days=1), hour=0)
    clock.advance(minutes=30)
    run_eod(day)
    db.session.commit()
    deliver_outbox()
    clock.advance(hours=8)  # the worker's day: timers due by 08:30 woken (a case's 08:00 reminder)
    waking.wake_due()
    deliver_outbox()


def notices(template: str) -> list[Notification]:
    db.session.expire_all()
    return list(db.session.scalars(select(Notification).where(Notification.template == template)
                                   .order_by(Notification.id)))


def rows(loan: Loan) -> list[Instalment]:
    db.session.expire_all()
    return loans.instalments(loan.id)


def test_an_on_time_payer_by_auto_debit_is_told_before_each_bill_and_gets_a_certificate_at_the_end(app, post_loan, clock):
    loan = disbursed(app, clock)
    schedule = rows(loan)
    assert len(schedule) == 6
    for row in schedule:
        batch(clock, row.due_date - timedelta(days=3))  # the bill notice goes out
        assert any(f"第 {row.number} 期" in n.body or f"instalment {row.number}" in n.body
                   for n in notices("bill_due_soon")), row.number
        batch(clock, row.due_date - timedelta(days=1))  # the auto-debit is placed on the due date ...
        [order] = db.session.scalars(select(RepaymentOrder).where(
            RepaymentOrder.idempotency_key == f"autodebit:{loan.id}:{row.number}:{row.due_date.isoformat()}"))
        assert order.amount == row.principal_due + row.interest_due
        if row.number == 1:  # the borrower's page shows it as an auto-debit, with nothing to pay by hand
            db.session.commit()
            set_password(app, "app1")
            html = reader(app, "app1")(f"/loans/{loan.id}", "en")
            assert f'data-order-id="{order.order_id}"' in html
            assert "Auto-debit" in html and "Pay now" not in html
        worker(app, clock, minutes=3)  # ... settled by the gateway, its notification books it
    db.session.expire_all()
    done = db.session.get(Loan, loan.id)
    assert done.status == "closed"
    assert [r.status for r in rows(loan)] == ["paid"] * 6
    payments = list(db.session.scalars(select(Payment).where(Payment.loan_id == loan.id, Payment.status == "booked")))
    assert len(payments) == 6 and all(p.channel == "online" for p in payments)
    assert deliver_outbox() == 1  # loan_closed
    [instance] = post_loan_instances(loan)
    assert instance.status == "completed"
    application = fresh(signed_application(loan))
    assert application.status == "closed"
    [certificate] = db.session.scalars(select(ApplicationDocument).where(
        ApplicationDocument.application_id == application.id, ApplicationDocument.kind == "settlement_certificate"))
    assert certificate.content.startswith(b"%PDF") and certificate.filename == f"JQ-{application.number}.pdf"
    set_password(app, "app1")
    page = reader(app, "app1")(f"/applications/{application.id}", "zh")
    assert "贷款已全部结清，结清证明已随交易存档" in page and f"JQ-{application.number}.pdf" in page
    loan_page = reader(app, "app1")(f"/loans/{loan.id}", "zh")  # the loan that says 已结清 hands over its certificate
    assert re.search(rf'<a href="/applications/{application.id}/documents/{certificate.id}"[^>]*>结清证明', loan_page)
    shown_stage = re.search(r'<dd data-field="stage">(.*?)</dd>', page, re.S).group(1)
    assert shown_stage == "贷款已结清", shown_stage  # it said 贷款已发放 beside 已结清
    listed = reader(app, "app1")("/applications/", "zh")
    assert re.search(rf'data-application-id="{application.id}">.*?<td class="stage">贷款已结清</td>', listed, re.S)
    assert application.stage == "repaid"  # the deals' list said the stage was 'Loan booked'
    listed = re.search(rf'<tr[^>]*>(?:(?!</tr>).)*{application.number}(?:(?!</tr>).)*</tr>',
                       reader(app, "app1")("/applications/", "en"), re.S).group(0)
    assert "Paid off" in listed and "Loan repaid" in listed and "Loan booked" not in listed
    closed_notices = [n for n in notices("loan_closed") if n.channel == "in_app"]
    assert closed_notices and all(n.business_key == loan.business_key for n in closed_notices)  # it opens the loan
    assert "结清证明可在贷款页面下载" in closed_notices[0].body, closed_notices[0].body
    notices_page = reader(app, "app1")("/notices", "zh")  # the notice's subject links the loan page
    assert re.search(rf'<a href="/loans/{loan.id}">贷款 {loan.business_key} 已全部结清</a>', notices_page), notices_page
    assert len(notices("auto_debit_received")) == 6 and not notices("repayment_received")
    assert_books_balance(loan.id)


def signed_application(loan: Loan):
    from app.models import Application
    return db.session.scalar(select(Application).where(Application.number == loan.business_key.removeprefix("LOAN-")))


def test_the_loan_pages_name_the_borrower_and_lead_to_the_application(app, post_loan, clock):
    loan = disbursed(app, clock)
    application = signed_application(loan)
    db.session.commit()
    for name in ("fin1", "app1"):
        set_password(app, name)
    for name in ("fin1", "app1"):
        read = reader(app, name)
        for language in ("zh-CN", "en"):
            listed = re.search(rf'<tr data-loan-id="{loan.id}">(.*?)</tr>', read("/loans", language), re.S).group(1)
            assert "Lotus Trading" in listed  # whose loan it is: finance and the platform read every borrower's
            assert re.search(r'class="amount outstanding">[^<]*60,000\.00<', listed)
            page = read(f"/loans/{loan.id}", language)
            summary = re.search(r'<section class="card" id="loan-summary".*?</section>', page, re.S).group(0)
            assert "Lotus Trading" in summary
            assert f'href="/applications/{application.id}"' in summary  # the deal behind the loan
            deal = read(f"/applications/{application.id}", language)  # and the deal's page leads to its loan
            assert f'href="/loans/{loan.id}" id="loan-link"' in deal
            rate = re.search(r'data-field="annual_rate">([^<]*)<', deal).group(1)
            assert rate in re.search(r"<dd>([0-9.]+%)</dd>", page).group(1) and rate.endswith("%") and " " not in rate


def test_without_the_signed_authorisation_nothing_is_debited_and_a_late_bill_alerts_finance(app, post_loan, clock):
    loan = disbursed(app, clock, authorised=False)
    first = rows(loan)[0]
    batch(clock, first.due_date - timedelta(days=1))
    assert db.session.scalars(select(RepaymentOrder).where(RepaymentOrder.loan_id == loan.id)).all() == []
    instance = post_loan_instances(loan)[0]
    assert instance.data["debit"]["reason"] == "not_authorised"
    day = first.due_date
    while True:  # past the product's grace days: overdue
        day += timedelta(days=1)
        batch(clock, day)
        if rows(loan)[0].status == "overdue":
            break
    [case] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.name == "collections_opened"))
    assert (case.start_process, case.correlation_key, case.payload["loan_id"]) == ("collections", loan.business_key, loan.id)
    assert case.payload["parties"] == {"borrower": "BORR1", "funder": "BANK1"}
    [alert] = db.session.scalars(select(HumanTask).where(HumanTask.element_id == "review_overdue"))
    assert alert.lane == "finance" and alert.state == "ready"
    assert [n for n in notices("loan_overdue")]
    tasks.complete_task(alert.id, {"decision": "follow_collections"}, who("fin1"))
    db.session.commit()
    [instance] = post_loan_instances(loan)
    assert instance.status == "waiting" and "loan_closed" in instance.waiting_for  # still watching the loan
    batch(clock, day + timedelta(days=1))  # a second overdue day: no second case asked for
    assert len(db.session.scalars(select(OutboxMessage).where(OutboxMessage.name == "collections_opened")).all()) == 1
    assert_books_balance(loan.id)


def test_finance_escalating_an_overdue_loan_tells_the_funders_team_leads_with_its_note(app, post_loan, clock):
    identity.create_user("boss1", "BANK1", ["team_lead"], mobile="13900000001")
    db.session.commit()
    loan = disbursed(app, clock, authorised=False)
    day = rows(loan)[0].due_date
    while rows(loan)[0].status != "overdue":
        day += timedelta(days=1)
        batch(clock, day)
    [alert] = db.session.scalars(select(HumanTask).where(HumanTask.element_id == "review_overdue"))
    for blank in ({"decision": "escalate"}, {"decision": "escalate", "notes": "   "}):
        with pytest.raises(Invalid) as refused:  # "escalate" was taken with no word and told no one
            tasks.complete_task(alert.id, blank, who("fin1"))
        assert "notes" in refused.value.fields
        db.session.rollback()
    tasks.complete_task(alert.id, {"decision": "escalate", "notes": "Borrower's main buyer went bankrupt"}, who("fin1"))
    db.session.commit()
    [told] = [n for n in notices("overdue_escalated") if n.channel == "in_app"]
    assert told.recipient == "boss1" and "main buyer went bankrupt" in told.body and loan.business_key in told.subject
    assert f"¥{loans.amounts_overdue([loan.id])[loan.id]:,.2f}" in told.body  # the loan as it stands
    assert post_loan_instances(loan)[0].status == "waiting"  # the loan is still watched


def test_a_bill_paid_on_its_due_date_before_the_auto_debit_is_not_debited(app, post_loan, clock):
    loan = disbursed(app, clock)
    first = rows(loan)[0]
    batch(clock, first.due_date - timedelta(days=3))
    assert len(notices("bill_due_soon")) == 1
    batch(clock, first.due_date - timedelta(days=2))
    on(clock, first.due_date, hour=0)  # the borrower pays the bill on its due date, before the batch's auto-debit
    take_payment(PaymentNotice(loan_id=loan.id, idempotency_key="on-the-day", amount=f"{loans.owed(first):.2f}",
                               channel="online"))
    db.session.commit()
    assert rows(loan)[0].status == "paid"
    batch(clock, first.due_date - timedelta(days=1))
    assert db.session.scalars(select(RepaymentOrder).where(RepaymentOrder.loan_id == loan.id)).all() == []
    [instance] = post_loan_instances(loan)
    assert instance.status == "waiting"
    assert Decimal(instance.data["post_loan"]["principal"]) == Decimal("60000.00")
    assert_books_balance(loan.id)


def test_a_failed_auto_debit_tells_the_borrower_why_and_books_nothing(app, post_loan, clock):
    loan = disbursed(app, clock)
    first = rows(loan)[0]
    batch(clock, first.due_date - timedelta(days=2))
    payments.fail_next(1, "insufficient_funds")  # the gateway's code; its own words say it in both languages
    db.session.commit()
    batch(clock, first.due_date - timedelta(days=1))
    worker(app, clock, minutes=3)
    db.session.expire_all()
    [order] = db.session.scalars(select(RepaymentOrder).where(RepaymentOrder.loan_id == loan.id))
    assert (order.status, order.payment_id) == ("failed", None)
    # placed on the batch's business day, by the clock (it said the day the server ran: after money it collected)
    assert order.created_at.astimezone(ZoneInfo("Asia/Shanghai")).date() == first.due_date
    [told] = notices("auto_debit_failed")
    assert "余额不足" in told.body and "Insufficient" not in told.body  # the borrower reads Chinese
    assert rows(loan)[0].status == "pending"
    assert db.session.scalars(select(Payment).where(Payment.loan_id == loan.id)).all() == []
    assert_books_balance(loan.id)
    db.session.commit()
    set_password(app, "app1")
    read = reader(app, "app1")
    zh, en = read(f"/loans/{loan.id}", "zh-CN"), read(f"/loans/{loan.id}", "en")
    assert "账户余额不足" in zh and "Insufficient" not in zh  # the reason in the reader's language only
    assert "insufficient balance in the payer" in en and "余额不足" not in en
    [cells] = re.findall(r'<tr data-order-id="[^"]+" data-status="failed">(.*?)</tr>', en, re.S)
    beyond = re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)[2]
    assert beyond.strip() == "—", beyond  # an auto-debit takes the bill: nothing beyond it ("Shorten the term")
    zh, en = read("/notices", "zh-CN"), read("/notices", "en")
    assert "账户余额不足" in zh and "Insufficient" not in zh
    assert "insufficient balance in the payer" in en and "余额不足" not in en


def test_a_late_payer_who_catches_up_is_current_again_and_the_case_ends_cured(app, post_loan, clock):
    loan = disbursed(app, clock, authorised=False)  # nothing is debited: the bill goes unpaid
    first = rows(loan)[0]
    day = first.due_date
    while rows(loan)[0].status != "overdue":
        batch(clock, day)
        day += timedelta(days=1)
    deliver_outbox()  # the case starts from collections_opened
    [case] = db.session.scalars(select(ProcessInstance).where(ProcessInstance.process_id == "collections",
                                                              ProcessInstance.business_key == loan.business_key))
    assert case.status == "waiting"
    for _ in range(5):  # a few more days late: penalty interest accrues
        batch(clock, day)
        day += timedelta(days=1)
    arrears = rows(loan)[0]
    assert arrears.penalty_due > 0
    # the borrower reads it late on the applications list (it said 贷款存续中), and the pay forms start with what is
    db.session.commit()
    set_password(app, "app1")
    read = reader(app, "app1")
    listed, en = read("/applications/", "zh-CN"), read(f"/loans/{loan.id}", "en")
    late = db.session.get(Loan, loan.id).dpd
    assert late > 0 and f"逾期 {late} 天" in listed and 'data-status="overdue"' in listed
    owed = f"{loans.amounts_overdue([loan.id])[loan.id]:,.2f}"
    assert re.search(rf'id="pay-online-form">.*?name="amount"[^>]*value="{re.escape(owed)}"', en, re.S), owed
    on(clock, day, hour=11)  # the borrower pays everything overdue online
    placed = online_repayments.order(who("app1"), loan.id, loans.owed(arrears), "catch-up")
    payments.pay(who("app1"), placed.row.order_id)
    worker(app, clock, seconds=5)
    assert rows(loan)[0].status == "paid"
    deliver_outbox()  # current again at once (the list said 逾期 until the night's batch), and the case ends cured
    db.session.expire_all()
    paid_up = db.session.get(Loan, loan.id)
    assert (paid_up.dpd, paid_up.bucket) == (0, "current")
    assert db.session.get(ProcessInstance, case.id).status == "completed"
    assert "逾期" not in read("/applications/", "zh-CN")
    batch(clock, day)  # the night's batch: nothing more to say
    deliver_outbox()
    db.session.expire_all()
    current = db.session.get(Loan, loan.id)
    assert (current.status, current.dpd, current.bucket) == ("active", 0, "current")
    assert [r.status for r in rows(loan)] == ["paid"] + ["pending"] * 5
    ended = db.session.get(ProcessInstance, case.id)
    assert ended.status == "completed"
    assert [p.status for p in post_loan_instances(loan)] == ["waiting"]  # the loan goes on being watched
    assert_books_balance(loan.id)


def test_each_overdue_alert_shows_the_whole_loan_as_of_its_day(app, post_loan, clock):
    """A second instalment falling overdue after finance handled the first alert alerts finance again; its task says
    the loan as it stands that day: every overdue instalment's amount with penalties, overdue since the oldest one's
    due date, the days past due counted from it and the day the figures are of (it said the new instalment's due date
    beside the loan's days past due, and that instalment's amount alone)."""
    loan = disbursed(app, clock, authorised=False)
    first, second = rows(loan)[0], rows(loan)[1]
    day = first.due_date
    while rows(loan)[0].status != "overdue":
        day += timedelta(days=1)
        batch(clock, day)
    [handled] = db.session.scalars(select(HumanTask).where(HumanTask.element_id == "review_overdue"))
    tasks.complete_task(handled.id, {"decision": "follow_collections"}, who("fin1"))
    db.session.commit()
    while rows(loan)[1].status != "overdue":
        day += timedelta(days=1)
        batch(clock, day)
    [alert] = db.session.scalars(select(HumanTask).where(HumanTask.element_id == "review_overdue",
                                                        HumanTask.state == "ready"))
    data = alert.shown or {}
    owed_now = loans.amounts_overdue([loan.id])[loan.id]
    assert owed_now > loans.owed(first) + loans.owed(second) - Decimal("0.01") > 0
    assert (data["first_due_date"], data["days_past_due"], Decimal(data["amount_overdue"]), data["as_of"]) == (
        first.due_date.isoformat(), (day - first.due_date).days, owed_now, day.isoformat())
    said_on = f"{second.due_date.year}年{second.due_date.month}月{second.due_date.day}日"  # as the pages write dates
    [told] = [n for n in notices("loan_overdue") if n.channel == "in_app" and said_on in n.body]
    assert re.search(r"¥\d{1,3},\d{3}\.\d{2}", told.body), told.body  # the instalment's amount, said as money
    set_password(app, "fin1")
    page = reader(app, "fin1")(f"/tasks/{alert.id}", "zh")
    assert "数据截至（日终批处理日）" in page and day.isoformat() in page
    history = page.split('id="history"')[1].split("</ol>")[0]  # each message said by what it is, not 收到消息 alone
    assert "收到消息 · 账单今日到期" in history and "收到消息 · 发生逾期" in history


def test_the_overdue_alert_leads_to_the_loan_as_it_stands_today(app, post_loan, clock):
    """Walk J item 1: the overdue alert's page said the loan as of the day the task was made (逾期天数 1) and led
    nowhere: finance, weeks later, had no way from the task to the loan's bills, payments and case. The task page
    shows the loan as it stands now (status, amount overdue, principal outstanding) with a link to its page, in
    both languages; a reader who may not see the loan gets no panel."""
    loan = disbursed(app, clock, authorised=False)
    day = rows(loan)[0].due_date
    while rows(loan)[0].status != "overdue":
        day += timedelta(days=1)
        batch(clock, day)
    [alert] = db.session.scalars(select(HumanTask).where(HumanTask.element_id == "review_overdue"))
    for _ in range(3):  # days later: the task's key data is of its first day
        day += timedelta(days=1)
        batch(clock, day)
    owed_now = loans.amounts_overdue([loan.id])[loan.id]
    db.session.expire_all()
    late = db.session.get(Loan, loan.id).dpd
    assert (alert.shown or {})["days_past_due"] != late
    set_password(app, "fin1")
    read = reader(app, "fin1")
    for language, late_said, link in (("zh-CN", f"逾期 {late} 天", "打开贷款"),
                                      ("en", f"Overdue, {late} days", "Open the loan")):
        page = read(f"/tasks/{alert.id}", language)
        panel = page.split('id="loan-panel"')[1].split("</section>")[0]
        assert f'href="/loans/{loan.id}"' in panel and link in panel
        assert f"¥{owed_now:,.2f}" in panel and late_said in panel and loan.business_key in panel


def test_finance_has_one_open_alert_per_loan_however_many_bills_fall_overdue(app, post_loan, clock):
    """The demo's overdue loan gave finance a task per missed bill, each its own snapshot: while an alert is open,
    the next bill falling overdue is told (the notice) and updates the loan's figures, and gives no second task."""
    loan = disbursed(app, clock, authorised=False)
    day = rows(loan)[0].due_date
    while rows(loan)[1].status != "overdue":
        day += timedelta(days=1)
        batch(clock, day)
    alerts = db.session.scalars(select(HumanTask).where(HumanTask.element_id == "review_overdue")).all()
    assert [a.state for a in alerts] == ["ready"]
    assert len([n for n in notices("loan_overdue") if n.channel == "in_app"]) == 2  # each bill is still told
    [instance] = post_loan_instances(loan)
    assert Decimal(instance.data["amount_overdue"]) == loans.amounts_overdue([loan.id])[loan.id]
    assert instance.status == "waiting"
    [row] = [i for i in inbox.inbox(who("fin1"), inbox.InboxFilters(view="group"))["items"]
             if i["id"] == alerts[0].id]  # the inbox says the amount the task shows (it said the newer figure)
    assert Decimal(str(row["amount"])) == Decimal(alerts[0].shown["amount_overdue"]) < Decimal(instance.data["amount_overdue"])
    assert_books_balance(loan.id)


def test_a_bank_transfer_awaiting_finance_is_not_debited_again_on_the_due_date(app, post_loan, clock):
    """The borrower reported the transfer of the bill before its due date; finance has not confirmed it yet.
    The auto-debit took the bill a second time (and the transfer, confirmed later, prepaid principal with a fee)."""
    loan = disbursed(app, clock)
    first = rows(loan)[0]
    batch(clock, first.due_date - timedelta(days=3))
    reported = record_offline_payment(who("app1"), loan.id, loans.owed(first), "transfer-of-bill-1",
                                      received_on=first.due_date - timedelta(days=2))
    assert reported.payment.status == "pending"
    batch(clock, first.due_date - timedelta(days=2))
    batch(clock, first.due_date - timedelta(days=1))  # bill_due: the auto-debit's turn
    worker(app, clock, minutes=3)
    assert db.session.scalars(select(RepaymentOrder).where(RepaymentOrder.loan_id == loan.id)).all() == []
    [instance] = post_loan_instances(loan)
    assert instance.data["debit"]["outcome"] == "skipped"
    assert instance.data["debit"]["reason"] == "transfer_awaiting_confirmation"
    assert_books_balance(loan.id)


def test_an_auto_debit_that_first_pays_an_overdue_bill_says_so(app, post_loan, clock):
    """The debit of bill 2 goes first to bill 1, still overdue (oldest first): the notice said only "本期已自动扣款",
    which a borrower reads as "bill 2 is paid"; it says where the money went and what bill 2 still owes."""
    loan = disbursed(app, clock)
    first, second = rows(loan)[:2]
    batch(clock, first.due_date - timedelta(days=2))
    payments.fail_next(1, "insufficient_funds")  # bill 1's debit fails: bill 1 falls overdue
    db.session.commit()
    batch(clock, first.due_date - timedelta(days=1))
    worker(app, clock, minutes=3)
    batch(clock, second.due_date - timedelta(days=1))  # bill 2's debit, for bill 2's amount
    worker(app, clock, minutes=3)
    [payment] = db.session.scalars(select(Payment).where(Payment.loan_id == loan.id, Payment.status == "booked"))
    lines = payment.allocation["instalments"]
    assert [line["number"] for line in lines if line["number"] < 2] == [1]
    to_older = sum((Decimal(line[part]) for line in lines if line["number"] < 2
                    for part in ("penalties", "fees", "interest", "principal")), Decimal(0))
    left = loans.owed(rows(loan)[1])
    assert to_older > 0 and left > 0
    assert not notices("auto_debit_received")
    [told] = notices("auto_debit_overdue_first")
    assert f"¥{to_older:,.2f} 先用于偿还已逾期的第 1 期" in told.body, told.body
    assert f"第 2 期尚欠 ¥{left:,.2f}" in told.body and "本期已自动扣款" not in told.subject
    _subject, body = render(told.template, told.params, "en")
    assert f"¥{to_older:,.2f} of it went first to overdue instalment 1" in body and f"instalment 2 still owes ¥{left:,.2f}" in body
    assert_books_balance(loan.id)


def test_the_disbursement_notice_opens_the_loan_page(app, post_loan, clock):
    """The schedule with its bills and payments is on the loan page; the notice sent the borrower to the application's."""
    loan = disbursed(app, clock)
    [told] = [n for n in notices("loan_disbursed") if n.channel == "in_app"]
    assert "还款计划、账单及还款记录见贷款页面" in told.body and "申请页面" not in told.body
    assert "the loan's page" in render(told.template, told.params, "en")[1]
    db.session.commit()
    set_password(app, "app1")
    page = reader(app, "app1")("/notices", "zh-CN")
    assert re.search(rf'<a href="/loans/{loan.id}">贷款 {loan.business_key} 已放款</a>', page)
