"""The applications API on every backend: draft, read, list, change, attach and download documents,
submit, withdraw and resubmit, delete; who sees what (another organisation's application is 404,
the funder's risk report never reaches the borrower); 422 naming each wrong field; the timeline in
the reader's words and language; and submits and withdraws racing over real HTTP.

Submitting starts the product's diagram; these tests deploy a stand-in for `order_financing`
(tests/fixtures/bpmn/origination_order_stub.bpmn: the stage, the core enterprise's confirmation, the
advance cap, the decision), so they do not depend on the shipped diagrams' details.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Application, ApplicationDocument, HumanTask, ProcessInstance, RiskReport
from app.services import clock as service_clock
from app.services.errors import Invalid
from app.services.identity import directory as identity
from app.services.origination import applications, decisions, products
from app.services.signing import deals
from tests.conftest import ROOT
from tests.integration.ledger_support import business_day
from tests.integration.test_money_races import race_posts, race_requests, statuses

API = "/api/v1"
USERS = {  # username: (organisation, role)
    "applicant1": ("BORR1", "applicant"), "applicant2": ("BORR2", "applicant"),
    "reviewer1": ("BANK1", "first_reviewer"), "reviewer2": ("BANK2", "first_reviewer"),
    "signer1": ("CORE1", "core_signer"), "warehouse1": ("WH1", "warehouse_supervisor"),
    "operator": ("PLATFORM", "operator"),
}
ORGS = {"BORR1": "borrower", "BORR2": "borrower", "BANK1": "funder", "BANK2": "funder",
        "CORE1": "core_enterprise", "WH1": "warehouse"}
ORDER_PRODUCT = {
    "code": "ORDER1", "name": "Order financing", "kind": "order_financing", "annual_rate": "12",
    "min_amount": "10000", "max_amount": "5000000", "min_term": 1, "max_term": 12,
    "advance_ratio": "0.80", "documents": ["order"],
}
CREDIT_PRODUCT = {
    "code": "CREDIT1", "name": "Credit loan", "kind": "credit_loan", "annual_rate": "12",
    "min_amount": "1000", "max_amount": "200000", "min_term": 1, "max_term": 24,
}
ORDER = {"product": "ORDER1", "amount": "500000.00", "term_months": 6, "purpose": "Buy steel for an order",
         "funder": "BANK1", "details": {"core_enterprise": "CORE1", "order_number": "PO-2026-118",
                                        "order_amount": "600000.00", "order_due_date": "2027-05-30",
                                        "payee_account": "6222 0210 0100 7777", "payee_bank": "招商银行上海分行"}}
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


class World:
    def __init__(self, app, client, headers: dict[str, dict[str, str]]) -> None:
        self.app, self.client, self.headers = app, client, headers

    def call(self, who: str, method: str, path: str, body: Any = None, language: str | None = None, **kwargs: Any):
        headers = dict(self.headers[who])
        if language:
            headers["Accept-Language"] = language
        return self.client.open(f"{API}{path}", method=method, headers=headers, json=body, **kwargs)

    def draft(self, who: str = "applicant1", **changes: Any) -> dict[str, Any]:
        r = self.call(who, "POST", "/applications", {**ORDER, **changes})
        assert r.status_code == 201, r.json
        return r.json

    def attach(self, application_id: int, content: bytes = PDF, kind: str = "order", filename: str = "order.pdf",
               who: str = "applicant1"):
        return self.client.post(f"{API}/applications/{application_id}/documents", headers=self.headers[who],
                                data={"kind": kind, "file": (_stream(content), filename)},
                                content_type="multipart/form-data")

    def submitted(self) -> dict[str, Any]:
        """A drafted order application with its order attached, submitted: waiting for the core enterprise."""
        application = self.draft()
        assert self.attach(application["id"]).status_code == 201
        r = self.call("applicant1", "POST", f"/applications/{application['id']}/submit")
        assert r.status_code == 200, r.json
        return r.json

    def open_task(self, application_id: int) -> HumanTask | None:
        with self.app.app_context():
            instance_id = db.session.get(Application, application_id).instance_id
            task = db.session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                             HumanTask.state.in_(("ready", "claimed"))))
            db.session.expunge_all()
            db.session.remove()
        return task


def _stream(content: bytes):
    from io import BytesIO

    return BytesIO(content)


def error(response) -> dict[str, Any]:
    assert set(response.json) == {"error"}, response.json
    return response.json["error"]


@pytest.fixture
def world(app, client, clock, admin_token, deploy) -> World:
    business_day(clock, date(2026, 11, 30))
    deploy("origination_order_stub.bpmn")
    with app.app_context():
        for code, kind in ORGS.items():
            identity.create_org(code, [kind], f"Organisation {code}")
        headers = {"admin": {"Authorization": f"Bearer {admin_token}"}}
        for name, (org_code, role) in USERS.items():
            identity.create_user(name, org_code, [role])
            headers[name] = {"Authorization": f"Bearer {identity.issue_token(name)}"}
        products.create_product(None, ORDER_PRODUCT)
        products.create_product(None, CREDIT_PRODUCT)
        db.session.commit()
        db.session.remove()
    return World(app, client, headers)


def count(app, model, *where) -> int:
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(model).where(*where))
        db.session.remove()
    return int(n or 0)


# -- drafting and reading -------------------------------------------------------------------------

def test_a_borrower_drafts_an_application_and_reads_it_back(world):
    created = world.draft()
    assert re.fullmatch(r"APP-2026-\d{4}", created["number"])
    assert {k: created[k] for k in ("status", "stage", "product", "product_kind", "amount", "term_months",
                                    "purpose", "funder", "borrower", "approved_amount", "reason",
                                    "submitted_at", "decided_at", "documents")} == {
        "status": "draft", "stage": None, "product": "ORDER1", "product_kind": "order_financing",
        "amount": "500000.00", "term_months": 6, "purpose": "Buy steel for an order", "funder": "BANK1",
        "borrower": "BORR1", "approved_amount": None, "reason": None, "submitted_at": None, "decided_at": None,
        "documents": []}
    assert created["details"] == ORDER["details"]
    assert [(e["kind"], e["text"]) for e in created["timeline"]] == [("drafted", "The application was drafted")]
    assert "risk" not in created  # the borrower never reads the funder's risk report

    read = world.call("applicant1", "GET", f"/applications/{created['id']}")
    assert read.status_code == 200 and read.json == created
    zh = world.call("applicant1", "GET", f"/applications/{created['id']}", language="zh-CN,zh;q=0.9")
    assert [e["text"] for e in zh.json["timeline"]] == ["申请已创建（草稿）"]


def test_an_account_in_chinese_reads_the_timeline_in_chinese_and_accept_language_does_not_override_it(world, app):
    from app.models import User

    application = world.draft()
    with app.app_context():
        db.session.execute(User.__table__.update().where(User.username == "applicant1").values(locale="zh"))
        db.session.commit()
        db.session.remove()
    for language in (None, "en"):
        body = world.call("applicant1", "GET", f"/applications/{application['id']}", language=language).json
        assert [e["text"] for e in body["timeline"]] == ["申请已创建（草稿）"], language


def test_the_list_pages_and_filters_by_status(world):
    first, second = world.draft(), world.draft(amount="20000.00")
    listed = world.call("applicant1", "GET", "/applications", query_string={"per_page": 1})
    assert listed.status_code == 200
    assert (listed.json["total"], listed.json["page"], listed.json["per_page"]) == (2, 1, 1)
    assert [a["id"] for a in listed.json["items"]] == [second["id"]]  # newest first
    assert listed.json["items"][0]["amount"] == "20000.00" and "timeline" not in listed.json["items"][0]
    drafts = world.call("applicant1", "GET", "/applications", query_string={"status": "draft"}).json
    assert {a["id"] for a in drafts["items"]} == {first["id"], second["id"]}
    assert world.call("applicant1", "GET", "/applications", query_string={"status": "approved"}).json["total"] == 0
    assert world.call("applicant1", "GET", "/applications", query_string={"status": "lost"}).status_code == 422
    assert world.call("applicant2", "GET", "/applications").json["total"] == 0
    assert world.call("reviewer1", "GET", "/applications").json["total"] == 0  # drafts are the borrower's
    assert world.call("operator", "GET", "/applications").json["total"] == 2


@pytest.mark.parametrize(("change", "field"), [
    ({"amount": "5x"}, "amount"),
    ({"amount": 500000}, "amount"),
    ({"amount": "1.00"}, "amount"),  # below the product's minimum
    ({"amount": "9000000.00"}, "amount"),  # above its maximum
    ({"term_months": 13}, "term_months"),
    ({"term_months": "6"}, "term_months"),
    ({"term_months": 0}, "term_months"),
    ({"details": "an order"}, "details"),
    ({"details": {}}, "details.core_enterprise"),
    ({"details": {**ORDER["details"], "order_due_date": "2026-01-01"}}, "details.order_due_date"),
    ({"details": {**ORDER["details"], "core_enterprise": "WH1"}}, "details.core_enterprise"),
    ({"details": {**ORDER["details"], "colour": "red"}}, "details.colour"),
    ({"funder": "NOBODY"}, "funder"),
    ({"funder": "BORR2"}, "funder"),  # an organisation, not a funder
    ({"product": "NOPE"}, "product"),
    ({"purpose": "x" * 501}, "purpose"),
])
def test_a_wrong_field_is_422_naming_it_and_nothing_is_drafted(world, app, change, field):
    r = world.call("applicant1", "POST", "/applications", {**ORDER, **change})
    assert r.status_code == 422, r.json
    assert field in error(r)["fields"], r.json
    assert count(app, Application) == 0


def test_an_order_financing_loan_may_not_outlast_its_order_by_more_than_the_products_grace(world, app):
    """The loan is repaid from what the core enterprise pays for the order: taken out today (2026-11-30), it may end
    at most 30 days after the order is due (the product's `order_grace_days`, 30 unless set)."""
    soon = {**ORDER["details"], "order_due_date": "2027-02-15"}  # 2026-11-30 + 3 months = 2027-02-28 ≤ 2027-03-17
    r = world.call("applicant1", "POST", "/applications", {**ORDER, "term_months": 6, "details": soon})
    assert r.status_code == 422, r.json
    assert error(r)["fields"] == {"term_months": [
        "A loan taken out today would end on 2027-05-30, more than 30 days after the order is due (2027-02-15): "
        "choose a term of 3 or fewer months."]}, r.json
    zh = world.call("applicant1", "POST", "/applications", {**ORDER, "details": soon}, language="zh-CN")
    assert error(zh)["fields"]["term_months"] == [
        "今天放款的话，贷款将于 2027-05-30 到期，晚于订单到期日（2027-02-15）超过 30 天：期限最多 3 个月。"], zh.json
    assert count(app, Application) == 0
    fits = world.call("applicant1", "POST", "/applications", {**ORDER, "term_months": 3, "details": soon})
    assert fits.status_code == 201 and fits.json["term_months"] == 3, fits.json


def test_a_draft_that_no_longer_ends_in_time_for_its_order_is_not_submitted(world, app, clock):
    """Judged again on the day it is submitted: a draft saved in time, submitted two months later, is refused
    naming its term, and stays a draft."""
    application = world.draft()  # 6 months from 2026-11-30 = 2027-05-30, the order due 2027-05-30
    assert world.attach(application["id"]).status_code == 201
    business_day(clock, date(2027, 1, 30))  # 6 months now end 2027-07-30: 61 days after the order
    r = world.call("applicant1", "POST", f"/applications/{application['id']}/submit")
    assert r.status_code == 422, r.json
    assert list(error(r)["fields"]) == ["term_months"] and "choose a term of 4 or fewer months" in \
        error(r)["fields"]["term_months"][0], r.json
    with app.app_context():
        assert db.session.get(Application, application["id"]).status == "draft"
        db.session.remove()
    shorter = world.call("applicant1", "PATCH", f"/applications/{application['id']}", {"term_months": 4})
    assert shorter.status_code == 200, shorter.json
    assert world.call("applicant1", "POST", f"/applications/{application['id']}/submit").status_code == 200


def test_a_product_sets_how_long_after_its_order_a_loan_may_end(world, app):
    r = world.call("operator", "PATCH", "/products/ORDER1", {"order_grace_days": 120})
    assert r.status_code == 200 and r.json["order_grace_days"] == 120, r.json
    soon = {**ORDER["details"], "order_due_date": "2027-02-15"}  # + 120 days = 2027-06-15 ≥ 2027-05-30
    assert world.call("applicant1", "POST", "/applications", {**ORDER, "details": soon}).status_code == 201
    for wrong in (-1, 366, "many", True, 1.5):
        refused = world.call("operator", "PATCH", "/products/ORDER1", {"order_grace_days": wrong})
        assert refused.status_code == 422 and "order_grace_days" in error(refused)["fields"], (wrong, refused.json)
    assert world.call("operator", "GET", "/products/ORDER1").json["order_grace_days"] == 120
    assert world.call("operator", "PATCH", "/products/ORDER1", {"order_grace_days": 0}).status_code == 200
    tomorrow = world.call("applicant1", "POST", "/applications", {
        **ORDER, "term_months": 1, "details": {**ORDER["details"], "order_due_date": "2026-12-01"}})
    assert error(tomorrow)["fields"] == {"term_months": [
        "The order is due on 2026-12-01: even this product's shortest term would end on 2026-12-30, more than 0 "
        "days later. Finance an order due later."]}, tomorrow.json
    credit = world.call("operator", "GET", "/products/CREDIT1").json
    assert credit["order_grace_days"] is None


@pytest.mark.parametrize("missing", ["product", "amount", "term_months", "funder", "details"])
def test_a_missing_field_is_422_naming_it(world, missing):
    r = world.call("applicant1", "POST", "/applications", {k: v for k, v in ORDER.items() if k != missing})
    assert r.status_code == 422 and missing in error(r)["fields"], r.json


def test_a_credit_loan_takes_an_id_number_or_a_credit_code(world):
    body = {"product": "CREDIT1", "amount": "50000.00", "term_months": 12, "funder": "BANK1"}
    ok = world.call("applicant1", "POST", "/applications", {**body, "details": {"id_number": "11010519491231002x"}})
    assert ok.status_code == 201 and ok.json["details"] == {"id_number": "11010519491231002X"}, ok.json
    bad = world.call("applicant1", "POST", "/applications", {**body, "details": {"id_number": "110105194912310021"}})
    assert bad.status_code == 422 and "details.id_number" in error(bad)["fields"]


@pytest.mark.parametrize("who", ["signer1", "reviewer1", "warehouse1", "operator"])
def test_only_a_borrowers_applicant_drafts(world, app, who):
    r = world.call(who, "POST", "/applications", ORDER)
    assert r.status_code == 403 and error(r)["code"] == "forbidden", r.json
    assert count(app, Application) == 0


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/applications/{}"), ("PATCH", "/applications/{}"), ("DELETE", "/applications/{}"),
    ("POST", "/applications/{}/submit"), ("POST", "/applications/{}/withdraw"),
    ("GET", "/applications/{}/documents/{}"),
])
def test_another_organisations_application_is_404(world, app, method, path):
    application = world.draft()
    document = world.attach(application["id"]).json
    for who in ("applicant2", "reviewer1", "reviewer2", "signer1"):  # a draft is its borrower's alone
        r = world.call(who, method, path.format(application["id"], document["id"]),
                       body={"purpose": "mine now"} if method == "PATCH" else None)
        assert r.status_code == 404 and error(r)["code"] == "not_found", (who, r.json)
    unknown = world.call("applicant1", method, path.format(application["id"] + 1000, document["id"]),
                         body={"purpose": "x"} if method == "PATCH" else None)
    assert unknown.status_code == 404
    assert world.attach(application["id"], who="applicant2").status_code == 404
    with app.app_context():
        row = db.session.get(Application, application["id"])
        assert (row.status, row.purpose) == ("draft", ORDER["purpose"])
        db.session.remove()


# -- changing and deleting -----------------------------------------------------------------------

def test_patch_changes_the_fields_sent_and_refuses_wrong_ones(world):
    application = world.draft()
    r = world.call("applicant1", "PATCH", f"/applications/{application['id']}",
                   {"amount": "450000.50", "term_months": 5})
    assert r.status_code == 200, r.json
    assert (r.json["amount"], r.json["term_months"], r.json["purpose"]) == ("450000.50", 5, ORDER["purpose"])
    assert [e["kind"] for e in r.json["timeline"]] == ["drafted", "edited"]
    wrong = world.call("applicant1", "PATCH", f"/applications/{application['id']}", {"term_months": 40})
    assert wrong.status_code == 422 and "term_months" in error(wrong)["fields"]
    unknown = world.call("applicant1", "PATCH", f"/applications/{application['id']}", {"status": "approved"})
    assert unknown.status_code == 422 and "status" in error(unknown)["fields"]
    assert world.call("applicant1", "GET", f"/applications/{application['id']}").json["term_months"] == 5
    for empty in (None, {}):  # a change names at least one field
        assert world.call("applicant1", "PATCH", f"/applications/{application['id']}", empty).status_code == 422


def test_a_draft_is_deleted_and_a_submitted_application_is_409(world, app):
    draft = world.draft()
    r = world.call("applicant1", "DELETE", f"/applications/{draft['id']}")
    assert r.status_code == 204 and r.data == b""
    assert world.call("applicant1", "GET", f"/applications/{draft['id']}").status_code == 404

    submitted = world.submitted()
    r = world.call("applicant1", "DELETE", f"/applications/{submitted['id']}")
    assert r.status_code == 409 and error(r)["code"] == "status_in_review", r.json
    assert count(app, Application, Application.id == submitted["id"]) == 1
    patched = world.call("applicant1", "PATCH", f"/applications/{submitted['id']}", {"purpose": "late"})
    assert patched.status_code == 409


# -- documents -----------------------------------------------------------------------------------

def test_a_document_is_attached_listed_and_downloaded_as_an_attachment(world):
    application = world.draft()
    r = world.attach(application["id"], filename="orders/PO-118.pdf")
    assert r.status_code == 201, r.json
    assert {k: r.json[k] for k in ("kind", "filename", "content_type", "size")} == {
        "kind": "order", "filename": "PO-118.pdf", "content_type": "application/pdf", "size": len(PDF)}
    detail = world.call("applicant1", "GET", f"/applications/{application['id']}", language="zh").json
    assert [d["id"] for d in detail["documents"]] == [r.json["id"]]
    assert detail["timeline"][-1]["kind"] == "document_added" and detail["timeline"][-1]["text"] == "已添加材料：采购订单"

    download = world.call("applicant1", "GET", f"/applications/{application['id']}/documents/{r.json['id']}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "PO-118.pdf" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_a_documents_name_ends_with_the_type_its_bytes_are_and_hides_no_direction_characters(world):
    """A PDF was kept as `report.html` (its first line `%PDF-1.4 <script>…`) or as `合同<U+202E>gpj.exe` (read
    `合同exe.jpg`), and the funder's reviewer saved it under that name: opened from disk, the first ran as a web page.
    The name keeps what it says and ends with the type the platform judged; the download says the same name."""
    application = world.draft()
    for sent, kept in (("report.html", "report.html.pdf"), ("合同\u202egpj.exe", "合同gpj.exe.pdf"),
                       ("../../etc/passwd", "passwd.pdf"), ("扫描件.PDF", "扫描件.PDF"), ("订单.pdf", "订单.pdf")):
        r = world.attach(application["id"], filename=sent)
        assert r.status_code == 201 and r.json["filename"] == kept, (sent, r.json)
        download = world.call("applicant1", "GET", f"/applications/{application['id']}/documents/{r.json['id']}")
        assert "%E2%80%AE" not in download.headers["Content-Disposition"].upper()  # U+202E, as the header writes it
        assert download.headers["Content-Disposition"].endswith((".pdf", ".PDF")), download.headers


@pytest.mark.parametrize(("content", "kind", "filename", "field"), [
    (EXE, "order", "order.pdf", "file"),  # an executable named like a PDF
    (b"", "order", "order.pdf", "file"),
    (PDF, "passport", "order.pdf", "kind"),
    (PDF, "", "order.pdf", "kind"),
])
def test_a_wrong_document_is_422_naming_the_field(world, app, content, kind, filename, field):
    application = world.draft()
    r = world.attach(application["id"], content, kind, filename)
    assert r.status_code == 422 and field in error(r)["fields"], r.json
    assert count(app, ApplicationDocument) == 0


def _zipped(**parts: str) -> bytes:
    from io import BytesIO
    from zipfile import ZipFile

    out = BytesIO()
    with ZipFile(out, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name.replace("__", "/"), text)
    return out.getvalue()


XLSX = _zipped(**{"[Content_Types].xml": "<Types/>", "xl__workbook.xml": "<workbook/>"})
DOCX = _zipped(**{"[Content_Types].xml": "<Types/>", "word__document.xml": "<document/>"})
ONLY = "Not an accepted document type: PDF, PNG, JPEG, XLSX or DOCX."


def test_an_application_document_is_a_pdf_an_image_or_an_office_file_never_a_text_or_an_archive(world, app):
    application = world.draft()
    for content, name in ((b"Invoice 42: 100,000.00 yuan\n", "invoice.txt"), (b"no,amount\n1,100\n", "invoice.csv"),
                          (_zipped(a="b"), "invoices.zip")):  # the text file was accepted as an invoice
        r = world.attach(application["id"], content, "invoice", name)
        assert r.status_code == 422 and error(r)["fields"] == {"file": [ONLY]}, (name, r.json)
    zh = world.client.post(f"{API}/applications/{application['id']}/documents",
                           headers={**world.headers["applicant1"], "Accept-Language": "zh"},
                           data={"kind": "invoice", "file": (_stream(b"text"), "invoice.txt")},
                           content_type="multipart/form-data")
    assert error(zh)["fields"] == {"file": ["不支持的文件类型：仅接受 PDF、PNG、JPEG、XLSX 或 DOCX。"]}
    assert count(app, ApplicationDocument) == 0
    for content, name, kind in ((XLSX, "statements.xlsx", "financial_statements"), (DOCX, "licence.docx", "other"),
                                (PDF, "invoice.pdf", "invoice")):
        assert world.attach(application["id"], content, kind, name).status_code == 201, name
    assert count(app, ApplicationDocument) == 3


def test_a_zip_that_only_claims_to_be_an_office_file_or_unpacks_too_far_is_refused(world, app):
    """A ZIP whose first parts are an office file's (`[Content_Types].xml`) and which holds no workbook or document
    was kept as an XLSX or a DOCX; one that declares gigabytes unpacked is refused before anything is unpacked."""
    from tests.integration.test_upload_archives import FAKE_DOCX, FAKE_XLSX, PLAIN, bomb

    application = world.draft()
    for content, name in ((FAKE_XLSX, "statements.xlsx"), (FAKE_DOCX, "licence.docx"), (PLAIN, "statements.xlsx")):
        r = world.attach(application["id"], content, "financial_statements", name)
        assert r.status_code == 422 and error(r)["fields"] == {"file": [ONLY]}, (name, r.json)
    zh = world.client.post(f"{API}/applications/{application['id']}/documents",
                           headers={**world.headers["applicant1"], "Accept-Language": "zh"},
                           data={"kind": "other", "file": (_stream(bomb()), "statements.xlsx")},
                           content_type="multipart/form-data")
    assert zh.status_code == 413 and "解压后超过 200 MiB" in error(zh)["message"], zh.json
    assert count(app, ApplicationDocument) == 0
    assert world.attach(application["id"], XLSX, "financial_statements", "statements.xlsx").status_code == 201


def test_an_orders_due_date_more_than_three_years_ahead_is_refused(world, app):
    """An order due 2099-12-31 was taken (and the core enterprise's form confirmed one due in 2126)."""
    from flask_babel import force_locale

    from app.services.workflow.forms import validate_submission

    for due in ("2029-12-01", "2099-12-31"):  # today is 2026-11-30: at most 2029-11-30
        details = {**ORDER["details"], "order_due_date": due}
        for language, said in (("en", "A date (YYYY-MM-DD), today or later, at most 3 years ahead (2029-11-30)."),
                               ("zh", "请填写今天或之后、3 年以内（不晚于 2029-11-30）的日期（YYYY-MM-DD）。")):
            r = world.call("applicant1", "POST", "/applications", {**ORDER, "details": details}, language=language)
            assert r.status_code == 422 and error(r)["fields"] == {"details.order_due_date": [said]}, r.json
    details = {**ORDER["details"], "order_due_date": "2029-11-30"}
    assert world.call("applicant1", "POST", "/applications", {**ORDER, "details": details}).status_code == 201

    form = json.loads((ROOT / "forms" / "confirm-receivable.json").read_text())
    answer = {"decision": "confirm", "confirmed_amount": "550000.00", "collection_account": "6222 0210 0100 8888"}
    with app.test_request_context(), force_locale("zh"):
        with pytest.raises(Invalid) as refused:
            validate_submission(form, {**answer, "due_date": "2029-12-01"})
        assert [str(m) for m in refused.value.fields["due_date"]] == ["须在今天起 3 年内：不晚于 2029-11-30。"]
        validate_submission(form, {**answer, "due_date": "2029-11-30"})


def test_a_request_without_a_file_is_422(world):
    application = world.draft()
    r = world.client.post(f"{API}/applications/{application['id']}/documents", headers=world.headers["applicant1"],
                          data={"kind": "order"}, content_type="multipart/form-data")
    assert r.status_code == 422 and error(r)["fields"] == {"file": ["missing"]}


@pytest.fixture
def small_documents(app):
    before = app.config["MAX_DOCUMENT_BYTES"]
    app.config["MAX_DOCUMENT_BYTES"] = 1024
    yield
    app.config["MAX_DOCUMENT_BYTES"] = before


def test_a_document_too_large_is_413(world, app, small_documents):
    application = world.draft()
    r = world.attach(application["id"], PDF + b"%" * 2048)
    assert r.status_code == 413, r.json
    assert error(r)["code"] == "document_too_large"
    assert count(app, ApplicationDocument) == 0


def test_only_the_borrower_attaches_and_only_while_editable(world):
    submitted = world.submitted()
    assert world.attach(submitted["id"]).status_code == 409  # in review: nothing more to attach
    assert world.attach(submitted["id"], who="signer1").status_code == 403  # a party reads, never attaches


# -- submitting, the deal's progress, withdrawing ------------------------------------------------

def test_submit_needs_the_products_documents(world, app):
    application = world.draft()
    r = world.call("applicant1", "POST", f"/applications/{application['id']}/submit")
    assert r.status_code == 422 and "documents" in error(r)["fields"], r.json
    assert count(app, ProcessInstance) == 0
    assert world.call("applicant1", "GET", f"/applications/{application['id']}").json["status"] == "draft"


def test_an_application_names_the_account_the_funds_go_to_and_only_its_borrower_and_funder_read_it(world, app):
    """Finance typed any account into the release form and the money went there: the borrower names it now."""
    no_account = {k: v for k, v in ORDER["details"].items() if k not in ("payee_account", "payee_bank")}
    application = world.draft(details=no_account)  # a draft may leave it for later
    assert world.attach(application["id"]).status_code == 201
    r = world.call("applicant1", "POST", f"/applications/{application['id']}/submit")
    assert r.status_code == 422 and set(error(r)["fields"]) == {"details.payee_account", "details.payee_bank"}, r.json
    assert count(app, ProcessInstance) == 0
    bad = world.call("applicant1", "PATCH", f"/applications/{application['id']}", {
        "details": {**no_account, "payee_account": "62-22", "payee_bank": "x"}})
    assert bad.status_code == 422 and set(error(bad)["fields"]) == {"details.payee_account", "details.payee_bank"}
    fixed = world.call("applicant1", "PATCH", f"/applications/{application['id']}", {
        "details": {**no_account, "payee_account": "6222  0210 0100 7777 ", "payee_bank": "招商银行上海分行"}})
    assert fixed.status_code == 200 and fixed.json["details"]["payee_account"] == "6222 0210 0100 7777"
    r = world.call("applicant1", "POST", f"/applications/{application['id']}/submit")
    assert r.status_code == 200, r.json
    with app.app_context():
        from app.services.origination import deal_views

        row = db.session.get(Application, application["id"])
        sees = {who: deal_views.view(identity.principal_for(who), row, "zh")["details"] for who in
                ("applicant1", "reviewer1", "signer1")}
        db.session.remove()
    assert sees["applicant1"]["payee_account"] == sees["reviewer1"]["payee_account"] == "6222 0210 0100 7777"
    assert "payee_account" not in sees["signer1"] and "payee_bank" not in sees["signer1"]  # not the core's
    # nor over the process instance API, which gave the deal's data and its start event whole to every party
    instance_id = db_instance_of(app, application["id"])
    for path in (f"/process-instances/{instance_id}", f"/process-instances/{instance_id}/events",
                 "/process-instances?per_page=100"):
        for who, reads in (("signer1", False), ("applicant1", True), ("reviewer1", True)):
            body = json.dumps(world.call(who, "GET", path).json, ensure_ascii=False)
            assert ("0210 0100 7777" in body) is reads and ("招商银行上海分行" in body) is reads, (who, path)


def db_instance_of(app, application_id: int) -> int:
    with app.app_context():
        instance_id = db.session.get(Application, application_id).instance_id
        db.session.remove()
    return int(instance_id)


def test_each_other_party_reads_its_part_of_the_deals_papers_not_the_loan_contract_or_the_funders_reasons(world, app):
    """The warehouse downloaded the borrower-funder loan contract, and the core enterprise read why the funder
    declined the borrower: each now reads its part (the core enterprise the order, the invoices and the contract it
    signs), the borrower, the funder and the platform everything."""
    submitted = world.submitted()
    with app.app_context():
        row = db.session.get(Application, submitted["id"])
        row.details = {**row.details, "warehouse": "WH1"}  # a party by its details, as a pledge names its warehouse
        row.reason = "Sales history too thin"
        for kind in ("signed_contract", "warehouse_receipt", "financial_statements"):
            db.session.add(ApplicationDocument(application_id=row.id, kind=kind, filename=f"{kind}.pdf",
                                               content_type="application/pdf", size=len(PDF), content=PDF,
                                               sha256=hashlib.sha256(PDF).hexdigest()))
        db.session.commit()
        ids = {d.kind: d.id for d in db.session.scalars(select(ApplicationDocument).where(
            ApplicationDocument.application_id == row.id))}
        db.session.remove()
    kinds = {who: sorted(d["kind"] for d in world.call(who, "GET", f"/applications/{submitted['id']}").json["documents"])
             for who in ("applicant1", "reviewer1", "signer1")}
    assert kinds["applicant1"] == kinds["reviewer1"] == sorted(ids)
    assert kinds["signer1"] == ["order", "signed_contract"]
    assert world.call("signer1", "GET", f"/applications/{submitted['id']}/documents/{ids['financial_statements']}"
                      ).status_code == 404
    with app.app_context():  # a pledge's warehouse (bound at submission; here by its details)
        row = db.session.get(Application, submitted["id"])
        warehouse = identity.principal_for("warehouse1")
        assert applications.readable_kinds(warehouse, row) == {"warehouse_receipt", "registration_certificate",
                                                              "appraisal_report"}
        db.session.remove()
    read = {who: world.call(who, "GET", f"/applications/{submitted['id']}").json for who in ("signer1", "reviewer1")}
    assert read["signer1"]["reason"] is None and "payee_account" not in read["signer1"]["details"]
    assert read["reviewer1"]["reason"] == "Sales history too thin" and read["reviewer1"]["details"]["payee_account"]


def test_submit_starts_the_deal_and_the_timeline_says_who_is_awaited(world, app):
    submitted = world.submitted()
    assert (submitted["status"], submitted["stage"]) == ("in_review", "core_confirmation")
    assert submitted["submitted_at"] is not None
    with app.app_context():
        instance = db.session.get(ProcessInstance, db.session.get(Application, submitted["id"]).instance_id)
        assert instance.business_key == submitted["number"]
        db.session.remove()
    kinds = [(e["kind"], e["stage"], e["by_party"]) for e in submitted["timeline"]]
    assert kinds[-3:] == [("submitted", "intake", "borrower"), ("stage", "core_confirmation", "platform"),
                          ("waiting", "core_confirmation", "core_enterprise")]
    assert submitted["timeline"][-1]["text"] == "Waiting for the core enterprise to confirm the order"
    zh = world.call("applicant1", "GET", f"/applications/{submitted['id']}", language="zh").json["timeline"]
    assert [e["text"] for e in zh[-3:]] == ["申请已提交", "已请核心企业确认订单", "等待核心企业确认订单"]
    assert not any(re.search(r"[A-Za-z]", e["text"]) for e in zh), zh  # no code, no English

    # every party of the deal reads it now; the core enterprise without the funder's data
    assert world.call("signer1", "GET", f"/applications/{submitted['id']}").status_code == 200
    assert "risk" not in world.call("signer1", "GET", f"/applications/{submitted['id']}").json
    assert world.call("reviewer1", "GET", f"/applications/{submitted['id']}").json["risk"] is None
    assert world.call("reviewer2", "GET", f"/applications/{submitted['id']}").status_code == 404  # not its deal
    assert world.call("applicant1", "POST", f"/applications/{submitted['id']}/submit").status_code == 409


def test_the_funder_and_the_platform_read_the_risk_summary_and_the_borrower_never(world, app):
    submitted = world.submitted()
    with app.app_context():
        db.session.add(RiskReport(business_key=submitted["number"], report_id="RPT-1", provider="simulator",
                                  subject="91350100M000100Y43", score=712, grade="B", blacklisted=False,
                                  report={"hits": []}, created_at=service_clock.now()))
        db.session.commit()
        db.session.remove()
    summary = {"score": 712, "grade": "B", "blacklisted": False, "report_id": "RPT-1"}
    assert world.call("reviewer1", "GET", f"/applications/{submitted['id']}").json["risk"] == summary
    assert world.call("operator", "GET", f"/applications/{submitted['id']}").json["risk"] == summary
    for who in ("applicant1", "signer1"):
        body = world.call(who, "GET", f"/applications/{submitted['id']}").json
        assert "risk" not in body and "RPT-1" not in str(body), who


def test_a_confirmed_order_is_approved_within_the_advance_cap_and_the_timeline_says_why(world):
    submitted = world.submitted()
    task = world.open_task(submitted["id"])
    r = world.call("signer1", "POST", f"/tasks/{task.id}/complete",
                   {"data": {"decision": "confirm", "confirmed_amount": "550000.00"}})
    assert r.status_code == 200, r.json
    done = world.call("applicant1", "GET", f"/applications/{submitted['id']}").json
    assert (done["status"], done["stage"], done["approved_amount"]) == ("approved", "decided", "440000.00")
    assert done["decided_at"] is not None
    texts = [e["text"] for e in done["timeline"]]
    assert "The amount is limited to ¥440,000.00: the confirmed receivable ¥550,000.00 × 80% = ¥440,000.00" in texts
    assert texts[-1] == ("Approved for ¥440,000.00, less than the ¥500,000.00 the reviewers proposed, limited by "
                         "the collateral's cap")
    assert not any(e["kind"] == "waiting" for e in done["timeline"])
    zh = [e["text"] for e in world.call("applicant1", "GET", f"/applications/{submitted['id']}",
                                        language="zh").json["timeline"]]
    assert "金额上限为 ¥440,000.00：确认的应收账款 ¥550,000.00 × 80% = ¥440,000.00" in zh
    assert zh[-1] == "已批准，金额 ¥440,000.00，低于审批人提议的 ¥500,000.00，受限于押品可贷上限"
    # the core enterprise reads the amounts, not the funder's advance rate nor what its reviewers proposed
    core = [e["text"] for e in world.call("signer1", "GET", f"/applications/{submitted['id']}",
                                          language="zh").json["timeline"]]
    assert "金额上限为 ¥440,000.00" in core and core[-1] == "已批准，金额 ¥440,000.00", core
    assert not any("80%" in text or "¥500,000.00" in text for text in core), core
    assert world.call("applicant1", "POST", f"/applications/{submitted['id']}/withdraw").status_code == 409


def test_a_dispute_rejects_the_application_with_its_reason(world):
    submitted = world.submitted()
    task = world.open_task(submitted["id"])
    r = world.call("signer1", "POST", f"/tasks/{task.id}/complete",
                   {"data": {"decision": "dispute", "reason": "No such order"}})
    assert r.status_code == 200, r.json
    done = world.call("applicant1", "GET", f"/applications/{submitted['id']}").json
    assert (done["status"], done["reason"], done["approved_amount"]) == ("rejected", "No such order", None)
    assert done["timeline"][-1]["text"] == "The application was rejected: No such order"
    zh = world.call("applicant1", "GET", f"/applications/{submitted['id']}", language="zh").json
    assert zh["timeline"][-1]["text"] == "申请已被拒绝，原因：No such order"


def test_a_returned_application_is_changed_and_the_timeline_says_what_is_asked(world, app):
    submitted = world.submitted()
    with app.app_context():
        decisions.set_stage(submitted["number"], None, "supplement", "returned", "Send the invoice too")
        db.session.commit()
        db.session.remove()
    returned = world.call("applicant1", "GET", f"/applications/{submitted['id']}").json
    assert (returned["status"], returned["reason"]) == ("returned", "Send the invoice too")
    assert returned["timeline"][-2]["text"] == "The funder returned the application and asks for: Send the invoice too"
    assert returned["timeline"][-1]["kind"] == "waiting"  # the diagram's task is still open
    patched = world.call("applicant1", "PATCH", f"/applications/{submitted['id']}", {"purpose": "Steel, invoiced"})
    assert patched.status_code == 200 and patched.json["purpose"] == "Steel, invoiced"
    assert world.attach(submitted["id"], kind="invoice").status_code == 201


def test_withdraw_cancels_the_open_tasks_keeps_the_history_and_the_borrower_resubmits(world, app):
    submitted = world.submitted()
    first_instance = world.open_task(submitted["id"]).instance_id
    r = world.call("applicant1", "POST", f"/applications/{submitted['id']}/withdraw")
    assert r.status_code == 200, r.json
    assert (r.json["status"], r.json["stage"]) == ("withdrawn", None)
    assert r.json["timeline"][-1]["text"] == "The borrower withdrew the application"
    assert count(app, HumanTask, HumanTask.instance_id == first_instance, HumanTask.state.in_(("ready", "claimed"))) == 0
    again = world.call("applicant1", "POST", f"/applications/{submitted['id']}/withdraw")
    assert again.status_code == 409 and error(again)["code"] == "status_withdrawn"
    assert world.call("applicant1", "DELETE", f"/applications/{submitted['id']}").status_code == 409

    assert world.call("applicant1", "PATCH", f"/applications/{submitted['id']}", {"amount": "300000.00"}).status_code == 200
    resubmitted = world.call("applicant1", "POST", f"/applications/{submitted['id']}/submit")
    assert resubmitted.status_code == 200, resubmitted.json
    assert (resubmitted.json["status"], resubmitted.json["amount"]) == ("in_review", "300000.00")
    kinds = [e["kind"] for e in resubmitted.json["timeline"]]
    assert kinds.count("submitted") == 1 and kinds.count("resubmitted") == 1 and "withdrawn" in kinds
    assert world.open_task(submitted["id"]).instance_id != first_instance
    assert count(app, ProcessInstance, ProcessInstance.business_key == submitted["number"]) == 2


def test_a_task_the_borrowers_withdrawal_cancelled_says_so(world, app):
    """The party whose open task the withdrawal cancelled read "此任务已被他人更改" (or "此任务已撤销"), as if a colleague
    had done it: the task says the borrower withdrew the application, over the API and on its page."""
    from tests.integration.test_identity import set_password, sign_in

    submitted = world.submitted()
    task = world.open_task(submitted["id"])
    assert world.call("signer1", "POST", f"/tasks/{task.id}/claim").status_code == 200
    assert world.call("applicant1", "POST", f"/applications/{submitted['id']}/withdraw").status_code == 200
    answer = {"data": {"decision": "confirm", "confirmed_amount": "550000.00"}}
    for language, said in (("en", "The borrower withdrew the application; this task was cancelled."),
                           ("zh", "借款人已撤回申请，此任务已取消。")):
        r = world.call("signer1", "POST", f"/tasks/{task.id}/complete", answer, language=language)
        assert r.status_code == 409 and error(r)["message"] == said, r.json
        assert error(r)["code"] == "task_cancelled"
    set_password(app, "signer1")
    for language, said in (("en", "The borrower withdrew the application; this task was cancelled."),
                           ("zh-CN", "借款人已撤回申请，此任务已取消。")):
        browser = app.test_client()
        sign_in(browser, "signer1")
        page = browser.get(f"/tasks/{task.id}", headers={"Accept-Language": language})
        assert said in page.text, language


def test_the_timelines_lines_keep_the_order_they_were_written_in_time_as_well(world, app):
    """The step that records "waiting for the core enterprise" opened the task at its start, a few milliseconds
    before its stage line was written: the waiting line read earlier than the line above it, and a reader sorting
    by time (then by place) put it first. Each line is no earlier than the one above it."""
    from datetime import timedelta

    from app.models import ApplicationEvent

    submitted = world.submitted()
    with app.app_context():  # as a real clock has it: the task's row a few ms before the line the step wrote
        stage = db.session.scalar(select(ApplicationEvent).where(ApplicationEvent.application_id == submitted["id"])
                                  .order_by(ApplicationEvent.id.desc()).limit(1))
        task = db.session.scalar(select(HumanTask).where(HumanTask.state == "ready"))
        task.created_at = stage.at - timedelta(milliseconds=4)
        db.session.commit()
        db.session.remove()
    lines = world.call("applicant1", "GET", f"/applications/{submitted['id']}").json["timeline"]
    assert lines[-1]["kind"] == "waiting"
    ordered = sorted(range(len(lines)), key=lambda i: (lines[i]["at"], i))
    assert ordered == list(range(len(lines))), [(e["at"], e["kind"]) for e in lines]


def test_an_instances_history_reads_by_time_then_as_written(world, app):
    """A step that began first and committed last wrote its events after another's: the history read them by
    when they were written to the table, not by when they happened."""
    from datetime import timedelta

    from app.models import InstanceEvent

    submitted = world.submitted()
    instance_id = world.open_task(submitted["id"]).instance_id
    with app.app_context():
        last = db.session.scalar(select(InstanceEvent).where(InstanceEvent.instance_id == instance_id)
                                 .order_by(InstanceEvent.id.desc()).limit(1))
        last.at = last.at - timedelta(seconds=5)  # its step began before the others
        db.session.commit()
        db.session.remove()
    events = world.call("admin", "GET", f"/process-instances/{instance_id}/events").json
    events = events["items"] if isinstance(events, dict) else events
    ats = [e["at"] for e in events]
    assert ats == sorted(ats), ats


def test_a_draft_cannot_be_withdrawn(world):
    draft = world.draft()
    r = world.call("applicant1", "POST", f"/applications/{draft['id']}/withdraw")
    assert r.status_code == 409 and error(r)["code"] == "status_draft"


# -- races over real HTTP ------------------------------------------------------------------------

ROUNDS = 3


def test_two_submits_at_once_start_one_deal(world, app, served):
    token = world.headers["applicant1"]["Authorization"].split(" ", 1)[1]
    for _ in range(ROUNDS):
        application = world.draft()
        assert world.attach(application["id"]).status_code == 201
        path = f"{API}/applications/{application['id']}/submit"
        answers = race_requests(served, [(path, token), (path, token)])
        assert statuses(answers) == [200, 409], answers
        (loser,) = [body for status, body in answers if status == 409]
        assert loser["error"]["code"] == "status_in_review", answers
        assert count(app, ProcessInstance, ProcessInstance.business_key == application["number"]) == 1
        assert count(app, HumanTask, HumanTask.element_id == "confirm_receivable",
                     HumanTask.instance_id.in_(select(ProcessInstance.id).where(
                         ProcessInstance.business_key == application["number"]))) == 1


def test_two_withdraws_at_once_withdraw_once(world, app, served):
    token = world.headers["applicant1"]["Authorization"].split(" ", 1)[1]
    for _ in range(ROUNDS):
        submitted = world.submitted()
        path = f"{API}/applications/{submitted['id']}/withdraw"
        answers = race_requests(served, [(path, token), (path, token)])
        assert statuses(answers) == [200, 409], answers
        (winner,) = [body for status, body in answers if status == 200]
        assert winner["status"] == "withdrawn"
        body = world.call("applicant1", "GET", f"/applications/{submitted['id']}").json
        assert [e["kind"] for e in body["timeline"]].count("withdrawn") == 1


def test_a_withdrawal_racing_a_task_says_so_to_the_task_that_lost(world, app, served):
    """A completion that lost to the withdrawal read "此任务已被他人更改" (the task changed in the meantime); on
    PostgreSQL the two could wait on each other (the withdrawal locked the application then the tasks, the
    completion its task then the application) and one ended in a 500."""
    def bearer(who: str) -> dict[str, str]:
        return {**world.headers[who], "Content-Type": "application/json", "Accept-Language": "zh"}

    answer = json.dumps({"data": {"decision": "confirm", "confirmed_amount": "550000.00"}}).encode()
    for _ in range(ROUNDS):
        submitted = world.submitted()
        task = world.open_task(submitted["id"])
        assert world.call("signer1", "POST", f"/tasks/{task.id}/claim").status_code == 200
        completion, withdrawal = race_posts(served, [(f"{API}/tasks/{task.id}/complete", bearer("signer1"), answer),
                                                     (f"{API}/applications/{submitted['id']}/withdraw",
                                                      bearer("applicant1"), b"{}")])
        if withdrawal[0] == 200:
            assert completion[0] == 409 and completion[1]["error"]["message"] == "借款人已撤回申请，此任务已取消。", (
                completion)
        else:  # the completion first: the deal is decided, too late to withdraw (on PostgreSQL it was a deadlock, 500)
            assert (completion[0], withdrawal[0]) == (200, 409), (completion, withdrawal)


def test_every_timeline_sentence_reads_in_chinese_without_a_latin_word(app):
    """Each sentence the timeline can say has its Chinese: an entry missing from messages.po would
    show the English (and the page sweep would find a Latin word)."""
    from flask_babel import force_locale

    from app.services.origination import timeline

    sentences = [*timeline.EVENT_TEXTS.values(), *timeline.STAGE_TEXTS.values(), *timeline.TASK_TEXTS.values(),
                 *timeline.WAITING_FOR_PARTY.values(), timeline.WAITING, *timeline.DOCUMENT_NAMES.values(),
                 *timeline.SIGNING_PARTIES.values()]
    with app.test_request_context(), force_locale("zh"):
        untranslated = [s for s in sentences if re.search(r"[A-Za-z]", timeline._(s))]
    assert untranslated == []
    # a stage the diagrams record has words (origination's, then signing's and disbursement's)
    assert set(decisions.STAGES) <= set(timeline.STAGE_TEXTS) <= set(decisions.STAGES) | set(deals.STAGES)
    assert {"identity_verification", "contract_signing", "registration"} <= set(timeline.STAGE_TEXTS)


# -- the shipped diagrams ------------------------------------------------------------------------

def test_the_timeline_follows_a_deal_through_the_shipped_diagrams(app, client, runner, admin_token, clock):
    """processes/ as shipped: the order's confirmation, the risk check, the first review's return; the
    timeline names who is awaited at each step, and only the funder reads the risk report."""
    from tests.integration.origination_support import deploy_shipped, order_application, seed_parties

    business_day(clock, date(2026, 11, 30))
    deploy_shipped(app, runner)
    with app.app_context():
        seed_parties()
        headers = {name: {"Authorization": f"Bearer {identity.issue_token(name)}"}
                   for name in ("app1", "signer1", "rev1")}
        db.session.commit()
        db.session.remove()
    shipped = World(app, client, headers)

    application = shipped.call("app1", "POST", "/applications", order_application()).json
    submitted = shipped.call("app1", "POST", f"/applications/{application['id']}/submit")
    assert submitted.status_code == 200, submitted.json
    assert submitted.json["timeline"][-1]["text"] == "Waiting for the core enterprise to confirm the order"

    task = shipped.open_task(application["id"])
    assert task.element_id == "confirm_receivable"
    shipped.call("signer1", "POST", f"/tasks/{task.id}/complete", {"data": {
        "decision": "confirm", "confirmed_amount": "600000.00", "due_date": "2027-05-31",
        "collection_account": "6222 0210 0100 8888"}})
    in_review = shipped.call("app1", "GET", f"/applications/{application['id']}").json
    assert in_review["stage"] == "first_review" and "risk" not in in_review
    assert in_review["timeline"][-1]["text"] == "Waiting for the funder's first review"
    risk = shipped.call("rev1", "GET", f"/applications/{application['id']}").json["risk"]
    assert set(risk) == {"score", "grade", "blacklisted", "report_id"} and risk["blacklisted"] is False

    task = shipped.open_task(application["id"])
    r = shipped.call("rev1", "POST", f"/tasks/{task.id}/complete",
                     {"data": {"decision": "return", "reason": "Attach the last three invoices"}})
    assert r.status_code == 200, r.json
    returned = shipped.call("app1", "GET", f"/applications/{application['id']}", language="zh").json
    assert returned["status"] == "returned"
    texts = [e["text"] for e in returned["timeline"]]
    assert texts[-2:] == ["资金方已退回申请，要求补充：Attach the last three invoices", "等待借款人按资金方要求补充资料"]
    assert not any(re.search(r"[A-Za-z]", t) for t in texts[:-2]), texts
