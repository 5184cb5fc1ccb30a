"""A form that asks for several choices and several files, in a real browser and in Chinese (issue 17: the
fields a Camunda form's checklist and file picker became): the page passes the sweep's checks, a wrong file is
refused next to its field with every tick kept, and the answers read back by label and file name."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import FIXTURES
from tests.e2e.conftest import screenshot, sign_in
from tests.e2e.test_pages_a11y import check_page

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c63f8cf00000301010018dd8db00000000049454e44ae426082")


def _deployed(world) -> dict:
    from app.engine.parser import DiagramFile
    from app.extensions import db
    from app.services.workflow.deployment import deploy_and_commit

    with world.server.app.app_context():
        name = "collateral_checks.bpmn"
        deploy_and_commit([DiagramFile(name, (FIXTURES / "bpmn" / name).read_bytes())])
        db.session.remove()
    bank = world.org(f"CK{world.suffix}", ["funder"])
    instance = world.server.api("POST", "/process-instances", json={
        "process_id": "collateral_checks", "business_key": f"CHK-{world.suffix}", "parties": {"funder": bank}})
    return {"bank": bank, "task_id": world.open_task(instance["id"], "check")["id"]}


def test_several_choices_and_files_are_asked_in_chinese_and_read_back_by_label(world, new_page):
    deal = _deployed(world)
    reviewer = world.user("checker", deal["bank"], ["first_reviewer"])
    page = new_page(locale="zh-CN")
    sign_in(page, reviewer, next_path=f"/tasks/{deal['task_id']}")
    form = page.locator("#task-form")
    checks = form.locator("[data-field=checks]")
    expect(checks.locator("legend")).to_have_text("已完成的核查 *")
    expect(checks.get_by_label("合同已签署")).to_be_visible()
    world_names = (": Ltd", ": Platform", ": administrator")  # this world's organisation and admin: data, not words
    problems = [p for p in check_page(page, "collateral-checks-zh") if not p.endswith(world_names)]
    assert problems == [], problems

    checks.get_by_label("发票与订单一致").check()
    checks.get_by_label("货物已查验").check()
    form.locator("[data-field=scans] input[type=file]").set_input_files([
        {"name": "invoice.pdf", "mimeType": "application/pdf", "buffer": PDF},
        {"name": "photo.png", "mimeType": "image/png", "buffer": PNG}])
    form.locator("[data-field=inspected_at] input[type=time]").fill("14:30")
    with page.expect_navigation():
        form.get_by_role("button", name="完成").click()
    expect(form.locator("[data-field=scans] .field-error")).to_contain_text("此处不接受 PNG 文件")
    expect(checks.get_by_label("发票与订单一致")).to_be_checked()  # what was ticked is kept
    expect(checks.get_by_label("货物已查验")).to_be_checked()
    expect(checks.get_by_label("合同已签署")).not_to_be_checked()
    screenshot(page, "form-lists-refused-zh")

    form.locator("[data-field=scans] input[type=file]").set_input_files([
        {"name": "invoice.pdf", "mimeType": "application/pdf", "buffer": PDF},
        {"name": "order.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    with page.expect_navigation():
        form.get_by_role("button", name="完成").click()
    task = world.task(deal["task_id"])
    assert task["state"] == "completed"

    page.goto(f"/tasks/{deal['task_id']}")
    answers = page.locator(".earlier, main")  # the completed task's answers, as its form asked them
    expect(answers.locator("dd[data-field=checks]").first).to_have_text("发票与订单一致、货物已查验")
    expect(answers.locator("dd[data-field=scans] a")).to_have_text(["invoice.pdf", "order.pdf"])
    expect(page.locator("main")).not_to_contain_text("document:")
