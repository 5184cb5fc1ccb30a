"""Instance search and the instance page in the browser (issue 16): the demo's administrator finds 实例 in the
header, searches for the demo's waiting deals of one process, opens one and sees its diagram drawn with the
elements it passed marked completed and the one it waits at marked active (as the instance's own task and
wait rows say), under the page's Content-Security-Policy; choosing a step of the history highlights its
element, choosing an element highlights its steps. Both languages pass the page sweep's checks. A borrower's
applicant opens their own deal's page read-only and is refused the search.

On the demo server (`make run`'s processes and `seed demo`); screenshots through the `screenshot` helper.
"""
from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.e2e.conftest import screenshot
from tests.e2e.test_pages_a11y import LANGUAGES, _choose_language, _sign_in, check_page


def _watch_console(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def _waiting_deal(app) -> tuple[int, str, set[str], str | None]:
    """A demo instance waiting at a user task: its id, process, the elements where it waits, its borrower."""
    from app.extensions import db
    from app.models import HumanTask, InstanceParty, InstanceWait, Organisation, ProcessInstance

    with app.app_context():
        row = db.session.execute(
            select(ProcessInstance.id, ProcessInstance.process_id).join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
            .where(ProcessInstance.status == "waiting", HumanTask.state == "ready")
            .order_by(ProcessInstance.id).limit(1)).one()
        waits = set(db.session.scalars(select(InstanceWait.element_id).where(InstanceWait.instance_id == row.id)))
        borrower = db.session.scalar(select(Organisation.code).join(InstanceParty, InstanceParty.org_id == Organisation.id)
                                     .where(InstanceParty.instance_id == row.id, InstanceParty.party == "borrower"))
        db.session.remove()
    return row.id, row.process_id, waits, borrower


def test_the_admin_finds_a_waiting_instance_and_sees_its_elements_marked(demo_page, demo_server):
    instance_id, process_id, waits, _borrower = _waiting_deal(demo_server.app)
    assert waits, "the demo's waiting deal has its wait rows"
    page = demo_page
    errors = _watch_console(page)
    _sign_in(page, "admin")
    problems: list[str] = []
    for code, tag in LANGUAGES:
        _choose_language(page, code, tag)
        page.locator("#instances-link").click()
        page.wait_for_url("**/instances")
        with page.expect_navigation():  # another process asks the page again for its versions and elements
            page.select_option("#filter-process", process_id)
        assert page.locator("#filter-version option").count() > 1
        page.select_option("#filter-status", "waiting")
        with page.expect_navigation():
            page.locator("#instance-filters button[type=submit]").click()
        expect(page.locator(f"tr[data-instance='{instance_id}']")).to_be_visible()
        assert page.locator("#filter-waits option").count() > 1  # the process's elements, by name
        problems += check_page(page, f"admin-{code}-instances")
        page.locator(f"tr[data-instance='{instance_id}'] a").click()
        page.wait_for_url(f"**/instances/{instance_id}")
        diagram = page.locator("#diagram[data-drawn=true]")
        for element in waits:
            expect(diagram.locator(f'g.djs-element.run-active[data-element-id="{element}"]')).to_have_count(1)
        start = page.locator("#diagram").get_attribute("data-markers").split()
        completed = [pair.rsplit(":", 1)[0] for pair in start if pair.endswith(":completed")]
        assert completed, "the elements it passed are marked"
        for element in completed:
            expect(diagram.locator(f'g.djs-element.run-completed[data-element-id="{element}"]')).to_have_count(1)
        expect(diagram.locator("a.bjs-powered-by")).to_be_visible()  # the bpmn.io watermark
        # a history row of a task chooses its element on the diagram
        row = page.locator("#timeline li[data-element]").first
        element = row.get_attribute("data-element")
        row.click()
        expect(diagram.locator(f'g.djs-element.chosen[data-element-id="{element}"]')).to_have_count(1)
        expect(row).to_have_class("event chosen-row")
        screenshot(page, f"console-instance-{code}-row-chosen")
        # and an element on the diagram chooses its rows
        other = next(iter(waits))
        diagram.locator(f'g.djs-element[data-element-id="{other}"]').click()
        expect(diagram.locator(f'g.djs-element.chosen[data-element-id="{other}"]')).to_have_count(1)
        expect(page.locator(f'#timeline li[data-element="{other}"].chosen-row').first).to_be_visible()
        screenshot(page, f"console-instance-{code}-element-chosen")
        # the data now reads key beside value, as the history's data does (each key stood above its value)
        key, value = page.locator("#instance-data dt").first, page.locator("#instance-data dd").first
        assert key.bounding_box()["y"] == value.bounding_box()["y"]
        assert key.bounding_box()["x"] < value.bounding_box()["x"]
        problems += check_page(page, f"admin-{code}-instance")
    assert not problems, "\n".join(problems)
    assert not errors, errors


def test_a_borrower_reads_its_own_deal_and_is_refused_the_search(demo_page, demo_server):
    from app.demo import USERS

    instance_id, _process, _waits, borrower = _waiting_deal(demo_server.app)
    applicants = [u for u, org, roles in USERS if org == borrower and "applicant" in roles]
    assert applicants, f"the demo has an applicant of {borrower}"
    page = demo_page
    errors = _watch_console(page)
    _sign_in(page, applicants[0])
    expect(page.locator("#instances-link")).to_have_count(0)
    response = page.goto("/instances")
    assert response is not None and response.status == 403
    errors.clear()  # the browser reports the refused page as a failed load
    page.goto(f"/instances/{instance_id}")
    expect(page.locator("#diagram[data-drawn=true]")).to_be_visible()
    expect(page.locator("#instance-data")).to_have_count(0)
    expect(page.locator("#chain")).to_have_count(0)
    expect(page.locator("dl.changes")).to_have_count(0)
    screenshot(page, "console-instance-borrower")
    problems = check_page(page, "borrower-zh-instance")
    assert not problems, "\n".join(problems)
    assert not errors, errors
