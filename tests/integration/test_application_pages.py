"""The borrower's application pages and the parties' deal pages, in Chinese and English.

An applicant drafts an order-financing application on the pages (amounts typed as 1,000,000.00,
organisations chosen by name, errors next to their fields in the reader's language), attaches
typed documents, is told which are missing, and submits (the shipped diagrams deployed); another
borrower gets 404, the core enterprise does not see a draft, the funder's reviewer sees the risk
report the borrower never sees, on the application page and in the task page's deal panel; the
platform administers products. Chinese pages show no Latin word but codes and names.
"""
from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Application, ApplicationDocument, HumanTask, Lead, RiskReport
from app.services.errors import Invalid
from app.services.identity import directory as identity
from app.services.origination import applications, products
from tests.conftest import ROOT
from tests.integration.test_disbursement_stage import reader
from tests.integration.test_identity import set_password, sign_in

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}
PRODUCT = {"code": "ORDER-A", "name": "订单融资", "name_en": "Order financing", "kind": "order_financing", "annual_rate": "10",
           "min_amount": "10000", "max_amount": "5000000", "min_term": 3, "max_term": 12,
           "advance_ratio": "0.80", "documents": ["order", "invoice"]}
DETAILS = {"core_enterprise": "CORE1", "order_number": "PO-2026-118", "order_amount": "1500000.00",
           "order_due_date": "2027-05-30", "payee_account": "6222 0210 0100 7777", "payee_bank": "招商银行上海分行"}


@pytest.fixture
def world(app, admin_token):
    with app.app_context():
        for code, kinds, name in (("BANK1", ["funder"], "华东商业银行"), ("BANK2", ["funder"], "滨江小额贷款"),
                                  ("BORR1", ["borrower"], "申城贸易有限公司"), ("BORR2", ["borrower"], "浦江商贸"),
                                  ("CORE1", ["core_enterprise"], "长江制造集团"), ("WH1", ["warehouse"], "港湾仓储")):
            identity.create_org(code, kinds, name)
        for user, org, roles in (("app1", "BORR1", ["applicant"]), ("app2", "BORR2", ["applicant"]),
                                 ("rev1", "BANK1", ["first_reviewer"]), ("signer1", "CORE1", ["core_signer"])):
            identity.create_user(user, org, roles, display_name=f"用户{user[-1]}")
        products.create_product(None, PRODUCT)
        db.session.commit()
        db.session.remove()
    for user in ("app1", "app2", "rev1", "signer1", "admin"):
        set_password(app, user)


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _field(page: str, name: str) -> str:
    """The block of one form field (its input and its errors)."""
    found = re.search(rf'<div class="field[^"]*" data-field="{re.escape(name)}">(.*?)</div>', page, re.S)
    return found.group(1) if found else ""


def _draft(app, user: str = "app1", **changes) -> int:
    with app.app_context():
        principal = identity.principal_for(user)
        row = applications.create_application(principal, {
            "product": "ORDER-A", "amount": "800000.00", "term_months": 6, "purpose": "备货",
            "funder": "BANK1", "details": dict(DETAILS), **changes})
        db.session.remove()
        return row.id


def _in_review_with_report(app, application_id: int) -> str:
    """The deal as the funder reviews it: submitted, its latest risk report kept (arranged directly)."""
    with app.app_context():
        row = db.session.get(Application, application_id)
        row.status, row.stage = "in_review", "first_review"
        db.session.add(RiskReport(business_key=row.number, report_id="RPT-77001", provider="simulator",
                                  subject="91310000MA1FL8XQ30", score=712, grade="B", blacklisted=False,
                                  report={"hits": []}, created_at=datetime(2026, 11, 28, 9, tzinfo=UTC)))
        db.session.commit()
        number = row.number
        db.session.remove()
        return number


def _visible(html: str) -> str:
    """The text a person reads: no scripts or styles, nothing marked as another language or not to
    translate, no user-name badge; tags (and the codes in their attributes) removed."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r'<(\w+)[^>]*(?:lang="en"|translate="no"|class="who")[^>]*>.*?</\1>', " ", html, flags=re.S)
    return re.sub(r"<[^>]*>", " ", html)


def _latin_words(html: str) -> set[str]:
    """Latin words a Chinese page shows that are neither typed codes (capitals, digits) nor allowed."""
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]{2,}", _visible(html)))
    return {w for w in words if not re.fullmatch(r"[A-Z0-9_]+", w)} - {"Loanflow", "English", "CNY", "PDF"}


@pytest.mark.parametrize(("headers", "words"), [
    (ZH, {"new": "新建申请", "draft": "草稿", "amount": "¥1,000,000.00", "missing": "发票", "submitted": "已提交",
          "product": "订单融资"}),
    (EN, {"new": "New application", "draft": "Draft", "amount": "¥1,000,000.00", "missing": "Invoice",
          "submitted": "Submitted", "product": "Order financing"}),
])
def test_an_applicant_drafts_attaches_and_submits_on_the_pages(client, app, world, runner, headers, words):
    sign_in(client, "app1")
    listing = client.get("/applications/", headers=headers)
    assert listing.status_code == 200 and words["new"] in listing.text
    choose = client.get("/applications/new", headers=headers).text
    assert words["product"] in choose and "/applications/new?product=ORDER-A" in choose
    form = client.get("/applications/new?product=ORDER-A", headers=headers).text
    assert "长江制造集团" in form and 'value="CORE1"' in form and "华东商业银行" in form  # chosen by name
    assert ("贷款最迟于订单到期后 30 天到期" if headers is ZH else "Ends at most 30 days after its order is due") in form
    refused = client.post("/applications/new", headers=headers, data={
        "csrf_token": _csrf(form), "product": "ORDER-A", "amount": "1,00", "term_months": "6", "funder": "BANK1",
        "details.core_enterprise": "CORE1", "details.order_number": "PO-1", "details.order_amount": "1,500,000.00",
        "details.order_due_date": ""})
    assert refused.status_code == 422
    assert "1,000,000.00" in _field(refused.text, "amount") and 'role="alert"' in _field(refused.text, "amount")
    typed = client.post("/applications/new", headers=headers, data={
        "csrf_token": _csrf(form), "product": "ORDER-A", "amount": "1,000,000.00", "term_months": "6",
        "funder": "BANK1", "details.core_enterprise": "CORE1", "details.order_number": "PO-1",
        "details.order_amount": "1,500,000.00", "details.order_due_date": "2026-01-01"})  # a date past
    assert typed.status_code == 422
    due = _field(typed.text, "details.order_due_date")
    assert ("今天或以后" if headers is ZH else "today or later") in due  # the service's key, in the reader's words
    assert 'value="1,000,000.00"' in typed.text  # what was typed stays
    late = client.post("/applications/new", headers=headers, data={  # 12 months end 2027-11-28: the order 2027-05-30
        "csrf_token": _csrf(form), "product": "ORDER-A", "amount": "1,000,000.00", "term_months": "12",
        "funder": "BANK1", "details.core_enterprise": "CORE1", "details.order_number": "PO-1",
        "details.order_amount": "1,500,000.00", "details.order_due_date": "2027-05-30"})
    assert late.status_code == 422
    term = _field(late.text, "term_months")  # the service's reason, not the page's "months from 3 to 12"
    assert ("期限最多 7 个月" if headers is ZH else "choose a term of 7 or fewer months") in term, term
    saved = client.post("/applications/new", headers=headers, data={
        "csrf_token": _csrf(form), "product": "ORDER-A", "amount": "1,000,000.00", "term_months": "6",
        "purpose": "备货", "funder": "BANK1", "details.core_enterprise": "CORE1", "details.order_number": "PO-1",
        "details.order_amount": "1,500,000.00", "details.order_due_date": "2027-05-30",
        "details.payee_account": "6222 0210 0100 7777", "details.payee_bank": "招商银行上海分行"})
    assert saved.status_code == 302, saved.text
    for term in ("²", "６"):  # digits str.isdigit() takes: int() refuses "²" (was a 500) and reads "６" as 6
        odd = client.post("/applications/new", headers=headers, data={
            "csrf_token": _csrf(form), "product": "ORDER-A", "amount": "1,000,000.00", "term_months": term,
            "funder": "BANK1", "details.core_enterprise": "CORE1", "details.order_number": "PO-2",
            "details.order_amount": "1,500,000.00", "details.order_due_date": "2027-05-30"})
        assert odd.status_code == 422 and 'role="alert"' in _field(odd.text, "term_months"), odd.text
    page_url = saved.headers["Location"]
    page = client.get(page_url, headers=headers).text
    assert words["amount"] in page and words["draft"] in page and "长江制造集团" in page
    assert 'id="delete-link"' in page and 'id="submit-form"' in page and 'id="withdraw-link"' not in page
    attached = client.post(f"{page_url}/documents", headers=headers, data={
        "csrf_token": _csrf(page), "kind": "order", "file": (io.BytesIO(PDF), "订单.pdf")})
    assert attached.status_code == 302
    page = client.get(page_url, headers=headers).text
    assert "订单.pdf" in page
    missing = client.post(f"{page_url}/submit", headers=headers, data={"csrf_token": _csrf(page)})
    assert missing.status_code == 422 and words["missing"] in missing.text  # the missing kind, in words
    client.post(f"{page_url}/documents", headers=headers, data={
        "csrf_token": _csrf(page), "kind": "invoice", "file": (io.BytesIO(PDF), "发票.pdf")})
    doc_id = re.search(r'data-document-id="(\d+)"', client.get(page_url).text).group(1)
    download = client.get(f"{page_url}/documents/{doc_id}")
    assert download.status_code == 200 and download.data == PDF
    _deploy_shipped(app, runner)
    submitted = client.post(f"{page_url}/submit", headers=headers, data={"csrf_token": _csrf(page)})
    assert submitted.status_code == 302, submitted.text
    page = client.get(page_url, headers=headers).text
    status = re.search(r'data-field="status" data-status="([^"]+)"', page).group(1)
    assert status in ("submitted", "in_review")
    assert 'id="withdraw-link"' in page and 'id="delete-link"' not in page and 'id="submit-form"' not in page
    assert 'id="risk-report"' not in page  # never the borrower's
    _the_core_enterprise_follows_it(app, page_url, headers)
    confirm = client.get(f"{page_url}/withdraw", headers=headers)
    assert confirm.status_code == 200 and 'id="confirm-form"' in confirm.text
    withdrawn = client.post(f"{page_url}/withdraw", headers=headers, data={"csrf_token": _csrf(confirm.text)})
    assert withdrawn.status_code == 302
    page = client.get(page_url, headers=headers).text
    if headers is ZH:  # one word for the action, as the timeline says it (the button said 拉回)
        assert "拉回" not in page + confirm.text and "确认撤回" in confirm.text and "借款人已撤回申请" in page
    assert 'data-status="withdrawn"' in page and 'href="' + page_url + '/edit"' in page
    edit = client.get(f"{page_url}/edit", headers=headers).text
    assert 'value="1,000,000.00"' in edit and 'value="CORE1" selected' in edit  # the form as it was saved
    changed = client.post(f"{page_url}/edit", headers=headers, data={
        "csrf_token": _csrf(edit), "amount": "900,000.00", "term_months": "6", "purpose": "备货",
        "funder": "BANK1", "details.core_enterprise": "CORE1", "details.order_number": "PO-1",
        "details.order_amount": "1,500,000.00", "details.order_due_date": "2027-05-30"})
    assert changed.status_code == 302, changed.text
    assert words["amount"].replace("1,000,000", "900,000") in client.get(page_url, headers=headers).text


@pytest.mark.parametrize(("headers", "over", "purpose"), [
    (ZH, "不能超过订单金额 ¥1,500,000.00", "请填写借款用途（1 至 500 个字符）"),
    (EN, "At most the order&#39;s amount, ¥1,500,000.00", "Say what the loan is for (1 to 500 characters)"),
])
def test_the_pages_say_an_order_financing_asks_at_most_the_orders_amount_and_a_submission_needs_a_purpose(
        client, app, world, headers, over, purpose):
    sign_in(client, "app1")
    form = client.get("/applications/new?product=ORDER-A", headers=headers).text
    typed = {"csrf_token": _csrf(form), "product": "ORDER-A", "amount": "2,000,000.00", "term_months": "6",
             "funder": "BANK1", "details.core_enterprise": "CORE1", "details.order_number": "PO-1",
             "details.order_amount": "1,500,000.00", "details.order_due_date": "2027-05-30"}
    refused = client.post("/applications/new", headers=headers, data=typed)
    assert refused.status_code == 422 and over in _field(refused.text, "amount"), _field(refused.text, "amount")
    saved = client.post("/applications/new", headers=headers, data={**typed, "amount": "1,500,000.00"})
    assert saved.status_code == 302, saved.text  # a draft without a purpose is kept
    page_url = saved.headers["Location"]
    page = client.get(page_url, headers=headers).text
    for kind, name in (("order", "订单.pdf"), ("invoice", "发票.pdf")):
        client.post(f"{page_url}/documents", headers=headers, data={
            "csrf_token": _csrf(page), "kind": kind, "file": (io.BytesIO(PDF), name)})
    submitted = client.post(f"{page_url}/submit", headers=headers, data={"csrf_token": _csrf(page)})
    assert submitted.status_code == 422  # it was submitted with an empty purpose
    said = re.search(r'<dd data-field="purpose">(.*?)</dd>', submitted.text, re.S)
    assert said and purpose in said.group(1) and 'role="alert"' in said.group(1), submitted.text
    assert 'data-status="draft"' in submitted.text


def test_the_application_page_refuses_a_text_file_as_a_document_next_to_the_file_field(client, app, world):
    application_id = _draft(app)
    sign_in(client, "app1")
    page = client.get(f"/applications/{application_id}", headers=ZH).text
    sent = client.post(f"/applications/{application_id}/documents", headers=ZH, data={
        "csrf_token": _csrf(page), "kind": "invoice", "file": (io.BytesIO(b"Invoice 42: 100,000.00\n"), "invoice.txt")})
    assert sent.status_code == 422  # it was accepted as an invoice
    said = re.search(r'<input id="f-file"[^>]*>\s*<p class="field-error" role="alert">([^<]+)</p>', sent.text)
    assert said and said.group(1) == "请选择文件：PDF、PNG、JPEG、XLSX 或 DOCX，且不能为空。", sent.text
    assert "invoice.txt" not in client.get(f"/applications/{application_id}", headers=ZH).text


def _the_core_enterprise_follows_it(app, page_url: str, headers: dict[str, str]) -> None:
    """Once submitted, the core enterprise reads the deal (never its risk report) and its task shows it."""
    signer = app.test_client()
    sign_in(signer, "signer1")
    assert f'href="{page_url}"' in signer.get("/deals/", headers=headers).text
    theirs = signer.get(page_url, headers=headers).text
    assert "PO-1" in theirs and 'id="risk-report"' not in theirs
    assert not re.search(r'id="(withdraw-link|submit-form|upload-form|delete-link)"', theirs)  # the borrower's
    with app.app_context():
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.element_id == "confirm_receivable"))
        db.session.remove()
    task_page = signer.get(f"/tasks/{task_id}", headers=headers).text
    assert 'id="deal-panel"' in task_page and 'id="risk-report"' not in task_page and "PO-1" in task_page


def _deploy_shipped(app, runner) -> None:
    """processes/ and forms/ as shipped (the FORMS_DIR is put back: the app outlives the test)."""
    forms_dir, app.config["FORMS_DIR"] = app.config["FORMS_DIR"], str(ROOT / "forms")
    try:
        result = runner.invoke(args=["processes", "deploy", str(ROOT / "processes")])
    finally:
        app.config["FORMS_DIR"] = forms_dir
    assert result.exit_code == 0, result.output


def test_the_chinese_pages_show_no_raw_code(client, app, world):
    application_id = _draft(app)
    sign_in(client, "app1")
    for url in ("/applications/", "/applications/new", "/applications/new?product=ORDER-A",
                f"/applications/{application_id}", f"/applications/{application_id}/edit",
                f"/applications/{application_id}/delete"):
        page = client.get(url, headers=ZH)
        assert page.status_code == 200, url
        assert not _latin_words(page.text), (url, _latin_words(page.text))


def test_a_product_is_named_in_the_pages_language(app, world):
    application_id = _draft(app)
    read = reader(app, "app1")
    for url in ("/applications/", "/applications/new", "/applications/new?product=ORDER-A",
                f"/applications/{application_id}"):
        en, zh = read(url, "en"), read(url, "zh-CN")
        assert "Order financing" in en and "订单融资" not in en, url  # it showed the Chinese name
        assert "订单融资" in zh and "Order financing" not in zh, url
    with app.app_context():
        assert products.get_product(identity.principal_for("app1"), "ORDER-A")["name_en"] == "Order financing"
        changed = products.update_product(identity.principal_for("admin"), "ORDER-A", {"name_en": "Order finance"})
        assert changed.name_in("en") == "Order finance" and changed.name_in("zh") == "订单融资"
        with pytest.raises(Invalid):
            products.update_product(identity.principal_for("admin"), "ORDER-A", {"name_en": " "})
        db.session.rollback()
        db.session.remove()


def test_the_platforms_pages_name_a_product_in_the_pages_language(app, world):
    """The dashboard, the product list and page, and the leads' pages said 订单融资 on English pages too."""
    application_id = _draft(app)
    with app.app_context():  # decided: the dashboard counts it under its product; a lead asks for the product
        row = db.session.get(Application, application_id)
        row.status, row.submitted_at = "approved", datetime(2026, 11, 2, 2, tzinfo=UTC)
        row.decided_at = datetime(2026, 11, 3, 2, tzinfo=UTC)
        lead = Lead(number="LEAD-2026-0001", company_name="申城贸易有限公司", contact_name="李明",
                    mobile="13800138000", product_code="ORDER-A", status="new")
        db.session.add(lead)
        db.session.commit()
        lead_id = lead.id
        db.session.remove()
    read = reader(app, "admin")
    for url, part in (("/dashboard", r'<table id="product-table">.*?</table>'),
                      ("/products/", r'<tr data-product="ORDER-A">.*?</tr>'),
                      ("/products/ORDER-A", r"<title>.*?</title>.*?<h1>.*?</h1>"),
                      ("/leads/new", r'<select id="f-product_code".*?</select>'),
                      (f"/leads/{lead_id}", r"<dl.*?</dl>")):
        en, zh = (re.search(part, read(url, language), re.S).group(0) for language in ("en", "zh-CN"))
        assert "Order financing" in en and "订单融资" not in en, (url, en)
        assert "订单融资" in zh and "Order financing" not in zh, (url, zh)


def test_a_draft_of_a_product_no_longer_offered_can_still_be_changed(client, app, world):
    application_id = _draft(app)
    with app.app_context():
        products.update_product(identity.principal_for("admin"), "ORDER-A", {"active": False})
        db.session.commit()
        db.session.remove()
    sign_in(client, "app1")
    assert client.get(f"/applications/{application_id}/edit").status_code == 200
    assert "订单融资" not in client.get("/applications/new", headers=ZH).text  # no longer offered to new drafts


def test_the_latin_word_check_sees_a_raw_code():
    assert _latin_words("<p>状态：in_review</p>") == {"in_review"}
    assert _latin_words('<p>申请 APP-2026-0001 <span translate="no">x.pdf</span> ¥1 CNY</p>') == set()


def test_another_borrower_gets_404_everywhere(client, app, world):
    application_id = _draft(app)
    with app.app_context():
        doc = applications.add_document(identity.principal_for("app1"), application_id, "order", "o.pdf", PDF)
        doc_id = doc.id
        db.session.remove()
    sign_in(client, "app2")
    csrf = _csrf(client.get("/applications/").text)
    for url in (f"/applications/{application_id}", f"/applications/{application_id}/edit",
                f"/applications/{application_id}/documents/{doc_id}", f"/applications/{application_id}/withdraw"):
        assert client.get(url).status_code == 404, url
    for url in (f"/applications/{application_id}/submit", f"/applications/{application_id}/delete"):
        assert client.post(url, data={"csrf_token": csrf}).status_code == 404, url
    assert f"/applications/{application_id}\"" not in client.get("/applications/").text


def test_the_core_enterprise_does_not_see_a_draft(client, app, world):
    application_id = _draft(app)
    sign_in(client, "signer1")
    assert client.get(f"/applications/{application_id}").status_code == 404
    deals = client.get("/deals/", headers=EN)
    assert deals.status_code == 200 and f"/applications/{application_id}\"" not in deals.text


@pytest.mark.parametrize("headers", [ZH, EN])
def test_the_risk_report_is_the_funders_not_the_borrowers(client, app, world, headers):
    application_id = _draft(app)
    _in_review_with_report(app, application_id)
    sign_in(client, "app1")
    mine = client.get(f"/applications/{application_id}", headers=headers).text
    assert 'id="risk-report"' not in mine and "RPT-77001" not in mine and "712" not in mine
    assert 'id="withdraw-link"' in mine  # in review: the borrower may pull it back
    client.post("/logout", data={"csrf_token": _csrf(mine)})
    sign_in(client, "rev1")
    deals = client.get("/deals/", headers=headers).text
    assert f"/applications/{application_id}\"" in deals and "申城贸易有限公司" in deals
    theirs = client.get(f"/applications/{application_id}", headers=headers).text
    report = re.search(r'<section id="risk-report".*?</section>', theirs, re.S).group(0)
    assert "712" in report and "RPT-77001" in report and ("未命中" if headers is ZH else "Not listed") in report
    for button in ('id="withdraw-link"', 'id="submit-form"', 'id="upload-form"', 'id="delete-link"'):
        assert button not in theirs  # the borrower's buttons only
    if headers is ZH:
        assert not _latin_words(theirs), _latin_words(theirs)


def test_the_task_page_shows_the_deal_panel_with_the_report_for_the_funder(client, app, auth, world, deploy):
    application_id = _draft(app)
    with app.app_context():
        applications.add_document(identity.principal_for("app1"), application_id, "invoice", "发票.pdf", PDF)
        db.session.remove()
    number = _in_review_with_report(app, application_id)
    deploy("terms_check.bpmn")  # a reviewer's task on the deal: its business key is the application's number
    started = client.post("/api/v1/process-instances", headers=auth, json={
        "process_id": "terms_check", "business_key": number, "parties": {"funder": "BANK1", "borrower": "BORR1"},
        "data": {"agreed_amount": "800000", "first_due": "2026-12-10", "purpose": "备货", "items": []}})
    assert started.status_code == 201, started.json
    with app.app_context():
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == started.json["id"]))
        db.session.remove()
    sign_in(client, "rev1")
    page = client.get(f"/tasks/{task_id}", headers=ZH).text
    panel = re.search(r'<section class="card" id="deal-panel">.*?打开申请</a></p>\s*</section>', page, re.S).group(0)
    assert number in panel and "¥800,000.00" in panel and "发票.pdf" in panel
    assert f"/applications/{application_id}/documents/" in panel and 'id="risk-report"' in panel and "712" in panel
    assert not _latin_words(panel), _latin_words(panel)  # the fixture diagram itself is English only
    assert '<p class="hint" id="form-help">请将约定条款与合同逐项核对。</p>' in page  # the form says what to do


def test_a_task_on_something_else_has_no_deal_panel(client, app, auth, world, deploy):
    deploy("terms_check.bpmn")
    started = client.post("/api/v1/process-instances", headers=auth, json={
        "process_id": "terms_check", "business_key": "K-OTHER", "parties": {"funder": "BANK1", "borrower": "BORR1"},
        "data": {"agreed_amount": "1", "first_due": "2026-12-10", "purpose": "x", "items": []}})
    with app.app_context():
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == started.json["id"]))
        db.session.remove()
    sign_in(client, "rev1")
    page = client.get(f"/tasks/{task_id}").text
    assert page.count('id="key-data"') == 1 and 'id="deal-panel"' not in page


def test_the_header_offers_each_user_their_deal_pages(client, world):
    expected = {"app1": ("/applications/", "/deals/"), "rev1": ("/deals/", "/applications/"),
                "admin": ("/products/", "/applications/")}
    for user, (offered, not_offered) in expected.items():
        sign_in(client, user)
        nav = re.search(r"<nav>.*?</nav>", client.get("/").text, re.S).group(0)
        assert f'href="{offered}"' in nav and f'href="{not_offered}"' not in nav, (user, nav)
        client.post("/logout", data={"csrf_token": _csrf(client.get("/").text)})


@pytest.mark.parametrize("headers", [ZH, EN])
def test_the_platform_creates_and_changes_a_pledge_product(client, app, world, headers):
    sign_in(client, "admin")
    form = client.get("/products/new", headers=headers).text
    base = {"csrf_token": _csrf(form), "code": "PLEDGE-A", "name": "仓单质押", "kind": "pledge_financing",
            "annual_rate": "9", "min_amount": "100,000.00", "max_amount": "3,000,000.00", "min_term": "3",
            "max_term": "12", "documents": ["warehouse_receipt"]}
    lines = {"ltv.lend": "0.60", "ltv.warning": "0.70", "ltv.margin_call": "0.75", "ltv.liquidation": "0.85"}
    odd = client.post("/products/new", headers=headers, data={**base, **lines, "min_term": "²"})
    assert odd.status_code == 422, odd.text  # a digit str.isdigit() takes and int() refuses: was a 500
    wrong = client.post("/products/new", headers=headers, data={**base, **lines, "ltv.warning": "0.50"})
    assert wrong.status_code == 422 and ("平仓线" if headers is ZH else "liquidation") in wrong.text
    created = client.post("/products/new", headers=headers, data={**base, **lines})
    assert created.status_code == 302, created.text
    listing = client.get("/products/", headers=headers).text
    assert "仓单质押" in listing and ("仓单" if headers is ZH else "Warehouse receipt") in listing
    edit = client.get("/products/PLEDGE-A", headers=headers).text
    saved = client.post("/products/PLEDGE-A", headers=headers, data={
        "csrf_token": _csrf(edit), "name": "仓单质押二期", **lines, "documents": ["warehouse_receipt", "invoice"]})
    assert saved.status_code == 302
    with app.app_context():
        view = products.get_product(identity.principal_for("admin"), "PLEDGE-A")
        db.session.remove()
    assert (view["name"], view["active"], view["documents"]) == ("仓单质押二期", False, ["invoice", "warehouse_receipt"])


@pytest.mark.parametrize("headers", [ZH, EN])
def test_the_platform_sets_how_long_after_its_order_an_order_loan_may_end(client, app, world, headers):
    sign_in(client, "admin")
    edit = client.get("/products/ORDER-A", headers=headers).text
    def grace(page: str) -> str:
        return re.search(r'<div class="field[^"]*"><label for="f-order_grace_days">.*?</div>', page, re.S).group(0)

    assert 'value="30"' in grace(edit)  # the default
    base = {"csrf_token": _csrf(edit), "name": "订单融资", "advance_ratio": "0.80", "documents": ["order"]}
    for wrong in ("-1", "366", "²", "三十"):
        refused = client.post("/products/ORDER-A", headers=headers, data={**base, "order_grace_days": wrong})
        assert refused.status_code == 422, (wrong, refused.text)
        assert ("0 到 365" if headers is ZH else "from 0 to 365") in grace(refused.text), wrong
    saved = client.post("/products/ORDER-A", headers=headers, data={**base, "order_grace_days": "90"})
    assert saved.status_code == 302, saved.text
    listing = client.get("/products/", headers=headers).text
    assert ("订单到期后 90 天" if headers is ZH else "90 days after its order is due") in listing
    with app.app_context():
        assert products.get_product(identity.principal_for("admin"), "ORDER-A")["order_grace_days"] == 90
        db.session.remove()


@pytest.mark.parametrize("headers", [ZH, EN])
def test_the_platform_sets_how_a_new_products_loans_are_repaid_and_charged(client, app, world, headers):
    """The page made every product 等额本息 with no early-repayment fee and no grace (the ledger's defaults): an
    operator could not configure a product's repayment method, its fee (the brief's 提前还款违约金) or its penalty."""
    sign_in(client, "admin")
    form = client.get("/products/new", headers=headers).text
    assert ("等额本金" if headers is ZH else "Equal principal") in form and 'name="penalty_rate_multiplier"' in form
    base = {"csrf_token": _csrf(form), "code": "CREDIT-B", "name": "经营贷", "kind": "credit_loan", "annual_rate": "12",
            "min_amount": "10,000.00", "max_amount": "500,000.00", "min_term": "3", "max_term": "24",
            "amortization": "equal_principal", "early_repayment_fee_percent": "2", "penalty_rate_multiplier": "1.3",
            "overdue_grace_days": "3"}
    for name, wrong in (("early_repayment_fee_percent", "150"), ("penalty_rate_multiplier", "-1"),
                        ("overdue_grace_days", "-2"), ("amortization", "whenever")):
        refused = client.post("/products/new", headers=headers, data={**base, name: wrong})
        assert refused.status_code == 422, (name, refused.text)
        assert 'role="alert"' in refused.text.split(f'id="f-{name}"')[1].split("</div>")[0], name
    assert "CREDIT-B" not in client.get("/products/", headers=headers).text  # nothing was made
    created = client.post("/products/new", headers=headers, data=base)
    assert created.status_code == 302, created.text
    with app.app_context():
        view = products.get_product(identity.principal_for("admin"), "CREDIT-B")
        db.session.remove()
    assert (view["amortization"], view["early_repayment_fee_percent"], view["penalty_rate_multiplier"],
            view["overdue_grace_days"]) == ("equal_principal", "2", "1.3", 3)
    page = client.get("/products/CREDIT-B", headers=headers).text
    said = ("等额本金", "提前归还本金的 2%", "逾期本金按贷款利率的 1.3 倍计收", "3 天") if headers is ZH else \
        ("Equal principal", "2% of the principal prepaid", "1.3 × the loan's rate on overdue principal", "3 days")
    assert all(s in page for s in said), page


def test_a_borrower_may_not_open_the_product_pages(client, world):
    sign_in(client, "app1")
    assert client.get("/products/").status_code == 403
    assert client.get("/products/new").status_code == 403


@pytest.mark.parametrize(("status", "zh_heading", "en_heading"), [
    ("returned", "资金方要求补充的内容", "What the funder asks for"), ("rejected", "拒绝原因", "Why it was rejected")])
def test_the_borrower_reads_why_it_was_returned_or_rejected(client, app, world, status, zh_heading, en_heading):
    application_id = _draft(app)
    with app.app_context():
        row = db.session.get(Application, application_id)
        row.status, row.stage, row.reason = status, "first_review", "请补充近三个月的银行流水"
        db.session.commit()
        db.session.remove()
    sign_in(client, "app1")
    for headers, heading in ((ZH, zh_heading), (EN, en_heading)):
        page = client.get(f"/applications/{application_id}", headers=headers).text
        reason = re.search(r'<div class="reason-box[^"]*" id="reason".*?</div>', page, re.S).group(0)
        assert heading in reason and "请补充近三个月的银行流水" in reason
    assert ('id="submit-form"' in page) is (status == "returned")  # a returned application is answered
    assert (f'/applications/{application_id}/edit"' in page) is (status == "returned")


def test_a_credit_loan_asks_for_one_identifier_and_checks_it(client, app, world):
    from handlers.identifiers import make_credit_code

    with app.app_context():
        products.create_product(None, {"code": "CREDIT-A", "name": "信用贷", "kind": "credit_loan", "annual_rate": "12",
                                       "min_amount": "10000", "max_amount": "500000", "min_term": 3, "max_term": 12})
        db.session.commit()
        db.session.remove()
    sign_in(client, "app1")
    form = client.get("/applications/new?product=CREDIT-A", headers=ZH).text
    assert "统一社会信用代码（企业）" in form and "居民身份证号码（个人）" in form
    base = {"csrf_token": _csrf(form), "product": "CREDIT-A", "amount": "200,000", "term_months": "6",
            "funder": "BANK1"}
    neither = client.post("/applications/new", headers=ZH, data=base)
    details = re.search(r'<fieldset id="details">.*?</fieldset>', neither.text, re.S).group(0)
    assert neither.status_code == 422 and "二者只填其一" in details
    code = make_credit_code("91310000MA1FL8XQ3")
    miswritten = code[:-1] + ("0" if code[-1] != "0" else "1")
    wrong = client.post("/applications/new", headers=ZH, data={**base, "details.credit_code": miswritten})
    assert "校验位须正确" in _field(wrong.text, "details.credit_code")
    saved = client.post("/applications/new", headers=ZH, data={**base, "details.credit_code": code.lower()})
    assert saved.status_code == 302
    assert code in client.get(saved.headers["Location"], headers=ZH).text  # kept as the code is written


@pytest.mark.parametrize(("headers", "amount", "term", "funder", "core", "empty"), [
    (ZH, "1,000,000.00", "3 至 12", "请选择资金方", "请选择核心企业", "请填写金额。"),
    (EN, "1,000,000.00", "from", "Choose the funder", "Choose the core enterprise", "Enter the amount."),
])
def test_the_new_application_form_says_every_problem_at_once(client, app, world, headers, amount, term, funder, core,
                                                              empty):
    """With the amount unreadable, only the amount was said; the term, the funder, the core enterprise and the
    order's fields showed after sending the form again. An empty amount is asked for, not told how to write."""
    sign_in(client, "app1")
    form = client.get("/applications/new?product=ORDER-A", headers=headers).text
    refused = client.post("/applications/new", headers=headers, data={
        "csrf_token": _csrf(form), "product": "ORDER-A", "amount": "abc", "term_months": "0", "funder": "",
        "details.core_enterprise": "", "details.order_number": "", "details.order_amount": "",
        "details.order_due_date": ""})
    assert refused.status_code == 422
    said = {name: _field(refused.text, name) for name in (
        "amount", "term_months", "funder", "details.core_enterprise", "details.order_number", "details.order_amount",
        "details.order_due_date")}
    assert all('role="alert"' in block for block in said.values()), {k for k, v in said.items() if "alert" not in v}
    assert amount in said["amount"] and term in said["term_months"] and funder in said["funder"]
    assert core in said["details.core_enterprise"] and empty in said["details.order_amount"]
    with app.app_context():
        assert db.session.scalar(select(Application.id)) is None  # nothing was saved


@pytest.mark.parametrize(("headers", "removed", "line"), [
    (ZH, "材料已移除。", "借款人已移除其上传的材料：发票（wrong.pdf）"),
    (EN, "Document removed.", "The borrower removed a document it had attached: invoice (wrong.pdf)"),
])
def test_the_borrower_removes_a_wrong_upload_from_its_draft_and_the_timeline_says_so(client, app, world, headers,
                                                                                       removed, line):
    """A wrong file could not be taken back: the funder and the core enterprise then saw it."""
    application_id = _draft(app)
    sign_in(client, "app1")
    page_url = f"/applications/{application_id}"
    page = client.get(page_url, headers=headers).text
    client.post(f"{page_url}/documents", headers=headers, data={
        "csrf_token": _csrf(page), "kind": "invoice", "file": (io.BytesIO(PDF), "wrong.pdf")})
    page = client.get(page_url, headers=headers).text
    [document_id] = re.findall(r'data-document-id="(\d+)"', page)
    assert f"/documents/{document_id}/remove" in page
    done = client.post(f"{page_url}/documents/{document_id}/remove", headers=headers,
                       data={"csrf_token": _csrf(page)}, follow_redirects=True)
    assert done.status_code == 200 and removed in done.text and line in done.text
    assert 'data-document-id="' not in done.text
    with app.app_context():
        assert db.session.scalar(select(ApplicationDocument.id)) is None
    other = app.test_client()  # another borrower's applicant: not their application
    sign_in(other, "app2")
    assert other.post(f"{page_url}/documents/{document_id}/remove", headers=headers,
                      data={"csrf_token": _csrf(other.get("/", headers=headers).text)}).status_code == 404


@pytest.mark.parametrize(("language", "yuan"), [("zh-CN", "¥"), ("en", "¥")])
def test_the_product_pages_say_ratios_as_percentages_and_amounts_in_yuan(app, world, language, yuan):
    page = reader(app, "admin")
    listed = page("/products/", language)
    row = re.search(r'<tr data-product="ORDER-A">.*?</tr>', listed, re.S).group(0)
    assert "80%" in row and "0.80" not in row
    assert re.search(r'<td class="rate">10%</td>', row)  # the annual rate, as the applicant's chooser says it
    one = page("/products/ORDER-A", language)
    assert re.search(r'<dd id="advance-ratio">80%</dd>', one)
    new = page("/products/new", language)
    assert f'<span class="ccy">{yuan}</span>' in new and '<span class="ccy">CNY</span>' not in new
    if language == "zh-CN":
        assert not _latin_words(listed), _latin_words(listed)


@pytest.mark.parametrize(("headers", "percent_words"), [(ZH, "百分比"), (EN, "percentage")])
def test_the_product_form_takes_a_ratio_as_a_percentage_and_shows_it_as_one(client, app, world, headers,
                                                                           percent_words):
    """An operator typed 80 (or 80%) for 融资比例: refused as 'a ratio above 0 and at most 1'; only 0.80 went."""
    sign_in(client, "admin")
    form = client.get("/products/new", headers=headers).text
    base = {"csrf_token": _csrf(form), "kind": "pledge_financing", "annual_rate": "9", "min_amount": "100,000.00",
            "max_amount": "3,000,000.00", "min_term": "3", "max_term": "12", "documents": ["warehouse_receipt"]}
    lines = {"ltv.lend": "60%", "ltv.warning": "70", "ltv.margin_call": "0.75", "ltv.liquidation": "８５％"}
    created = client.post("/products/new", headers=headers, data={**base, **lines, "code": "PLEDGE-P", "name": "仓单质押"})
    assert created.status_code == 302, created.text
    order = client.post("/products/new", headers=headers, data={
        **base, "code": "ORDER-P", "name": "订单融资二期", "kind": "order_financing", "advance_ratio": "80.5%",
        "documents": ["order"]})
    assert order.status_code == 302, order.text
    with app.app_context():
        admin = identity.principal_for("admin")
        pledge, order_view = products.get_product(admin, "PLEDGE-P"), products.get_product(admin, "ORDER-P")
        db.session.remove()
    assert {k: Decimal(v) for k, v in pledge["ltv"].items()} == {
        "lend": Decimal("0.6"), "warning": Decimal("0.7"), "margin_call": Decimal("0.75"), "liquidation": Decimal("0.85")}
    assert Decimal(order_view["advance_ratio"]) == Decimal("0.805")
    edit = client.get("/products/ORDER-P", headers=headers).text
    assert re.search(r'<input id="f-advance_ratio" name="advance_ratio"[^>]* value="80.5%"', edit), edit
    assert 'value="0.805"' not in edit
    for wrong in ("八十", "150%", "0%", "-5"):
        refused = client.post("/products/ORDER-P", headers=headers, data={
            "csrf_token": _csrf(edit), "name": "订单融资二期", "advance_ratio": wrong, "documents": ["order"]})
        assert refused.status_code == 422, wrong
        error = _field_error(refused.text, "advance_ratio")
        assert percent_words in error and "80%" in error, (wrong, error)
        assert "1" not in error.replace("100", ""), (wrong, error)  # no longer 'at most 1'
    if headers is ZH:
        assert not _latin_words(refused.text), _latin_words(refused.text)


def _field_error(page: str, name: str) -> str:
    found = re.search(rf'<input id="f-{re.escape(name)}"[^>]*>\s*<p class="field-error"[^>]*>([^<]*)</p>', page)
    return found.group(1) if found else ""


@pytest.mark.parametrize("headers", [ZH, EN])
def test_a_products_rate_is_refused_saying_why_and_taken_with_its_percent_sign(client, app, world, headers):
    """`5%` was refused as 不得超过法定上限 (the sign was what the page could not read), `-1` the same, and `500` never
    said what the cap is."""
    sign_in(client, "admin")
    form = client.get("/products/new", headers=headers).text
    base = {"csrf_token": _csrf(form), "code": "CREDIT-R", "name": "经营贷", "kind": "credit_loan",
            "min_amount": "10,000.00", "max_amount": "500,000.00", "min_term": "3", "max_term": "24"}

    def rate_field(page: str) -> str:
        return re.sub(r"<[^>]+>", " ", page.split('id="f-annual_rate"')[1].split("</div>")[0])

    for wrong, said in (("500", ("年利率 500% 高于法定上限 24%", "500% a year is above the legal cap of 24%")),
                        ("-1", ("不能为负数", "must not be negative"))):
        refused = client.post("/products/new", headers=headers, data={**base, "annual_rate": wrong})
        assert refused.status_code == 422, wrong
        assert said[0 if headers is ZH else 1] in rate_field(refused.text), (wrong, rate_field(refused.text))
    created = client.post("/products/new", headers=headers, data={**base, "annual_rate": "5%"})
    assert created.status_code == 302, rate_field(created.text)
    with app.app_context():
        assert products.get_product(identity.principal_for("admin"), "CREDIT-R")["annual_rate"] == "5"
        db.session.remove()


@pytest.mark.parametrize("role", ["auditor", "analyst"])
def test_the_auditor_and_the_analyst_read_the_products_and_change_none(client, app, world, role):
    """They were 403 on 产品: the auditor reads every product's terms (withdrawn ones too), the analyst the products
    the diagrams they change serve; neither is offered a form, and a post is refused."""
    with app.app_context():
        identity.create_user("reader", "PLATFORM", [role])
        db.session.commit()
    set_password(app, "reader")
    sign_in(client, "reader")
    listing = client.get("/products/", headers=ZH)
    assert listing.status_code == 200 and "ORDER-A" in listing.text
    assert 'href="/products/"' in listing.text  # the header offers it
    assert 'id="new-product"' not in listing.text and 'href="/products/ORDER-A"' not in listing.text
    assert client.get("/products/new", headers=ZH).status_code == 403
    assert client.get("/products/ORDER-A", headers=ZH).status_code == 403
    assert client.post("/products/ORDER-A", data={"csrf_token": _csrf(listing.text), "name": "x"}).status_code == 403
    with app.app_context():
        assert products.get_product(identity.principal_for("admin"), "ORDER-A")["name"] != "x"
        db.session.remove()


def test_the_loan_to_value_lines_are_shown_rising_examples(client, world):
    """Each of the four lines showed the example 80%, though each must be above the one before."""
    sign_in(client, "admin")
    form = client.get("/products/new", headers=ZH).text
    shown = [re.search(rf'id="f-ltv.{line}"[^>]*placeholder="([^"]+)"', form).group(1)
             for line in ("lend", "warning", "margin_call", "liquidation")]
    assert shown == sorted(shown, key=lambda p: float(p.rstrip("%"))) and len(set(shown)) == 4, shown
