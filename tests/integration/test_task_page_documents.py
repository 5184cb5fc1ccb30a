"""A task page names the files of its deal: an earlier step's uploaded file by its name, linked (not
the `document:<id>` its form keeps), and each document's kind in the reader's language. The demo's
deal with funds to release (`seed demo`: its pledge registered with a certificate, finance's
`release_funds` next in the same instance) is the case: the registration's answers are among the
earlier decisions of finance's task."""
from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import Document, HumanTask
from tests.integration.origination_support import deploy_shipped
from tests.integration.test_identity import set_password, sign_in


def release_funds_page(app, client, runner, language: str) -> tuple[str, Document]:
    deploy_shipped(app, runner)
    assert runner.invoke(args=["seed", "demo"]).exit_code == 0
    with app.app_context():
        task = db.session.scalar(select(HumanTask).where(
            HumanTask.element_id == "release_funds", HumanTask.state == "ready"))
        certificate = db.session.scalar(select(Document).where(Document.instance_id == task.instance_id))
        db.session.expunge(certificate)
        task_id = task.id
        db.session.remove()
    set_password(app, "finance1")
    assert sign_in(client, "finance1").status_code == 302
    page = client.get(f"/tasks/{task_id}", headers={"Accept-Language": language})
    assert page.status_code == 200
    return page.text, certificate


def earlier_field(page: str, name: str) -> str:
    block = re.search(r'<section class="card" id="earlier-tasks">(.*?)</section>', page, re.S).group(1)
    return re.search(rf'<dd data-field="{name}">(.*?)</dd>', block, re.S).group(1)


def test_an_earlier_steps_file_is_shown_by_its_name_and_each_documents_kind_in_chinese(app, client, runner):
    page, certificate = release_funds_page(app, client, runner, "zh-CN")
    assert certificate.kind == "pdf"
    link = f'<a href="/documents/{certificate.id}"><span translate="no">{certificate.filename}</span></a>'
    assert earlier_field(page, "certificate") == link
    assert "document:" not in page
    assert f"{link} (PDF, {certificate.size} B)" in page


def test_in_english_too(app, client, runner):
    page, certificate = release_funds_page(app, client, runner, "en")
    assert earlier_field(page, "certificate") == (
        f'<a href="/documents/{certificate.id}"><span translate="no">{certificate.filename}</span></a>')
    assert "document:" not in page


def test_a_deal_paid_off_early_says_so_beside_its_short_schedule(app, client, runner):
    """The demo's APP-2026-0015 was settled early: its page said 期限 6 个月 and showed a one-line schedule
    without saying why."""
    from app.models import Application

    deploy_shipped(app, runner)
    assert runner.invoke(args=["seed", "demo"]).exit_code == 0
    with app.app_context():
        row = db.session.scalar(select(Application).where(Application.status == "closed"))
        application_id = row.id
        db.session.remove()
    set_password(app, "applicant1")
    assert sign_in(client, "applicant1").status_code == 302
    page = client.get(f"/applications/{application_id}", headers={"Accept-Language": "zh-CN"}).text
    said = re.search(r'<p id="loan-settled">(.*?)</p>', page, re.S)
    assert said, page[page.find('id="loan"'):][:2000]
    text = " ".join(said.group(1).split())
    assert re.fullmatch(r"已于 \d{4}-\d{2}-\d{2} 全部结清。 系提前结清：下方还款计划取代了原定的 6 期还款计划。", text), text
