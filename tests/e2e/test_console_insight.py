"""Insight in the browser (issue 16), on the demo server (`make run`'s processes and `seed demo`): the
administrator finds the portfolio dashboard in the header, its outstanding principal is the sum of the
demo loans' outstanding principal as the loans API gives it, and Chart.js draws its charts under the
page's own Content-Security-Policy; a funder's finance sees the dashboard of their own loans without
the funder filter; the task waiting times page draws its chart; a process version's heatmap draws the
diagram of `order_financing`, which the demo's order deals run on, with a count on each element reached. The pages pass the page sweep's checks (axe-core, no raw
code on the Chinese page, a 390 px phone) in both languages. Screenshots through `screenshot`
($LOANFLOW_E2E_SCREENSHOTS)."""
from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_pages_a11y import LANGUAGES, _choose_language, _sign_in, check_page


def _watch_console(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def _outstanding(demo_server, funder_org_id: int | None = None) -> Decimal:
    """The active demo loans' outstanding principal, loan by loan from the loans API."""
    loans = demo_server.api("GET", "/loans", query_string={"per_page": 100})["items"]
    total = Decimal(0)
    for loan in loans:
        if loan["status"] != "active" or (funder_org_id is not None and loan["funder_org_id"] != funder_org_id):
            continue
        detail = demo_server.api("GET", f"/loans/{loan['id']}")
        total += Decimal(detail["balances"]["principal_outstanding"])
    return total


def test_the_dashboard_shows_the_demo_loans(demo_page, demo_server):
    page = demo_page
    errors = _watch_console(page)
    expected = _outstanding(demo_server)
    assert expected > 0  # the demo has active loans
    _sign_in(page, "admin")
    problems: list[str] = []
    for code, tag in LANGUAGES:
        _choose_language(page, code, tag)
        page.locator("#dashboard-link").click()
        page.wait_for_url("**/dashboard")
        assert Decimal(page.locator("#outstanding").get_attribute("data-value")) == expected
        expect(page.locator("#outstanding")).to_contain_text(f"{expected:,.2f}")
        buckets = page.locator("#bucket-table tbody tr td.outstanding").evaluate_all(
            "cells => cells.map(c => c.dataset.value)")
        assert sum(Decimal(v) for v in buckets) == expected
        for chart in ("#buckets-chart", "#months-chart"):
            expect(page.locator(f"{chart}[data-drawn=true]")).to_be_visible()
        drawn = page.locator("#months-chart").evaluate(
            "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
            " for (let i = 3; i < d.length; i += 4) if (d[i]) return true; return false; }")
        assert drawn, "the chart canvas is blank"
        screenshot(page, f"insight-dashboard-admin-{code}")
        problems += check_page(page, f"admin-{code}-dashboard")
    assert not problems, "\n".join(problems)
    assert not errors, errors  # a refused script or style would be reported here


def test_a_funders_finance_sees_their_own_portfolio(demo_page, demo_server):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Organisation

    with demo_server.app.app_context():
        bank1 = db.session.scalar(select(Organisation.id).where(Organisation.code == "BANK1"))
        db.session.remove()
    page = demo_page
    _sign_in(page, "finance1")
    page.locator("#dashboard-link").click()
    page.wait_for_url("**/dashboard")
    assert Decimal(page.locator("#outstanding").get_attribute("data-value")) == _outstanding(demo_server, bank1)
    expect(page.locator("#funder-filter")).to_have_count(0)
    expect(page.locator("#insight-link")).to_have_count(0)  # the task statistics are the platform's
    screenshot(page, "insight-dashboard-finance1")


def test_a_borrower_is_not_offered_the_dashboard(demo_page):
    page = demo_page
    _sign_in(page, "applicant1")
    expect(page.locator("header nav")).to_be_visible()
    expect(page.locator("#dashboard-link")).to_have_count(0)
    response = page.goto("/dashboard")
    assert response is not None and response.status == 403


def test_the_task_waiting_times_and_the_heatmap_draw(demo_page):
    page = demo_page
    errors = _watch_console(page)
    _sign_in(page, "analyst")
    problems: list[str] = []
    for code, tag in LANGUAGES:
        _choose_language(page, code, tag)
        page.locator("#insight-link").click()
        page.wait_for_url("**/insight/tasks")
        expect(page.locator("#task-table tbody tr[data-lane]").first).to_be_visible()  # the demo's open tasks
        expect(page.locator("#tasks-chart[data-drawn=true]")).to_be_visible()
        screenshot(page, f"insight-tasks-{code}")
        problems += check_page(page, f"analyst-{code}-insight-tasks")

        page.goto("/processes/order_financing")  # the demo's order deals run on it
        page.locator("#heatmap-link").click()
        page.wait_for_url("**/processes/order_financing/heatmap?version=*")
        heatmap = page.locator("#heatmap[data-drawn=true]")
        expect(heatmap.locator('svg [data-element-id="confirm_receivable"]')).to_be_visible()
        expect(heatmap.locator("a.bjs-powered-by")).to_be_visible()  # the bpmn.io watermark
        reached = page.locator("#heat-table tbody tr[data-element]").evaluate_all(
            "rows => rows.map(r => [r.dataset.element, r.dataset.label])")
        assert len(reached) > 2, "the demo's order deals reached no element of order_financing"
        for element_id, label in reached:
            if page.locator(f'svg [data-element-id="{element_id}"]').count():
                expect(heatmap.locator(f'.heat-count[data-element="{element_id}"]')).to_have_text(label)
        screenshot(page, f"insight-heatmap-order_financing-{code}")
        problems += check_page(page, f"analyst-{code}-heatmap")
    assert not problems, "\n".join(problems)
    assert not errors, errors
