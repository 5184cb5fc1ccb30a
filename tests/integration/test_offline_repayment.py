"""Offline repayment with its voucher, finance's decision, and finance's monitoring page (issue 15,
docs/post-loan.md) on both databases.

The borrower reports a bank transfer (amount, date, reference, the voucher file) over the API or on
the loan page; the funder's finance confirms it (booked once, the books balance) or rejects it with a
reason the borrower sees on their page and in a notice. `/loans/monitor` lists, per reader, the bills
due this week, the overdue loans by bucket and the transfers awaiting confirmation.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import JournalEntry, Loan, Notification, Organisation, Payment
from app.services.ledger.eod import run_eod
from app.services.ledger.loans import amounts_overdue
from tests.integration.ledger_support import assert_books_balance, business_day, two_loans
from tests.integration.test_identity import set_password, sign_in

START = date(2026, 1, 10)  # 12,000 at 12 % over 12 months, 1 % fee: bills of 1,066.19 on the 10th
USERS = {"applicant1": ("BORR1", "applicant"), "applicant2": ("BORR2", "applicant"),
         "finance1": ("BANK1", "finance"), "finance2": ("BANK2", "finance"), "operator": ("PLATFORM", "operator")}
ORGS = {"BORR1": "borrower", "BORR2": "borrower", "BANK1": "funder", "BANK2": "funder"}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
ZH, EN = {"Accept-Language": "zh-CN"}, {"Accept-Language": "en"}


class World:
    def __init__(self, app, client, headers: dict[str, dict[str, str]], loan1: int, loan2: int) -> None:
        self.app, self.client, self.headers, self.loan1, self.loan2 = app, client, headers, loan1, loan2

    def get(self, who: str, path: str, **kwargs: Any):
        return self.client.get(f"/api/v1{path}", headers=self.headers[who], **kwargs)

    def post(self, who: str, path: str, body: Any = None):
        return self.client.post(f"/api/v1{path}", headers=self.headers[who], json=body)

    def record(self, amount: str = "1066.19", key: str = "transfer-1", **more: Any) -> dict[str, Any]:
        made = self.post("applicant1", f"/loans/{self.loan1}/payments", {"amount": amount, "idempotency_key": key,
                                                                         **more})
        assert made.status_code == 201, made.json
        return dict(made.json)

    def upload(self, who: str, payment_id: int, content: bytes, name: str = "voucher.pdf", loan_id: int = 0):
        return self.client.post(f"/api/v1/loans/{loan_id or self.loan1}/payments/{payment_id}/voucher",
                                headers=self.headers[who], data={"file": (_stream(content), name)},
                                content_type="multipart/form-data")

    def scalar(self, query: Any) -> Any:
        with self.app.app_context():
            value = db.session.scalar(query)
            db.session.remove()
        return value

    def notices(self) -> list[tuple[str, str]]:
        with self.app.app_context():
            rows = db.session.execute(select(Notification.recipient, Notification.template)
                                      .where(Notification.channel == "in_app").order_by(Notification.id)).all()
            db.session.remove()
        return [tuple(row) for row in rows]


def _stream(content: bytes):
    from io import BytesIO
    return BytesIO(content)


@pytest.fixture
def world(app, client, clock, admin_token) -> World:
    business_day(clock, date(2026, 2, 5))
    with app.app_context():
        headers, ids = two_loans(ORGS, USERS, START)
        db.session.remove()
    return World(app, client, headers, *ids)


def payment_entries(world: World) -> int:
    return int(world.scalar(select(func.count()).where(JournalEntry.kind == "payment")) or 0)


# -- over the API --------------------------------------------------------------------------------------

def test_a_voucher_is_kept_with_the_payment_and_finance_confirms_it_once(world, app):
    payment = world.record(received_on="2026-02-04", reference="BANK-REF-77")
    assert (payment["status"], payment["received_on"], payment["reference"]) == ("pending", "2026-02-04", "BANK-REF-77")
    assert payment["voucher_filename"] is None and payment["reject_reason"] is None
    attached = world.upload("applicant1", payment["id"], PDF, "转账凭证.pdf")
    assert attached.status_code == 200, attached.json
    assert (attached.json["voucher_filename"], attached.json["voucher_content_type"]) == ("转账凭证.pdf", "application/pdf")
    seen = world.get("finance1", f"/loans/{world.loan1}/payments/{payment['id']}/voucher")
    assert seen.status_code == 200 and seen.data == PDF and seen.mimetype == "application/pdf"
    for other in ("applicant2", "finance2"):  # another organisation's users: 404, nothing changes
        assert world.get(other, f"/loans/{world.loan1}/payments/{payment['id']}/voucher").status_code == 404
        assert world.upload(other, payment["id"], PNG).status_code == 404
        assert world.post(other, f"/loans/{world.loan1}/payments/{payment['id']}/confirm").status_code == 404
    assert world.post("applicant1", f"/loans/{world.loan1}/payments/{payment['id']}/confirm").status_code == 403
    assert payment_entries(world) == 0

    confirm = f"/loans/{world.loan1}/payments/{payment['id']}/confirm"
    booked = world.post("finance1", confirm)
    assert booked.status_code == 200 and booked.json["status"] == "booked"
    assert world.post("finance1", confirm).status_code == 409  # a second click books nothing
    assert world.upload("applicant1", payment["id"], PNG).status_code == 409  # decided: the voucher stays
    assert payment_entries(world) == 1
    with app.app_context():
        assert_books_balance(world.loan1, world.loan2)
        db.session.remove()


def test_a_voucher_of_another_type_or_a_bad_date_is_refused_with_422(world):
    payment = world.record()
    text = world.upload("applicant1", payment["id"], b"just some text pretending\n", "voucher.pdf")
    assert text.status_code == 422 and "voucher" in text.json["error"]["fields"]
    zipped = world.upload("applicant1", payment["id"], b"PK\x03\x04" + b"\x00" * 40, "voucher.zip")
    assert zipped.status_code == 422  # a document type allowed elsewhere is still no voucher
    missing = world.client.post(f"/api/v1/loans/{world.loan1}/payments/{payment['id']}/voucher",
                                headers=world.headers["applicant1"], data={}, content_type="multipart/form-data")
    assert missing.status_code == 422
    assert world.get("finance1", f"/loans/{world.loan1}/payments/{payment['id']}/voucher").status_code == 404
    future = world.post("applicant1", f"/loans/{world.loan1}/payments",
                        {"amount": "10.00", "idempotency_key": "future", "received_on": "2026-03-01"})
    assert future.status_code == 422 and "received_on" in future.json["error"]["fields"]
    assert world.scalar(select(func.count()).select_from(Payment)) == 1


def test_a_voucher_over_the_document_limit_is_413_and_not_kept(world, app):
    payment = world.record()
    limit = app.config["MAX_DOCUMENT_BYTES"]
    app.config["MAX_DOCUMENT_BYTES"] = len(PDF) - 1
    try:
        too_big = world.upload("applicant1", payment["id"], PDF)
    finally:
        app.config["MAX_DOCUMENT_BYTES"] = limit
    assert too_big.status_code == 413
    assert world.get("applicant1", f"/loans/{world.loan1}/payments").json[0]["voucher_filename"] is None
    assert world.upload("applicant1", payment["id"], PDF).status_code == 200


def test_a_rejection_needs_a_reason_which_the_borrower_is_told_and_books_nothing(world):
    payment = world.record(key="bounced")
    reject = f"/loans/{world.loan1}/payments/{payment['id']}/reject"
    for body in (None, {}, {"reason": ""}, {"reason": "   "}):
        refused = world.post("finance1", reject, body)
        assert refused.status_code == 422, (body, refused.json)
    assert world.get("finance1", f"/loans/{world.loan1}/payments").json[0]["status"] == "pending"
    assert world.post("applicant1", reject, {"reason": "mine"}).status_code == 403
    rejected = world.post("finance1", reject, {"reason": "no transfer of this amount arrived"})
    assert rejected.status_code == 200
    assert (rejected.json["status"], rejected.json["reject_reason"]) == ("rejected", "no transfer of this amount arrived")
    assert world.get("applicant1", f"/loans/{world.loan1}/payments").json[0]["reject_reason"] == \
        "no transfer of this amount arrived"
    assert ("applicant1", "repayment_rejected") in world.notices()
    assert payment_entries(world) == 0


# -- the pages -----------------------------------------------------------------------------------------

def signed_in(app, username: str):
    set_password(app, username)
    browser = app.test_client()
    assert sign_in(browser, username).status_code in (302, 303)
    return browser


def csrf_of(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def offline_form(page, content: bytes, name: str, **more: str) -> dict[str, Any]:
    key = re.search(r'id="pay-offline-form".*?name="key" value="([^"]+)"', page.text, re.S).group(1)
    return {"csrf_token": csrf_of(page), "key": key, "amount": "1,066.19", "date": "2026-02-04",
            "reference": "REF-1", "voucher": (_stream(content), name), **more}


def test_the_borrower_reports_a_transfer_on_the_page_and_sees_the_rejection_reason(world, app):
    web = signed_in(app, "applicant1")
    page = web.get(f"/loans/{world.loan1}", headers=ZH)
    assert page.status_code == 200 and 'id="pay-offline-form"' in page.text and "报告银行转账" in page.text
    wrong = web.post(f"/loans/{world.loan1}/pay-offline", data=offline_form(page, b"plain text\n", "v.png"),
                     headers=ZH, content_type="multipart/form-data")
    assert wrong.status_code == 422 and "凭证须为 PDF、PNG 或 JPEG 文件" in wrong.text
    undated = web.post(f"/loans/{world.loan1}/pay-offline", data={**offline_form(page, PNG, "v.png"), "date": ""},
                       headers=ZH, content_type="multipart/form-data")  # the date picker left empty: asked for
    assert undated.status_code == 422 and "请选择转账日期。" in undated.text and "YYYY-MM-DD" not in undated.text
    assert world.scalar(select(func.count()).select_from(Payment)) == 0
    sent = web.post(f"/loans/{world.loan1}/pay-offline", data=offline_form(page, PNG, "voucher.png"),
                    headers=ZH, content_type="multipart/form-data")
    assert sent.status_code == 303
    mine = web.get(f"/loans/{world.loan1}", headers=ZH)
    assert "等待资金方确认" in mine.text and "REF-1" in mine.text and 'class="confirm-payment"' not in mine.text
    payment_id = int(world.scalar(select(Payment.id)))
    assert web.get(f"/loans/{world.loan1}/payments/{payment_id}/voucher").data == PNG

    finance = signed_in(app, "finance1")
    theirs = finance.get(f"/loans/{world.loan1}", headers=EN)
    assert 'class="reject-payment"' in theirs.text and "View voucher" in theirs.text
    no_reason = finance.post(f"/loans/{world.loan1}/payments/{payment_id}/reject", headers=ZH,
                             data={"csrf_token": csrf_of(theirs), "reason": " "})
    assert no_reason.status_code == 422 and "请填写拒绝原因" in no_reason.text
    done = finance.post(f"/loans/{world.loan1}/payments/{payment_id}/reject", headers=EN,
                        data={"csrf_token": csrf_of(theirs), "reason": "金额不符 amount differs"})
    assert done.status_code == 303
    assert "原因：金额不符 amount differs" in web.get(f"/loans/{world.loan1}", headers=ZH).text
    english = web.get(f"/loans/{world.loan1}", headers=EN).text
    assert "Reason: 金额不符 amount differs" in english and "Rejected" in english
    assert signed_in(app, "applicant2").get(f"/loans/{world.loan1}/payments/{payment_id}/voucher").status_code == 404
    assert payment_entries(world) == 0


def test_the_monitor_lists_each_readers_loans(world, app, clock):
    business_day(clock, date(2026, 3, 6))
    with app.app_context():
        run_eod(date(2026, 3, 6))  # bill 1 (10 Feb) unpaid on both loans: overdue; bill 2 falls due on 10 Mar
        db.session.commit()
        db.session.remove()
    payment = world.record(amount="500.00", key="partial")
    pages = {who: signed_in(app, who).get("/loans/monitor", headers=ZH) for who in ("finance1", "finance2", "operator")}
    for who, listed in {"finance1": {world.loan1}, "finance2": {world.loan2},
                        "operator": {world.loan1, world.loan2}}.items():
        text = pages[who].text
        assert pages[who].status_code == 200 and "还款监控" in text
        due = text.split('id="due-this-week"')[1].split('id="overdue"')[0]
        overdue = text.split('id="overdue"')[1].split('id="awaiting"')[0]
        for loan_id in (world.loan1, world.loan2):
            assert (f'data-loan-id="{loan_id}"' in due) == (loan_id in listed), who
            assert (f'data-loan-id="{loan_id}"' in overdue) == (loan_id in listed), who
        assert "逾期1至30天" in overdue and "1-30" not in overdue.replace('data-bucket="1-30"', "")
        awaiting = text.split('id="awaiting"')[1]
        assert (f'data-payment-id="{payment["id"]}"' in awaiting) == (world.loan1 in listed), who
    assert 'class="confirm-payment"' in pages["finance1"].text.split('id="awaiting"')[1]
    assert 'class="confirm-payment"' not in pages["operator"].text  # the operator sees, does not decide
    finance = signed_in(app, "finance1")  # a blank reason from the monitor: back on the monitor, said there
    blank = finance.post(f"/loans/{world.loan1}/payments/{payment['id']}/reject", headers=ZH,
                         data={"csrf_token": csrf_of(finance.get("/loans/monitor")), "reason": "  ", "back": "monitor"})
    assert blank.status_code == 303 and blank.headers["Location"].startswith("/loans/monitor?")
    again = finance.get(blank.headers["Location"], headers=ZH).text
    said = again.split(f'id="payment-{payment["id"]}"')[1].split("</tr>")[0]
    assert "请填写拒绝原因" in said
    with app.app_context():  # each row says whose loan it is and, overdue, how much (finance could not tell)
        borrower = db.session.scalar(select(Organisation.name).join(Loan, Loan.borrower_org_id == Organisation.id)
                                     .where(Loan.id == world.loan1))
        owed = amounts_overdue([world.loan1])[world.loan1]
        db.session.remove()
    row = re.search(rf'<tr data-loan-id="{world.loan1}">(.*?)</tr>',
                    pages["finance1"].text.split('id="overdue"')[1], re.S).group(1)
    assert borrower in row and f"{owed:,.2f}" in row and owed > 0
    assert "Overdue loans" in signed_in(app, "finance1").get("/loans/monitor", headers=EN).text
    assert signed_in(app, "applicant1").get("/loans/monitor").status_code == 403


def test_a_loan_whose_overdue_bills_are_paid_since_the_batch_leaves_the_monitors_overdue_list(world, app, clock):
    """The batch's days past due stay until it runs again; the overdue list showed such a loan with ¥0.00."""
    business_day(clock, date(2026, 3, 6))
    with app.app_context():
        run_eod(date(2026, 3, 6))  # bill 1 (10 Feb) unpaid on both loans: overdue
        db.session.commit()
        owed = amounts_overdue([world.loan1])[world.loan1]
        db.session.remove()
    payment = world.record(amount=f"{owed:.2f}", key="the-overdue-bill")
    assert world.post("finance1", f"/loans/{world.loan1}/payments/{payment['id']}/confirm").status_code == 200
    text = signed_in(app, "operator").get("/loans/monitor", headers=ZH).text
    overdue = text.split('id="overdue"')[1].split('id="awaiting"')[0]
    assert f'data-loan-id="{world.loan1}"' not in overdue and "¥0.00" not in overdue
    assert f'data-loan-id="{world.loan2}"' in overdue  # still owing: still listed
    assert "逾期1至30天 (1)" in overdue
    # on a phone the list is cards without the headings: each figure says what it is (a bare "8" said nothing)
    assert re.search(r'<td data-label="逾期天数">\d+</td>', overdue), overdue
    assert '<td class="amount overdue" data-label="逾期金额">' in overdue


def test_a_transfer_confirmed_days_after_it_was_sent_shows_both_dates_and_finance_is_told_before(world, app, clock):
    """The ledger books a confirmed transfer on the day finance confirms it (it cannot value-date a payment
    before days the batch has closed): the loan page said only the transfer date, the schedule the booking
    date, and finance confirmed without being told that the penalty interest since the transfer stays."""
    business_day(clock, date(2026, 3, 6))
    with app.app_context():
        run_eod(date(2026, 3, 6))  # bill 1 (10 Feb) unpaid: overdue, penalty interest to 6 Mar; today is 7 Mar
        db.session.commit()
        owed = amounts_overdue([world.loan1])[world.loan1]
        db.session.remove()
    payment = world.record(amount=f"{owed:.2f}", key="sent-two-days-ago", received_on="2026-03-04")
    finance = signed_in(app, "finance1")
    for path in ("/loans/monitor", f"/loans/{world.loan1}"):
        text = finance.get(path, headers=ZH).text
        row = text.split(f'data-payment-id="{payment["id"]}"')[1].split("</tr>")[0]
        assert "2026-03-04" in row and "确认后以今天（2026-03-07）记账，不是转账日期（2026-03-04）" in row, path
        assert "转账日期之后已计的罚息不会冲回" in row, path
    english = signed_in(app, "finance1").get("/loans/monitor", headers=EN).text
    assert "Booked today (2026-03-07) once confirmed, not on the transfer date (2026-03-04)" in english
    assert world.post("finance1", f"/loans/{world.loan1}/payments/{payment['id']}/confirm").status_code == 200
    for headers, received, booked in ((ZH, "收款日期", "记账日期"), (EN, "Received on", "Booked on")):
        text = signed_in(app, "applicant1").get(f"/loans/{world.loan1}", headers=headers).text
        table = text.split('id="payments"')[1].split("</table>")[0]
        assert received in table and booked in table
        row = table.split(f'data-payment-id="{payment["id"]}"')[1].split("</tr>")[0]
        assert re.search(r"2026-03-04.*2026-03-07", row, re.S), row
    today = world.record(amount="10.00", key="sent-today", received_on="2026-03-07")
    text = signed_in(app, "finance1").get("/loans/monitor", headers=ZH).text
    row = text.split(f'data-payment-id="{today["id"]}"')[1].split("</tr>")[0]
    assert "记账" not in row  # sent today: booked on its own date, nothing to warn of


def test_a_reported_transfer_is_at_most_what_settles_the_loan_today(world, app):
    """A typo (¥9,999,999 for a ¥12,000 loan) was taken as a report; finance confirming it settled the loan and
    kept ¥9.98 million as a credit. The online payment refuses the same amount; the report does too, on the page and
    over the API, in the reader's language, and records nothing."""
    payoff = world.get("applicant1", f"/loans/{world.loan1}/payoff-quote").json["to_pay"]
    over = f"{float(payoff) + 0.01:.2f}"
    bound = f"¥{float(payoff):,.2f}"  # as money reads on the page: ¥12,220.65
    refused = world.post("applicant1", f"/loans/{world.loan1}/payments", {"amount": "9999999.00",
                                                                           "idempotency_key": "typo"})
    assert refused.status_code == 422, refused.json
    assert refused.json["error"]["fields"] == {"amount": [f"at most {bound}, what settles the loan today"]}
    web = signed_in(app, "applicant1")
    page = web.get(f"/loans/{world.loan1}", headers=ZH)
    said = web.post(f"/loans/{world.loan1}/pay-offline", data=offline_form(page, PNG, "v.png", amount=over),
                    headers=ZH, content_type="multipart/form-data")
    assert said.status_code == 422 and f"最多 {bound}，即今天结清贷款所需的金额" in said.text
    assert world.scalar(select(func.count()).select_from(Payment)) == 0
    assert world.record(amount=payoff, key="all")["status"] == "pending"  # the whole payoff is a report


def test_a_transfer_reported_again_with_its_bank_reference_or_its_voucher_is_refused(world, app):
    """Walk J item 7: the borrower sent the same transfer's form twice (same 银行流水号, same voucher); both were
    accepted, finance confirmed both and the loan booked twice what arrived. A reference or a voucher file the loan
    already has on a transfer awaiting finance or booked is refused (409, naming the field, in the reader's
    language) and records nothing; a rejected transfer's may be sent again."""
    first = world.record(key="first", reference="CMB 2026 0204 001")
    again = world.post("applicant1", f"/loans/{world.loan1}/payments",
                       {"amount": "1066.19", "idempotency_key": "second", "reference": "cmb20260204001"})
    assert again.status_code == 409, again.json
    assert list(again.json["error"]["fields"]) == ["reference"]
    assert "2026-02-05" in again.json["error"]["fields"]["reference"][0] and "¥1,066.19" in \
        again.json["error"]["fields"]["reference"][0]
    assert world.upload("applicant1", first["id"], PDF).status_code == 200
    other = world.record(key="other", reference="OTHER-REF")
    same_file = world.upload("applicant1", other["id"], PDF)  # the voucher of the first transfer again
    assert same_file.status_code == 409 and list(same_file.json["error"]["fields"]) == ["voucher"]

    web = signed_in(app, "applicant1")
    page = web.get(f"/loans/{world.loan1}", headers=ZH)
    twice = web.post(f"/loans/{world.loan1}/pay-offline", headers=ZH, content_type="multipart/form-data",
                     data=offline_form(page, PNG, "v.png", reference="CMB20260204001"))
    assert twice.status_code == 409 and "此银行流水号已于 2026-02-05 报告过（¥1,066.19）" in twice.text
    same_voucher = web.post(f"/loans/{world.loan1}/pay-offline", headers=ZH, content_type="multipart/form-data",
                            data=offline_form(page, PDF, "again.pdf", reference="NEW-REF"))
    assert same_voucher.status_code == 409 and "此凭证文件已随 2026-02-05 报告的转账（¥1,066.19）提交过" in \
        same_voucher.text
    assert world.scalar(select(func.count()).select_from(Payment)) == 2

    rejected = world.post("finance1", f"/loans/{world.loan1}/payments/{first['id']}/reject",
                          {"reason": "no such transfer arrived"})
    assert rejected.status_code == 200
    assert world.record(key="resent", reference="CMB20260204001")["status"] == "pending"


def test_a_transfer_confirmed_from_a_second_tab_of_the_monitor_says_it_was_decided_already(world, app):
    """Walk J item 8: finance confirmed a transfer in one tab, then again in another; the monitor came back with the
    refusal printed in the transfer's row, which it no longer lists: the second click seemed to do nothing."""
    payment = world.record(key="two-tabs")
    finance = signed_in(app, "finance1")
    token = csrf_of(finance.get("/loans/monitor", headers=ZH))
    confirm = f"/loans/{world.loan1}/payments/{payment['id']}/confirm"
    assert finance.post(confirm, data={"csrf_token": token, "back": "monitor"}).status_code == 303
    again = finance.post(confirm, data={"csrf_token": token, "back": "monitor"})
    assert again.status_code == 303 and "refused=" in again.headers["Location"]
    page = finance.get(again.headers["Location"], headers=ZH).text
    awaiting = page.split('id="awaiting"')[1]
    assert f'id="payment-{payment["id"]}"' not in awaiting and "此笔还款已处理，或贷款已不在还款中。" in awaiting
    assert payment_entries(world) == 1
