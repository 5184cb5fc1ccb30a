"""The audit log's page (`/audit`): the platform admin and the auditor read who did what and when, in their language,
filtered by action and by user; nobody else reads it, and the page changes nothing (it has no form that posts)."""
from __future__ import annotations

import re

from app.extensions import db
from app.services.identity import directory as identity
from tests.integration.test_identity import set_password, sign_in

ZH, EN = {"Accept-Language": "zh-CN"}, {"Accept-Language": "en"}


def _staff(app):
    with app.app_context():
        identity.ensure_platform_admin()
        admin = identity.principal_for("admin")
        identity.create_user("aud", "PLATFORM", ["auditor"], display_name="审计员甲", actor=admin)
        identity.create_user("ana", "PLATFORM", ["analyst"], actor=admin)
        identity.create_user("ops", "PLATFORM", ["operator"], actor=admin)
        db.session.remove()
    for user in ("admin", "aud", "ana", "ops"):
        set_password(app, user)


def _rows(page: str) -> list[tuple[str, str]]:
    """(action code, the action as said) of each row."""
    return [(code, re.sub(r"<[^>]+>", "", said).strip())
            for code, said in re.findall(r'<tr data-action="([^"]+)">\s*<td>.*?</td>\s*<td[^>]*>.*?</td>\s*<td>(.*?)</td>',
                                         page, re.S)]


def test_the_auditor_reads_the_log_in_chinese_and_nothing_on_it_changes_anything(app, client):
    _staff(app)
    sign_in(client, "aud")
    r = client.get("/audit", headers=ZH)
    assert r.status_code == 200
    rows = _rows(r.text)
    assert ("user_created", "创建用户") in rows and ("login", "登录") in rows
    assert "审计日志" in r.text and 'id="audit-link"' in r.text  # the header offers it
    assert "method=\"post\"" not in r.text.split("<h1>审计日志</h1>", 1)[1]  # read only: no form of the log posts
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.text.split('<section class="card">', 1)[1]))
    assert not re.search(r"\b(Time|Who|Action|Details|User created|Signed in|roles|org|auditor|user:\d+)\b", page)
    assert "用户 aud 机构 PLATFORM 角色 审计员" in page  # whom it concerns, and its details in words


def test_the_log_is_filtered_by_action_and_by_who_did_it(app, client):
    _staff(app)
    sign_in(client, "admin")
    created = _rows(client.get("/audit?action=user_created", headers=EN).text)
    assert created and {code for code, _said in created} == {"user_created"}
    assert ("user_created", "User created") in created
    by_aud = client.get("/audit?who=aud", headers=EN).text
    assert {code for code, _said in _rows(by_aud)} == {"password_set_by_invite"}


def test_only_the_platform_admin_and_the_auditor_read_it(app, client):
    _staff(app)
    for user in ("ana", "ops"):
        other = app.test_client()
        sign_in(other, user)
        r = other.get("/audit", headers=EN)
        assert r.status_code == 403, user
        assert 'id="audit-link"' not in other.get("/", headers=EN, follow_redirects=True).text


def test_failed_sign_ins_read_in_words_whoever_was_named(app, client):
    """A wrong password and a name no user has read as such on a Chinese page (they showed `wrong password`,
    `unknown or inactive` and `username:ghost`)."""
    _staff(app)
    for username in ("ops", "ghost"):
        assert sign_in(app.test_client(), username, "not-it").status_code != 302
    sign_in(client, "aud")
    page = client.get("/audit?action=login_failed", headers=ZH).text
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.split('<section class="card">', 1)[1]))
    assert "原因 密码错误" in text and "原因 用户不存在或已停用" in text, text
    assert "用户名 ghost（不存在）" in text and "username:" not in text and "wrong password" not in text
