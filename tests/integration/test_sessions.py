"""Browser sessions kept on the server: a cookie signs someone in only while its session is open.

Sign-out ends that session, a new password ends all of the user's sessions, and a cookie is bound
to the browser that started it; a cookie forged with the old default key, or signed with another
install's generated key, opens nothing.
"""
from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import User, UserSession
from app.services.identity import accounts
from app.services.identity import directory as identity
from app.services.identity.sessions import end_user_sessions
from tests.integration.test_identity import PASSWORD, set_password, sign_in

API = "/api/v1"
COOKIE = "session"


@pytest.fixture
def reviewer(app, admin_token) -> str:
    with app.app_context():
        identity.create_org("BANK1", ["funder"], "Bank One")
        identity.create_user("rev1", "BANK1", ["first_reviewer"])
        db.session.remove()
    set_password(app, "rev1")
    return "rev1"


def _cookie(client) -> str:
    return client.get_cookie(COOKIE).value


def _replay(app, cookie: str, user_agent: str | None = None):
    """A fresh client (another machine) that presents the cookie."""
    other = app.test_client()
    other.set_cookie(COOKIE, cookie)
    if user_agent is not None:
        other.environ_base["HTTP_USER_AGENT"] = user_agent
    return other


def _signed_in(client) -> bool:
    page = client.get("/")
    api = client.get(f"{API}/me/tasks")
    assert (page.status_code == 200) == (api.status_code == 200), (page.status_code, api.status_code)
    if page.status_code == 200:
        return True
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    assert api.status_code == 401 and api.json["error"]["code"] == "unauthorized"
    return False


def _csrf(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)


def test_a_cookie_replayed_after_sign_out_signs_no_one_in(app, client, reviewer):
    assert sign_in(client, reviewer).status_code == 302
    cookie = _cookie(client)
    assert _signed_in(_replay(app, cookie))
    assert client.post("/logout", data={"csrf_token": _csrf(client)}).status_code == 302
    assert not _signed_in(client)
    assert not _signed_in(_replay(app, cookie))
    with app.app_context():
        [row] = db.session.scalars(select(UserSession)).all()
        assert row.ended_reason == "logout" and row.ended_at is not None
        db.session.remove()


def test_a_new_password_ends_every_session_of_the_user(app, client, reviewer):
    sign_in(client, reviewer)
    elsewhere = app.test_client()
    sign_in(elsewhere, reviewer)
    cookies = [_cookie(client), _cookie(elsewhere)]
    with app.app_context():
        token = accounts.request_reset(reviewer)
        db.session.remove()
    resetting = app.test_client()
    page = resetting.get(f"/reset/{token}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    new = "Another-harbour-2027"
    done = resetting.post(f"/reset/{token}", data={"csrf_token": csrf, "password": new, "confirm": new})
    assert done.status_code == 302
    assert _signed_in(resetting)  # whoever set the password is signed in afresh
    for cookie in cookies:
        assert not _signed_in(_replay(app, cookie))
    assert not _signed_in(client) and not _signed_in(elsewhere)
    with app.app_context():
        reasons = sorted(r or "" for r in db.session.scalars(select(UserSession.ended_reason)))
        db.session.remove()
    assert reasons == ["", "password", "password"]


def test_an_invitation_used_again_ends_the_sessions_of_the_old_password(app, client, reviewer):
    sign_in(client, reviewer)
    set_password(app, reviewer, "Second-harbour-2028")
    assert not _signed_in(client)
    assert sign_in(client, reviewer, "Second-harbour-2028").status_code == 302


def test_end_user_sessions_signs_the_user_out_everywhere(app, client, reviewer):
    sign_in(client, reviewer)
    assert _signed_in(client)
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == reviewer))
        assert end_user_sessions(user_id, "roles") == 1
        db.session.commit()
        assert end_user_sessions(user_id, "roles") == 0
        db.session.remove()
    assert not _signed_in(client)


def test_a_cookie_works_only_from_the_browser_that_signed_in(app, client, reviewer):
    client.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"
    sign_in(client, reviewer)
    cookie = _cookie(client)
    assert _signed_in(_replay(app, cookie, "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"))
    assert not _signed_in(_replay(app, cookie, "curl/8.5.0"))


def test_a_session_ends_after_its_lifetime(app, client, reviewer, clock):
    sign_in(client, reviewer)
    clock.advance(seconds=app.permanent_session_lifetime.total_seconds() - 60)
    assert _signed_in(client)
    clock.advance(seconds=120)
    assert not _signed_in(client)


def test_session_writes_still_need_the_csrf_token(app, client, reviewer):
    sign_in(client, reviewer)
    assert client.post("/language", data={"locale": "en", "next": "/"}).status_code == 400
    assert client.post(f"{API}/tasks/1/claim").status_code == 401  # the API with the session: a header
    assert client.post("/language", data={"csrf_token": _csrf(client), "locale": "en", "next": "/"}).status_code == 302


def _forge(secret_key: str, payload: dict) -> str:
    signer = Flask("forger")
    signer.secret_key = secret_key
    serializer = SecureCookieSessionInterface().get_signing_serializer(signer)
    assert serializer is not None
    return serializer.dumps(payload)


def _default_install(app, tmp_path, name: str, monkeypatch):
    """An app configured the way `make run` starts it (no SECRET_KEY anywhere), on the test's database."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("LOANFLOW_ENV", raising=False)
    monkeypatch.setenv("LOANFLOW_SECRET_KEY_FILE", str(tmp_path / name / "secret_key"))
    return create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "TESTING": True,
                       "RATELIMIT_ENABLED": False, "PASSWORD_HASH_FAST": True})


def test_a_cookie_forged_with_the_old_default_key_opens_nothing(app, admin_token, tmp_path, monkeypatch):
    with app.app_context():
        admin_id = db.session.scalar(select(User.id).where(User.username == "admin"))
        db.session.remove()
    install = _default_install(app, tmp_path, "one", monkeypatch)
    try:
        for payload in ({"_user_id": str(admin_id), "_permanent": True},
                        {"_user_id": str(admin_id), "_permanent": True, "_fresh": True, "sid": "guess"}):
            forged = _replay(install, _forge("dev-only-not-secret", payload))
            page = forged.get("/admin/")
            assert page.status_code == 302 and "/login" in page.headers["Location"]
            assert forged.get(f"{API}/me/tasks").status_code == 401
        assert install.secret_key != "dev-only-not-secret"
    finally:
        with install.app_context():
            db.engine.dispose()


def test_a_cookie_of_another_install_opens_nothing_here(app, admin_token, tmp_path, monkeypatch):
    set_password(app, "admin")
    here = _default_install(app, tmp_path, "here", monkeypatch)
    there = _default_install(app, tmp_path, "there", monkeypatch)
    try:
        assert here.secret_key != there.secret_key
        visitor = there.test_client()
        assert sign_in(visitor, "admin", PASSWORD).status_code == 302
        assert visitor.get("/admin/").status_code == 200  # a real session, of the other install
        replayed = _replay(here, _cookie(visitor))
        assert replayed.get("/admin/").status_code == 302
        assert replayed.get(f"{API}/me/tasks").status_code == 401
    finally:
        for each in (here, there):
            with each.app_context():
                db.engine.dispose()


def test_sessions_long_over_are_cleared_at_the_next_sign_in(app, client, reviewer, clock):
    sign_in(client, reviewer)
    client.post("/logout", data={"csrf_token": _csrf(client)})
    sign_in(client, reviewer)
    clock.advance(days=91)
    sign_in(client, reviewer)
    with app.app_context():
        kept = db.session.scalars(select(UserSession.created_at).order_by(UserSession.id)).all()
        db.session.remove()
    assert kept == [clock.current]


@pytest.mark.parametrize("user_id", ["2147483648", str(2 ** 63), "-1", "x", "0"])
def test_a_signed_cookie_with_an_impossible_user_id_is_no_one_not_an_error(app, user_id):
    forged = _replay(app, _forge(app.secret_key, {"_user_id": user_id, "_permanent": True, "sid": "t"}))
    assert not _signed_in(forged)
