"""A start sent twice starts one instance (issue 17's start page): the page's form carries a key made when it
was drawn, the API's start takes one as `idempotency_key`, and the same user's same key again answers the
instance it started — sent again, or sent twice at the same moment from threads against the served app, on
both databases.

Before, a double click on the start page's button, a reload of its answer or a second tab started a second
instance with the same data (the modeler's start and the API's had no way to say "this again")."""
from __future__ import annotations

import json
import re
from importlib.metadata import version
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ProcessInstance
from app.services.identity import directory as identity
from app.services.workflow.deployment import deploy_and_commit
from tests.integration.test_money_races import race_posts
from tests.integration.test_simulators import csrf_of
from tests.integration.test_start_page import _browser, folder, invoice  # noqa: F401 - the fixture

API = "/api/v1/process-instances"
FILLED = {"business_key": "INV-7", "creditor": "Great Pizza", "amount": "30", "invoiceNumber": "C-7"}


def _count() -> int:
    db.session.rollback()  # read what the requests committed
    return db.session.scalar(select(func.count()).select_from(ProcessInstance))


def _key_of(page: str) -> str:
    return re.search(r'name="start_key" value="([^"]+)"', page).group(1)


@pytest.fixture
def deployed(app, folder):  # noqa: F811 - the fixture imported above
    deploy_and_commit([invoice()])
    db.session.commit()
    return app


def test_the_start_page_sent_twice_starts_one_instance_and_the_second_goes_to_it(deployed):
    get, post = _browser(deployed, "op")
    path = "/processes/invoiceApproval/new-instance"
    page = get(path, "zh").text
    key = _key_of(page)
    assert len(key) >= 16 and key != _key_of(get(path).text)  # each drawing of the form its own key
    form = {"csrf_token": csrf_of(page), "start_key": key, **FILLED}
    first = post(path, form, "zh")
    assert first[0] == 302 and "实例 1 已发起" in get(first[2], "zh").text
    again = post(path, form, "zh")  # the browser's Back and the button again, or the answer reloaded
    assert again[0] == 302 and again[2] == first[2], (first, again)
    assert _count() == 1
    shown = get(again[2], "zh").text
    assert "这张表单已经提交过：它发起了实例 1" in shown and "实例 1 已发起" not in shown

    # Back, another business key, the same form sent: refused, nothing started, and a new form to send
    changed = post(path, {**form, "business_key": "INV-8"}, "zh")
    assert changed[0] == 409 and "发起了实例" in changed[1] and 'value="INV-8"' in changed[1], changed
    assert _count() == 1
    fresh = _key_of(changed[1])
    assert fresh != key
    another = post(path, {**form, "business_key": "INV-8", "start_key": fresh}, "zh")
    assert another[0] == 302 and another[2] != first[2]
    assert _count() == 2


def test_a_refused_sending_keeps_its_key_so_the_corrected_one_starts_once(deployed):
    get, post = _browser(deployed, "op")
    path = "/processes/invoiceApproval/new-instance"
    page = get(path).text
    key = _key_of(page)
    refused = post(path, {"csrf_token": csrf_of(page), "start_key": key, **FILLED, "amount": "thirty"})
    assert refused[0] == 422 and _key_of(refused[1]) == key
    assert _count() == 0
    corrected = {"csrf_token": csrf_of(page), "start_key": key, **FILLED}
    assert post(path, corrected)[0] == post(path, corrected)[0] == 302
    assert _count() == 1


def test_the_same_form_sent_at_the_same_moment_starts_one_instance(deployed, served):
    get, post = _browser(deployed, "op")
    path = "/processes/invoiceApproval/new-instance"
    page = get(path).text
    cookie = post.browser.get_cookie("session")
    body = urlencode({"csrf_token": csrf_of(page), "start_key": _key_of(page), **FILLED}).encode()
    headers = {"Cookie": f"session={cookie.value}", "Content-Type": "application/x-www-form-urlencoded",
               "User-Agent": f"Werkzeug/{version('werkzeug')}"}  # the browser signed in with (a session is its)
    answers = race_posts(served, [(path, headers, body)] * 4, read=lambda r: r.getheader("Location"))
    assert {status for status, _where in answers} == {302}, answers
    (where,) = {where for _status, where in answers}
    assert where.startswith("/instances/"), answers
    assert _count() == 1


def _api_start(client, token: str, **body):
    return client.post(API, json={"process_id": "invoiceApproval", "data": {"creditor": "Great Pizza", "amount": "30"},
                                  **body}, headers={"Authorization": f"Bearer {token}"})


def test_the_api_answers_the_same_key_with_the_instance_it_started(deployed, client, admin_token):
    first = _api_start(client, admin_token, business_key="INV-7", idempotency_key="order-7")
    assert first.status_code == 201, first.json
    again = _api_start(client, admin_token, business_key="INV-7", idempotency_key="order-7")
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    assert again.json["status"] == "waiting" and "duplicate" not in again.json
    other = _api_start(client, admin_token, business_key="INV-8", idempotency_key="order-7")
    assert other.status_code == 409 and other.json["error"]["code"] == "start_key_used", other.json
    assert str(first.json["id"]) in other.json["error"]["message"]
    for wrong in ("", "k" * 101):
        refused = _api_start(client, admin_token, idempotency_key=wrong)
        assert refused.status_code == 422 and "idempotency_key" in json.dumps(refused.json), refused.json
    assert _api_start(client, admin_token).status_code == 201  # without a key: a start each time
    assert _count() == 2

    token = identity.issue_token("op")  # a key is each user's own: another user's same key is another key
    db.session.commit()
    theirs = _api_start(client, token, business_key="INV-7", idempotency_key="order-7")
    assert theirs.status_code == 201 and theirs.json["id"] != first.json["id"]
    assert _count() == 3


def test_api_starts_with_one_key_at_the_same_moment_start_one_instance(deployed, served, admin_token):
    body = json.dumps({"process_id": "invoiceApproval", "business_key": "INV-9", "idempotency_key": "once",
                       "data": {"creditor": "Great Pizza", "amount": "30"}}).encode()
    headers = {"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"}
    answers = race_posts(served, [(API, headers, body)] * 6)
    assert sorted(status for status, _ in answers) == [200] * 5 + [201], answers
    assert len({answer["id"] for _status, answer in answers}) == 1
    assert _count() == 1
