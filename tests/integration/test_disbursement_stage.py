"""The disbursement stage (`processes/disbursement.bpmn`, docs/signing.md) on both databases: a signed
deal's funds released by the funder's finance, paid through the payments simulator (in process, on
the test clock), its signed notification delivered to the served platform over real HTTP, and the
loan booked once with the product's schedule.

The deal is driven to `approved` through the shipped origination diagrams (the product's diagram then
waits in its `signing` call activity for the borrower's identity verification: that instance is ended
here, its signing stands apart), moved to `signing` (`signing.deals.move`, as the signing stage leaves
it) and the `disbursement` process is started with the application's number as its business key.
"""
from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from app.extensions import db
from app.lending.schedule import generate_schedule
from app.models import (
    Application,
    Disbursement,
    HumanTask,
    InboxMessage,
    Incident,
    Instalment,
    JournalEntry,
    Loan,
    ProcessInstance,
    Product,
)
from app.models import PaymentOrder as OrderRow
from app.services.errors import Invalid
from app.services.identity import directory as identity
from app.services.ledger import loans
from app.services.origination import applications
from app.services.signing import deals, disbursements
from app.services.simulators import payments
from app.services.workflow import instances, tasks, waking
from handlers.callbacks import sign_callback
from handlers.payments import Notification
from tests.conftest import ROOT
from tests.integration.ledger_support import assert_books_balance
from tests.integration.origination_support import MANUAL_CODE, seed_parties
from tests.integration.test_identity import set_password, sign_in
from tests.integration.test_money_races import race_posts

PAYEE = {"payee_account": "6222 0210 0100 1234", "payee_bank": "ICBC Shanghai",
         "confirmed": True}
CALLBACK = "/api/v1/callbacks/payments"
DIAGRAMS = ("credit_loan.bpmn", "risk_approval.bpmn", "risk_route.dmn", "signing.bpmn", "disbursement.bpmn")


@pytest.fixture
def stage(app, ctx, runner, served, admin_token):
    """The shipped diagrams, the parties (and the funder's finance), the simulator calling the served app back."""
    forms_dir, app.config["FORMS_DIR"] = app.config["FORMS_DIR"], str(ROOT / "forms")
    try:  # the credit loan to approved, and this stage
        deployed = runner.invoke(args=["processes", "deploy", *(str(ROOT / "processes" / name) for name in DIAGRAMS)])
        assert deployed.exit_code == 0, deployed.output
    finally:
        app.config["FORMS_DIR"] = forms_dir
    seed_parties()
    identity.create_user("fin1", "BANK1", ["finance"], display_name="Finance Zhao")
    db.session.commit()
    base_url = app.config["BASE_URL"]
    app.config["BASE_URL"] = served
    yield served
    app.config["BASE_URL"] = base_url


def who(username: str):
    return identity.principal_for(username)


def fresh(row: Application) -> Application:
    db.session.expire_all()
    return db.session.get(Application, row.id)


def open_tasks(instance_id: int) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(HumanTask.element_id).where(
        HumanTask.instance_id == instance_id, HumanTask.state.in_(("ready", "claimed"))).order_by(HumanTask.id)))


def do(instance_id: int, element: str, username: str, answer: dict) -> None:
    db.session.expire_all()
    task_id = db.session.scalar(select(HumanTask.id).where(
        HumanTask.instance_id == instance_id, HumanTask.element_id == element,
        HumanTask.state.in_(("ready", "claimed"))))
    assert task_id is not None, (element, open_tasks(instance_id))
    tasks.complete_task(task_id, answer, who(username))


def signed_deal(amount: str = "200000.00") -> Application:
    """A credit loan approved for `amount` through the shipped diagrams, then moved on to signed (its
    product's instance, waiting in `signing`, ended)."""
    row = applications.create_application(who("app1"), {
        "product": "CREDIT-LOAN", "amount": amount, "term_months": 6, "purpose": "Working capital",
        "funder": "BANK1", "details": {"credit_code": MANUAL_CODE, "payee_account": PAYEE["payee_account"],
                                       "payee_bank": PAYEE["payee_bank"]}})
    row = applications.submit(who("app1"), row.id)
    do(row.instance_id, "credit_consent", "app1", {"consent": True, "mobile": "13800138000"})
    decision = {"decision": "approve", "approved_amount": amount, "notes": "ok"}
    do(row.instance_id, "first_review", "rev1", decision)
    do(row.instance_id, "second_review", "rev2", decision)
    row = fresh(row)
    assert (row.status, row.stage, row.approved_amount) == ("approved", "identity_verification", Decimal(amount))
    assert open_tasks(row.instance_id) == ["verify_identity_borrower"]  # the product's diagram, in `signing`
    instances.end_instance(row.instance_id, None)  # this test's disbursement runs apart from it
    row = fresh(row)
    deals.move(row, "signing", "contract_signing", "stage")
    db.session.commit()
    return row


def start_disbursement(row: Application) -> int:
    instance_id = instances.start_instance("disbursement", None, business_key=row.number,
                                           parties={"borrower": "BORR1", "funder": "BANK1"})
    row = fresh(row)
    assert (row.status, row.stage) == ("disbursing", "disbursement")
    assert open_tasks(instance_id) == ["release_funds"]
    return instance_id


def worker(app, clock, **advance: float) -> tuple[int, int]:
    """Move the clock, then the simulator's worker jobs: (orders settled, notifications the platform took)."""
    db.session.commit()  # the served app and the worker's jobs see everything; nothing is held
    if advance:
        clock.advance(**advance)
    with app.app_context():
        settled = payments.settle_due()
        delivered = payments.deliver_notifications()
        db.session.remove()
    return settled, delivered


def wake(app, clock, **advance: float) -> int:
    """Move the clock and wake the due instances (the worker's timer pass)."""
    db.session.commit()  # the served app and the worker's jobs see everything; nothing is held
    clock.advance(**advance)
    with app.app_context():
        woken = len(waking.wake_due().woken)
        db.session.remove()
    return woken


def instance_of(instance_id: int) -> ProcessInstance:
    db.session.expire_all()
    instance = db.session.get(ProcessInstance, instance_id)
    assert instance is not None
    return instance


def loans_of(row: Application) -> list[Loan]:
    db.session.expire_all()
    return list(db.session.scalars(select(Loan).where(Loan.business_key == f"LOAN-{row.number}")))


def disbursement_entries(loan_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(JournalEntry).where(
        JournalEntry.loan_id == loan_id, JournalEntry.kind == "disbursement")) or 0


def assert_booked_once(app, row: Application, instance_id: int, amount: str = "200000.00") -> Loan:
    [loan] = loans_of(row)
    assert disbursement_entries(loan.id) == 1
    assert (loan.principal, loan.borrower_org_id, loan.funder_org_id) == (
        Decimal(amount), row.borrower_org_id, row.funder_org_id)
    row = fresh(row)
    assert (row.status, row.stage) == ("active", "loan")
    [done] = db.session.scalars(select(Disbursement).where(Disbursement.status == "succeeded"))
    assert (done.application_id, done.loan_id) == (row.id, loan.id)
    instance = instance_of(instance_id)
    assert instance.status == "completed" and instance.data["loan_id"] == loan.id
    assert_books_balance(loan.id)
    return loan


# -- the whole stage ---------------------------------------------------------------------------------

def test_finance_releases_the_funds_the_notification_books_the_loan_with_the_products_schedule(
        app, stage, clock, client):
    row = signed_deal()
    instance_id = start_disbursement(row)
    assert instance_of(instance_id).data["amount"] == "200000.00"
    before = client.get(f"/api/v1/applications/{row.id}", headers=bearer("app1")).get_json()
    assert before["loan_id"] is None
    assert before["timeline"][-1]["kind"] == "disbursement_ready" and "200,000.00" in before["timeline"][-1]["text"]

    do(instance_id, "release_funds", "fin1", PAYEE)
    [ordered] = db.session.scalars(select(Disbursement))
    assert (ordered.idempotency_key, ordered.status, ordered.amount) == (
        f"{row.number}:disbursement:1", "requested", Decimal("200000.00"))
    assert ordered.requested_by_id == who("fin1").id
    order = db.session.scalar(select(OrderRow).where(OrderRow.order_id == ordered.order_id))
    assert order.idempotency_key == ordered.idempotency_key and order.amount == Decimal("200000.00")
    assert order.order["notify_url"] == stage + CALLBACK and order.order["business_key"] == row.number
    assert order.order["payee"] == {"name": "Lotus Trading", "number": "6222 0210 0100 1234", "bank": "ICBC Shanghai"}
    assert "payment_settled" in instance_of(instance_id).waiting_for

    assert worker(app, clock) == (0, 0)  # the gateway settles a few seconds after it takes the order
    assert loans_of(row) == []
    assert worker(app, clock, seconds=3) == (1, 1)  # notified over HTTP, taken by the served platform

    loan = assert_booked_once(app, row, instance_id)
    business_day = loans.business_today()  # the business date the payment settled on
    product = db.session.scalar(select(Product).where(Product.code == "CREDIT-LOAN"))
    assert (loan.disbursed_on, loan.annual_rate, loan.product_id) == (business_day, product.annual_rate, product.id)
    expected = generate_schedule(loans.product_rules(product).terms_for(Decimal("200000.00"), 6, business_day))
    rows = loans.instalments(loan.id)
    assert [(r.number, r.due_date, r.principal_due, r.interest_due) for r in rows] == [
        (i.number, i.due_date, i.principal, i.interest) for i in expected.instalments]
    assert len(rows) == 6 and sum(r.principal_due for r in rows) == Decimal("200000.00")
    assert rows[0].interest_due > 0 and rows[-1].balance == 0
    answer = client.get(f"/api/v1/applications/{row.id}", headers=bearer("app1")).get_json()
    assert (answer["status"], answer["stage"], answer["loan_id"]) == ("active", "loan", loan.id)
    kinds = [e["kind"] for e in answer["timeline"]]
    assert kinds[-3:] == ["disbursement_ready", "disbursement_ordered", "loan_booked"]
    assert "LOAN-" + row.number in answer["timeline"][-1]["text"]


def bearer(username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {identity.issue_token(username)}"}


def test_finance_is_told_the_account_numbers_format_and_a_bank_name_of_one_character_is_refused(app, stage, clock):
    row = signed_deal()
    instance_id = start_disbursement(row)
    format_en = "Enter the bank account number: 8 to 40 digits, spaces allowed between them."
    for wrong, said in (({"payee_account": "6222-0210-0100"}, {"payee_account": [format_en]}),  # said "格式不正确。"
                        ({"payee_account": "6222 021"}, {"payee_account": [format_en]}),
                        ({"payee_bank": "X"}, {"payee_bank": ["Needs at least 2 character(s)."]})):
        with pytest.raises(Invalid) as refused:
            do(instance_id, "release_funds", "fin1", {**PAYEE, **wrong})
        assert refused.value.fields == said
        db.session.rollback()
    with app.test_request_context(), force_locale("zh"), pytest.raises(Invalid) as in_zh:
        do(instance_id, "release_funds", "fin1", {**PAYEE, "payee_account": "abc"})
    db.session.rollback()
    assert in_zh.value.fields == {"payee_account": ["请填写银行账号：8 至 40 位数字，数字之间可有空格。"]}
    assert open_tasks(instance_id) == ["release_funds"] and db.session.scalar(select(func.count(Disbursement.id))) == 0
    do(instance_id, "release_funds", "fin1", {**PAYEE, "payee_bank": "工行"})
    assert open_tasks(instance_id) == []


def test_a_failed_payment_goes_back_to_finance_with_its_reason_and_the_retry_books_the_loan(app, stage, clock, client):
    row = signed_deal()
    instance_id = start_disbursement(row)
    payments.fail_next(1, "收款账户已冻结 The payee account is frozen")
    do(instance_id, "release_funds", "fin1", PAYEE)
    assert worker(app, clock, seconds=3) == (1, 1)

    assert open_tasks(instance_id) == ["release_funds"]  # back to finance
    assert loans_of(row) == []
    row = fresh(row)
    assert (row.status, row.stage) == ("disbursing", "disbursement")
    [failed] = db.session.scalars(select(Disbursement))
    assert (failed.status, failed.failure_reason) == ("failed", "收款账户已冻结 The payee account is frozen")
    assert instance_of(instance_id).data["previous_failure"] == "收款账户已冻结 The payee account is frozen"
    texts = client.get(f"/api/v1/applications/{row.id}", headers=bearer("app1")).get_json()["timeline"]
    assert texts[-1]["kind"] == "disbursement_failed" and "frozen" in texts[-1]["text"]

    with pytest.raises(Invalid) as elsewhere:  # the funds go to the contract's account, to no other
        do(instance_id, "release_funds", "fin1", {**PAYEE, "payee_account": "6222 0210 0100 5678"})
    assert elsewhere.value.fields == {"payee_account": ["Must match 6222 0210 0100 1234, which the task shows."]}
    db.session.rollback()
    do(instance_id, "release_funds", "fin1", {**PAYEE, "payee_account": "6222021001001234"})  # spaces aside
    second = db.session.scalar(select(Disbursement).where(Disbursement.id != failed.id))
    assert second.idempotency_key == f"{row.number}:disbursement:2" and second.order_id != failed.order_id
    assert worker(app, clock, seconds=3) == (1, 1)
    assert_booked_once(app, row, instance_id)


def test_a_notification_delivered_twice_books_the_loan_once(app, stage, clock):
    row = signed_deal()
    instance_id = start_disbursement(row)
    payments.notify_twice_next(1)
    do(instance_id, "release_funds", "fin1", PAYEE)
    assert worker(app, clock, seconds=3) == (1, 2)  # two copies, both answered 2xx
    assert_booked_once(app, row, instance_id)
    assert db.session.scalar(select(func.count()).select_from(InboxMessage).where(
        InboxMessage.correlation_key == row.number)) == 1  # the copy was a duplicate


def test_a_late_notification_is_replaced_by_the_status_query_and_changes_nothing_when_it_comes(app, stage, clock):
    row = signed_deal()
    instance_id = start_disbursement(row)
    payments.delay_next(1, timedelta(minutes=5))  # settles 5 minutes late
    do(instance_id, "release_funds", "fin1", PAYEE)

    assert wake(app, clock, minutes=2) == 1  # two minutes without a notification: pending, wait again
    assert loans_of(row) == [] and instance_of(instance_id).data["queries"] == 1
    assert open_tasks(instance_id) == [] and instance_of(instance_id).status == "waiting"
    assert worker(app, clock, minutes=2) == (0, 0)
    assert wake(app, clock) == 1
    assert instance_of(instance_id).data["queries"] == 2
    # The order settles, but its notification is late: queued at the gateway, not sent yet.
    clock.advance(minutes=1, seconds=5)
    db.session.commit()  # the served app and the worker's jobs see everything; nothing is held
    with app.app_context():
        assert payments.settle_due() == 1
        db.session.remove()
    assert loans_of(row) == []
    assert wake(app, clock, minutes=1) == 1  # the third query finds it settled
    loan = assert_booked_once(app, row, instance_id)

    assert worker(app, clock) == (0, 1)  # the late notification arrives and is taken (200) ...
    assert loans_of(row) == [loan] and disbursement_entries(loan.id) == 1  # ... and changes nothing
    assert_booked_once(app, row, instance_id)


def test_after_thirty_pending_queries_the_task_fails_with_an_incident_naming_the_order(app, stage, clock):
    row = signed_deal()
    instance_id = start_disbursement(row)
    payments.delay_next(1, timedelta(days=1))
    do(instance_id, "release_funds", "fin1", PAYEE)
    order_id = db.session.scalar(select(Disbursement.order_id))
    for _ in range(29):
        assert wake(app, clock, minutes=2) == 1
    assert instance_of(instance_id).data["queries"] == 29 and instance_of(instance_id).status == "waiting"
    assert wake(app, clock, minutes=2) == 1  # the 30th: fails, then its retries
    for _ in range(10):
        if instance_of(instance_id).status == "error":
            break
        wake(app, clock, hours=1)
    assert instance_of(instance_id).status == "error"
    incident = db.session.scalar(select(Incident).where(Incident.instance_id == instance_id))
    assert incident is not None and order_id in incident.message and "30" in incident.message
    assert loans_of(row) == []


def post_notifications(app, base_url: str, clock, notifications: list[Notification]) -> list[tuple[int, dict]]:
    """Each notification signed by the gateway (a fresh nonce each), POSTed at once from threads of their own."""
    db.session.commit()  # the served app and the worker's jobs see everything; nothing is held
    secret = app.config["PAYMENTS_CALLBACK_SECRET"]
    posts = []
    for i, notification in enumerate(notifications):
        body = json.dumps(notification.to_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8")
        headers = {"Content-Type": "application/json",
                   **sign_callback(secret, body, clock.current, f"nonce-{notification.notification_id}-{i}",
                                   prefix="X-Pay")}
        posts.append((CALLBACK, headers, body))
    return race_posts(base_url, posts)


def test_two_settlements_of_one_order_racing_book_the_loan_once(app, stage, clock):
    row = signed_deal()
    instance_id = start_disbursement(row)
    do(instance_id, "release_funds", "fin1", PAYEE)
    order = db.session.scalar(select(Disbursement))
    settled_at = datetime(2026, 11, 28, 9, 0, 3, tzinfo=UTC)
    copies = [Notification(notification_id=f"PN-{n}", order_id=order.order_id, idempotency_key=order.idempotency_key,
                           kind="disbursement", status="succeeded", amount="200000.00", settled_at=settled_at,
                           business_key=row.number) for n in range(4)]
    answers = post_notifications(app, stage, clock, copies)
    assert [status for status, _ in answers] == [200] * 4, answers
    loan = assert_booked_once(app, row, instance_id)
    assert loan.disbursed_on == date(2026, 11, 28)


def test_settling_the_same_order_from_two_transactions_at_once_books_once(app, stage, clock):
    """The service itself, without the engine's one-step-at-a-time: the row locks decide."""
    import threading

    row = signed_deal()
    instance_id = start_disbursement(row)
    do(instance_id, "release_funds", "fin1", PAYEE)
    order = db.session.scalar(select(Disbursement))
    answer = {"order_id": order.order_id, "status": "succeeded", "settled_at": clock.current.isoformat(),
              "failure_reason": ""}
    number = row.number
    db.session.commit()  # the served app and the worker's jobs see everything; nothing is held
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[object] = []

    def settle() -> None:
        with app.app_context():
            try:
                barrier.wait()
                outcomes.append(disbursements.settle(number, answer)["outcome"])
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported below
                db.session.rollback()
                outcomes.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=settle) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(map(str, outcomes)) == ["succeeded", "succeeded"], outcomes
    [loan] = loans_of(row)
    assert disbursement_entries(loan.id) == 1
    assert_books_balance(loan.id)
    assert db.session.scalar(select(func.count()).select_from(Instalment).where(Instalment.loan_id == loan.id)) == 6


def outside(work):
    """`work()` in a thread of its own: a page request there has an app context of its own (this
    test's would otherwise keep the first request's language and user for every later one)."""
    import threading

    done: list = []
    thread = threading.Thread(target=lambda: done.append(work()))
    thread.start()
    thread.join(60)
    return done[0]


def reader(app, username: str):
    """What `username` reads at a path in a language, signed in on a browser of their own."""
    browser = outside(lambda: signed_in_client(app, username))
    return lambda path, language: outside(lambda: browser.get(path, headers={"Accept-Language": language}).text)


def signed_in_client(app, username: str):
    browser = app.test_client()
    sign_in(browser, username)
    return browser


def test_the_application_page_shows_the_loan_and_its_schedule_to_the_borrower_funder_and_platform(
        app, stage, clock):
    row = signed_deal()
    instance_id = start_disbursement(row)
    page_of = f"/applications/{row.id}"
    for username in ("app1", "fin1", "op1"):
        set_password(app, username)
    assert 'id="schedule"' not in reader(app, "app1")(page_of, "en")  # nothing booked yet
    do(instance_id, "release_funds", "fin1", PAYEE)
    assert worker(app, clock, seconds=3) == (1, 1)
    [loan] = loans_of(row)
    for username in ("app1", "fin1", "op1"):
        read = reader(app, username)
        english = read(page_of, "en")
        assert f'data-loan-id="{loan.id}"' in english and f"Loan LOAN-{row.number}" in english, username
        assert english.count("<tr data-number=") == 6 and "Repayment schedule" in english
        assert "200,000.00" in english
        chinese = read(page_of, "zh-CN")
        assert f"贷款 LOAN-{row.number}" in chinese and "还款计划" in chinese and "剩余本金" in chinese
        assert chinese.count("<tr data-number=") == 6


def test_over_http_as_make_run_has_it_the_gateway_takes_the_order_and_the_loan_is_booked(app, stage, clock):
    """The gateway as `make run` configures it: on PostgreSQL the served simulator's API over HTTP
    (`LOANFLOW_PAYMENTS_URL`); on SQLite the simulator in process (the step that places the order
    holds the database's write lock, which the simulator, writing too, would wait for)."""
    over_http = db.session.get_bind().dialect.name == "postgresql"
    saved = {k: app.config[k] for k in ("PAYMENTS_URL", "PAYMENTS_API_KEY")}
    app.config.update(PAYMENTS_URL=f"{stage}/simulators/payments" if over_http else "",
                      PAYMENTS_API_KEY=app.config["SIMULATOR_API_KEY"])
    try:
        row = signed_deal()
        instance_id = start_disbursement(row)
        do(instance_id, "release_funds", "fin1", PAYEE)
        ordered = db.session.scalar(select(Disbursement))
        assert ordered is not None and ordered.order_id.startswith("SIM-PO-")
        order = db.session.scalar(select(OrderRow).where(OrderRow.order_id == ordered.order_id))
        assert order.idempotency_key == f"{row.number}:disbursement:1"
        assert worker(app, clock, seconds=3) == (1, 1)
        assert_booked_once(app, row, instance_id)
    finally:
        app.config.update(saved)


def test_a_late_notification_of_a_failed_attempt_does_not_touch_the_next_one(app, stage, clock):
    row = signed_deal()
    instance_id = start_disbursement(row)
    payments.fail_next(1, "账户名不符 The account name does not match")
    do(instance_id, "release_funds", "fin1", PAYEE)
    clock.advance(seconds=3)
    db.session.commit()
    with app.app_context():
        assert payments.settle_due() == 1  # settled as failed; its notification queued, not sent yet
        db.session.remove()
    assert wake(app, clock, minutes=2) == 1  # the query finds the failure: back to finance
    assert open_tasks(instance_id) == ["release_funds"]
    do(instance_id, "release_funds", "fin1", PAYEE)
    second = db.session.scalar(select(Disbursement).where(Disbursement.status == "requested"))
    assert second.idempotency_key == f"{row.number}:disbursement:2"

    db.session.commit()
    with app.app_context():
        assert payments.deliver_notifications() == 1  # the first attempt's failure, late
        db.session.remove()
    db.session.expire_all()
    assert db.session.get(Disbursement, second.id).status == "requested"  # not this order's: nothing changes
    assert instance_of(instance_id).status == "waiting" and open_tasks(instance_id) == []
    assert [e.kind for e in applications.events_of(row.id)].count("disbursement_failed") == 1

    assert worker(app, clock, seconds=3) == (1, 1)
    assert_booked_once(app, row, instance_id)


def test_finance_stops_the_disbursement_from_the_task_page_in_chinese_and_a_stop_needs_a_reason(app, stage, clock):
    """The release page offers to stop a disbursement that cannot be paid (an account frozen for good was retried
    for ever); stopping asks no account and needs a reason, said next to its field in the reader's language."""
    from tests.integration.test_simulators import csrf_of
    row = signed_deal()
    instance_id = start_disbursement(row)
    task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                                           HumanTask.element_id == "release_funds"))
    db.session.commit()
    set_password(app, "fin1")
    browser = outside(lambda: signed_in_client(app, "fin1"))
    page = outside(lambda: browser.get(f"/tasks/{task_id}", headers={"Accept-Language": "zh"}).text)
    assert "终止放款" in page and "终止放款原因" in page and re.search(r'<option value="release"\s+selected', page)
    assert page.count("确认放款时必填。") == 3  # the account, the bank and the confirmation: required to release
    form = {"csrf_token": csrf_of(page), "decision": "stop", "payee_account": "", "payee_bank": "", "stop_reason": ""}
    refused = outside(lambda: browser.post(f"/tasks/{task_id}", data=form, headers={"Accept-Language": "zh"}))
    assert refused.status_code == 422
    said = re.findall(r'data-field="(\w+)"(?:(?!data-field=).)*?<p class="field-error"[^>]*>([^<]+)</p>',
                      refused.text, re.S)
    assert said == [("stop_reason", "此项必填。")], said  # the reason only: a stop asks no account, no confirmation
    done = outside(lambda: browser.post(f"/tasks/{task_id}", data={**form, "stop_reason": "收款账户已被法院冻结"},
                                        headers={"Accept-Language": "zh"}))
    assert done.status_code == 302, done.text
    row = fresh(row)
    assert (row.status, row.stage, row.reason) == ("expired", "disbursement", "收款账户已被法院冻结")
    assert instance_of(instance_id).status == "completed" and open_tasks(instance_id) == []
    assert db.session.scalar(select(func.count(Disbursement.id))) == 0  # nothing was ordered
    with pytest.raises(deals.DealStateError):  # an ended deal stops no more
        disbursements.stop(row.number, "again")
