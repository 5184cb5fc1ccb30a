"""The console's decision and form editors in the browser (issue 16): the demo's analyst edits a form's
label and sees the preview (rendered by the task page's code, in Chinese) change; opens the
`risk_route` decision table in the vendored dmn-js modeler (its bpmn.io watermark visible), checks an
edit that breaks a rule and sees the problem on its rule, checks it fixed; the catalogue shows the table
read-only. No Content-Security-Policy violation or script error on the way.

On the demo server (`make run`'s processes and forms, `seed demo`); screenshots through `screenshot`.
"""
from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_pages_a11y import LANGUAGES, _choose_language, _sign_in, check_page

# What dmn-js 17 itself reports and this page answers: it writes the style of its container and of its
# watermark as HTML attributes, which the CSP drops (console_editors.css gives both the same rules:
# checked below by where the watermark is), and its bundle warns that it holds Inferno's development
# build. Anything else (another refused style, script or font, a script error) fails the test.
DMN_JS_OWN = ("Applying inline style violates", "It looks like you're using a minified copy of the development build")


def _watch_console(page: Page) -> list[str]:
    errors: list[str] = []

    def seen(message) -> None:
        if message.type == "error" and not message.text.startswith(DMN_JS_OWN):
            errors.append(message.text)

    page.on("console", seen)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def _watermark_in_its_corner(box) -> None:
    """The bpmn.io watermark is visible, in the bottom right corner of the table, over nothing."""
    mark = box.locator("a.bjs-powered-by")
    expect(mark).to_be_visible()
    assert mark.get_attribute("href") == "http://bpmn.io"
    assert mark.evaluate("a => getComputedStyle(a).position") == "absolute"
    where, table = mark.bounding_box(), box.locator(".tjs-table").bounding_box()
    assert where and table and where["y"] >= table["y"] + table["height"], (where, table)


def test_the_analyst_edits_a_label_and_sees_the_preview_change(demo_page):
    page = demo_page
    errors = _watch_console(page)
    _sign_in(page, "analyst")
    page.locator("#forms-link").click()
    page.wait_for_url("**/forms")
    page.locator('tr[data-form="first-review.json"] a[href$="/edit"]').click()
    page.wait_for_url("**/forms/first-review.json/edit")
    preview = page.locator("#form-preview")
    expect(preview.locator('label[for="f-decision"]')).to_have_text("审批意见 *")
    schema = page.locator("#schema-text")
    schema.fill(schema.input_value().replace('"title@zh": "审批意见"', '"title@zh": "审批结论"'))
    expect(preview.locator('label[for="f-decision"]')).to_have_text("审批结论 *")
    expect(preview.locator('#f-approved_amount')).to_be_visible()  # the UI schema's money widget
    screenshot(page, "console-form-editor-preview")
    schema.fill(schema.input_value() + ",")  # no longer JSON: the preview says where
    expect(preview.locator(".preview-error")).to_contain_text("JSON 无效")
    assert not errors, errors


def test_the_analyst_opens_a_decision_table_in_dmn_js_and_checks_it(demo_page):
    page = demo_page
    errors = _watch_console(page)
    _sign_in(page, "analyst")
    page.goto("/processes/risk_route")
    table = page.locator("#decision-table[data-drawn=true]")
    expect(table.locator(".tjs-table")).to_be_visible()  # the viewer draws the table read-only
    _watermark_in_its_corner(table)
    page.locator("#edit-decision").click()
    page.wait_for_url("**/decisions/risk_route/edit")
    editor = page.locator("#dmn-editor[data-drawn=true]")
    expect(editor.locator(".tjs-table")).to_be_visible()
    _watermark_in_its_corner(editor)  # the bpmn.io watermark the licence keeps
    expect(editor.locator(".hit-policy")).to_contain_text("命中策略")  # dmn-js's own words, in Chinese too
    cell = editor.locator('[data-element-id="rule_low_score_score"]')
    expect(cell).to_contain_text("< 520")

    cell.click()  # an entry that cannot compile: the check names its rule and marks its cell
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("<<< 520 +")
    page.locator("#check-table").click()
    expect(page.locator("#editor-status")).to_have_attribute("data-outcome", "refused")
    problem = page.locator('#table-problems li[data-element-id="rule_low_score_score"]')
    expect(problem).to_contain_text("规则 3，列 Risk score")
    expect(editor.locator('[data-element-id="rule_low_score_score"].has-problem')).to_be_visible()
    screenshot(page, "console-decision-editor-problem")

    cell.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("< 520")
    page.locator("#check-table").click()
    expect(page.locator("#editor-status")).to_have_attribute("data-outcome", "ok")
    expect(page.locator("#table-problems li.error")).to_have_count(0)
    expect(editor.locator(".has-problem")).to_have_count(0)
    screenshot(page, "console-decision-editor")

    cell.click()  # a real change, deployed from dmn-js's own XML: the next version, and the process using it
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("< 530")
    page.locator("#deploy-table").click()
    expect(page.locator("#editor-status")).to_have_attribute("data-outcome", "ok")
    expect(page.locator("#editor-status")).to_contain_text("risk_route 版本 2")
    expect(page.locator("#editor-status")).to_contain_text("risk_approval 版本 2")
    page.goto("/processes/risk_route?version=2")
    expect(page.locator('#decision-table[data-drawn=true] [data-element-id="rule_low_score_score"]')).to_contain_text(
        "< 530")
    assert not errors, errors


def test_the_editors_pages_pass_the_page_sweeps_checks_in_both_languages(demo_page):
    """axe-core, no unmarked Latin on the Chinese page, a 390 px phone: the forms list, a form's editor
    with its preview, a decision's editor with its table drawn."""
    page = demo_page
    errors = _watch_console(page)
    _sign_in(page, "analyst")
    problems: list[str] = []
    for code, tag in LANGUAGES:
        _choose_language(page, code, tag)
        page.goto("/forms")
        problems += check_page(page, f"analyst-{code}-forms")
        page.goto("/forms/first-review.json/edit")
        expect(page.locator('#form-preview label[for="f-decision"]')).to_be_visible()
        problems += check_page(page, f"analyst-{code}-form-editor")
        page.goto("/decisions/risk_route/edit")
        expect(page.locator("#dmn-editor[data-drawn=true] .tjs-table")).to_be_visible()
        problems += check_page(page, f"analyst-{code}-decision-editor")
    assert not problems, "\n".join(problems)
    assert not errors, errors
