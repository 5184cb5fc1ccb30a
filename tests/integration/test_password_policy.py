"""The password policy: zxcvbn's strength estimate with the account's own names as guessable words,
said in the reader's language on the invitation page, which names whose account it is."""
from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.services.errors import Invalid
from app.services.identity import accounts, user_admin
from app.services.identity import directory as identity

STRONG = "Harbour-lights-2026"


@pytest.fixture
def invited(app, admin_token) -> str:
    """An invitation link's token for Wang Fang (wangfang) of Bank of Ningbo."""
    with app.app_context():
        identity.create_org("NINGBO", ["funder"], "Bank of Ningbo")
        identity.create_user("wangfang", "NINGBO", ["first_reviewer"], "Wang Fang", email="fang@ningbo.example")
        token = accounts.invite("wangfang")
        db.session.remove()
    return token


def _problems(app, password: str) -> list[str]:
    with app.app_context():
        try:
            return accounts.password_problems(password, user_admin.user_by_name("wangfang"))
        finally:
            db.session.remove()


@pytest.mark.parametrize("password, problem", [
    ("Hx7!", accounts.PASSWORD_TOO_SHORT),
    ("password123", accounts.PASSWORD_GUESSABLE),
    ("qwertyuiop1", accounts.PASSWORD_GUESSABLE),
    ("1234567890", accounts.PASSWORD_GUESSABLE),
    ("Wangfang-2026!", accounts.PASSWORD_HAS_NAME),  # the user name
    ("Ningbo!Bank#2026", accounts.PASSWORD_HAS_NAME),  # the organisation's name
    ("x" * (accounts.MAX_PASSWORD_LENGTH + 1), accounts.PASSWORD_TOO_LONG),
])
def test_weak_passwords_are_refused_with_their_reason(app, invited, password, problem):
    assert problem in _problems(app, password)


def test_a_strong_password_passes_and_a_long_passphrase_too(app, invited):
    assert _problems(app, STRONG) == []
    assert _problems(app, "violet tractor murmurs under seven brass lanterns " * 2) == []


def test_the_service_refuses_a_weak_password_and_keeps_the_link(app, invited):
    with app.app_context():
        with pytest.raises(Invalid) as refused:
            accounts.set_password_with_token(invited, "invite", "Wang-Fang-2026!")
        assert refused.value.code == "weak_password"
        assert refused.value.fields == {"password": [accounts.PASSWORD_HAS_NAME]}
        accounts.check_link_token(invited, "invite")  # still usable
        accounts.set_password_with_token(invited, "invite", STRONG)
        db.session.remove()


def _post(client, token: str, password: str):
    page = client.get(f"/invite/{token}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return page, client.post(f"/invite/{token}", data={"csrf_token": csrf, "password": password, "confirm": password})


def test_the_page_names_the_account_and_says_why_in_chinese(app, invited):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    page, weak = _post(client, invited, "password123")
    assert "wangfang" in page.text and "Wang Fang" in page.text and "Bank of Ningbo" in page.text
    assert "账户：wangfang" in page.text
    assert weak.status_code == 422
    errors = re.findall(r'<p class="error" role="alert">(.*?)</p>', weak.text, re.S)
    assert errors == ["密码太容易被猜到：请使用几个不常见的词，或更长的字母、数字和符号组合。"]
    _, named = _post(client, invited, "Wangfang-2026!")
    assert "密码不得包含您的用户名" in named.text
    assert not re.search(r"too easy|must not contain|characters", named.text)


def test_the_page_says_why_in_english(app, invited):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    _, short = _post(client, invited, "Hx7!")
    assert "The password needs at least 10 characters." in short.text
    _, ok = _post(client, invited, STRONG)
    assert ok.status_code == 302
