"""An approved order-financing deal on to a running loan, in Chinese, through the pages each party uses
(issue 14, "How it is checked"): applicant1 verifies the borrower's identity in the platform's task
(a wrong code first: the reason shows on the task given again; then the sandbox code 123456) and
signer1 the core enterprise's; each finds the contract waiting on the application page (合同待签署)
and signs on the e-signature simulator's page its link 去签署 opens; the funder's seal follows by
itself; the worker delivers the simulator's callback; the operator registers the receivable with the
registry's certificate; finance1 reads the whole deal (application, reviews, risk report, signed
contract, registration) on the release_funds task and releases the funds; the payment simulator
settles the order and notifies the platform; applicant1 reads 贷款存续中 and the repayment schedule.

On the demo server (`make run`'s processes, forms and `seed demo`): the deal is set up to its approval
through the services (as the origination journey's pages would), and found by its number. The
worker's jobs (`app.scheduler`) run in the test against the served app, polled with a deadline.
axe-core and the sweep's other checks run on the platform's pages; LOANFLOW_E2E_SCREENSHOTS=DIR
keeps a screenshot of every step.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from app.scheduler import deliver_simulator_callbacks_job, payments_simulator_job, wake_due_job
from tests.e2e.conftest import LiveServer
from tests.e2e.test_origination_journey import Journey, small_pdf

APPLIED, APPROVED = "400,000.00", "380,000.00"
BORROWER = {"name": "申城贸易有限公司", "credit_code": "91310000MA10000018", "mobile": "13800138000"}
CORE = {"name": "长江制造集团", "credit_code": "91320000MA1000013K", "mobile": "13900139000"}
PAYEE_ACCOUNT, PAYEE_BANK = "6222 0210 0100 7777 001", "招商银行上海分行"
REGISTRATION_NUMBER = "ZD-2026-00042"
WORKER_JOBS = (wake_due_job, deliver_simulator_callbacks_job, payments_simulator_job)
DEADLINE_SECONDS = 30


@pytest.fixture
def platform(demo_server) -> Iterator[LiveServer]:
    """The demo server, telling signers its own address (PUBLIC_URL) and calling itself back there
    (BASE_URL), as `make run` on any port would be set; both restored after."""
    config = demo_server.app.config
    before = {key: config.get(key) for key in ("PUBLIC_URL", "BASE_URL")}
    config.update(PUBLIC_URL=demo_server.url, BASE_URL=demo_server.url)
    try:
        yield demo_server
    finally:
        config.update(before)


def approved_order(server: LiveServer) -> tuple[int, str]:
    """applicant1's order-financing application, confirmed by signer1 and approved by reviewer1 and
    reviewer2 (380,000.00) through the services: (its id, its number)."""
    from app.extensions import db
    from app.services.identity import directory as identity
    from app.services.origination import applications
    from app.services.workflow import tasks

    due = (date.today() + timedelta(days=200)).isoformat()

    def do(instance_id: int, element: str, username: str, answer: dict) -> None:
        [task] = [t for t in server.api("GET", "/tasks", query_string={"instance_id": instance_id})["items"]
                  if t["element_id"] == element and t["state"] in ("ready", "claimed")]
        tasks.complete_task(task["id"], answer, identity.principal_for(username))
        db.session.commit()

    with server.app.app_context():
        applicant = identity.principal_for("applicant1")
        row = applications.create_application(applicant, {
            "product": "ORDER-FIN", "amount": APPLIED.replace(",", ""), "term_months": 6, "funder": "BANK1",
            "purpose": "采购钢材，履行长江制造集团的订单",
            "details": {"core_enterprise": "CORE1", "order_number": "PO-2026-9101", "order_amount": "600000.00",
                        "order_due_date": due, "payee_account": PAYEE_ACCOUNT, "payee_bank": PAYEE_BANK}})
        for kind in ("order", "invoice"):
            applications.add_document(applicant, row.id, kind, f"{kind}-PO-2026-9101.pdf", small_pdf(kind))
        row = applications.submit(applicant, row.id)
        application_id, number, instance_id = row.id, row.number, row.instance_id
        do(instance_id, "confirm_receivable", "signer1", {
            "decision": "confirm", "confirmed_amount": "600000.00", "due_date": due,
            "collection_account": "6222 0210 0100 9101 002"})
        for element, username in (("first_review", "reviewer1"), ("second_review", "reviewer2")):
            do(instance_id, element, username, {"decision": "approve", "approved_amount": APPROVED.replace(",", ""),
                                                "notes": "订单已确认，回款账户为监管账户，同意。"})
        db.session.remove()
    return application_id, number


def until(server: LiveServer, what: str, reached: Callable[[], bool]) -> None:
    """Run the worker's jobs against the served app until `reached()`, failing after the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        for job in WORKER_JOBS:
            job(server.app)
        if reached():
            return
        assert time.monotonic() < deadline, f"{what}: not within {DEADLINE_SECONDS} s"
        time.sleep(0.25)  # the next pass of the worker, not a wait for an outcome


class SigningJourney(Journey):
    name = "signing"  # signing-NN-step: its own numbering beside the origination journey's

    def verify_identity(self, number: str, title: str, who: dict[str, str], code: str) -> None:
        self.open_group_task(number, title)
        form = self.page.locator("#task-form")
        form.get_by_label("名称（单位名称或个人姓名）").fill(who["name"])
        form.get_by_label("统一社会信用代码或身份证号").fill(who["credit_code"])
        form.get_by_label("手机号码").fill(who["mobile"])
        form.get_by_label("验证码").fill(code)
        self.seen(f"verify-{who['credit_code'][-4:]}-{code}")
        if code == "123456":
            self.complete()
            return
        with self.page.expect_navigation():  # a wrong code: said on the task to try again in, with the attempts left
            form.get_by_role("button", name="提交完成").click()
        expect(self.page).to_have_url(re.compile(r"/tasks/\d+$"))
        expect(self.page.locator(".flash.error")).to_have_text("身份验证未通过：验证码错误。还剩 2 次机会，请核对信息后重试。")
        self.seen(f"verify-{who['credit_code'][-4:]}-{code}-failed")

    def sign_on_the_simulator(self, application_id: int, party: str) -> None:
        """From the application page, the link 去签署 to the simulator's page; signed there with 123456."""
        page = self.page
        page.goto(f"/applications/{application_id}")
        waiting = page.locator("#contract-signing")
        expect(waiting.locator("h3")).to_have_text("合同待签署")
        expect(waiting.locator(f"tr[data-party={party}]")).to_have_attribute("data-signed", "no")
        self.seen(f"contract-waiting-{party}")
        with page.expect_navigation():
            waiting.get_by_role("link", name="去签署").click()
        expect(page).to_have_url(re.compile(r"/simulators/esign/flows/EF-[0-9a-f]+/sign$"))
        expect(page.locator(".simulator-banner")).to_be_visible()
        signing = page.locator("#esign-sign-form")
        signing.get_by_label("验证码").fill("123456")
        self.shot(f"esign-{party}")
        with page.expect_navigation():
            signing.get_by_role("button", name="签署").click()
        expect(page.locator(".flash")).to_have_text("已签署。您的签名已加入合同。")
        expect(page.locator(f"#esign-signers tr[data-party={party}]")).to_have_attribute("data-status", "signed")
        self.shot(f"esign-{party}-signed")


def test_an_approved_order_financing_deal_is_signed_registered_disbursed_and_running(demo_page, platform, tmp_path):
    page, server = demo_page, platform
    application_id, number = approved_order(server)
    journey = SigningJourney(page, tmp_path)
    status = page.locator("#application [data-field=status]")

    def deal() -> dict:
        return server.api("GET", f"/applications/{application_id}")

    # applicant1 verifies the borrower's identity: a wrong code first, its reason shown on the task given again
    journey.as_user("applicant1")
    journey.verify_identity(number, "借款人身份验证", BORROWER, "000000")
    journey.open_group_task(number, "借款人身份验证")  # given again
    with page.expect_navigation():
        page.locator("#deal-panel").get_by_role("link", name="打开申请").click()
    expect(page.locator("#timeline li[data-kind=identity_failed]")).to_have_text(re.compile("借款人的身份验证未通过（第 1 次）：验证码错误$"))
    journey.seen("verify-failed-reason")
    page.goto("/")
    journey.verify_identity(number, "借款人身份验证", BORROWER, "123456")

    # signer1 verifies the core enterprise's identity
    journey.as_user("signer1")
    journey.verify_identity(number, "核心企业身份验证", CORE, "123456")
    assert (deal()["status"], deal()["stage"]) == ("signing", "contract_signing")

    # applicant1 finds the contract waiting on the application page and signs on the simulator's page
    journey.as_user("applicant1")
    journey.open_application(number)
    expect(status).to_have_text("签约中")
    expect(page.locator("#application [data-field=stage]")).to_have_text("合同待签署")
    journey.sign_on_the_simulator(application_id, "borrower")

    # signer1 reads that the borrower has signed, and signs; the funder's seal follows by itself
    journey.as_user("signer1")
    journey.sign_on_the_simulator(application_id, "core_enterprise")
    expect(page.locator("#esign-flow")).to_have_attribute("data-status", "completed")
    expect(page.locator("#esign-signers tr[data-party=funder]")).to_have_attribute("data-status", "signed")

    # the worker delivers the simulator's callback: the signed contract is kept, registration is next
    until(server, "the signed contract kept", lambda: deal()["stage"] == "registration")

    # the operator registers the receivable with the registry's certificate
    journey.as_user("operator")
    journey.open_group_task(number, "办理质押登记")
    expect(page.locator("#deal-panel #contract-signing")).to_have_count(0)
    expect(page.locator("#deal-panel #deal-documents")).to_contain_text("已签署合同")
    task = page.locator("#task-form")
    task.get_by_label("登记机构").select_option(label="动产融资统一登记公示系统")
    task.get_by_label("登记编号").fill(REGISTRATION_NUMBER)
    task.get_by_label("登记日期").fill(date.today().isoformat())
    task.get_by_label("登记证明").set_input_files(journey.pdf(f"登记证明-{REGISTRATION_NUMBER}.pdf",
                                                              f"Registration certificate {REGISTRATION_NUMBER}"))
    journey.seen("register-collateral")
    journey.complete()
    assert (deal()["status"], deal()["stage"]) == ("disbursing", "disbursement")

    # finance1 reads the whole deal on the release_funds task and releases the funds
    journey.as_user("finance1")
    journey.open_group_task(number, "放款审核")
    panel = page.locator("#deal-panel")
    expect(panel.locator("[data-field=approved_amount]")).to_contain_text(APPROVED)
    expect(panel.locator("[data-field=purpose]")).to_contain_text("采购钢材")
    expect(panel.locator("#risk-report")).to_be_visible()
    documents = panel.locator("#deal-documents")
    expect(documents).to_contain_text("已签署合同")
    expect(documents).to_contain_text(f"登记证明-{REGISTRATION_NUMBER}.pdf")
    expect(documents.locator("li", has_text=f"登记证明-{REGISTRATION_NUMBER}.pdf")).to_contain_text("登记证明")
    earlier = page.locator("#earlier-tasks")
    expect(earlier).to_contain_text("王审")  # reviewer1's first review
    expect(earlier).to_contain_text("李复核")  # reviewer2's second review
    expect(earlier).to_contain_text(REGISTRATION_NUMBER)  # the registration
    task.get_by_label("收款账号").fill(PAYEE_ACCOUNT)
    task.get_by_label("开户行").fill(PAYEE_BANK)
    task.get_by_label("我已核对收款账户并确认放款").check()
    journey.seen("release-funds")
    journey.complete()

    # the payment simulator settles the order and notifies the platform, which books the loan
    until(server, "the loan booked", lambda: deal()["loan_id"] is not None)

    # applicant1 reads the loan running, with its schedule
    journey.as_user("applicant1")
    journey.open_application(number)
    expect(status).to_have_attribute("data-status", "active")
    expect(status).to_have_text("贷款存续中")
    loan = page.locator("#loan")
    expect(loan.locator("[data-field=principal]")).to_contain_text(APPROVED)
    expect(loan.locator("#schedule tbody tr")).to_have_count(6)
    expect(loan.locator("#schedule tbody tr").last).to_contain_text(APPROVED)  # interest only: the principal last
    expect(page.locator("#contract-signing")).to_have_count(0)
    journey.seen("loan-active")

    assert not journey.problems, "\n".join(journey.problems)
