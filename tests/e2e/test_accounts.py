"""Accounts in a real browser: invitations, sign-in errors and the wait after failures, the interface language."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, sign_in


def _submit_login(page, username: str, password: str):
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation() as navigation:
        page.click("button[type=submit]")
    return navigation.value


def test_a_page_asked_for_before_signing_in_opens_after_signing_in(world, new_page):
    bank = world.org(f"NX{world.suffix}", ["funder"])
    reviewer = world.user("rev", bank, ["first_reviewer"])
    page = new_page()
    page.goto("/?view=group")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    _submit_login(page, reviewer, PASSWORD)
    expect(page).to_have_url(re.compile(r"/\?view=group$"))
    expect(page.locator(".who")).to_have_text(reviewer)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_an_invitation_link_sets_the_password_and_signs_in(world, new_page):
    bank = world.org(f"IV{world.suffix}", ["funder"])
    newcomer = world.user("newcomer", bank, ["first_reviewer"], password=None)
    token = world.invite(newcomer)
    page = new_page()
    page.goto(f"/invite/{token}")

    expect(page.locator("#account")).to_contain_text(newcomer)  # whose account the link sets
    page.fill("input[name=password]", "password1234")
    page.fill("input[name=confirm]", "password1234")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_contain_text("too easy to guess")
    page.fill("input[name=password]", "lending-desk-2026")
    page.fill("input[name=confirm]", "lending-desk-2027")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_contain_text("differ")

    page.fill("input[name=password]", "lending-desk-2026")
    page.fill("input[name=confirm]", "lending-desk-2026")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator(".who")).to_have_text(newcomer)
    expect(page.locator(".flash")).to_contain_text("Your password is set.")

    # The link is single-use; the new password works for the next sign-in.
    other = new_page()
    response = other.goto(f"/invite/{token}")
    assert response is not None and response.status == 404
    expect(other.locator("input[name=password]")).to_have_count(0)
    sign_in(other, newcomer, "lending-desk-2026")
    expect(other.locator(".who")).to_have_text(newcomer)


SIGN_IN_FAILED = "Wrong username or password, or too many failed attempts: wait a moment and try again."


def test_wrong_passwords_show_one_answer_and_five_make_that_name_wait(world, new_page, live_server):
    bank = world.org(f"LK{world.suffix}", ["funder"])
    reviewer = world.user("rev", bank, ["first_reviewer"])
    bystander = world.user("other", bank, ["first_reviewer"])
    page = new_page()
    page.goto("/login")
    for attempt in range(1, 6):
        response = _submit_login(page, reviewer, f"wrong-password-{attempt}")
        assert response is not None and response.status == 401
        expect(page.locator(".error")).to_have_text(SIGN_IN_FAILED)
        expect(page.locator("input[name=password]")).to_have_value("")

    # Five failures: this name waits from this address, even with the right password, and the
    # answer is the one an unknown name gets.
    response = _submit_login(page, reviewer, PASSWORD)
    assert response is not None and response.status == 401
    expect(page.locator(".error")).to_have_text(SIGN_IN_FAILED)
    expect(page.locator(".who")).to_have_count(0)
    _submit_login(page, f"nobody_{world.suffix}", PASSWORD)
    expect(page.locator(".error")).to_have_text(SIGN_IN_FAILED)

    # Nobody else is locked out by it, and once the wait is over the owner signs in.
    sign_in(new_page(), bystander)
    live_server.app.extensions["loanflow_clock"] = lambda: datetime.now(UTC) + timedelta(seconds=31)
    try:
        sign_in(page, reviewer)
    finally:
        live_server.app.extensions.pop("loanflow_clock")
    expect(page.locator(".who")).to_have_text(reviewer)


def test_switching_the_language_changes_the_interface_and_stays(world, new_page):
    bank = world.org(f"LG{world.suffix}", ["funder"])
    reviewer = world.user("rev", bank, ["first_reviewer"])
    deal = world.start(bank)
    page = new_page(locale="zh-CN")  # the browser asks for Chinese
    page.goto("/login")
    expect(page.locator("main h1")).to_have_text("登录")
    sign_in(page, reviewer)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator(".tabs")).to_contain_text("我的任务")

    with page.expect_navigation():
        page.locator("#language-form button[value=en]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".tabs")).to_contain_text("My tasks")
    expect(page.locator(".tabs")).not_to_contain_text("我的任务")
    # It stays across pages, and across sessions: the choice belongs to the user.
    page.goto(f"/tasks/{deal['task_id']}")
    expect(page.get_by_role("button", name="Complete")).to_be_visible()
    later = new_page(locale="zh-CN")
    sign_in(later, reviewer)
    expect(later.locator(".tabs")).to_contain_text("My tasks")

    with later.expect_navigation():
        later.locator("#language-form button[value=zh]").click()
    expect(later.locator(".tabs")).to_contain_text("我的任务")
    later.goto(f"/tasks/{deal['task_id']}")
    expect(later.get_by_role("button", name="提交完成")).to_be_visible()
    expect(later.locator("#language-form button[aria-current]")).to_have_attribute("value", "zh")
