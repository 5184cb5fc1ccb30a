"""After disbursement, through the pages each party uses (issue 15, "How it is checked"): applicant1
opens their loans, pays the overdue bill of a loan online (the loan page's 在线还款 → the payment
simulator's page → back on the loan page the bill reads 已还清), then reports a bank transfer for the
next bill with its voucher (a small PDF) and reads 等待资金方确认; finance1 finds the transfer on the
monitoring page (还款监控), opens the voucher and confirms it, and applicant1 reads it 已入账. Then the
demo's collections agent collector1 finds the overdue loan's contact task (联系借款人) in the group's
inbox, is refused a call at 22:30 (borrowers are contacted only between 08:00 and 21:00 China time),
records the phone call with a promise to pay and a date, and reads contact and promise on /collections.

On the demo server (`make run`'s processes, forms and `seed demo`, whose loans were lived day by day
up to today, app/demo_post_loan.py). The loan paid is the demo's LOAN-2026-0002: the one loan of
applicant1 with a bill due today that no collections case works (the post-loan deals' next bills are
weeks away, and a payment before a bill is issued prepays principal instead, docs/ledger.md). The
simulator's notification is sent by the worker's job (`app.scheduler`), run in the test against the
served app and polled with a deadline, as in test_signing_journey. axe-core and the sweep's other
checks run on the platform's pages; the loan page is read in English too (its language switch) and no
raw code (`shorten_term`, `bill_due`, `31-60` ...) shows in either language.

The contact hours: the contact task's form checks the time the agent enters (the time of the call,
HH:MM China time), not the clock, so the journey holds at any hour CI runs it — it records the call at
the latest moment within the hours not after now (now itself, or 21:00 of today or of yesterday:
`last_contact_moment`), after being refused an out-of-hours time. The case reached that task in the
seed because the demo's worker wakes timers by day too (the 08:00 reminder goes out in the hours).
LOANFLOW_E2E_SCREENSHOTS=DIR keeps a screenshot of every step (post-loan-NN-name).
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
from playwright.sync_api import Page, expect

from app.demo import LOANS
from tests.e2e.conftest import LiveServer
from tests.e2e.test_origination_journey import Journey
from tests.e2e.test_signing_journey import platform, until  # noqa: F401  (platform: the fixture, used below)

PAID_LOAN = LOANS[1][0]  # LOAN-2026-0002: disbursed 70 days ago, its second bill about ten days overdue
TRANSFER_REFERENCE = "CMB-20261204-0042"
CASE_LOAN = "APP-2026-0016"  # the demo's loan 44 days overdue, its collections case open (app/demo_post_loan.py)
WINDOW_OPENS, WINDOW_CLOSES = time(8, 0), time(21, 0)  # borrowers are contacted only in these hours (China time)
# What a page may never show, in either language: the codes behind the words (prepayment modes, the batch's
# messages, overdue buckets, channels). Codes that are also English words (pending, booked) are caught on the
# Chinese pages by the sweep's Latin-word check.
RAW_CODES = ("shorten_term", "reduce_instalment", "payoff", "bill_due", "bill_due_soon", "loan_booked", "overdue_alert",
             "1-30", "31-60", "61-90", "91+", "auto_debit", "debt_sale", "promise_to_pay", "field_visit")


class PostLoanJourney(Journey):
    name = "post-loan"

    def seen(self, name: str) -> None:
        """A step reached: its screenshot (post-loan-NN-name), the sweep's checks on the page, no raw code."""
        super().seen(name)
        self.no_raw_codes(name)

    def no_raw_codes(self, name: str) -> None:
        text = self.page.locator("main").inner_text()
        self.problems += [f"post-loan-{name}: raw code {code!r} shows" for code in RAW_CODES
                          if re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text)]

    def open_loan(self, business_key: str) -> int:
        """From the header's 贷款 link to the loan's page; its id."""
        page = self.page
        with page.expect_navigation():
            page.locator("header nav").get_by_role("link", name="贷款", exact=True).click()
        expect(page.locator("main h1")).to_have_text("贷款")
        row = page.locator("table.loans tbody tr", has_text=business_key)
        expect(row).to_have_count(1)
        with page.expect_navigation():
            row.get_by_role("link", name=business_key).click()
        expect(page.locator("main h1")).to_have_text(f"贷款 {business_key}")
        return int(page.locator("#loan-summary").get_attribute("data-loan-id") or 0)

    def choose_language(self, code: str, tag: str) -> None:
        page = self.page
        with page.expect_navigation():
            page.locator(f"#language-form button[value={code}]").click()
        expect(page.locator("html")).to_have_attribute("lang", tag)


def business_today(server: LiveServer) -> str:
    """Today where the business is (China): the day the borrower's bank sends a transfer."""
    from app.services.ledger import loans

    with server.app.app_context():
        return loans.business_today().isoformat()


def bill(page: Page, number: int):
    return page.locator(f"#loan-schedule tr[data-instalment='{number}']")


def owed(page: Page, number: int) -> str:
    """What the schedule says the bill still owes, as the page shows it (e.g. 20,784.60)."""
    return bill(page, number).locator("td.owed").inner_text().strip().removeprefix("¥")


@pytest.mark.usefixtures("platform")
def test_a_bill_paid_online_and_a_transfer_for_the_next_confirmed_by_finance(demo_page, demo_server: LiveServer,
                                                                             tmp_path):
    page, server = demo_page, demo_server
    journey = PostLoanJourney(page, tmp_path)

    # applicant1 opens their loans and the one with a bill overdue
    journey.as_user("applicant1")
    with page.expect_navigation():
        page.locator("header nav").get_by_role("link", name="贷款", exact=True).click()
    expect(page.locator("table.loans tbody tr", has_text=PAID_LOAN).locator(".status")).to_have_text(
        re.compile(r"逾期 \d+ 天"))  # said overdue (it said 还款中, repaying, of a loan a bill behind)
    journey.seen("loans")
    loan_id = journey.open_loan(PAID_LOAN)
    overdue = page.locator("#loan-schedule tr[data-status=overdue]")
    expect(overdue).to_have_count(1)
    number = int(overdue.get_attribute("data-instalment") or 0)
    expect(overdue).to_contain_text("已逾期")
    amount = owed(page, number)
    journey.seen("loan-bill-overdue")

    # ... pays it online: the "Pay online" form, then the payment simulator's page
    pay = page.locator("#pay-online-form")
    pay.get_by_label("金额").fill(amount)
    with page.expect_navigation():
        pay.get_by_role("button", name="在线还款").click()
    expect(page).to_have_url(re.compile(r"/simulators/payments/orders/[^/]+/pay\?back="))
    expect(page.locator(".simulator-banner")).to_be_visible()
    order = page.locator("#payment-order")
    expect(order).to_have_attribute("data-status", "pending")
    expect(order).to_contain_text(PAID_LOAN)
    journey.shot("gateway-pay")
    with page.expect_navigation():
        page.locator("#payment-pay-form").get_by_role("button", name=f"支付 ¥{amount}").click()
    expect(order).to_have_attribute("data-status", "succeeded")
    expect(order).to_contain_text("该订单已支付。")
    journey.shot("gateway-paid")

    # the worker sends the simulator's signed notification; the platform books the payment
    def booked_online() -> bool:
        items = server.api("GET", f"/loans/{loan_id}/repayments/online")
        return any(o["status"] == "succeeded" and o["payment_id"] for o in items)

    until(server, "the online payment booked", booked_online)

    # back on the loan page: the bill is paid, the order paid
    with page.expect_navigation():
        page.get_by_role("link", name="返回贷款页面").click()
    expect(page.locator("main h1")).to_have_text(f"贷款 {PAID_LOAN}")
    expect(bill(page, number)).to_have_attribute("data-status", "paid")
    expect(bill(page, number)).to_contain_text("已还清")
    expect(page.locator("#loan-schedule tr[data-status=overdue]")).to_have_count(0)
    expect(page.locator("#online-orders tbody tr").first).to_have_attribute("data-status", "succeeded")
    expect(page.locator("#online-orders tbody tr").first).to_contain_text("已付款")
    expect(page.locator("#online-orders tbody tr").first).to_contain_text("—")  # it paid the bill: nothing prepaid
    journey.seen("bill-paid-online")

    # applicant1 reports a bank transfer for the next bill, with its voucher
    following = number + 1
    expect(bill(page, following)).to_have_attribute("data-status", "pending")
    next_amount = owed(page, following)
    transfer = page.locator("#pay-offline-form")
    transfer.get_by_label("金额").fill(next_amount)
    transfer.get_by_label("转账日期").fill(business_today(server))  # sent today
    transfer.get_by_label("银行流水号（选填）").fill(TRANSFER_REFERENCE)
    voucher = journey.pdf(f"转账凭证-{TRANSFER_REFERENCE}.pdf", f"Bank transfer {TRANSFER_REFERENCE}")
    transfer.get_by_label("转账凭证（PDF、PNG 或 JPEG）").set_input_files(voucher)
    journey.seen("transfer-form")
    with page.expect_navigation():
        transfer.get_by_role("button", name="提交转账信息").click()
    expect(page.locator(".error")).to_have_count(0)
    reported = page.locator("#payments tbody tr", has_text=TRANSFER_REFERENCE)
    expect(reported).to_have_count(1)
    expect(reported).to_have_attribute("data-status", "pending")
    expect(reported).to_contain_text("等待资金方确认")
    expect(reported).to_contain_text("银行转账")
    expect(reported.get_by_role("link", name="查看凭证")).to_be_visible()
    expect(reported.locator("form")).to_have_count(0)  # the borrower does not decide
    payment_id = reported.get_attribute("data-payment-id")
    journey.seen("transfer-awaiting")

    # ... and reads the same page in English: the words, not the codes
    journey.choose_language("en", "en")
    expect(page.locator("main h1")).to_have_text(f"Loan {PAID_LOAN}")
    expect(bill(page, number)).to_contain_text("Paid")
    expect(reported).to_contain_text("Awaiting the funder's confirmation")
    expect(reported).to_contain_text("Bank transfer")
    expect(page.locator("#pay-offline h2")).to_have_text("Report a bank transfer")
    journey.seen("transfer-awaiting-en")
    journey.choose_language("zh", "zh-CN")

    # finance1 finds it on the monitoring page, reads the voucher and confirms
    journey.as_user("finance1")
    with page.expect_navigation():
        page.locator("header nav").get_by_role("link", name="贷款", exact=True).click()
    with page.expect_navigation():
        page.get_by_role("link", name="还款监控").click()
    expect(page.locator("main h1")).to_have_text("还款监控")
    overdue_heads = page.locator("#overdue h3")
    expect(overdue_heads).to_have_count(4)
    expect(overdue_heads.nth(1)).to_contain_text("逾期31至60天")  # the bucket in words
    expect(page.locator("#bucket-2")).to_contain_text(CASE_LOAN)  # the demo's loan 44 days late is there
    waiting = page.locator(f"#awaiting tr[data-payment-id='{payment_id}']")
    expect(waiting).to_contain_text(PAID_LOAN)
    expect(waiting).to_contain_text(TRANSFER_REFERENCE)
    expect(waiting).to_contain_text(next_amount)
    journey.seen("monitor-awaiting")
    with page.context.expect_page() as opened:
        waiting.get_by_role("link", name="查看凭证").click()
    shown = opened.value
    shown.wait_for_load_state()
    response = page.request.get(waiting.get_by_role("link", name="查看凭证").get_attribute("href") or "")
    assert response.ok and response.headers["content-type"] == "application/pdf"
    assert response.body() == voucher.read_bytes()  # the very file the borrower sent
    shown.close()
    with page.expect_navigation():
        waiting.get_by_role("button", name="确认：款项已到账").click()
    expect(page).to_have_url(re.compile(r"/loans/monitor(#awaiting)?$"))
    expect(page.locator(f"#awaiting tr[data-payment-id='{payment_id}']")).to_have_count(0)
    journey.seen("monitor-confirmed")

    # applicant1 reads the transfer booked
    journey.as_user("applicant1")
    journey.open_loan(PAID_LOAN)
    booked = page.locator(f"#payments tr[data-payment-id='{payment_id}']")
    expect(booked).to_have_attribute("data-status", "booked")
    expect(booked).to_contain_text("已入账")
    expect(booked).to_contain_text(TRANSFER_REFERENCE)
    journey.seen("transfer-booked")

    assert not journey.problems, "\n".join(journey.problems)


def last_contact_moment(now: datetime) -> tuple[date, str]:
    """The call the agent records: the latest moment within the contact hours that is not after `now`
    (China time) — now itself in the hours, else 21:00 of today (after them) or of yesterday (before
    08:00). So the journey records a call that could have been made, whatever hour it runs at."""
    if now.time() < WINDOW_OPENS:
        return now.date() - timedelta(days=1), WINDOW_CLOSES.strftime("%H:%M")
    return now.date(), min(now.time(), WINDOW_CLOSES).strftime("%H:%M")


def china_now(server: LiveServer) -> datetime:
    from app.services import clock, context

    with server.app.app_context():
        return clock.now().astimezone(context.business_tz())


def test_a_collections_agent_records_a_promise_to_pay(demo_page, demo_server: LiveServer, tmp_path):
    """collector1 (the platform's collections agent) finds the overdue loan's contact task in the group's
    inbox, is refused a call outside 08:00-21:00 China time, records the phone call with a promise to pay,
    and reads the contact and the promise on the case's page (/collections)."""
    page, server = demo_page, demo_server
    journey = PostLoanJourney(page, tmp_path)
    journey.step = 20  # post-loan-21-...: after the repayment journey's screenshots

    journey.as_user("collector1")
    with page.expect_navigation():
        page.locator("header nav").get_by_role("link", name="催收", exact=True).click()
    case = page.locator("#cases tr", has_text=CASE_LOAN)
    expect(case).to_have_count(1)
    expect(case.locator(".contact")).to_have_count(0)  # none recorded yet
    journey.seen("collections")
    overdue = case.locator("td").nth(4).inner_text().strip().removeprefix("¥")

    # the contact task in the group's inbox
    with page.expect_navigation():
        page.get_by_role("link", name="组内待领任务").first.click()
    row = page.locator("table.tasks tbody tr", has_text=CASE_LOAN).filter(has_text="联系借款人")
    expect(row).to_have_count(1)
    with page.expect_navigation():
        row.locator("a[href^='/tasks/']").first.click()
    expect(page.locator("main h1")).to_have_text("联系借款人")
    expect(page.locator("#key-data")).to_contain_text(CASE_LOAN)
    journey.seen("contact-task")

    # a call at 22:30 is refused: borrowers are contacted only between 08:00 and 21:00 China time
    contacted_on, contacted_at = last_contact_moment(china_now(server))
    promised_on = (china_now(server).date() + timedelta(days=7)).isoformat()
    form = page.locator("#task-form")
    form.get_by_label("联系日期").fill(contacted_on.isoformat())
    form.get_by_label("联系时间（北京时间，时:分）").fill("22:30")
    form.get_by_label("联系方式").select_option(label="电话")
    form.get_by_label("联系结果").select_option(label="承诺还款")
    form.get_by_label("承诺还款日期").fill(promised_on)
    form.get_by_label("承诺还款金额（元）").fill(overdue.replace(",", ""))
    form.get_by_label("备注").fill("借款人财务负责人接听，称下周一货款回笼后还清逾期款项。")
    form.get_by_label("下一步").select_option(label="继续催收")
    with page.expect_navigation():
        form.get_by_role("button", name="提交完成").click()
    expect(page.locator(".field-error, .error").first).to_contain_text("仅可在北京时间 08:00 至 21:00 之间联系借款人")
    journey.seen("contact-outside-hours")

    # ... the call as it was made, within the hours
    form.get_by_label("联系时间（北京时间，时:分）").fill(contacted_at)
    journey.seen("contact-promise")
    journey.complete()

    # the case's page: the contact and the promise to pay, in words
    with page.expect_navigation():
        page.locator("header nav").get_by_role("link", name="催收", exact=True).click()
    with page.expect_navigation():
        case.get_by_role("link", name=CASE_LOAN).click()
    expect(case.locator(".contacts")).to_contain_text("电话 · 承诺还款")
    expect(case.locator(".contacts")).to_contain_text(contacted_at)
    expect(case.locator(".promises")).to_contain_text(overdue)
    # 44 days late, in words; with a promise given, the case waits for its date: no task open
    expect(case.locator(".bucket")).to_have_text("逾期31至60天")
    expect(case.locator(".status")).to_have_text("进行中")
    journey.seen("case-promise")

    assert not journey.problems, "\n".join(journey.problems)
