"""Failed sign-ins slow down one (user name, address) pair: a stranger at one address cannot lock
anyone out (the lock per name: test_sign_in_lock.py), and no answer (sign-in or task assignment)
tells whether a user name exists."""
from __future__ import annotations

import http.client
import re
import threading
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry, HumanTask, SignInThrottle
from app.services.identity import accounts
from app.services.identity import directory as identity
from tests.integration.test_identity import PASSWORD, set_password

API = "/api/v1"
HOME = "198.51.100.7"
STRANGER = "203.0.113.9"


@pytest.fixture
def people(app, admin_token) -> None:
    with app.app_context():
        identity.create_org("BANK1", ["funder"], "Bank One")
        identity.create_user("rev1", "BANK1", ["first_reviewer"])
        identity.create_user("idle1", "BANK1", ["first_reviewer"])  # invited, no password yet
        db.session.remove()
    for user in ("admin", "rev1"):
        set_password(app, user)


def _client(app, address: str, language: str | None = None):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if language:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    return client


def _attempt(client, username: str, password: str):
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    return client.post("/login", data={"csrf_token": csrf, "username": username, "password": password})


def _error(response) -> str:
    return re.search(r'<p class="error" role="alert">(.*?)</p>', response.text, re.S).group(1)


def test_the_waits_grow_from_thirty_seconds_to_fifteen_minutes():
    waits = [accounts.wait_after(n) for n in range(1, 12)]
    assert waits[:4] == [None] * 4
    assert [w.total_seconds() for w in waits[4:]] == [30, 60, 120, 240, 480, 900, 900]
    assert accounts.wait_after(10 ** 6) == timedelta(minutes=15)


def test_five_failures_then_each_further_attempt_waits_longer(app, people, clock):
    home = _client(app, HOME)
    for _ in range(accounts.FREE_ATTEMPTS):
        assert _attempt(home, "rev1", "Wrong-password-1").status_code == 401
    assert _attempt(home, "rev1", PASSWORD).status_code == 401  # the right one too, while it waits
    clock.advance(seconds=29)
    assert _attempt(home, "REV1", PASSWORD).status_code == 401  # names compare case-insensitively
    clock.advance(seconds=2)
    assert _attempt(home, "rev1", "Wrong-password-6").status_code == 401  # the 6th failure: 60 s
    clock.advance(seconds=59)
    assert _attempt(home, "rev1", PASSWORD).status_code == 401
    clock.advance(seconds=2)
    assert _attempt(home, "rev1", PASSWORD).status_code == 302
    with app.app_context():  # a success starts the pair (and the name) afresh
        assert db.session.scalar(select(SignInThrottle).where(
            SignInThrottle.key_hash == accounts._throttle_key("rev1", HOME))) is None
        db.session.remove()


def test_a_strangers_failures_never_stop_the_owner_signing_in_from_elsewhere(app, people):
    stranger = _client(app, STRANGER)
    for _ in range(3 * accounts.FREE_ATTEMPTS):
        for victim in ("admin", "rev1"):
            assert _attempt(stranger, victim, "Guessing-123").status_code == 401
    assert _attempt(stranger, "admin", PASSWORD).status_code == 401  # the stranger's pair waits
    for owner in ("admin", "rev1"):
        assert _attempt(_client(app, HOME), owner, PASSWORD).status_code == 302


def test_the_one_answer_reads_in_both_languages(app, people):
    client = _client(app, HOME)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    assert _error(_attempt(client, "nobody", PASSWORD)) == "用户名或密码错误，或失败次数过多：请稍候再试。"
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert _error(_attempt(client, "rev1", "Wrong-password-1")) == (
        "Wrong username or password, or too many failed attempts: wait a moment and try again.")


def test_failures_are_forgotten_after_a_quiet_day(app, people, clock):
    home = _client(app, HOME)
    for _ in range(accounts.FREE_ATTEMPTS - 1):
        _attempt(home, "rev1", "Wrong-password-1")
    clock.advance(days=1, seconds=1)
    _attempt(home, "rev1", "Wrong-password-1")  # counts as the first again
    assert _attempt(home, "rev1", PASSWORD).status_code == 302


class CountingHasher(PasswordHasher):
    calls = 0

    def hash(self, password, *, salt=None):
        CountingHasher.calls += 1
        return super().hash(password, salt=salt)

    def verify(self, hash, password):
        CountingHasher.calls += 1
        return super().verify(hash, password)


def test_unknown_inactive_wrong_and_waiting_answer_alike_after_the_same_work(app, people, monkeypatch):
    """Same status, same message, one password hash each: nothing tells an account exists."""
    monkeypatch.setattr(accounts, "_hasher", lambda: CountingHasher(time_cost=1, memory_cost=1024, parallelism=1))
    with app.app_context():
        identity.create_user("gone1", "BANK1", ["first_reviewer"])
        db.session.remove()
    set_password(app, "gone1")
    with app.app_context():
        from app.models import User

        db.session.scalar(select(User).where(User.username == "gone1")).active = False
        db.session.commit()
        db.session.remove()
    waiting = _client(app, STRANGER)
    for _ in range(accounts.FREE_ATTEMPTS):
        _attempt(waiting, "rev1", "Wrong-password-1")
    answers = {}
    for case, client, username, password in (
            ("unknown", _client(app, HOME), "nobody", PASSWORD), ("inactive", _client(app, HOME), "gone1", PASSWORD),
            ("no password yet", _client(app, HOME), "idle1", PASSWORD),
            ("wrong password", _client(app, HOME), "rev1", "Wrong-password-1"),
            ("waiting, right password", waiting, "rev1", PASSWORD)):
        CountingHasher.calls = 0
        response = _attempt(client, username, password)
        answers[case] = (response.status_code, _error(response), CountingHasher.calls)
    assert set(answers.values()) == {(401, answers["unknown"][1], 1)}, answers
    # and an unknown name waits exactly like a known one
    unknown = _client(app, HOME)
    for _ in range(accounts.FREE_ATTEMPTS):
        _attempt(unknown, "nobody2", "Wrong-password-1")
    with app.app_context():
        waits = sorted(row.blocked_until is not None for row in db.session.scalars(select(SignInThrottle)))  # pairs
        db.session.remove()
    assert waits.count(True) == 2  # ('rev1', stranger) and ('nobody2', home)


def test_racing_failures_each_count(app, people, served):
    """Twelve wrong passwords at once for one name from one address: each attempt is a counted
    failure or one refused for the wait (those that arrive after the fifth failure is recorded),
    none lost between two writers."""
    host = urlsplit(served).netloc
    sessions = []
    for _ in range(12):  # each thread its own cookie and CSRF token, fetched before the race
        connection = http.client.HTTPConnection(host, timeout=30)
        connection.request("GET", "/login")
        response = connection.getresponse()
        cookie = response.getheader("Set-Cookie").split(";")[0]
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', response.read().decode()).group(1)
        connection.close()
        sessions.append((cookie, csrf))
    barrier, statuses = threading.Barrier(len(sessions)), []

    def fail(cookie: str, csrf: str) -> None:
        connection = http.client.HTTPConnection(host, timeout=60)
        body = urlencode({"csrf_token": csrf, "username": "rev1", "password": "Wrong-password-1"})
        barrier.wait()
        connection.request("POST", "/login", body, {"Cookie": cookie,
                                                     "Content-Type": "application/x-www-form-urlencoded"})
        statuses.append(connection.getresponse().status)
        connection.close()

    threads = [threading.Thread(target=fail, args=session) for session in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert statuses == [401] * len(sessions)
    with app.app_context():
        row = db.session.scalar(select(SignInThrottle).where(
            SignInThrottle.key_hash == accounts._throttle_key("rev1", "127.0.0.1")))
        actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("login%"))).all()
        db.session.remove()
    assert row.failures == actions.count("login_failed") >= accounts.FREE_ATTEMPTS
    assert actions.count("login_failed") + actions.count("login_throttled") == len(sessions)
    assert row.blocked_until is not None


@pytest.fixture
def task_id(app, client, auth, deploy, people) -> int:
    deploy("review_with_form.bpmn")
    with app.app_context():
        identity.create_org("BANK2", ["funder"], "Bank Two")
        for user, org, roles in (("lead1", "BANK1", ["team_lead"]), ("sec1", "BANK1", ["second_reviewer"]),
                                 ("rev2", "BANK2", ["first_reviewer"])):
            identity.create_user(user, org, roles)
        identity.create_user("gone2", "BANK1", ["first_reviewer"])
        from app.models import User

        db.session.scalar(select(User).where(User.username == "gone2")).active = False
        db.session.commit()
        db.session.remove()
    started = client.post(f"{API}/process-instances", headers=auth, json={
        "process_id": "review_with_form", "business_key": "K-1", "parties": {"funder": "BANK1"}})
    assert started.status_code == 201, started.json
    with app.app_context():
        found = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == started.json["id"]))
        db.session.remove()
    return found


def test_assignment_answers_alike_for_unknown_and_ineligible_names(app, client, task_id):
    with app.app_context():
        lead = {"Authorization": f"Bearer {identity.issue_token('lead1')}"}
        db.session.remove()
    answers = {}
    for username in ("nobody", "sec1", "rev2", "gone2"):  # unknown, wrong role, other bank, inactive
        r = client.post(f"{API}/tasks/{task_id}/assign", json={"username": username}, headers=lead)
        answers[username] = (r.status_code, r.json["error"]["code"], r.json["error"]["message"],
                             str(r.json["error"].get("fields")))
    assert len(set(answers.values())) == 1, answers
    assert answers["nobody"][:2] == (422, "not_assignable")
    # the task page's "Assign to" says the same for both
    set_password(app, "lead1")
    from tests.integration.test_identity import sign_in

    sign_in(client, "lead1")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get(f"/tasks/{task_id}").text).group(1)
    pages = {username: re.findall(r'class="flash error">(.*?)</p>', client.post(
        f"/tasks/{task_id}/assign", data={"csrf_token": csrf, "username": username}, follow_redirects=True).text)
        for username in ("nobody", "sec1")}
    assert pages["nobody"] == pages["sec1"] and len(pages["nobody"]) == 1
    with app.app_context():
        assert db.session.get(HumanTask, task_id).state == "ready"
        db.session.remove()
