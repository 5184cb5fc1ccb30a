# ruff: noqa: F811  (the `people` and `forms_folder` fixtures come from test_camunda_user_tasks)
"""A Camunda form's lists worked through the inbox (issue 17): a checklist (several choices ticked), a
taglist whose choices the process gives, a file picker (several files, each kept as a document) and a
dynamic list (a table of rows) — refused at deploy before ("sets a list"). The task page in Chinese, a
posting through the page and through the API, and the answers read back by label and file name."""
from __future__ import annotations

import base64
import io
import json

from app.extensions import db
from app.models import HumanTask, ProcessInstance
from app.services.identity.directory import principal_for
from app.services.workflow import documents, tasks
from app.services.workflow.deployment import deploy_and_commit
from tests.integration.test_camunda_user_tasks import (  # noqa: F401 - people and forms_folder are fixtures
    _group_rows,
    _start,
    camunda_forms_file,
    forms_folder,
    people,
)
from tests.integration.test_disbursement_stage import outside, signed_in_client
from tests.integration.test_identity import set_password
from tests.integration.test_simulators import csrf_of

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

CHECKS_FORM = {"id": "checks", "components": [
    {"key": "checks", "label": "Checks done", "type": "checklist", "validate": {"required": True},
     "values": [{"label": "Invoice matches the order", "value": "invoice"},
                {"label": "Contract signed", "value": "contract"}, {"label": "Goods inspected", "value": "goods"}]},
    {"key": "tags", "label": "Tags", "type": "taglist", "valuesKey": "known_tags"},
    {"key": "scans", "label": "Scans", "type": "filepicker", "accept": ".pdf", "multiple": True},
    {"type": "dynamiclist", "path": "goods", "label": "Goods", "components": [
        {"key": "name", "label": "Name", "type": "textfield"},
        {"key": "qty", "label": "Quantity", "type": "number", "decimalDigits": 0}]},
]}


def _deployed(forms_folder) -> int:
    (forms_folder / "checks.form").write_text(json.dumps(CHECKS_FORM), encoding="utf-8")
    deploy_and_commit([camunda_forms_file("camunda-forms:app:checks.form")])
    instance_id = _start("camunda_forms", {"known_tags": [{"value": "urgent", "label": "Urgent"}, "repeat"]})
    return instance_id


def test_a_checklist_files_and_rows_are_asked_on_the_page_and_kept_as_answered(app, forms_folder):
    instance_id = _deployed(forms_folder)
    task_id = _group_rows("rev")[0]["id"]
    set_password(app, "rev")
    browser = outside(lambda: signed_in_client(app, "rev"))  # requests with app contexts of their own

    def get(path: str) -> str:
        return outside(lambda: browser.get(path, headers={"Accept-Language": "zh"})).text

    def post(data: dict) -> tuple[int, str]:
        def posted() -> tuple[int, str]:
            response = browser.post(f"/tasks/{task_id}", data=data, content_type="multipart/form-data",
                                    headers={"Accept-Language": "zh"})
            return response.status_code, response.text  # read inside: the page streams from its own context
        return outside(posted)

    page = get(f"/tasks/{task_id}")
    assert page.count('type="checkbox" name="checks"') == 3 and "Contract signed" in page
    assert 'type="checkbox" name="tags" value="urgent"' in page and "> Urgent</label>" in page
    assert 'type="file" name="scans" multiple>' in page and 'name="goods.0.qty"' in page

    none_ticked = post({"csrf_token": csrf_of(page)})
    assert none_ticked[0] == 422 and "至少选择 1 项。" in none_ticked[1]
    for row in ("²", "１"):  # digits str.isdigit() takes and int() refuses or reads: no row, no 500
        odd_row = post({"csrf_token": csrf_of(page), f"goods.{row}.name": "Steel coil", f"goods.{row}.qty": "12"})
        assert odd_row[0] == 422 and "至少选择 1 项。" in odd_row[1], odd_row

    wrong_file = {"csrf_token": csrf_of(page), "checks": ["invoice", "goods"],
                  "scans": [(io.BytesIO(PDF), "invoice.pdf"), (io.BytesIO(PNG), "photo.png")]}
    refused = post(wrong_file)
    assert refused[0] == 422 and "此处不接受 PNG 文件" in refused[1]
    assert 'value="goods" checked' in refused[1] and 'value="invoice" checked' in refused[1]  # both kept ticked
    assert db.session.get(HumanTask, task_id).state == "ready"  # nothing was kept

    answer = {"csrf_token": csrf_of(page), "checks": ["invoice", "goods"], "tags": ["repeat"],
              "scans": [(io.BytesIO(PDF), "invoice.pdf"), (io.BytesIO(PDF), "order.pdf")],
              "goods.0.name": "Steel coil", "goods.0.qty": "12"}
    done = post(answer)
    assert done[0] == 302, done[1]
    db.session.expire_all()
    data = db.session.get(ProcessInstance, instance_id).data
    assert (data["checks"], data["tags"], data["goods"]) == (["invoice", "goods"], ["repeat"],
                                                            [{"name": "Steel coil", "qty": 12}])
    kept = documents.instance_documents(principal_for("rev"), instance_id)
    assert sorted(d.filename for d in kept) == ["invoice.pdf", "order.pdf"]
    assert sorted(data["scans"]) == sorted(f"document:{d.id}" for d in kept)

    read_back = get(f"/tasks/{task_id}")  # the completed task's page: its answers as the form asked them
    assert "Invoice matches the order、Goods inspected" in read_back  # by label, in a Chinese list
    assert "invoice.pdf" in read_back and "order.pdf" in read_back and "document:" not in read_back


def test_several_files_through_the_api_each_a_data_url_and_a_wrong_one_changes_nothing(forms_folder):
    instance_id = _deployed(forms_folder)
    task_id = _group_rows("rev")[0]["id"]
    reviewer = principal_for("rev")
    url = "data:application/pdf;name=a.pdf;base64," + base64.b64encode(PDF).decode()
    png = "data:image/png;name=b.png;base64," + base64.b64encode(PNG).decode()
    from app.api.tasks import _uploads
    form, _ui = tasks.task_form(db.session.get(HumanTask, task_id))
    data = {"checks": ["contract"], "scans": [url, url]}
    uploads = _uploads(form, data)
    assert [u.field for u in uploads] == ["scans.0", "scans.1"] and data["scans"] == ["document:pending"] * 2
    refused = {"checks": ["contract"], "scans": [url, png]}
    try:
        tasks.complete_task(task_id, refused, reviewer, _uploads(form, refused))
    except Exception as exc:  # noqa: BLE001 - the refusal is checked below
        assert "scans" in getattr(exc, "fields", {}), exc  # said at the field, not at its second file
    db.session.rollback()
    assert documents.instance_documents(reviewer, instance_id) == []
    tasks.complete_task(task_id, data, reviewer, uploads)
    assert db.session.get(ProcessInstance, instance_id).status == "completed"
    assert len(documents.instance_documents(reviewer, instance_id)) == 2


ROWS_FORM = {"type": "object", "title": "Invoices", "properties": {"invoices": {
    "type": "array", "title": "Invoices", "items": {"type": "object", "properties": {
        "number": {"type": "string", "title": "Number"},
        "scan": {"type": "string", "format": "data-url", "title": "Scan", "accept": ["application/pdf"]}}}}}}


def test_a_file_in_a_tables_row_through_the_api_is_kept_as_a_document_not_as_its_data_url(app, forms_folder):
    """Before, only a top-level file field was decoded: a data URL in a row was kept as it was, in the data."""
    from app.services.identity import directory as identity

    (forms_folder / "rows.json").write_text(json.dumps(ROWS_FORM), encoding="utf-8")
    deploy_and_commit([camunda_forms_file("rows")])
    instance_id = _start("camunda_forms")
    task_id = _group_rows("rev")[0]["id"]
    headers = {"Authorization": f"Bearer {identity.issue_token('rev')}"}
    db.session.commit()
    pdf = "data:application/pdf;name=inv-1.pdf;base64," + base64.b64encode(PDF).decode()
    png = "data:image/png;name=inv-2.png;base64," + base64.b64encode(PNG).decode()
    client = app.test_client()

    def complete(rows: list) -> tuple[int, dict]:
        def posted() -> tuple[int, dict]:
            response = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"invoices": rows}},
                                    headers=headers)
            return response.status_code, response.get_json()
        return outside(posted)

    status, body = complete([{"number": "1", "scan": pdf}, {"number": "2", "scan": png}])
    assert status == 422 and "invoices.1.scan" in str(body), body  # not a PDF: refused at its cell, nothing kept
    assert documents.instance_documents(principal_for("rev"), instance_id) == []
    status, body = complete([{"number": "1", "scan": pdf}, {"number": "2"}])
    assert status == 200, body
    db.session.expire_all()
    (kept,) = documents.instance_documents(principal_for("rev"), instance_id)
    assert kept.filename == "inv-1.pdf" and kept.field == "invoices.0.scan"
    assert db.session.get(ProcessInstance, instance_id).data["invoices"] == [
        {"number": "1", "scan": f"document:{kept.id}"}, {"number": "2"}]


INVOICE_START_HTML = """
<form role="form" name="invoiceForm">
  <label for="creditor">Creditor</label>
  <input id="creditor" cam-variable-name="creditor" cam-variable-type="String" required>
  <label for="amount">Amount</label>
  <input id="amount" cam-variable-name="amount" cam-variable-type="Double" min="0" required>
  <label for="invoiceDocument">Invoice document</label>
  <input id="invoiceDocument" type="file" cam-variable-name="invoiceDocument" cam-variable-type="File"
         cam-max-filesize="10000000" accept=".pdf" required>
  <label for="due">Due</label>
  <input id="due" cam-variable-name="due" cam-variable-type="Date">
</form>"""


def test_camunda_7_s_invoice_form_with_its_file_and_date_is_the_form_the_task_asks(forms_folder):
    """The embedded HTML form of Camunda's own invoice example (a file and a date) was refused at deploy."""
    (forms_folder / "invoice.html").write_text(INVOICE_START_HTML, encoding="utf-8")
    deploy_and_commit([camunda_forms_file("embedded:app:forms/invoice.html")])
    instance_id = _start("camunda_forms")
    task = db.session.get(HumanTask, _group_rows("rev")[0]["id"])
    form, _ui = tasks.task_form(task)
    assert form["properties"]["invoiceDocument"] == {"type": "string", "format": "data-url",
                                                      "accept": ["application/pdf"], "title": "Invoice document"}
    assert form["properties"]["due"]["format"] == "date-time"
    reviewer = principal_for("rev")
    answer = {"creditor": "Great Pizza", "amount": 30.5, "due": "2026-12-24T12:00"}
    png = tasks.Upload("invoiceDocument", "scan.png", PNG)
    try:
        tasks.complete_task(task.id, dict(answer, invoiceDocument="document:pending"), reviewer, [png])
    except Exception as exc:  # noqa: BLE001 - Invalid, checked by what it says
        assert "invoiceDocument" in getattr(exc, "fields", {}), exc
    else:
        raise AssertionError("a PNG was kept where the form takes a PDF")
    db.session.rollback()
    pdf = tasks.Upload("invoiceDocument", "invoice.pdf", PDF)
    tasks.complete_task(task.id, dict(answer, invoiceDocument="document:pending"), reviewer, [pdf])
    data = db.session.get(ProcessInstance, instance_id).data
    (kept,) = documents.instance_documents(reviewer, instance_id)
    assert (data["invoiceDocument"], data["due"], kept.filename) == (f"document:{kept.id}", "2026-12-24T12:00",
                                                                      "invoice.pdf")


REVIEW_FORM = {"id": "review", "components": [
    {"key": "creditor", "label": "Creditor", "type": "textfield"},
    {"key": "amount", "label": "Amount", "type": "number"},
    {"key": "approved", "label": "Approved", "type": "checkbox"},
    {"key": "checks", "label": "Checks done", "type": "checklist",
     "values": [{"label": "Invoice", "value": "invoice"}, {"label": "Contract", "value": "contract"}]},
    {"key": "remark", "label": "Remark", "type": "textarea"},
]}


def test_a_camunda_form_starts_with_the_values_the_instance_holds_as_camundas_tasklist_fills_it(app, forms_folder):
    """Camunda's invoice example: the start form sets creditor and amount, the approval task's form shows them for
    review. The task page showed every field empty, so the approver typed the invoice again (and a slip
    overwrote the data); a field starts with the value the task's data holds under its key, as Camunda fills it."""
    (forms_folder / "review.form").write_text(json.dumps(REVIEW_FORM), encoding="utf-8")
    deploy_and_commit([camunda_forms_file("camunda-forms:app:review.form")])
    _start("camunda_forms", {"creditor": "长江制造集团", "amount": 30, "approved": True, "checks": ["contract"],
                             "secret_note": "not on this form"})
    task_id = _group_rows("rev")[0]["id"]
    set_password(app, "rev")
    browser = outside(lambda: signed_in_client(app, "rev"))
    page = outside(lambda: browser.get(f"/tasks/{task_id}", headers={"Accept-Language": "zh"})).text
    assert 'name="creditor" value="长江制造集团"' in page and 'name="amount" value="30"' in page
    assert '<input type="checkbox" name="approved" checked>' in page
    assert 'value="contract" checked' in page and 'value="invoice" checked' not in page
    assert "not on this form" not in page  # only the form's own fields take values
    answered = outside(lambda: browser.post(f"/tasks/{task_id}", data={"csrf_token": csrf_of(page), "creditor": "长江制造集团",
                                                                       "amount": "30", "approved": "true"}))
    assert answered.status_code == 302
    task = db.session.get(HumanTask, task_id)
    assert task.state == "completed" and db.session.get(ProcessInstance, task.instance_id).data["amount"] == 30
