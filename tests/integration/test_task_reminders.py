"""催办: a reminder for a task that waits too long. The platform's operator (and a team lead, for their own
organisation's tasks) sends it to whoever holds the task, or to its group while nobody does; each reads it in
their own language (in-app, and by SMS or e-mail where they have one); the instance's history records it; a
task is reminded at most once an hour, and a refusal says until when. Page and API, both languages.
"""
from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import InstanceEvent, Notification, User
from app.services.identity import directory as identity
from tests.integration.test_disbursement_stage import outside, signed_in_client
from tests.integration.test_identity import API, first_task, set_password, world  # noqa: F401


def _operator(app) -> dict[str, str]:
    with app.app_context():
        identity.create_user("op1", "PLATFORM", ["operator"], display_name="平台运营小李")
        for name, locale in (("rev1", "zh"), ("rev1b", "en")):
            db.session.scalar(select(User).where(User.username == name)).locale = locale
        db.session.commit()
        token = identity.issue_token("op1")
        db.session.remove()
    return {"Authorization": f"Bearer {token}"}


def _notices(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session.execute(select(User.username, Notification.subject, Notification.body)
                                  .join(User, User.id == Notification.user_id)
                                  .where(Notification.template == "task_reminder", Notification.channel == "in_app")
                                  .order_by(Notification.id)).all()
        db.session.remove()
    return [tuple(r) for r in rows]


def _reminders(app, instance_id: int) -> list[tuple[str, int | None, dict]]:
    with app.app_context():
        rows = db.session.execute(select(User.username, InstanceEvent.details).join(
            User, User.id == InstanceEvent.actor_id).where(InstanceEvent.instance_id == instance_id,
                                                           InstanceEvent.kind == "task_reminded")).all()
        db.session.remove()
    return [(r.username, r.details) for r in rows]


def test_the_operator_reminds_a_tasks_group_each_in_their_language_once_an_hour(client, app, world, clock):  # noqa: F811
    op = _operator(app)
    instance = world["instances"]["BANK1"]
    task_id = first_task(app, instance)
    clock.advance(days=3)  # it has waited three days
    r = client.post(f"{API}/tasks/{task_id}/remind", headers=op)
    assert r.status_code == 200, r.json
    assert r.json["recipients"] == 2
    sent = {name: (subject, body) for name, subject, body in _notices(app)}
    assert set(sent) == {"rev1", "rev1b"}  # BANK1's first reviewers; not BANK2's, nor the second reviewer
    assert sent["rev1"][0].startswith("催办") and "K-BANK1" in sent["rev1"][0]
    assert "2026年11月28日" in sent["rev1"][1] and f"/tasks/{task_id}" in sent["rev1"][1]
    assert sent["rev1b"][0].startswith("Reminder") and "Nov 28, 2026" in sent["rev1b"][1]
    assert _reminders(app, instance) == [("op1", {"task_id": task_id, "recipients": 2})]

    again = client.post(f"{API}/tasks/{task_id}/remind", headers={**op, "Accept-Language": "zh-CN"})
    assert again.status_code == 409 and again.json["error"]["code"] == "reminded_recently"
    assert "每小时" in again.json["error"]["message"] and "18:00" in again.json["error"]["message"]
    clock.advance(minutes=61)
    assert client.post(f"{API}/tasks/{task_id}/remind", headers=op).status_code == 200
    assert len(_notices(app)) == 4


def test_a_claimed_task_reminds_its_holder_and_a_team_lead_reminds_only_their_own(client, app, world):  # noqa: F811
    _operator(app)
    t = world["tokens"]
    task_id = first_task(app, world["instances"]["BANK1"])
    assert client.post(f"{API}/tasks/{task_id}/assign", json={"username": "rev1"}, headers=t["lead1"]).status_code == 200
    r = client.post(f"{API}/tasks/{task_id}/remind", headers=t["lead1"])
    assert r.status_code == 200 and r.json["recipients"] == 1
    assert [name for name, *_ in _notices(app)] == ["rev1"]
    assert client.post(f"{API}/tasks/{task_id}/remind", headers=t["rev1b"]).status_code == 403
    other = first_task(app, world["instances"]["BANK2"])
    assert client.post(f"{API}/tasks/{other}/remind", headers=t["lead1"]).status_code in (403, 404)


def test_the_task_page_offers_the_reminder_and_says_in_chinese_when_it_was_sent_or_refused(app, world):  # noqa: F811
    _operator(app)
    set_password(app, "op1")
    task_id = first_task(app, world["instances"]["BANK1"])
    browser = outside(lambda: signed_in_client(app, "op1"))
    zh = {"Accept-Language": "zh-CN"}
    before = outside(lambda: browser.get(f"/tasks/{task_id}", headers=zh).text)
    form = re.search(r'<form[^>]*id="remind-form".*?</form>', before, re.S).group(0)
    assert "催办" in form and f'action="/tasks/{task_id}/remind"' in form
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)

    def post() -> str:
        return outside(lambda: browser.post(f"/tasks/{task_id}/remind", data={"csrf_token": csrf}, headers=zh,
                                            follow_redirects=True).text)

    done = post()
    assert "已催办，通知已发给 2 人" in done
    assert "已催办" in re.search(r'<ol class="history" id="history">.*?</ol>', done, re.S).group(0)
    refused = post()
    assert "每小时最多催办一次" in refused
    # a reviewer of the task's group is not offered the button
    set_password(app, "rev1b")
    theirs = outside(lambda: signed_in_client(app, "rev1b"))
    assert 'id="remind-form"' not in outside(lambda: theirs.get(f"/tasks/{task_id}", headers=zh).text)
