"""The process catalogue in the browser (issue 16): the demo's analyst and administrator find 流程目录 in the
header, the list and a process's page pass the page sweep's checks (axe-core, no raw code on the Chinese
page, a 390 px phone) in both languages, and the vendored bpmn-js viewer draws the deployed
`risk_approval` diagram — its elements as SVG with their BPMN ids — with the bpmn.io watermark the
licence requires visible, under the page's own Content-Security-Policy (no violation is reported).

On the demo server (`make run`'s processes and `seed demo`). Screenshots of the drawn diagram go where the
sweep's go ($LOANFLOW_E2E_SCREENSHOTS, else tmp/e2e-artifacts/).
"""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_pages_a11y import LANGUAGES, _choose_language, _screenshots, _sign_in, check_page


def _watch_console(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@pytest.mark.parametrize("username", ["analyst", "admin"])
def test_the_catalogue_lists_the_processes_and_draws_a_versions_diagram(demo_page, username):
    page = demo_page
    errors = _watch_console(page)
    _sign_in(page, username)
    problems: list[str] = []
    for code, tag in LANGUAGES:
        _choose_language(page, code, tag)
        page.locator("#catalogue-link").click()
        page.wait_for_url("**/processes")
        expect(page.locator("tr[data-process=risk_approval] a")).to_be_visible()
        problems += check_page(page, f"{username}-{code}-processes")
        page.locator("tr[data-process=risk_approval] a").click()
        page.wait_for_url("**/processes/risk_approval")
        diagram = page.locator("#diagram[data-drawn=true]")
        expect(diagram.locator('svg [data-element-id="first_review"]')).to_be_visible()
        expect(diagram.locator("a.bjs-powered-by")).to_be_visible()  # the bpmn.io watermark
        assert diagram.locator("a.bjs-powered-by").get_attribute("href") == "http://bpmn.io"
        page.locator("#diagram").screenshot(path=str(_screenshots() / f"{username}-{code}-risk_approval-diagram.png"))
        problems += check_page(page, f"{username}-{code}-process-risk_approval")
    assert not problems, "\n".join(problems)
    assert not errors, errors  # a refused script, style or font would be reported here


def test_a_borrower_is_not_offered_the_catalogue(demo_page):
    page = demo_page
    _sign_in(page, "applicant1")
    expect(page.locator("header nav")).to_be_visible()
    expect(page.locator("#catalogue-link")).to_have_count(0)
    response = page.goto("/processes")
    assert response is not None and response.status == 403


def test_the_diff_page_marks_the_changed_elements_on_the_diagram(demo_page, demo_server):
    """A second version of risk_approval with the first review renamed: its diff page draws version 2 with
    the first review marked changed."""
    from pathlib import Path

    from app.extensions import db
    from app.services.workflow.deployment import DiagramFile, deploy_and_commit

    app = demo_server.app
    source = (Path(app.config["PROCESSES_DIR"]) / "risk_approval.bpmn").read_text(encoding="utf-8")
    start = source.index('id="first_review"')
    name_at = source.index('name="', start) + len('name="')
    with app.app_context():
        deploy_and_commit([DiagramFile("risk_approval.bpmn",
                                       (source[:name_at] + "Renamed: " + source[name_at:]).encode())])
        db.session.remove()
    page = demo_page
    errors = _watch_console(page)
    _sign_in(page, "analyst")
    page.goto("/processes/risk_approval")
    page.locator("#diff-form button[type=submit]").click()
    page.wait_for_url("**/processes/risk_approval/diff?from=1&to=2")
    expect(page.locator('#diff-changed li[data-element="first_review"]')).to_be_visible()
    diagram = page.locator("#diagram[data-drawn=true]")
    expect(diagram.locator('.diff-changed[data-element-id="first_review"]')).to_be_visible()
    assert diagram.locator(".diff-changed").count() >= 1
    assert not errors, errors
