# ruff: noqa: F811  (the `people` fixture comes from test_grants)
"""The account lock and the address limit: ten failures of one name from anywhere lock it for fifteen
minutes, said with the time in both languages, alike for a name that does not exist; an administrator
unlocks it (page and CLI, audited); an address waits only after fifty failures, so one person's typos
behind an office's one address never stop their colleagues."""
from __future__ import annotations

import re
from datetime import UTC
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry
from app.services.identity import accounts
from app.services.identity import directory as identity
from tests.integration.test_grants import PASSWORD, admin_post, people  # noqa: F401  (people: a fixture)
from tests.integration.test_sign_in_throttle import _attempt, _client, _error

OFFICE, HOME, CAFE, ELSEWHERE = "198.51.100.7", "203.0.113.9", "192.0.2.44", "192.0.2.99"
LOCKED_EN = re.compile(r"Too many failed sign-ins for this account: it is locked for (\d+) more minute\(s\), until "
                       r"(\d\d:\d\d) UTC\. An administrator can unlock it sooner\.")


def _lock(app, username: str) -> None:
    """Ten counted failures from two addresses (five each: within each pair's free attempts)."""
    for address in (HOME, CAFE):
        for _ in range(accounts.FREE_ATTEMPTS):
            assert _attempt(_client(app, address, "en"), username, "Wrong-password-1").status_code == 401


def test_ten_failures_from_anywhere_lock_the_name_for_fifteen_minutes(app, people, clock):
    _lock(app, "rev1")
    locked = _attempt(_client(app, ELSEWHERE, "en"), "rev1", PASSWORD)  # the right password, a fresh address
    assert locked.status_code == 401
    assert LOCKED_EN.fullmatch(_error(locked)).groups() == ("15", (clock() + accounts.ACCOUNT_LOCK).strftime("%H:%M"))
    clock.advance(minutes=10)
    zh = _error(_attempt(_client(app, ELSEWHERE, "zh-CN"), "rev1", PASSWORD))
    assert zh.startswith("此账户登录失败次数过多：已锁定，还需 5 分钟")
    clock.advance(minutes=5, seconds=1)
    assert _attempt(_client(app, ELSEWHERE, "en"), "rev1", PASSWORD).status_code == 302
    with app.app_context():
        scopes = [e.details.get("scope") for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "login_throttled"))]
        db.session.remove()
    assert scopes == ["account", "account"]


def test_a_name_that_does_not_exist_locks_alike(app, people):
    _lock(app, "nobody")
    assert LOCKED_EN.fullmatch(_error(_attempt(_client(app, ELSEWHERE, "en"), "nobody", PASSWORD)))


def test_an_administrator_unlocks_on_the_page_and_it_is_audited(app, people, clock):
    _lock(app, "rev1")
    page = _client(app, OFFICE, "en")
    assert _attempt(page, "admin", PASSWORD).status_code == 302
    listing = page.get("/admin/")
    user_id = int(re.search(r'data-user-id="(\d+)">\s*<td>rev1<', listing.text).group(1))
    assert "locked until" in listing.text and f'action="/admin/users/{user_id}/unlock"' in listing.text
    unlocked = admin_post(app, "admin", f"/users/{user_id}/unlock")
    assert unlocked.status_code == 200 and "User unlocked" in unlocked.text
    assert f'action="/admin/users/{user_id}/unlock"' not in unlocked.text
    # at once, and even from an address whose pair was waiting
    assert _attempt(_client(app, CAFE, "en"), "rev1", PASSWORD).status_code == 302
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user_unlocked"))
        assert entry.target == f"user:{user_id}" and entry.actor_id is not None
        db.session.remove()


def test_an_operator_may_not_unlock_a_platform_admin(app, people):
    _lock(app, "admin2")
    refused = admin_post(app, "op", f"/users/{people['ids']['admin2']}/unlock")
    assert refused.status_code == 403
    assert LOCKED_EN.fullmatch(_error(_attempt(_client(app, ELSEWHERE, "en"), "admin2", PASSWORD)))


def test_the_command_line_unlocks(app, people, runner):
    _lock(app, "rev1")
    assert runner.invoke(args=["users", "unlock", "rev1"]).output.strip() == "user rev1 unlocked"
    assert runner.invoke(args=["users", "unlock", "rev1"]).output.strip() == "user rev1 was not locked; nothing to lift"
    assert runner.invoke(args=["users", "unlock", "ghost"]).exit_code == 1
    assert _attempt(_client(app, HOME, "en"), "rev1", PASSWORD).status_code == 302


def test_one_persons_typos_never_stop_the_office_and_only_fifty_failures_make_it_wait(app, people, clock):
    for _ in range(3 * accounts.FREE_ATTEMPTS):  # one person, many typos: only their own pair waits
        _attempt(_client(app, OFFICE, "en"), "app1", "Wrong-password-1")
    assert _attempt(_client(app, OFFICE, "en"), "rev1", PASSWORD).status_code == 302
    for n in range(accounts.ADDRESS_LIMIT // accounts.FREE_ATTEMPTS):  # someone tries many names
        for _ in range(accounts.FREE_ATTEMPTS):
            _attempt(_client(app, OFFICE, "en"), f"guess{n}", "Wrong-password-1")
    waiting = _attempt(_client(app, OFFICE, "en"), "rev1", PASSWORD)
    assert waiting.status_code == 401 and _error(waiting) == (
        "Too many failed sign-ins from your network address: wait 5 minute(s), until "
        f"{(clock() + accounts.ADDRESS_WAIT).strftime('%H:%M')} UTC, and try again.")
    assert _attempt(_client(app, HOME, "en"), "rev1", PASSWORD).status_code == 302  # from elsewhere
    clock.advance(minutes=5, seconds=1)
    assert _attempt(_client(app, OFFICE, "en"), "rev1", PASSWORD).status_code == 302


def test_the_administration_page_shows_an_outstanding_link_until_it_is_used(app, people, clock):
    with app.app_context():
        identity.create_user("newbie", "BANK1", ["first_reviewer"])
        token = accounts.invite("newbie")
        db.session.remove()
    client = _client(app, OFFICE, "en")
    _attempt(client, "admin", PASSWORD)
    row = re.search(r"<td>newbie</td>.*?</tr>", client.get("/admin/").text, re.S).group(0)
    expires = (clock() + accounts.INVITE_VALID).replace(tzinfo=UTC).astimezone(
        ZoneInfo(app.config["LOANFLOW_TIMEZONE"])).strftime("%Y-%m-%d %H:%M")  # as every page writes a moment
    assert f"invitation link outstanding · expires {expires}" in row  # in the business time zone, as on other pages
    assert "New invitation link" in row  # resending issues a new one: the old stops working
    with app.app_context():
        accounts.set_password_with_token(token, "invite", PASSWORD)
        db.session.remove()
    row = re.search(r"<td>newbie</td>.*?</tr>", client.get("/admin/").text, re.S).group(0)
    assert "outstanding" not in row


def test_resending_an_invitation_from_the_page_stops_the_old_link(app, people):
    with app.app_context():
        user = identity.create_user("newbie", "BANK1", ["first_reviewer"])
        old = accounts.invite("newbie")
        user_id = user.id
        db.session.remove()
    resent = admin_post(app, "admin", f"/users/{user_id}/invite")
    new = re.search(r'<code id="admin-link">[^<]*/invite/([\w-]+)</code>', resent.text).group(1)
    client = _client(app, OFFICE, "en")
    assert client.get(f"/invite/{old}").status_code == 404
    assert client.get(f"/invite/{new}").status_code == 200
