"""The instance page's history says what the engine's own events keep in the reader's words: a step that failed and
waits for its next try, the instance stopped by its last failure — each key labelled (第几次尝试, 下次重试时间, 原因), never
a bare data key (`attempt`, `retry_at`, `reason`) on a Chinese page."""
from __future__ import annotations

import re

import pytest

from tests.integration.instance_api import start, wake
from tests.integration.test_identity import set_password, sign_in
from tests.integration.test_service_tasks import handlers  # noqa: F401 - a fixture

ZH, EN = {"Accept-Language": "zh-CN"}, {"Accept-Language": "en"}


def _history_keys(page: str) -> list[tuple[str, str]]:
    """Each key the history shows: (its label, or '' when it has none; the key)."""
    timeline = re.search(r'<ol id="timeline">(.*?)</ol>', page, re.S).group(1)
    return [(re.sub(r"<code.*", "", dt).strip(), re.search(r"<code[^>]*>([^<]*)</code>", dt).group(1))
            for dt in re.findall(r"<dt>(.*?)</dt>", timeline, re.S)]


@pytest.fixture
def failed(app, client, auth, deploy, clock, handlers):  # noqa: F811 - the fixture
    deploy("service_retry.bpmn")
    handlers.FAILURES["A-9"] = -1
    inst = start(client, auth, "service_retry", business_key="LOAN-W1", applicant="A-9")
    clock.advance(seconds=10)
    assert wake(app) == [inst["id"]]
    clock.advance(seconds=20)
    assert wake(app) == [inst["id"]]
    set_password(app, "admin")
    return inst["id"]


def test_a_failed_steps_retries_and_its_incident_are_said_in_chinese(app, client, failed):
    sign_in(client, "admin")
    page = client.get(f"/instances/{failed}", headers=ZH).text
    keys = _history_keys(page)
    assert ("第几次尝试", "attempt") in keys and ("共可尝试次数", "of") in keys and ("下次重试时间", "retry_at") in keys
    assert ("尝试次数", "attempts") in keys and ("最后一次尝试时间", "last_attempt_at") in keys
    assert ("原因", "reason") in keys and ("错误", "error") in keys
    assert [key for label, key in keys if not label] == ["applicant"]  # only the data it started with, no form says it


def test_the_same_in_english(app, failed):
    english = app.test_client()  # a client of its own: the first request's language stays with a client
    sign_in(english, "admin")
    keys = _history_keys(english.get(f"/instances/{failed}", headers=EN).text)
    assert ("Attempt", "attempt") in keys and ("Next try at", "retry_at") in keys and ("Reason", "reason") in keys


def test_a_retry_that_fails_again_says_so_and_when_it_is_tried_next(app, client, failed):
    """The repair page said 失败的步骤已重新运行。 and the instance read 等待中 though the step had failed again at once and
    only waited for its next automatic try."""
    sign_in(client, "admin")
    page = client.get(f"/instances/{failed}/repair", headers=ZH).text
    action = re.search(r"action=\"(/instances/\d+/repair/incidents/\d+/retry)\"", page).group(1)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    done = client.post(action, data={"csrf_token": csrf}, headers=ZH, follow_redirects=True).text
    flashed = re.search(r'<p class="flash[^"]*">(.*?)</p>', done, re.S).group(1)
    assert "再次失败" in flashed and re.search(r"将于 \d{4}-\d{2}-\d{2} \d{2}:\d{2}", flashed), flashed
    assert "已重新运行" not in flashed


def test_a_reader_of_the_repair_page_who_may_not_repair_is_told_who_may(app, client, failed):
    """The analyst (who starts test instances from the modeller) opened the repair page of one that failed and found
    no action and no word why."""
    from app.extensions import db
    from app.services.identity import directory as identity

    with app.app_context():
        identity.create_user("ana", "PLATFORM", ["analyst"])
        db.session.commit()
    set_password(app, "ana")
    sign_in(client, "ana")
    page = client.get(f"/instances/{failed}/repair", headers=ZH).text
    note = re.search(r'<p class="hint" id="repair-read-only">(.*?)</p>', page, re.S).group(1)
    assert "平台管理员" in note and "平台运营" in note, note
    admin = app.test_client()
    sign_in(admin, "admin")
    assert 'id="repair-read-only"' not in admin.get(f"/instances/{failed}/repair", headers=ZH).text
