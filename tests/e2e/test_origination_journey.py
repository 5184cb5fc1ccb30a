"""An order-financing deal from the draft to its approval, in Chinese, through the pages each party uses
(issue 13, "How it is checked"): applicant1 drafts an application, attaches the purchase order and an
invoice (small real PDF files) and submits it; signer1 (the core enterprise) confirms the receivable;
reviewer1 returns it asking for more; applicant1 reads why, changes the application, attaches another
invoice and submits it again; reviewer1 approves it (first review) and reviewer2 approves a lower
amount (second review); applicant1 reads 已批准 and the approved amount.

On the demo server (`make run`'s processes, forms and `seed demo`): the journey makes its own
application and finds it by the number its page shows. axe-core and the sweep's other checks
(`check_page`) run on each page of the journey; LOANFLOW_E2E_SCREENSHOTS=DIR keeps a screenshot of
every step.
"""
from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot, sign_in
from tests.e2e.test_pages_a11y import check_page

ORDER_AMOUNT, APPLIED, FIRST_APPROVED, APPROVED = "600,000.00", "400,000.00", "400,000.00", "380,000.00"
RETURN_REASON = "请补充最近三个月的销售发票。"


def small_pdf(text: str) -> bytes:
    """A one-page PDF with a line of (ASCII) text, its cross-reference table at the right offsets."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("ascii")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


class Journey:
    """One browser page going from person to person; the problems the sweep's checks find on the way."""

    name = "journey"  # the screenshots' prefix: journey-NN-step

    def __init__(self, page: Page, folder: Path) -> None:
        self.page, self.folder, self.problems, self.step = page, folder, [], 0

    def as_user(self, username: str) -> None:
        from app.demo import DEMO_PASSWORD, DISPLAY_NAMES

        page = self.page
        if page.locator(".who").count():
            with page.expect_navigation():
                page.get_by_role("button", name="退出登录").click()
        sign_in(page, username, DEMO_PASSWORD)
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(page.locator(".who")).to_have_text(DISPLAY_NAMES[username])

    def seen(self, name: str) -> None:
        """A step reached: its screenshot (when kept) and the sweep's checks on the page."""
        self.step += 1
        screenshot(self.page, f"{self.name}-{self.step:02d}-{name}")
        self.problems += check_page(self.page, f"{self.name}-{name}")

    def shot(self, name: str) -> None:
        """A screenshot of a simulator's page (kept when asked): not the platform's, so not swept."""
        self.step += 1
        screenshot(self.page, f"{self.name}-{self.step:02d}-{name}")

    def pdf(self, filename: str, text: str) -> Path:
        path = self.folder / filename
        path.write_bytes(small_pdf(text))
        return path

    def attach(self, kind: str, path: Path) -> None:
        page = self.page
        form = page.locator("#upload-form")
        form.get_by_label("材料类型").select_option(label=kind)
        form.get_by_label("文件").set_input_files(path)
        with page.expect_navigation():
            form.get_by_role("button", name="上传").click()
        expect(page.locator(".flash")).to_have_text("材料已上传。")
        expect(page.locator("#deal-documents")).to_contain_text(path.name)

    def open_group_task(self, number: str, title: str) -> None:
        """The task of the deal in the group's tab, by its number: its page with the deal panel."""
        page = self.page
        with page.expect_navigation():
            page.get_by_role("link", name="组内待领任务").first.click()
        row = page.locator("table.tasks tbody tr", has_text=number)
        expect(row).to_have_count(1)
        expect(row).to_contain_text(title)
        with page.expect_navigation():
            row.locator("a[href^='/tasks/']").first.click()
        expect(page).to_have_url(re.compile(r"/tasks/\d+$"))
        expect(page.locator("main h1")).to_have_text(title)
        expect(page.locator("#deal-panel [data-field=number]")).to_have_text(number)

    def complete(self) -> None:
        page = self.page
        with page.expect_navigation():
            page.locator("#task-form").get_by_role("button", name="提交完成").click()
        expect(page.locator(".field-error, .error")).to_have_count(0)
        expect(page).to_have_url(re.compile(r"/$"))
        expect(page.locator(".flash")).to_have_text("任务已完成。")

    def open_application(self, number: str) -> None:
        page = self.page
        with page.expect_navigation():
            page.get_by_role("link", name="我的申请").click()
        with page.expect_navigation():
            page.locator("table.applications tr", has_text=number).get_by_role("link", name=number).click()
        expect(page.locator("#application [data-field=number]")).to_have_text(number)


def test_an_order_financing_application_goes_from_draft_through_a_return_to_approved(demo_page, tmp_path):
    page = demo_page
    journey = Journey(page, tmp_path)
    status = page.locator("#application [data-field=status]")

    # applicant1 drafts an order-financing application
    journey.as_user("applicant1")
    with page.expect_navigation():
        page.get_by_role("link", name="我的申请").click()
    journey.seen("applications")
    with page.expect_navigation():
        page.locator("#new-application").click()
    journey.seen("choose-product")
    with page.expect_navigation():
        page.locator("[data-product=ORDER-FIN]").get_by_role("link", name="申请此产品").click()
    form = page.locator("#application-form")
    form.get_by_label("申请金额").fill(APPLIED)
    form.get_by_label("期限（月）").fill("6")
    form.get_by_label("借款用途").fill("采购钢材，履行长江制造集团的订单")
    form.get_by_label("资金方", exact=True).select_option(label="华东商业银行")
    form.get_by_label("核心企业", exact=True).select_option(label="长江制造集团")
    form.get_by_label("订单号").fill("PO-2026-9001")
    form.get_by_label("订单金额").fill(ORDER_AMOUNT)
    form.get_by_label("订单到期日").fill((date.today() + timedelta(days=200)).isoformat())
    form.get_by_label("收款账号").fill("6222 0210 0100 7777 001")
    form.get_by_label("收款账户开户行（含支行）").fill("招商银行上海分行")
    journey.seen("new-application")
    with page.expect_navigation():
        form.get_by_role("button", name="保存草稿").click()
    expect(page).to_have_url(re.compile(r"/applications/\d+$"))
    number = page.locator("#application [data-field=number]").inner_text()
    assert re.fullmatch(r"APP-\d{4}-\d{4}", number), number
    expect(page.locator(".flash")).to_have_text(f"草稿 {number} 已保存。请上传材料后提交。")
    expect(status).to_have_attribute("data-status", "draft")
    expect(status).to_have_text("草稿")
    expect(page.locator("#application [data-field=amount]")).to_contain_text(APPLIED)

    # ... attaches the purchase order and an invoice, and submits
    journey.attach("采购订单", journey.pdf("采购订单-PO-2026-9001.pdf", "Purchase order PO-2026-9001"))
    journey.attach("发票", journey.pdf("增值税发票-2026-06.pdf", "VAT invoice 2026-06"))
    expect(page.locator("#deal-documents li")).to_have_count(2)
    journey.seen("draft-with-documents")
    with page.expect_navigation():
        page.locator("#submit-form").get_by_role("button", name="提交").click()
    expect(page.locator(".flash")).to_have_text(f"申请 {number} 已提交。")
    expect(status).to_have_attribute("data-status", "in_review")
    expect(page.locator("#application [data-field=stage]")).to_have_text("核心企业确认订单中")
    expect(page.locator("#upload-form")).to_have_count(0)  # nothing is attached to a submitted application
    journey.seen("submitted")

    # signer1 (the core enterprise) confirms the receivable
    journey.as_user("signer1")
    journey.open_group_task(number, "确认应收账款")
    expect(page.locator("#deal-panel [data-field='details.order_amount']")).to_contain_text(ORDER_AMOUNT)
    task = page.locator("#task-form")
    task.get_by_label("确认意见").select_option(label="确认")
    task.get_by_label("确认金额（元）").fill(ORDER_AMOUNT)
    task.get_by_label("到期日").fill((date.today() + timedelta(days=200)).isoformat())
    task.get_by_label("指定回款账户").fill("6222 0210 0100 9001 002")
    journey.seen("confirm-receivable")
    journey.complete()

    # reviewer1 returns it asking for more
    journey.as_user("reviewer1")
    journey.open_group_task(number, "初审")
    expect(page.locator("#deal-panel #risk-report")).to_be_visible()  # the funder reads the risk report
    expect(page.locator("#deal-panel #deal-documents li")).to_have_count(2)
    task.get_by_label("审批意见").select_option(label="退回补充材料")
    task.get_by_label("理由（申请人可见）").fill(RETURN_REASON)
    task.get_by_label("内部审批说明").fill("订单已确认，发票只有一张，需补充。")
    journey.seen("first-review-return")
    journey.complete()

    # applicant1 reads what the funder asks for, changes the application, attaches an invoice, submits again
    journey.as_user("applicant1")
    journey.open_group_task(number, "补充材料")
    expect(page.locator("#deal-panel #deal-reason")).to_contain_text(RETURN_REASON)  # the task says what is asked
    journey.seen("supplement-task")
    with page.expect_navigation():
        page.locator("#deal-panel").get_by_role("link", name="打开申请").click()
    expect(status).to_have_attribute("data-status", "returned")
    expect(status).to_have_text("退回补充材料")
    expect(page.locator("#reason")).to_contain_text("资金方要求补充的内容")
    expect(page.locator("#reason")).to_contain_text(RETURN_REASON)
    expect(page.locator("#timeline")).to_contain_text(RETURN_REASON)
    journey.seen("returned")
    with page.expect_navigation():
        page.locator("#actions").get_by_role("link", name="修改").click()
    form.get_by_label("借款用途").fill("采购钢材，履行长江制造集团的订单；已补充近三个月销售发票")
    journey.seen("edit")
    with page.expect_navigation():
        form.get_by_role("button", name="保存修改").click()
    expect(page.locator(".flash")).to_have_text("申请已保存。")
    expect(page.locator("#application [data-field=purpose]")).to_contain_text("已补充近三个月销售发票")
    journey.attach("发票", journey.pdf("近三个月销售发票.pdf", "Sales invoices, last three months"))
    expect(page.locator("#deal-documents li")).to_have_count(3)
    with page.expect_navigation():
        page.locator("#submit-form").get_by_role("button", name="再次提交").click()
    expect(page.locator(".flash")).to_have_text(f"申请 {number} 已提交。")
    expect(status).to_have_attribute("data-status", "in_review")
    expect(page.locator("#reason")).to_have_count(0)
    journey.seen("resubmitted")

    # reviewer1 approves (first review)
    journey.as_user("reviewer1")
    journey.open_group_task(number, "初审")
    expect(page.locator("#deal-panel #deal-documents")).to_contain_text("近三个月销售发票.pdf")
    expect(page.locator("#deal-panel [data-field=purpose]")).to_contain_text("已补充近三个月销售发票")
    expect(page.locator("#earlier-tasks")).to_contain_text(RETURN_REASON)  # what was asked, by whom
    expect(page.locator("#earlier-tasks")).to_contain_text("补充材料")  # and that the borrower answered
    task.get_by_label("审批意见").select_option(label="同意")
    task.get_by_label("批准金额（元）").fill(FIRST_APPROVED)
    task.get_by_label("内部审批说明").fill("补充发票与订单一致，同意。")
    journey.seen("first-review-approve")
    journey.complete()

    # reviewer2 reads the first decision and approves (second review)
    journey.as_user("reviewer2")
    journey.open_group_task(number, "复审")
    earlier = page.locator("#earlier-tasks")
    expect(earlier).to_contain_text("王审")  # reviewer1, by name
    expect(earlier).to_contain_text("补充发票与订单一致，同意。")
    task.get_by_label("审批意见").select_option(label="同意")
    task.get_by_label("批准金额（元）").fill(APPROVED)
    task.get_by_label("内部审批说明").fill("按订单回款周期，核定三十八万元。")
    journey.seen("second-review")
    journey.complete()

    # applicant1 sees the application approved, with the approved amount, and on to signing: the
    # borrower's signer verifies their identity first (docs/signing.md)
    journey.as_user("applicant1")
    with page.expect_navigation():
        page.get_by_role("link", name="组内待领任务").first.click()
    waiting = page.locator("table.tasks tbody tr", has_text=number)
    expect(waiting).to_have_count(1)  # the one thing left to do on it
    expect(waiting).to_contain_text("借款人身份验证")
    journey.open_application(number)
    expect(status).to_have_attribute("data-status", "approved")
    expect(status).to_have_text("已批准")
    expect(page.locator("#application [data-field=approved_amount]")).to_contain_text(APPROVED)
    expect(page.locator("#application [data-field=amount]")).to_contain_text(APPLIED)
    expect(page.locator("#actions a, #actions button")).to_have_count(0)  # an approved deal is not changed here
    expect(page.locator("#timeline li[data-kind=approved]")).to_contain_text(APPROVED)
    expect(page.locator("#timeline li[data-kind=stage]").last).to_contain_text("已请各签署方进行身份验证")
    expect(page.locator("#timeline li").last).to_have_attribute("data-kind", "waiting")
    expect(page.locator("#timeline li").last).to_contain_text("等待借款人签署人完成身份验证")
    listed = page.locator("table.applications tr", has_text=number)
    journey.seen("approved")
    with page.expect_navigation():
        page.get_by_role("link", name="我的申请").click()
    expect(listed.locator(".status")).to_have_text("已批准")
    journey.seen("applications-approved")

    assert not journey.problems, "\n".join(journey.problems)
