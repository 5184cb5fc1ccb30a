"""In-app notices: each user reads only their own, newest first, marks them read (only their own)
and sees how many are unread, on the page, in the page header and through the API."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Notification
from app.services.identity import directory as identity
from app.services.notices import sending
from tests.integration.test_identity import set_password, sign_in

API = "/api/v1"
EN, ZH = {"Accept-Language": "en"}, {"Accept-Language": "zh-CN"}


@pytest.fixture
def world(app, admin_token):
    """Two borrowers' applicants (`ann` and `bob`) with passwords and tokens; ann has three notices
    (oldest first: approved A-1, declined A-2, returned A-3), bob one, and ann's organisation an SMS."""
    with app.app_context():
        identity.create_org("TRADER", ["borrower"], "Trader Co")
        identity.create_org("OTHER", ["borrower"], "Other Co")
        identity.create_user("ann", "TRADER", ["applicant"])
        identity.create_user("bob", "OTHER", ["applicant"])
        ann, bob = identity.principal_for("ann").id, identity.principal_for("bob").id
        ids = {
            "ann": [sending.send("application_approved", {"number": "A-1", "amount": "100.00"}, user_ids=[ann])[0],
                    sending.send("application_rejected", {"number": "A-2", "reason": "too risky"}, user_ids=[ann])[0],
                    sending.send("application_returned", {"number": "A-3", "reason": "invoice"}, user_ids=[ann])[0]],
            "bob": sending.send("application_approved", {"number": "B-1", "amount": "7.00"}, user_ids=[bob]),
        }
        sending.send("application_rejected", {"number": "A-9", "reason": "x"}, addresses=[("sms", "13800138000")])
        db.session.commit()
        tokens = {u: {"Authorization": f"Bearer {identity.issue_token(u)}"} for u in ("ann", "bob")}
        db.session.remove()
    for user in ("ann", "bob"):
        set_password(app, user)
    return {"ids": ids, "tokens": tokens}


def browser_of(app, username: str):
    browser = app.test_client()
    assert sign_in(browser, username).status_code == 302
    return browser


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def listed(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-notice-id="(\d+)"', page)]


def header_count(page: str) -> int:
    found = re.search(r'id="notices-link">[^<]*(?:<span class="notice-count"[^>]*>(\d+)</span>)?', page)
    assert found, "the header links to the notices"
    return int(found.group(1) or 0)


def read_at(app, notice_id: int):
    with app.app_context():
        value = db.session.get(Notification, notice_id).read_at
        db.session.remove()
    return value


def test_a_user_sees_only_their_own_notices_newest_first_and_the_unread_count(app, world):
    ann, bob = browser_of(app, "ann"), browser_of(app, "bob")
    page = ann.get("/notices", headers=EN)
    assert page.status_code == 200
    assert listed(page.text) == list(reversed(world["ids"]["ann"]))
    assert "Application A-3: more information needed" in page.text and "B-1" not in page.text
    assert "A-9" not in page.text  # an SMS to an address is no one's in-app notice
    assert header_count(page.text) == 3 and "Unread: 3" in page.text
    assert listed(bob.get("/notices", headers=EN).text) == world["ids"]["bob"]
    chinese = ann.get("/notices", headers=ZH).text
    assert "未读：3" in chinese and "申请 A-1 已获批" in chinese and ">通知" in chinese


def test_marking_read_on_the_page_changes_only_ones_own_notice(app, world):
    ann = browser_of(app, "ann")
    page = ann.get("/notices", headers=EN).text
    first, bobs = world["ids"]["ann"][0], world["ids"]["bob"][0]
    done = ann.post(f"/notices/{first}/read", data={"csrf_token": csrf_of(page)}, headers=EN)
    assert done.status_code == 303
    after = ann.get("/notices", headers=EN).text
    assert header_count(after) == 2 and read_at(app, first) is not None
    assert re.search(rf'data-notice-id="{first}"(?! class="unread")', after)
    refused = ann.post(f"/notices/{bobs}/read", data={"csrf_token": csrf_of(after)}, headers=EN)
    assert refused.status_code == 404 and read_at(app, bobs) is None
    assert ann.post(f"/notices/{first}/read", data={"csrf_token": csrf_of(after)}).status_code == 303  # again: fine
    assert ann.post("/notices/read-all", data={"csrf_token": csrf_of(after)}).status_code == 303
    assert header_count(ann.get("/", headers=EN).text) == 0
    assert read_at(app, bobs) is None and header_count(browser_of(app, "bob").get("/", headers=EN).text) == 1


def test_the_api_lists_ones_own_notices_and_marks_them_read(client, app, world):
    ann, bob = world["tokens"]["ann"], world["tokens"]["bob"]
    mine = client.get(f"{API}/notices", headers=ann)
    assert mine.status_code == 200
    body = mine.json
    assert [n["id"] for n in body["items"]] == list(reversed(world["ids"]["ann"]))
    assert body["total"] == 3 and body["unread"] == 3 and not any(n["read"] for n in body["items"])
    assert body["items"][0]["template"] == "application_returned"
    assert body["items"][0]["subject"] == "Application A-3: more information needed"  # the API's, none asked for
    chinese = client.get(f"{API}/notices", headers={**ann, **ZH}).json["items"][0]
    assert chinese["subject"] == "申请 A-3 需要补充材料"
    english = client.get(f"{API}/notices", headers={**ann, **EN}).json["items"][0]
    assert english["subject"] == "Application A-3: more information needed" and "invoice" in english["body"]

    first = world["ids"]["ann"][0]
    marked = client.post(f"{API}/notices/{first}/read", headers=ann)
    assert marked.status_code == 200 and marked.json["read"] is True and marked.json["read_at"] is not None
    unread = client.get(f"{API}/notices", query_string={"unread": "true"}, headers=ann).json
    assert [n["id"] for n in unread["items"]] == list(reversed(world["ids"]["ann"][1:])) and unread["unread"] == 2
    paged = client.get(f"{API}/notices", query_string={"per_page": 1, "page": 2}, headers=ann).json
    assert [n["id"] for n in paged["items"]] == [world["ids"]["ann"][1]] and paged["total"] == 3

    refused = client.post(f"{API}/notices/{first}/read", headers={**bob, **EN})
    assert refused.status_code == 404 and refused.json["error"]["message"] == "No such notice."
    refused_zh = client.post(f"{API}/notices/{first}/read", headers={**bob, **ZH})
    assert refused_zh.status_code == 404 and refused_zh.json["error"] == {"code": "notice_not_found",
                                                                          "message": "未找到该通知。"}
    assert client.post(f"{API}/notices/{world['ids']['bob'][0]}/read", headers=ann).status_code == 404
    assert client.get(f"{API}/notices", headers=bob).json["unread"] == 1
    assert client.get(f"{API}/notices").status_code == 401
    assert client.post(f"{API}/notices/{first}/read").status_code == 401
    with app.app_context():
        sms = db.session.scalar(select(Notification.id).where(Notification.channel == "sms"))
        db.session.remove()
    assert client.post(f"{API}/notices/{sms}/read", headers=ann).status_code == 404  # not an in-app notice


def test_a_notice_says_when_in_the_business_time_zone(app, world):
    """A notice written at 16:30 UTC on 24 November was shown as "2026-11-24 16:30": in China it was past midnight,
    the 25th, as every other page says."""
    from datetime import UTC, datetime

    with app.app_context():
        db.session.get(Notification, world["ids"]["bob"][0]).created_at = datetime(2026, 11, 24, 16, 30, tzinfo=UTC)
        db.session.commit()
        db.session.remove()
    bob = browser_of(app, "bob")
    chinese = bob.get("/notices", headers=ZH).text
    assert "2026-11-25 00:30" in chinese and "2026-11-24" not in chinese
    assert "2026-11-25 00:30" in bob.get("/notices", headers=EN).text  # one way in both languages


def test_notices_are_in_time_order_open_their_deal_and_their_links_are_links(app, world, clock):
    """Notices came in the order they were written, not when they happened (a notice of 12-07 after ones of
    08-29); a notice named its application but did not open it, and the signing link was plain text."""
    from app.services.origination import applications, products
    from tests.integration.test_application_pages import DETAILS, PRODUCT

    with app.app_context():
        identity.create_org("BANK1", ["funder"], "华东商业银行")
        identity.create_org("CORE1", ["core_enterprise"], "长江制造集团")
        products.create_product(None, PRODUCT)
        number = applications.create_application(identity.principal_for("ann"), {
            "product": "ORDER-A", "amount": "800000.00", "term_months": 6, "purpose": "备货", "funder": "BANK1",
            "details": dict(DETAILS)}).number
        ann = identity.principal_for("ann").id
        link = "http://127.0.0.1:5000/simulators/esign/flows/EF-1/sign"
        [signing] = sending.send("contract_to_sign", {"number": number, "link": link}, user_ids=[ann],
                                 business_key=number)
        clock.advance(days=-100)  # written after, happened before: a demo's past
        [older] = sending.send("application_approved", {"number": "A-0", "amount": "1.00"}, user_ids=[ann])
        clock.advance(days=100)
        db.session.commit()
        application_id = applications.by_number(identity.principal_for("ann"), number).id
        db.session.remove()
    page = browser_of(app, "ann").get("/notices", headers=EN).text
    ids = listed(page)
    assert ids.index(signing) < ids.index(world["ids"]["ann"][0]) < ids.index(older)  # newest first, by when
    row = re.search(rf'<tr data-notice-id="{signing}".*?</tr>', page, re.S).group(0)
    assert f'href="/applications/{application_id}"' in row
    assert f'<a href="{link}"' in row
    other = browser_of(app, "bob").get("/notices", headers=EN).text
    assert f'href="/applications/{application_id}"' not in other
