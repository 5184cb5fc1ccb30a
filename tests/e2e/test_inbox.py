"""Staff at work in a real browser: who sees which task, forms with errors, claiming, earlier decisions."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, sign_in, task_ids


def test_two_funders_reviewers_see_only_their_own_tasks(world, new_page):
    world.org("BANK1", ["funder"])
    world.org("BANK2", ["funder"])
    rev1 = world.user("bank1_rev", "BANK1", ["first_reviewer"])
    rev2 = world.user("bank2_rev", "BANK2", ["first_reviewer"])
    deal1, deal2 = world.start("BANK1", "DEAL-BANK1"), world.start("BANK2", "DEAL-BANK2")

    for username, own, other in ((rev1, deal1, deal2), (rev2, deal2, deal1)):
        page = new_page()
        sign_in(page, username)
        expect(page.locator("#count-mine")).to_have_text("0")
        page.goto("/?view=group")
        assert task_ids(page) == [own["task_id"]]
        expect(page.locator("#count-group")).to_have_text("1")
        row = page.locator(f"tr[data-task-id='{own['task_id']}']")
        expect(row).to_contain_text(own["business_key"])
        expect(page.locator("table.tasks")).not_to_contain_text(other["business_key"])

        # Another funder's task is not there at all: 404, the same as an id that never existed.
        response = page.goto(f"/tasks/{other['task_id']}")
        assert response is not None and response.status == 404
        expect(page.locator("main h1")).to_contain_text("(404)")
        expect(page.locator("#task-form")).to_have_count(0)
        expect(page.locator("main")).not_to_contain_text(other["business_key"])
        response = page.goto(f"/tasks/{own['task_id']}")
        assert response is not None and response.status == 200
        expect(page.locator("#task-form")).to_be_visible()


def test_a_form_with_errors_saves_nothing_then_completes_when_fixed(world, new_page):
    bank = world.org(f"FV{world.suffix}", ["funder"])
    reviewer = world.user("rev", bank, ["first_reviewer"])
    deal = world.start(bank)
    page = new_page()
    sign_in(page, reviewer, next_path=f"/tasks/{deal['task_id']}")
    form = page.locator("#task-form")

    form.locator("[data-field=limit] input").fill("-5")
    form.locator("[data-field=notes] textarea").fill("buyer is slow to pay")
    with page.expect_navigation():
        form.get_by_role("button", name="Complete").click()

    expect(form.locator("[data-field=decision] .field-error")).to_be_visible()
    expect(form.locator("[data-field=limit] .field-error")).to_contain_text(re.compile("0"))
    expect(form.locator("[data-field=notes] .field-error")).to_have_count(0)
    expect(form.locator("[data-field=limit]")).to_have_class(re.compile("has-error"))
    screenshot(page, "task-form-errors")
    # What was typed is kept, and nothing was saved: the task is still open, its data untouched.
    expect(form.locator("[data-field=limit] input")).to_have_value("-5")
    expect(form.locator("[data-field=notes] textarea")).to_have_value("buyer is slow to pay")
    task = world.task(deal["task_id"])
    assert task["state"] in ("ready", "claimed") and "limit" not in (task.get("data") or {})
    page.goto(f"/tasks/{deal['task_id']}")  # a fresh GET, not a reload (that would post again)
    expect(page.locator("#task-form")).to_be_visible()
    expect(page.locator(".field-error")).to_have_count(0)

    form.locator("[data-field=decision] select").select_option("reject")
    form.locator("[data-field=limit] input").fill("0")
    form.get_by_role("button", name="Complete").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator(".flash")).to_contain_text("Task completed.")
    assert world.task(deal["task_id"])["state"] == "completed"
    assert deal["task_id"] not in task_ids(page)


def test_claim_from_the_group_tab_then_complete(world, new_page):
    bank = world.org(f"CL{world.suffix}", ["funder"])
    reviewer = world.user("rev", bank, ["first_reviewer"])
    deal = world.start(bank)
    page = new_page()
    sign_in(page, reviewer)
    page.get_by_role("link", name="My group's tasks").first.click()
    assert task_ids(page) == [deal["task_id"]]

    page.locator(f"tr[data-task-id='{deal['task_id']}']").get_by_role("button", name="Claim").click()
    page.wait_for_url(f"**/tasks/{deal['task_id']}")
    assert world.task(deal["task_id"])["state"] == "claimed"
    page.goto("/")
    assert task_ids(page) == [deal["task_id"]]
    expect(page.locator("#count-mine")).to_have_text("1")
    expect(page.locator("#count-group")).to_have_text("0")
    screenshot(page, "inbox")

    page.locator(f"tr[data-task-id='{deal['task_id']}'] a").click()
    page.locator("[data-field=decision] select").select_option("approve")
    page.locator("[data-field=limit] input").fill("450000")
    page.get_by_role("button", name="Complete").click()
    page.wait_for_url(re.compile(r"/$"))
    assert task_ids(page) == []
    expect(page.locator("#count-mine")).to_have_text("0")
    done = world.task(deal["task_id"])
    assert done["state"] == "completed" and done["completed_by"] == reviewer


def test_the_second_reviewer_sees_the_first_reviewers_decision_and_notes(world, new_page):
    bank = world.org(f"SR{world.suffix}", ["funder"])
    first = world.user("first", bank, ["first_reviewer"])
    second = world.user("second", bank, ["second_reviewer"])
    deal = world.start(bank)

    page = new_page()
    sign_in(page, first, next_path=f"/tasks/{deal['task_id']}")
    page.locator("[data-field=decision] select").select_option("approve")
    page.locator("[data-field=limit] input").fill("300000")
    page.locator("[data-field=notes] textarea").fill("Order confirmed by the buyer; collateral checked.")
    page.get_by_role("button", name="Complete").click()
    page.wait_for_url(re.compile(r"/$"))

    page = new_page()
    sign_in(page, second)
    page.goto("/?view=group")
    second_review = world.open_task(deal["id"], "second_review")
    legal_check = world.open_task(deal["id"], "legal_check")
    assert sorted(task_ids(page)) == sorted([second_review["id"], legal_check["id"]])
    page.locator(f"tr[data-task-id='{second_review['id']}'] a").click()
    earlier = page.locator("#earlier-tasks")
    expect(earlier).to_contain_text("First review")  # the task by its name, not its element id
    expect(earlier).to_contain_text(first)
    expect(earlier).to_contain_text("approve")
    expect(earlier).to_contain_text("300000")
    expect(earlier).to_contain_text("Order confirmed by the buyer; collateral checked.")
    expect(page.locator("#task-form")).to_be_visible()
    screenshot(page, "task")


def test_a_team_lead_assigns_a_task_and_the_assignee_finds_it_in_my_tasks(world, new_page):
    bank = world.org(f"AS{world.suffix}", ["funder"])
    lead = world.user("lead", bank, ["team_lead"])
    reviewer = world.user("rev", bank, ["first_reviewer"])
    other = world.user("rev2", bank, ["first_reviewer"])
    world.user("sec", bank, ["second_reviewer"])  # holds another role: not offered in the list
    deal = world.start(bank)

    page = new_page()
    sign_in(page, lead, next_path=f"/tasks/{deal['task_id']}")
    options = page.locator("#assignee option").evaluate_all("options => options.map(o => o.value)")
    assert options == sorted([reviewer, other])
    screenshot(page, "task-assign")
    page.locator("#assignee").select_option(reviewer)
    page.locator("#assign-form").get_by_role("button", name="Assign").click()
    expect(page.locator(".flash").first).to_contain_text(reviewer)
    task = world.task(deal["task_id"])
    assert (task["state"], task["claimed_by"]) == ("claimed", reviewer)

    assignee = new_page()
    sign_in(assignee, reviewer)
    assert task_ids(assignee) == [deal["task_id"]]  # "My tasks" is the first tab
    bystander = new_page()
    sign_in(bystander, other)
    assert task_ids(bystander) == []
    expect(bystander.locator("#assign-form")).to_have_count(0)
