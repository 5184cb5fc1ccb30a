"""Every page, as every demo user and signed out, in Chinese and English: axe-core finds no serious or
critical accessibility violation, the Chinese pages show no Latin word but names and typed codes
(no raw code, data key or untranslated English), and at 390 × 844 (a phone) nothing scrolls sideways, no button is
cut and no table cell is squeezed to a character's width. Keyboards: a skip link first, and arrow
keys on the language switch do not switch the language.

The demo server is `make run`'s: the shipped processes and forms, `seed demo`. axe-core is vendored
with the front-end assets in app/static/vendor/axe-core/ (its README says the version) and
run through the DevTools protocol, so the pages' Content-Security-Policy stays as served. Screenshots of each page at 390 px go to
$LOANFLOW_E2E_SCREENSHOTS, else tmp/e2e-artifacts/ (not committed).
"""
from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.e2e.conftest import DESKTOP

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(__file__).resolve().parents[2] / "app" / "static" / "vendor" / "axe-core" / "axe.min.js"
PHONE: ViewportSize = {"width": 390, "height": 844}
TASK_PAGES_PER_TAB = 1  # one task page from each inbox tab: the pages of one kind share a template
LANGUAGES = [("zh", "zh-CN"), ("en", "en")]

RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", ")}`);
}"""
# What a phone shows wrongly: a page wider than the screen, a button cut at its edge or its own text
# clipped, a table cell or a listed value (`dd`) with more than three characters squeezed narrower than three
# (its text would stand one character a line: a long English label once left the values of a task page's
# "The application" a column one letter wide).
PHONE_PROBLEMS = """() => {
  const problems = [];
  const width = window.innerWidth;
  if (document.documentElement.scrollWidth > width)
    problems.push(`page is ${document.documentElement.scrollWidth}px wide on a ${width}px screen`);
  const visible = el => el.offsetParent !== null && el.getClientRects().length > 0;
  for (const b of document.querySelectorAll("button, input[type=submit], a.skip-link")) {
    if (!visible(b) || b.closest("table")) continue;
    const box = b.getBoundingClientRect();
    if (box.top >= 0 && (box.right > width + 0.5 || b.scrollWidth > b.clientWidth + 1))
      problems.push(`button cut: ${b.textContent.trim()}`);
  }
  for (const cell of document.querySelectorAll("th, td, dd")) {
    if (visible(cell) && cell.textContent.trim().length > 3 && cell.getBoundingClientRect().width < 40)
      problems.push(`cell ${cell.getBoundingClientRect().width}px wide: ${cell.textContent.trim().slice(0, 20)}`);
  }
  return problems;
}"""


# Latin words a Chinese page may show: the product's name, the language switch's "English",
# user names (sign-in names are identifiers people chose), and codes people type (business keys,
# organisation codes: capitals, digits and dashes). Anything else is a raw code, a data key or an
# English word left untranslated.
LATIN_WORDS = """(allowed) => {
  const page = document.body.cloneNode(true);
  page.querySelectorAll("script, style, [lang=en], [translate=no], .who").forEach(el => el.remove());
  const walker = document.createTreeWalker(page, NodeFilter.SHOW_TEXT);
  const texts = [];
  while (walker.nextNode()) texts.push(walker.currentNode.nodeValue);
  const words = texts.join(" ").match(/[A-Za-z_][A-Za-z0-9_]{2,}/g) || [];
  return [...new Set(words.filter(w => !allowed.includes(w) && !/^[A-Z0-9_]+$/.test(w)))];
}"""
LATIN_ALLOWED = ["Loanflow", "English", "CNY", "PDF", "Camunda", "Java"]  # names Chinese text writes in Latin letters


@functools.cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def _screenshots() -> Path:
    folder = Path(os.environ.get("LOANFLOW_E2E_SCREENSHOTS") or ROOT / "tmp" / "e2e-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def check_page(page: Page, name: str) -> list[str]:
    """axe-core's serious and critical findings on the page as it is, then its phone problems."""
    page.set_viewport_size(DESKTOP)
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # run through the DevTools protocol, as a page's script could not be: the CSP stays as served
        page.evaluate("() => {" + _axe_source() + "\n}")
    problems = [f"{name}: {v}" for v in page.evaluate(RUN_AXE)]
    if page.locator("html").get_attribute("lang") == "zh-CN":
        allowed = [*LATIN_ALLOWED, *_demo_users(), "a11y_invited", "admin"]
        problems += [f"{name}: Latin text in the Chinese page: {w}" for w in page.evaluate(LATIN_WORDS, allowed)]
    page.set_viewport_size(PHONE)
    problems += [f"{name} at 390px: {p}" for p in page.evaluate(PHONE_PROBLEMS)]
    page.screenshot(path=str(_screenshots() / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    return problems


def _visit(page: Page, path: str, name: str, status: int = 200) -> list[str]:
    response = page.goto(path)
    assert response is not None and response.status == status, (name, path, response and response.status)
    return check_page(page, name)


def _choose_language(page: Page, code: str, tag: str) -> None:
    if page.locator(f"#language-form button[value={code}][aria-current]").count() == 0:
        with page.expect_navigation():
            page.locator(f"#language-form button[value={code}]").click()
    expect(page.locator("html")).to_have_attribute("lang", tag)


def _task_links(page: Page, view: str) -> list[str]:
    page.goto(f"/?view={view}")
    return page.locator("table.tasks a[href^='/tasks/']").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))")[:TASK_PAGES_PER_TAB]


# The deal pages the header offers (the borrower's applications, the parties' deals, the platform's
# products): each list, its first entry, and the pages that start something new where the list offers them (the
# analyst and the auditor read the products, and are offered no new one).
DEAL_PAGES = {"/applications/": ("/applications/new",), "/deals/": (), "/products/": ("/products/new",)}


def _deal_pages(page: Page, name: str) -> list[str]:
    problems: list[str] = []
    page.goto("/")
    offered = [path for path in DEAL_PAGES if page.locator(f"header nav a[href='{path}']").count() > 0]
    for path in offered:
        problems += _visit(page, path, f"{name}{path.replace('/', '-')}")
        first = page.locator("main table a[href^='/applications/'], main table a[href^='/products/']").first
        link = first.get_attribute("href") if first.count() else None
        offers = [extra for extra in DEAL_PAGES[path] if page.locator(f"main a[href='{extra}']").count() > 0]
        for extra in (*offers, *([link] if link else [])):
            problems += _visit(page, extra, f"{name}{extra.replace('/', '-')}")
    return problems


def _demo_users() -> list[str]:
    from app.demo import USERS

    return [username for username, _org, _roles in USERS]


@pytest.mark.parametrize("username", _demo_users())
def test_every_page_a_demo_user_reaches_is_accessible_and_fits_a_phone(demo_page, username):
    from app.demo import DEMO_PASSWORD, DISPLAY_NAMES

    page = demo_page
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    expect(page.locator(".who")).to_have_text(DISPLAY_NAMES.get(username, username))  # the header names people
    problems: list[str] = []
    for code, tag in LANGUAGES:
        _choose_language(page, code, tag)
        problems += _visit(page, "/", f"{username}-{code}-mine")
        problems += _visit(page, "/?view=group", f"{username}-{code}-group")
        for n, link in enumerate(_task_links(page, "mine") + _task_links(page, "group")):
            problems += _visit(page, link, f"{username}-{code}-task{n}")
        problems += _deal_pages(page, f"{username}-{code}")
        may_administer = page.locator("header nav a[href='/admin/']").count() > 0
        problems += _visit(page, "/admin/", f"{username}-{code}-admin", 200 if may_administer else 403)
        problems += _visit(page, "/account/tokens", f"{username}-{code}-tokens")  # the header's name leads there
        for link in page.locator("main a[id$='-mappings-link']").evaluate_all(  # the import layer's tables
                "links => links.map(a => a.getAttribute('href'))"):
            problems += _visit(page, link, f"{username}-{code}{link.rstrip('/').replace('/', '-')}")
        if page.locator("header nav #catalogue-link").count():  # the Camunda example: its start page, Deploy files
            problems += _visit(page, "/processes/invoice_review", f"{username}-{code}-camunda-example")
            links = page.locator("main a.start-instance").evaluate_all("links => links.map(a => a.getAttribute('href'))")
            page.goto("/processes")
            links += page.locator("main a#deploy-files").evaluate_all("links => links.map(a => a.getAttribute('href'))")
            for link in links:
                problems += _visit(page, link, f"{username}-{code}{link.rstrip('/').replace('/', '-')}")
        if page.locator("header nav #instances-link").count():  # the payment waiting for an external worker
            problems += _visit(page, "/external-tasks", f"{username}-{code}-external-tasks")
        problems += _visit(page, "/tasks/999999", f"{username}-{code}-404", 404)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("code", "tag"), LANGUAGES)
def test_pages_before_signing_in_are_accessible_and_fit_a_phone(demo_page, demo_server, code, tag):
    page = demo_page
    page.goto("/login")
    _choose_language(page, code, tag)
    invitation = demo_server.app.config["A11Y_INVITATION"]
    problems = _visit(page, "/login", f"anonymous-{code}-login")
    problems += _visit(page, "/reset", f"anonymous-{code}-reset")
    problems += _visit(page, f"/invite/{invitation}", f"anonymous-{code}-invitation")
    problems += _visit(page, "/invite/not-a-token", f"anonymous-{code}-link-invalid", 404)
    page.goto("/")  # signed out: the sign-in page with the reminder
    expect(page.locator(".flash")).to_be_visible()
    problems += check_page(page, f"anonymous-{code}-reminder")
    assert not problems, "\n".join(problems)


def test_the_skip_link_comes_first_and_arrow_keys_do_not_switch_the_language(demo_page):
    page = demo_page
    page.goto("/reset")  # the sign-in page puts the focus in its first field
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    assert skip.bounding_box()["y"] >= 0  # shown when focused
    page.keyboard.press("Enter")
    expect(page.locator("#content")).to_be_focused()

    zh = page.locator("#language-form button[value=zh]")
    zh.focus()
    requests: list[str] = []  # a submit of the language form: a navigation (the browser may refetch its favicon)
    page.on("request", lambda r: requests.append(r.url) if r.is_navigation_request() or r.method != "GET" else None)
    for key in ("ArrowDown", "ArrowRight", "ArrowUp", "ArrowLeft", "End", "Home"):
        page.keyboard.press(key)
    page.wait_for_timeout(300)  # a submit would have started a request by now
    assert requests == [] and page.url.endswith("/reset#content")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    with page.expect_navigation():
        page.locator("#language-form button[value=en]").press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_the_checks_see_a_violation_and_a_page_too_wide_where_there_is_one(demo_page):
    """The sweep above would notice: axe runs and reports, the phone check measures."""
    page = demo_page
    page.goto("/reset")
    page.evaluate("""() => {
      const img = document.createElement("img"); img.src = "/static/favicon.svg"; document.body.append(img);
      const wide = document.createElement("div"); wide.style.width = "800px"; wide.textContent = "x";
      document.querySelector("main").append(wide);
      const raw = document.createElement("p"); raw.textContent = "额度 first_limit · Approve · APP-2026-0001";
      document.querySelector("main").append(raw);
    }""")
    problems = check_page(page, "planted")
    assert any("image-alt" in p for p in problems), problems
    latin = sorted(p.rsplit(": ", 1)[1] for p in problems if "Latin text" in p)
    assert latin == ["Approve", "first_limit"], problems  # a key and an English word; the business key may stay
    assert any("page is" in p and "on a 390px screen" in p for p in problems), problems


def test_the_page_offers_its_favicon(demo_page):
    page = demo_page
    page.goto("/login")
    href = page.locator("link[rel=icon]").get_attribute("href")
    response = page.request.get(href)
    assert response.ok and response.headers["content-type"].startswith("image/svg+xml")


def _sign_in(page: Page, username: str) -> None:
    from app.demo import DEMO_PASSWORD

    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    _choose_language(page, "zh", "zh-CN")  # the sweep above may have left this user's choice on English


def _open_deal(page: Page, business_key: str) -> None:
    page.goto("/?view=group")
    page.locator("table.tasks tr", has_text=business_key).locator("a[href^='/tasks/']").first.click()
    page.wait_for_url(re.compile(r"/tasks/\d+$"))


def test_each_party_sees_only_its_part_of_a_demo_deal(demo_page):
    """The seeded deals further along: the borrower's applicant, asked for more, sees the amount it
    applied for, its own task and what is asked — not the funder's limit, notes or reviewer; the funder's second
    reviewer sees the first reviewer's decision, notes and name."""
    page = demo_page
    _sign_in(page, "applicant1")
    _open_deal(page, "APP-2026-0004")
    main = page.locator("main")
    expect(page.locator("#key-data")).to_contain_text("申请金额")
    expect(page.locator("#key-data")).to_contain_text("300,000.00")
    for internal in ("250,000", "250000", "回款流水", "王审", "建议额度"):
        expect(main).not_to_contain_text(internal)
    expect(page.locator("#deal-reason")).to_contain_text("请补充最近三个月的销售发票")  # the reason is the borrower's to read
    expect(page.locator("#earlier-tasks")).to_have_count(0)
    expect(page.locator("#history")).not_to_contain_text("初审")  # the funder's task is not in its history

    page.context.clear_cookies()
    _sign_in(page, "reviewer2")
    _open_deal(page, "APP-2026-0005")
    earlier = page.locator("#earlier-tasks")
    expect(earlier).to_contain_text("初审")
    expect(earlier).to_contain_text("王审")
    expect(earlier).to_contain_text("同意")
    expect(earlier).to_contain_text("核心企业已确认订单")


@pytest.mark.parametrize(("username", "code", "tag"), [("analyst", "en", "en"), ("admin", "zh", "zh-CN"),
                                                       ("operator", "zh", "zh-CN")])
def test_the_language_and_the_account_stay_on_the_headers_first_line_at_1280_pixels(demo_page, username, code, tag):
    """Many links wrapped the header, and the language switch and the user's name dropped below them."""
    page = demo_page
    page.set_viewport_size({"width": 1280, "height": 900})
    _sign_in(page, username)
    _choose_language(page, code, tag)
    brand, account = page.locator("header .brand").bounding_box(), page.locator("#account-link").bounding_box()
    language = page.locator("#language-form").bounding_box()
    assert abs(account["y"] - brand["y"]) < brand["height"] and abs(language["y"] - brand["y"]) < brand["height"]
    assert account["x"] > page.locator("header nav").bounding_box()["x"]


def test_the_users_table_reads_a_user_a_line_at_1280_pixels(demo_page):
    """Beside the organisations the table was half the page: 借款申请人 wrapped a character or two a line."""
    page = demo_page
    page.set_viewport_size({"width": 1280, "height": 900})
    _sign_in(page, "admin")
    page.goto("/admin/")
    roles = page.locator("tr[data-user-id] td:nth-child(3)")
    line = page.locator("tr[data-user-id] td:nth-child(1)").first.bounding_box()["height"]
    for i in range(roles.count()):
        assert roles.nth(i).bounding_box()["height"] <= line, roles.nth(i).inner_text()
