"""The demo's Camunda example (`examples/camunda-invoice/`): a supplier invoice review drawn in Camunda Modeler,
brought in with its two Camunda Forms files as an analyst brings a project (Deploy files), started on its start
page and reviewed in the inbox — the reviewer sees the supplier and amount the start form set, and the JUEL
condition on the answer picks the end."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.demo import CAMUNDA_EXAMPLE, CAMUNDA_EXAMPLE_PROCESS
from app.extensions import db
from app.models import HumanTask, ProcessInstance
from app.services.identity import directory as identity
from app.services.workflow import file_sets, instances, tasks
from tests.integration.test_disbursement_stage import outside, signed_in_client
from tests.integration.test_identity import set_password
from tests.integration.test_simulators import csrf_of


@pytest.fixture
def example(ctx):
    identity.ensure_platform_admin()
    identity.create_user("ana", "PLATFORM", ["analyst"])
    identity.create_user("op", "PLATFORM", ["operator"])
    db.session.commit()
    files = [(path.name, path.read_bytes()) for path in sorted(CAMUNDA_EXAMPLE.iterdir()) if path.is_file()]
    assert [p for p in file_sets.check(identity.principal_for("ana"), files) if p.severity == "error"] == []
    file_sets.deploy(identity.principal_for("ana"), files)
    return ctx


@pytest.mark.parametrize(("decision", "end"), [("approve", "invoice_approved"), ("return", "invoice_returned")])
def test_the_invoice_is_started_on_its_page_and_reviewed_in_the_inbox(app, example, decision, end):
    set_password(app, "op")
    browser = outside(lambda: signed_in_client(app, "op"))
    page = outside(lambda: browser.get(f"/processes/{CAMUNDA_EXAMPLE_PROCESS}/new-instance",
                                       headers={"Accept-Language": "zh"}).text)
    assert "供应商 *" in page and "发票号码 *" in page and "付款到期日" in page
    started = outside(lambda: browser.post(f"/processes/{CAMUNDA_EXAMPLE_PROCESS}/new-instance", data={
        "csrf_token": csrf_of(page), "business_key": "INV-1", "supplier": "鹏城电子科技有限公司",
        "invoice_number": "4403110588", "amount": "128000.50", "due_date": "2026-12-31"}))
    assert started.status_code == 302, started.text
    db.session.rollback()
    (task,) = db.session.scalars(select(HumanTask).where(HumanTask.element_id == "review_invoice")).all()
    review = outside(lambda: browser.get(f"/tasks/{task.id}", headers={"Accept-Language": "zh"}).text)
    assert 'value="鹏城电子科技有限公司"' in review and "审核结论" in review and "退回供应商" in review
    form, _ui = tasks.task_form(task)
    done = outside(lambda: browser.post(f"/tasks/{task.id}", data={
        "csrf_token": csrf_of(review), "decision": decision, "comment": "核对无误",
        **{k: v for k, v in (("supplier", "鹏城电子科技有限公司"), ("amount", "128000.5")) if k in form["properties"]}}))
    assert done.status_code == 302, done.text
    db.session.rollback()
    (instance,) = db.session.scalars(select(ProcessInstance)).all()
    assert instance.status == "completed"
    assert instance.data["amount"] == "128000.50"  # exact: a number the page read is a Decimal, kept as its digits
    assert instances.start_form(CAMUNDA_EXAMPLE_PROCESS) is not None
    from app.models import InstanceEvent
    events = {e.kind: e.details for e in db.session.scalars(select(InstanceEvent).where(
        InstanceEvent.instance_id == instance.id))}
    assert events["started"]["data"]["amount"] == "128000.50"  # before: a Decimal the history could not hold (500)
    assert end in str(events["completed"]), events["completed"]
