"""Repair in the browser (issue 16): an admin retries an incident from the instance's repair page (the credit
bureau failed, then answers), and moves an instance waiting in review from migrate_review v1 to v2, sees the
preview, confirms with a reason and sees it go on in v2 (the approval that v1 does not have opens once the
review is done). Screenshots through `screenshot` ($LOANFLOW_E2E_SCREENSHOTS)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.conftest import fixture_diagram
from tests.e2e.conftest import screenshot, sign_in
from tests.e2e.test_pages_a11y import check_page


@pytest.fixture
def bureau(live_server) -> Iterator[dict[str, bool]]:
    """`test.flaky_bureau` in the server's handler registry while the test runs: it fails while
    `bureau["down"]` is true, else answers a score."""
    from app.services.workflow.operators import HandlerRegistry

    runtime = live_server.app.extensions["loanflow_runtime"]
    before = runtime.handlers
    state = {"down": True}

    def flaky(params, ctx):
        if state["down"]:
            raise ConnectionError("the bureau did not answer")
        return {"score": 712}

    widened = HandlerRegistry()
    for operator in before.operators():
        widened.register(operator)(lambda params, ctx, op=operator: before.call(op, params, ctx))
    widened.register("test.flaky_bureau")(flaky)
    runtime.handlers = widened
    try:
        yield state
    finally:
        runtime.handlers = before


def _deploy(live_server, *names: str) -> None:
    from app.extensions import db
    from app.services.workflow.deployment import deploy_and_commit

    with live_server.app.app_context():
        deploy_and_commit([fixture_diagram(n) for n in names])
        db.session.remove()


def test_an_admin_retries_an_incident_and_moves_a_waiting_instance(new_page, live_server, world, bureau):
    admin = world.user("repairer", "PLATFORM", ["platform_admin"])
    _deploy(live_server, "repair_flaky_bureau.bpmn", "migrate_review_v1.bpmn")
    failed = live_server.api("POST", "/process-instances", json={"process_id": "repair_flaky_bureau",
                                                                  "business_key": f"REPAIR-{world.suffix}",
                                                                  "data": {"applicant": "Trader Co"}})
    assert failed["status"] == "error"
    waiting = live_server.api("POST", "/process-instances", json={"process_id": "migrate_review",
                                                                   "business_key": f"MOVE-{world.suffix}"})
    live_server.api("POST", f"/tasks/{world.open_task(waiting['id'], 'prepare')['id']}/complete", json={"data": {}})
    _deploy(live_server, "bpmn_versions/migrate_review_v2.bpmn")

    page = new_page("en-US")
    sign_in(page, admin)
    page.goto(f"/instances/{failed['id']}/repair")
    row = page.locator("#incidents tr[data-incident]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Fetch the credit report")  # the element's name, not its id
    expect(row).to_contain_text("A service call failed after its retries")
    expect(row.locator(".incident-message")).to_contain_text("the bureau did not answer")  # staff see the text
    screenshot(page, "repair-incident-en")
    bureau["down"] = False
    row.locator("input[name=note]").fill("the bureau is back")
    with page.expect_navigation():
        row.locator("button[type=submit]").click()
    expect(page.locator(".flash")).to_contain_text("The failed step was run again.")
    expect(page.locator("#no-incidents")).to_be_visible()
    expect(page.locator("#instance-status")).to_have_attribute("data-status", "waiting")
    events = live_server.api("GET", f"/process-instances/{failed['id']}/events")["items"]
    [retried] = [e for e in events if e["kind"] == "incident_retried"]
    assert retried["details"]["note"] == "the bureau is back"

    page.goto(f"/instances/{waiting['id']}/repair")
    page.select_option("#preview-form select[name=to]", "2")
    with page.expect_navigation():
        page.locator("#preview-form button[type=submit]").click()
    expect(page.locator('#preview tr[data-element="review"]')).to_have_attribute("data-movable", "true")
    screenshot(page, "repair-migration-preview-en")
    problems = check_page(page, "repair-migration-preview-en")
    page.fill("#migrate-form input[name=reason]", "approvals are now required")
    with page.expect_navigation():
        page.locator("#migrate-form button[type=submit]").click()
    expect(page.locator(".flash")).to_contain_text("The instance now runs on version 2.")
    assert live_server.api("GET", f"/process-instances/{waiting['id']}")["version"] == 2
    live_server.api("POST", f"/tasks/{world.open_task(waiting['id'], 'review')['id']}/complete", json={"data": {}})
    assert world.open_task(waiting["id"], "approve")["title"] == "Approve the file"  # v2's own step

    zh = new_page("zh-CN")
    sign_in(zh, admin)
    zh.goto(f"/instances/{waiting['id']}/repair")
    expect(zh.locator("h1")).to_contain_text("修复实例")
    expect(zh.locator("#repair-summary")).to_contain_text("版本 2")
    screenshot(zh, "repair-after-migration-zh")
    problems += check_page(zh, "repair-after-migration-zh")
    zh.goto("/processes/migrate_review/migrate?from=1&to=2")
    expect(zh.locator("#bulk-preview")).to_be_visible()
    problems += check_page(zh, "bulk-migration-preview-zh")
    assert not problems, "\n".join(problems)
