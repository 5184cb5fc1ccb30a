"""Accounts, sign-in, lockout, invitations, resets, the inbox API, assignment, parties, documents."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEntry, Document, HumanTask, InstanceEvent, User
from app.services.identity import accounts
from app.services.identity import directory as identity
from tests.conftest import FIXTURES

API = "/api/v1"
PASSWORD = "Harbour-lights-2026"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def world(app, client, auth, deploy):
    """Two funders with a first and a second reviewer each, a team lead at BANK1, one instance each."""
    deploy("review_with_form.bpmn")
    with app.app_context():
        identity.create_org("BANK1", ["funder"], "Bank One")
        identity.create_org("BANK2", ["funder"], "Bank Two")
        identity.create_org("TRADER", ["borrower"], "Trader Co")
        for user, org, roles in (("rev1", "BANK1", ["first_reviewer"]), ("rev1b", "BANK1", ["first_reviewer"]),
                                 ("sec1", "BANK1", ["second_reviewer"]), ("lead1", "BANK1", ["team_lead"]),
                                 ("rev2", "BANK2", ["first_reviewer"]), ("app1", "TRADER", ["applicant"])):
            identity.create_user(user, org, roles)
        tokens = {u: {"Authorization": f"Bearer {identity.issue_token(u)}"}
                  for u in ("rev1", "rev1b", "sec1", "lead1", "rev2", "app1")}
        db.session.remove()
    instances = {}
    for bank in ("BANK1", "BANK2"):
        r = client.post(f"{API}/process-instances", headers=auth, json={
            "process_id": "review_with_form", "business_key": f"K-{bank}",
            "parties": {"funder": bank, "borrower": "TRADER"}})
        instances[bank] = r.json["id"]
    return {"tokens": tokens, "instances": instances}


def first_task(app, instance_id):
    with app.app_context():
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == instance_id))
        db.session.remove()
    return task_id


def sign_in(client, username, password=PASSWORD):
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"csrf_token": csrf, "username": username, "password": password})


def set_password(app, username, password=PASSWORD):
    with app.app_context():
        token = accounts.invite(username)
        accounts.set_password_with_token(token, "invite", password)
        db.session.remove()


def test_my_tasks_api_offers_group_tasks_and_claimed_ones(client, world, app):
    t = world["tokens"]
    group = client.get(f"{API}/me/tasks", query_string={"view": "group"}, headers=t["rev1"]).json
    assert [i["business_key"] for i in group["items"]] == ["K-BANK1"]
    assert client.get(f"{API}/me/tasks", query_string={"view": "group"}, headers=t["rev2"]).json["items"][0][
        "business_key"] == "K-BANK2"
    assert client.get(f"{API}/me/tasks", query_string={"view": "group"}, headers=t["sec1"]).json["total"] == 0
    task_id = group["items"][0]["id"]
    client.post(f"{API}/tasks/{task_id}/claim", headers=t["rev1"])
    mine = client.get(f"{API}/me/tasks", headers=t["rev1"]).json
    assert [i["id"] for i in mine["items"]] == [task_id]
    # claimed by rev1: no longer in the group view of a colleague, and the colleague cannot complete it
    assert client.get(f"{API}/me/tasks", query_string={"view": "group"}, headers=t["rev1b"]).json["total"] == 0
    r = client.post(f"{API}/tasks/{task_id}/complete", json={"data": {"decision": "approve", "limit": 1}},
                    headers=t["rev1b"])
    assert r.status_code == 409 and r.json["error"]["code"] == "task_claimed"


def test_a_borrowers_applicant_sees_the_instance_but_not_the_funders_review(client, world):
    t, bank1 = world["tokens"], world["instances"]["BANK1"]
    assert client.get(f"{API}/process-instances/{bank1}", headers=t["app1"]).status_code == 200
    detail = client.get(f"{API}/process-instances/{bank1}", headers=t["app1"]).json
    assert detail["tasks"] == []  # the funder's review is not the borrower's to see
    assert client.get(f"{API}/tasks", headers=t["app1"]).json["total"] == 0


def test_team_lead_assigns_within_their_organisation(client, world, app):
    t = world["tokens"]
    task1 = first_task(app, world["instances"]["BANK1"])
    task2 = first_task(app, world["instances"]["BANK2"])
    r = client.post(f"{API}/tasks/{task1}/assign", json={"username": "rev1b"}, headers=t["lead1"])
    assert r.status_code == 200 and r.json["claimed_by"] == "rev1b" and r.json["state"] == "claimed"
    assert client.post(f"{API}/tasks/{task2}/assign", json={"username": "rev2"}, headers=t["lead1"]).status_code == 404
    wrong = client.post(f"{API}/tasks/{task1}/assign", json={"username": "sec1"}, headers=t["lead1"])
    assert wrong.status_code == 422  # sec1 does not hold first_reviewer
    assert client.post(f"{API}/tasks/{task1}/assign", json={"username": "rev1"}, headers=t["rev1"]).status_code == 403


def test_deactivating_someone_hands_the_tasks_they_hold_back_to_their_group(client, world, app, auth):
    """A reviewer who leaves holding a task must not strand the deal: the task goes back to their group,
    where a colleague takes it, and the instance's history says who handed it back."""
    t = world["tokens"]
    task_id = first_task(app, world["instances"]["BANK1"])
    assert client.post(f"{API}/tasks/{task_id}/assign", json={"username": "rev1"}, headers=t["lead1"]).status_code == 200
    with app.app_context():
        rev1, admin = (db.session.scalar(select(User.id).where(User.username == name)) for name in ("rev1", "admin"))
        db.session.remove()
    r = client.post(f"{API}/users/{rev1}/deactivate", headers=auth)
    assert r.status_code == 200 and r.json["active"] is False
    task = client.get(f"{API}/tasks/{task_id}", headers=t["rev1b"]).json
    assert task["state"] == "ready" and task["claimed_by"] is None
    group = client.get(f"{API}/me/tasks", query_string={"view": "group"}, headers=t["rev1b"]).json
    assert [i["id"] for i in group["items"]] == [task_id]
    assert client.post(f"{API}/tasks/{task_id}/claim", headers=t["rev1b"]).status_code == 200
    with app.app_context():
        kinds = db.session.execute(select(InstanceEvent.kind, InstanceEvent.actor_id).where(
            InstanceEvent.instance_id == world["instances"]["BANK1"]).order_by(InstanceEvent.id)).all()
        db.session.remove()
    assert [k.kind for k in kinds][-3:] == ["task_assigned", "task_unclaimed", "task_claimed"]
    assert kinds[-2].actor_id == admin


def test_the_admin_page_says_in_chinese_that_the_deactivated_users_tasks_went_back_to_their_group(world, app):
    t = world["tokens"]
    task_id = first_task(app, world["instances"]["BANK1"])
    client = app.test_client()
    assert client.post(f"{API}/tasks/{task_id}/assign", json={"username": "rev1"}, headers=t["lead1"]).status_code == 200
    set_password(app, "admin")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    assert sign_in(client, "admin").status_code == 302
    with app.app_context():
        rev1 = db.session.scalar(select(User.id).where(User.username == "rev1"))
        db.session.remove()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin/").text).group(1)
    page = client.post(f"/admin/users/{rev1}/deactivate", data={"csrf_token": csrf})
    assert page.status_code == 200
    assert "用户已停用" in page.text and "其持有的 1 个待办任务已退回所在组，由同事领取。" in page.text
    with app.app_context():
        assert db.session.get(HumanTask, task_id).state == "ready"
        db.session.remove()


def test_changing_parties_moves_open_tasks_and_is_platform_only(client, world, auth, app):
    t, bank1 = world["tokens"], world["instances"]["BANK1"]
    body = {"parties": {"funder": "BANK2", "borrower": "TRADER"}}
    assert client.put(f"{API}/process-instances/{bank1}/parties", json=body, headers=t["rev1"]).status_code == 403
    r = client.put(f"{API}/process-instances/{bank1}/parties", json=body, headers=auth)
    assert r.status_code == 200 and r.json["parties"]["funder"] == "BANK2"
    keys = {i["business_key"] for i in client.get(f"{API}/me/tasks", query_string={"view": "group"},
                                                   headers=t["rev2"]).json["items"]}
    assert keys == {"K-BANK1", "K-BANK2"}
    assert client.get(f"{API}/process-instances/{bank1}", headers=t["rev1"]).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "instance_parties_changed")) == 1
        db.session.remove()


def test_invitation_is_single_use_and_signs_in(client, world, app):
    with app.app_context():
        token = accounts.invite("rev1")
        db.session.remove()
    page = client.get(f"/invite/{token}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    weak = client.post(f"/invite/{token}", data={"csrf_token": csrf, "password": "short", "confirm": "short"})
    assert weak.status_code == 422
    ok = client.post(f"/invite/{token}", data={"csrf_token": csrf, "password": PASSWORD, "confirm": PASSWORD})
    assert ok.status_code == 302
    assert client.get("/?view=group").status_code == 200
    client.post("/logout", data={"csrf_token": csrf})
    assert client.get(f"/invite/{token}").status_code == 404  # used
    assert sign_in(client, "rev1").status_code == 302


def test_expired_invitation_is_refused(client, world, app, clock):
    with app.app_context():
        token = accounts.invite("rev2")
        db.session.remove()
    clock.advance(days=8)
    assert client.get(f"/invite/{token}").status_code == 404


def test_repeated_failures_make_that_name_wait_from_that_address(client, world, app, clock):
    """More in tests/integration/test_sign_in_throttle.py."""
    set_password(app, "rev1")
    for _ in range(accounts.FREE_ATTEMPTS):
        assert sign_in(client, "rev1", "Wrong-password-1").status_code == 401
    waiting = sign_in(client, "rev1")
    assert waiting.status_code == 401  # even the right password, while it waits
    clock.advance(seconds=accounts.FIRST_WAIT.total_seconds() + 1)
    assert sign_in(client, "rev1").status_code == 302
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        db.session.remove()
    assert actions.count("login_failed") == accounts.FREE_ATTEMPTS
    assert "login_throttled" in actions and actions[-1] == "login"


def test_password_reset_link(client, world, app):
    set_password(app, "rev2")
    with app.app_context():
        token = accounts.request_reset("rev2")
        assert accounts.request_reset("nobody") is None
        db.session.remove()
    assert token is not None
    page = client.get(f"/reset/{token}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    new = "Another-harbour-2027"
    assert client.post(f"/reset/{token}", data={"csrf_token": csrf, "password": new, "confirm": new}).status_code == 302
    client.post("/logout", data={"csrf_token": csrf})
    assert sign_in(client, "rev2", PASSWORD).status_code == 401
    assert sign_in(client, "rev2", new).status_code == 302


def test_forms_without_csrf_are_refused(client, world, app):
    set_password(app, "rev1")
    assert client.post("/login", data={"username": "rev1", "password": PASSWORD}).status_code == 400
    sign_in(client, "rev1")
    task_id = first_task(app, world["instances"]["BANK1"])
    assert client.post(f"/tasks/{task_id}/claim").status_code == 400
    # the JSON API with the session also needs the token, in a header
    assert client.post(f"{API}/tasks/{task_id}/claim").status_code == 401


def test_task_form_upload_becomes_a_document_and_bad_files_change_nothing(client, world, app):
    set_password(app, "rev1")
    sign_in(client, "rev1")
    task_id = first_task(app, world["instances"]["BANK1"])
    page = client.get(f"/tasks/{task_id}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    schema_has_file = "type=\"file\"" in page.text
    assert not schema_has_file  # review-schema has no upload field; documents come through forms that do
    r = client.post(f"/tasks/{task_id}", data={"csrf_token": csrf, "decision": "approve", "limit": "10"})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Document)) == 0
        db.session.remove()


def voucher_task(client, app, auth, tmp_path) -> tuple[dict, int, str]:
    """An instance whose open task's form has one file field with no `accept` (any document type), signed in as
    the admin on its page: (the instance, the task's id, the page's CSRF token)."""
    import json

    forms = tmp_path / "forms"
    forms.mkdir()
    (forms / "voucher.json").write_text(json.dumps({
        "type": "object", "required": ["voucher"],
        "properties": {"voucher": {"type": "string", "format": "data-url", "title": "Transfer voucher"}}}))
    source = (FIXTURES / "bpmn" / "twelve_steps.bpmn").read_bytes().replace(
        b'<bpmn:userTask id="review" name="Review application">',
        b'<bpmn:userTask id="review" name="Review application"><bpmn:extensionElements><spiffworkflow:properties>'
        b'<spiffworkflow:property name="formJsonSchemaFilename" value="voucher.json"/>'
        b'</spiffworkflow:properties></bpmn:extensionElements>')
    app.config["FORMS_DIR"] = str(forms)
    try:
        r = client.post(f"{API}/process-definitions", data={"file": (io.BytesIO(source), "twelve_steps.bpmn")},
                        headers=auth)
    finally:
        app.config["FORMS_DIR"] = str(FIXTURES / "forms")
    assert r.status_code == 201, r.json
    inst = client.post(f"{API}/process-instances", json={"process_id": "twelve_steps"}, headers=auth).json
    with app.app_context():
        identity.ensure_platform_admin()
        db.session.remove()
    set_password(app, "admin")
    sign_in(client, "admin")
    task_id = first_task(app, inst["id"])
    page = client.get(f"/tasks/{task_id}")
    assert 'type="file"' in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return inst, task_id, csrf


def test_upload_field_sniffs_content_and_keeps_the_hash(client, app, auth, deploy, tmp_path):
    """A form with a `data-url` field: a real PNG is kept with its SHA-256; a renamed text file is refused."""
    import hashlib

    inst, task_id, csrf = voucher_task(client, app, auth, tmp_path)
    for language, said in (("en", "not an accepted document type"), ("zh-CN", "不是可接受的文件类型")):
        bad = client.post(f"/tasks/{task_id}", data={"csrf_token": csrf, "voucher": (io.BytesIO(b"just text"),
                                                                                     "voucher.png")},
                          content_type="multipart/form-data", headers={"Accept-Language": language})
        assert bad.status_code == 422 and said in bad.text
    program = client.post(f"/tasks/{task_id}", data={"csrf_token": csrf, "voucher": (
        io.BytesIO(b"MZ\x90\x00\x03" + bytes(250)), "setup.exe")}, content_type="multipart/form-data",
        headers={"Accept-Language": "zh-CN"})  # its MIME type was said: application/x-msdownload
    assert program.status_code == 422 and "application/" not in program.text
    assert "文件 &#39;setup.exe&#39; 的类型为 EXE，不是可接受的文件类型" in program.text
    good = client.post(f"/tasks/{task_id}", data={"csrf_token": csrf, "voucher": (io.BytesIO(PNG), "v.png")},
                       content_type="multipart/form-data")
    assert good.status_code == 302
    docs = client.get(f"{API}/process-instances/{inst['id']}/documents", headers=auth).json
    assert [(d["kind"], d["content_type"], d["sha256"]) for d in docs] == [
        ("image", "image/png", hashlib.sha256(PNG).hexdigest())]
    content = client.get(f"{API}/process-instances/{inst['id']}/documents/{docs[0]['id']}/content", headers=auth)
    assert content.data == PNG
    task = client.get(f"{API}/tasks/{task_id}", headers=auth).json
    assert task["data"] == {"voucher": f"document:{docs[0]['id']}"}


def test_language_follows_the_browser_then_the_users_choice(client, world, app):
    set_password(app, "rev1")
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Sign in" in page.text and "登录" not in page.text
    assert "登录" in client.get("/login", headers={"Accept-Language": "zh-CN"}).text
    sign_in(client, "rev1")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)
    client.post("/language", data={"csrf_token": csrf, "locale": "en", "next": "/"})
    assert "My tasks" in client.get("/", headers={"Accept-Language": "zh-CN"}).text
    client.post("/language", data={"csrf_token": csrf, "locale": "zh", "next": "/"})
    assert "我的任务" in client.get("/", headers={"Accept-Language": "en"}).text


def test_overdue_tasks_stand_out_and_sort_by_due_date(client, world, app, clock):
    set_password(app, "rev1")
    clock.advance(days=3)  # the review is due in two days (dueIn P2D)
    sign_in(client, "rev1")  # after moving the clock: a session lasts hours, not days
    page = client.get("/?view=group", headers={"Accept-Language": "en"})
    assert 'class="overdue"' in page.text and "1 overdue" in page.text
    assert clock.current - timedelta(days=3) < clock.current


def test_sign_in_attempts_are_rate_limited_per_address(tmp_path):
    from flask_migrate import upgrade

    from app import create_app

    limited = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'rl.db'}",
                          "SECRET_KEY": "x", "RATELIMIT_ENABLED": True, "PASSWORD_HASH_FAST": True})
    with limited.app_context():
        upgrade()
        db.session.remove()
    client = limited.test_client()
    statuses = []
    for _ in range(12):
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
        statuses.append(client.post("/login", data={"csrf_token": csrf, "username": "x", "password": "y"}).status_code)
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
    with limited.app_context():
        db.engine.dispose()


def test_an_app_that_limits_sign_ins_leaves_the_other_apps_of_the_process_as_they_are(app, client, world, tmp_path):
    """The limiter is one object for the whole process: the app made last decided for every app whether sign-ins
    were limited, and its count of failures from 127.0.0.1 refused the next sign-ins of the suite's own app (which
    limits none) with 429 — ten tests failed when the parallel run put this module before them."""
    set_password(app, "rev1")
    test_sign_in_attempts_are_rate_limited_per_address(tmp_path)
    signed = sign_in(client, "rev1")
    assert signed.status_code == 302 and not signed.headers["Location"].startswith("/login")


# -- API tokens: expiry, revocation, last use ------------------------------------------------------

def test_my_tokens_are_listed_made_and_revoked_over_the_api(client, world, app):
    rev1 = world["tokens"]["rev1"]
    made = client.post(f"{API}/me/tokens", json={"label": "nightly export", "days": 10}, headers=rev1)
    assert made.status_code == 201 and made.json["token"].startswith("lf_") and made.json["state"] == "active"
    assert made.json["expires_at"].startswith("2026-12-08T09:00")  # the clock's now + 10 days
    new = {"Authorization": f"Bearer {made.json['token']}"}
    assert client.get(f"{API}/me/tasks", headers=new).status_code == 200
    listed = client.get(f"{API}/me/tokens", headers=rev1).json
    assert listed["total"] == 2 and [t["label"] for t in listed["items"]] == ["nightly export", None]
    assert all("token" not in t for t in listed["items"])
    assert listed["items"][0]["last_used_at"] is not None  # it was just used
    gone = client.delete(f"{API}/me/tokens/{made.json['id']}", headers=rev1)
    assert gone.status_code == 200 and gone.json["state"] == "revoked"
    answer = client.get(f"{API}/me/tasks", headers=new)
    assert answer.status_code == 401 and answer.json["error"]["code"] == "token_revoked"
    # another's token is not mine to revoke or to know about: 404, whoever asks through /me
    others = client.get(f"{API}/me/tokens", headers=world["tokens"]["rev2"]).json["items"][0]["id"]
    assert client.delete(f"{API}/me/tokens/{others}", headers=rev1).status_code == 404
    assert client.get(f"{API}/me/tasks", headers=world["tokens"]["rev2"]).status_code == 200
    with app.app_context():
        issued = db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("token_%"))
                                    .order_by(AuditEntry.id)).all()
        db.session.remove()
    assert issued[-2:] == ["token_issued", "token_revoked"]


def test_a_platform_admin_revokes_anyones_token_an_operator_only_below_them(client, world, app, auth):
    with app.app_context():
        identity.create_user("op", "PLATFORM", ["operator"])
        op = {"Authorization": f"Bearer {identity.issue_token('op')}"}
        ids = {u: identity.principal_for(u).id for u in ("rev2", "admin")}
        db.session.remove()
    rev2_token = client.get(f"{API}/me/tokens", headers=world["tokens"]["rev2"]).json["items"][0]["id"]
    admin_token = client.get(f"{API}/me/tokens", headers=auth).json["items"][0]["id"]
    listed = client.get(f"{API}/users/{ids['rev2']}/tokens", headers=op)
    assert listed.status_code == 200 and [t["id"] for t in listed.json["items"]] == [rev2_token]
    assert client.get(f"{API}/users/{ids['admin']}/tokens", headers=op).status_code == 403
    refused = client.delete(f"{API}/users/{ids['admin']}/tokens/{admin_token}", headers=op)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "outranks_you"
    assert client.delete(f"{API}/users/{ids['admin']}/tokens/{rev2_token}", headers=auth).status_code == 404
    r = client.delete(f"{API}/users/{ids['rev2']}/tokens/{rev2_token}", headers=auth)
    assert r.status_code == 200 and r.json["state"] == "revoked"
    assert client.get(f"{API}/me/tasks", headers=world["tokens"]["rev2"]).status_code == 401
    assert client.delete(f"{API}/users/{ids['rev2']}/tokens/{rev2_token}", headers=world["tokens"]["rev1"]
                         ).status_code == 403


def test_a_token_makes_no_token_that_outlives_it(client, world, app):
    with app.app_context():
        short = identity.create_token(identity.principal_for("rev1").id, days=3)
        db.session.remove()
    made = client.post(f"{API}/me/tokens", json={"days": 90}, headers={"Authorization": f"Bearer {short.token}"})
    assert made.status_code == 201 and made.json["expires_at"].startswith("2026-12-01T09:00")


def test_tokens_expire_and_rows_from_before_expiry_count_90_days(client, world, app, clock):
    with app.app_context():
        legacy = identity.create_token(identity.principal_for("rev1").id, days=365)
        legacy.row.expires_at = None  # as migration 0007 left the tokens made before it
        db.session.commit()
        db.session.remove()
    headers = {"Authorization": f"Bearer {legacy.token}"}
    clock.advance(days=89)
    assert client.get(f"{API}/me/tasks", headers=headers).status_code == 200
    listed = client.get(f"{API}/me/tokens", headers=headers).json["items"][0]
    assert listed["expires_at"].startswith("2027-02-26T09:00") and listed["state"] == "active"
    clock.advance(days=1)
    expired = client.get(f"{API}/me/tasks", headers=headers)
    assert expired.status_code == 401 and expired.json["error"]["code"] == "token_expired"


def test_a_revoked_token_is_refused_from_the_next_request_on_under_load(app, served, world):
    """Threads keep calling with a token while it is revoked over HTTP: every request sent after the
    revocation was answered is refused (no per-process cache keeps the token alive for a while)."""
    import http.client
    import json
    import threading
    from time import monotonic
    from urllib.parse import urlsplit

    with app.app_context():
        victim = identity.create_token(identity.principal_for("rev1").id, label="victim")
        db.session.remove()
    address = urlsplit(served)
    results: list[tuple[float, int]] = []
    lock, stop = threading.Lock(), threading.Event()

    def call(method: str, path: str, token: str) -> tuple[int, dict]:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        try:
            connection.request(method, path, headers={"Authorization": f"Bearer {token}"})
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"{}")
        finally:
            connection.close()

    def hammer() -> None:
        while not stop.is_set():
            sent = monotonic()
            try:
                status, _body = call("GET", f"{API}/me/tasks", victim.token)
            except OSError:
                status = 0  # reported by the assertions below
            with lock:
                results.append((sent, status))

    def wait_for(enough) -> None:
        deadline = monotonic() + 120  # not a timing assertion: a bound on a test that cannot finish
        while not enough() and monotonic() < deadline:
            stop.wait(0.01)
        assert enough(), f"only {len(results)} answers"

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: len(results) >= 10)
        own = world["tokens"]["rev1"]["Authorization"].split()[1]
        status, body = call("DELETE", f"{API}/me/tokens/{victim.row.id}", own)
        revoked = monotonic()
        assert status == 200 and body["state"] == "revoked"
        wait_for(lambda: sum(1 for sent, _ in list(results) if sent > revoked) >= 20)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    before = [s for sent, s in results if sent < revoked]
    after = [s for sent, s in results if sent > revoked]
    assert 200 in before and len(after) >= 20 and set(after) == {401}, sorted(set(after))


def test_noting_a_tokens_use_never_waits_for_someone_elses_lock(client, world, app):
    """A request whose token's last use is due to be noted, while another transaction holds the
    lock that note needs (SQLite: the database's write lock, as a long step holds it; PostgreSQL:
    the token's row): the request is answered at once and the note waits for a later request."""
    import threading

    import sqlalchemy as sa

    with app.app_context():
        fresh = identity.create_token(identity.principal_for("rev1").id, label="fresh")
        db.session.remove()
        other = db.engine.connect()
    headers = {"Authorization": f"Bearer {fresh.token}"}
    answers: list[int] = []
    request = threading.Thread(target=lambda: answers.append(client.get(f"{API}/me/tasks", headers=headers)
                                                             .status_code))
    try:
        if app.config["BACKEND"] == "sqlite":
            other.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            other.begin()
            other.execute(sa.text("SELECT id FROM api_tokens WHERE id = :id FOR UPDATE"), {"id": fresh.row.id})
        request.start()
        request.join(5)  # a wide bound: SQLite's busy timeout is 15 s, PostgreSQL would wait for ever
        answered = not request.is_alive()
    finally:
        other.rollback()
        other.close()
        request.join(30)
    assert answered and answers == [200]
    listed = client.get(f"{API}/me/tokens", headers=headers).json["items"]
    assert [t["last_used_at"] is not None for t in listed if t["id"] == fresh.row.id] == [True]
