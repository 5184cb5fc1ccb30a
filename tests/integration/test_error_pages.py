"""Error pages and the sign-in reminder speak the reader's language; a detail without a translation
stays out of the Chinese page."""
from __future__ import annotations

import re

import pytest
from werkzeug.exceptions import BadRequest, InternalServerError, TooManyRequests

from app.extensions import db
from app.services.errors import Forbidden
from app.services.identity import directory as identity
from app.web.error_pages import http_error_page, service_error_page
from tests.integration.test_identity import set_password, sign_in

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


def _title(page: str) -> str:
    return re.search(r"<h1>(.*?) <span", page, re.S).group(1)


@pytest.mark.parametrize(("headers", "title", "sentence"), [
    (ZH, "未找到", "没有此页面，或您无权查看。"),
    (EN, "Not found", "There is no such page, or it is not one you may see."),
])
def test_a_missing_page_says_so_in_the_readers_language(client, headers, title, sentence):
    r = client.get("/no-such-page", headers=headers)
    assert r.status_code == 404 and _title(r.text) == title and sentence in r.text
    assert "The requested URL was not found" not in r.text  # werkzeug's English words


def test_the_sign_in_reminder_is_flashed_in_the_readers_language(client):
    zh = client.get("/", headers=ZH, follow_redirects=True)
    assert '<p class="flash message">请登录后打开此页面。</p>' in zh.text
    en = client.get("/admin/", headers=EN, follow_redirects=True)
    assert '<p class="flash message">Please sign in to open this page.</p>' in en.text


def test_a_refused_admin_page_is_in_chinese_for_a_chinese_reader(app, client, admin_token):
    with app.app_context():
        identity.create_org("BANK1", ["funder"], "Bank One")
        identity.create_user("rev1", "BANK1", ["first_reviewer"])
        db.session.remove()
    set_password(app, "rev1")
    assert sign_in(client, "rev1").status_code == 302
    zh = client.get("/admin/", headers=ZH)
    assert zh.status_code == 403 and _title(zh.text) == "不允许" and "您无权打开此页面或执行此操作。" in zh.text
    section = re.search(r'<section class="card narrow error-page">(.*?)</section>', zh.text, re.S).group(1)
    words = re.sub(r"<[^>]+>", " ", section)
    assert not re.search(r"[A-Za-z]{2,}", words), words  # no English word on the page's card


@pytest.mark.parametrize(("exc", "zh_title", "en_title"), [
    (TooManyRequests("10 per 1 minute"), "尝试次数过多", "Too many attempts"),
    (InternalServerError(), "出错了", "Something went wrong"),
    (BadRequest(), "无法理解的请求", "Request not understood"),
])
def test_limits_and_failures_have_titles_in_both_languages(app, exc, zh_title, en_title):
    for headers, title in ((ZH, zh_title), (EN, en_title)):
        with app.test_request_context("/", headers=headers):
            body, status = http_error_page(exc)
        assert status == exc.code and _title(body) == title


def test_an_untranslated_detail_shows_in_english_only(app):
    exc = Forbidden("only a platform admin grants platform roles")
    with app.test_request_context("/", headers=EN):
        en, status = service_error_page(exc)
    with app.test_request_context("/", headers=ZH):
        zh, _status = service_error_page(exc)
    assert status == 403 and exc.message in en
    assert exc.message not in zh and "不允许" in zh
