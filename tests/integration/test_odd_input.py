"""No route answers 500 to odd input: every route of the app, from the route table, with odd ids,
query values, JSON bodies and form fields.

A regression guard for what probing found (ids past 64 bits, NaN and 1e999 numbers, bodies nested
thousands of levels, NUL characters, huge page numbers): each route must refuse such input with a
4xx, or ignore it, never fail with a 500.
"""
from __future__ import annotations

import re

import pytest

from tests.integration.test_identity import set_password, sign_in

API = "/api/v1"
IDS = ("1", str(2 ** 63), "99999999999999999999")
QUERY_VALUES = ("-1", "99999999999999999999", "NaN", "2026-99-99", "\x00", "x" * 3000, "/\n/evil.example")
QUERY_NAMES = ("page", "per_page", "instance_id", "state", "status", "date", "process_id", "business_key", "q",
               "sort", "view", "due_before", "party", "next")
BODIES = ('{"x": NaN}', '{"x": 1e999}', "[" * 5000 + "]" * 5000, '{"data": {"a": "\\u0000"}}',
          '{"data": {"\\ud800": "\\udfff"}}',
          '{"process_id": "twelve_steps", "data": {"amount": 99999999999999999999999}}', "null", '"text"', "{")
FIELD_VALUES = ("", "99999999999999999999", "NaN", "1e999999", "\x00", "x" * 20000, "<script>alert(1)</script>")
FIELD_NAMES = ("username", "password", "code", "kind", "name", "org", "roles", "lang", "decision", "approved",
               "amount", "items.99999999999.x", "email", "next")


def _paths(app, method: str, prefix_api: bool) -> list[tuple[str, list[str]]]:
    """Each route's path with id 1, and with every odd id."""
    found = []
    for rule in app.url_map.iter_rules():
        if method not in rule.methods or rule.rule.startswith("/static") or rule.rule.startswith(API) != prefix_api:
            continue
        variants = []
        for id_value in IDS:
            path = rule.rule
            for argument in rule.arguments:
                path = re.sub(rf"<(?:\w+:)?{argument}>", id_value, path)
            variants.append(path)
        found.append((variants[0], sorted(set(variants[1:]))))
    return sorted(found)


@pytest.fixture
def live(client, auth, deploy):
    deploy("twelve_steps.bpmn", "review_with_form.bpmn")
    for process_id in ("twelve_steps", "review_with_form"):
        assert client.post(f"{API}/process-instances", json={"process_id": process_id}, headers=auth).status_code == 201
    return client


def test_api_routes_refuse_odd_ids_queries_and_bodies_without_a_500(app, live, auth):
    answered = 0
    for path, odd_ids in _paths(app, "GET", prefix_api=True):
        for odd in odd_ids:
            assert live.get(odd, headers=auth).status_code < 500, odd
        for name in QUERY_NAMES:
            for value in QUERY_VALUES:
                r = live.get(path, query_string={name: value}, headers=auth)
                assert r.status_code < 500, (path, name, value[:20], r.status_code)
                answered += 1
    for path, odd_ids in _paths(app, "POST", prefix_api=True):
        for target in (path, *odd_ids):
            for body in BODIES:
                r = live.post(target, data=body, content_type="application/json", headers=auth)
                assert r.status_code < 500, (target, body[:30], r.status_code)
                answered += 1
    assert answered > 1000


def test_html_pages_and_forms_refuse_odd_input_without_a_500(app, live):
    set_password(app, "admin")
    sign_in(live, "admin")
    for path, odd_ids in _paths(app, "GET", prefix_api=False):
        for odd in odd_ids:
            assert live.get(odd).status_code < 500, odd
        for name in ("page", "q", "due_before", "sort", "view", "next"):
            for value in QUERY_VALUES:
                r = live.get(path, query_string={name: value})
                assert r.status_code < 500, (path, name, value[:20], r.status_code)
    token = re.search(r'name="csrf_token" value="([^"]+)"', live.get("/").text).group(1)
    for path, odd_ids in _paths(app, "POST", prefix_api=False):
        for odd in odd_ids:
            assert live.post(odd, data={"csrf_token": token}).status_code < 500, odd
        if path in ("/logout", "/language"):
            continue  # they would end the session or change its language for the rest of the test
        for name in FIELD_NAMES:
            for value in FIELD_VALUES:
                r = live.post(path, data={"csrf_token": token, name: value})
                assert r.status_code < 500, (path, name, value[:20], r.status_code)
        if path == "/login":  # a failed sign-in ends the session: sign in again
            sign_in(live, "admin")
            token = re.search(r'name="csrf_token" value="([^"]+)"', live.get("/").text).group(1)


# -- uploads over the limits, NUL in file names, lone surrogates in JSON ------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def upload_task(app, client, auth, deploy, tmp_path):
    """An open first review whose form has an upload field, and its reviewer signed in on `client`."""
    import json
    import shutil

    from sqlalchemy import select

    from app.extensions import db
    from app.models import HumanTask
    from app.services.identity import directory as identity
    from tests.conftest import FIXTURES

    forms = tmp_path / "forms"
    shutil.copytree(FIXTURES / "forms", forms)
    schema = json.loads((forms / "review-schema.json").read_text())
    schema["properties"]["voucher"] = {"type": "string", "format": "data-url", "title": "Voucher"}
    (forms / "review-schema.json").write_text(json.dumps(schema))
    app.config["FORMS_DIR"] = str(forms)
    try:
        deploy("review_with_form.bpmn")
    finally:
        app.config["FORMS_DIR"] = str(FIXTURES / "forms")
    with app.app_context():
        identity.create_org("BANK1", ["funder"], "Bank One")
        identity.create_user("rev1", "BANK1", ["first_reviewer"])
        db.session.remove()
    started = client.post(f"{API}/process-instances", headers=auth, json={
        "process_id": "review_with_form", "parties": {"funder": "BANK1"}})
    assert started.status_code == 201, started.json
    with app.app_context():
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == started.json["id"]))
        db.session.remove()
    set_password(app, "rev1")
    sign_in(client, "rev1")
    page = client.get(f"/tasks/{task_id}", headers={"Accept-Language": "en"})
    assert 'type="file"' in page.text
    return task_id, re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _documents(app) -> int:
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Document

    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(Document))
        db.session.remove()
    return count


def _multipart(fields: dict[str, str], files: dict[str, tuple[bytes, str]]) -> tuple[bytes, str]:
    """A multipart/form-data body built in memory (the test client would spool big files to
    temporary files, left open when the app refuses the body unread)."""
    boundary = "loanflow-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    for name, (content, filename) in files.items():
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n")
        parts.append(head.encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _post_form(client, task_id, csrf, voucher, **headers):
    body, content_type = _multipart({"csrf_token": csrf, "decision": "approve", "limit": "10"}, {"voucher": voucher})
    return client.post(f"/tasks/{task_id}", data=body, content_type=content_type,
                       headers={"Accept-Language": "en", **headers})


def test_a_file_over_the_document_limit_is_a_413_page_and_nothing_is_kept(app, client, upload_task):
    task_id, csrf = upload_task
    limit = app.config["MAX_DOCUMENT_BYTES"]
    assert limit == 10 * 2 ** 20 and app.config["MAX_CONTENT_LENGTH"] > 11 * 2 ** 20
    r = _post_form(client, task_id, csrf, (PNG + b"\x00" * (11 * 2 ** 20), "big.png"))
    assert r.status_code == 413
    assert "more than the limit of 10,485,760 bytes" in r.text and 'id="task-form"' in r.text
    zh = _post_form(client, task_id, csrf, (PNG + b"\x00" * (11 * 2 ** 20), "big.png"), **{"Accept-Language": "zh-CN"})
    assert zh.status_code == 413 and "超过每份文件 10,485,760 字节（10 MiB）的上限" in zh.text
    assert _documents(app) == 0
    assert _post_form(client, task_id, csrf, (PNG, "small.png")).status_code == 302
    assert _documents(app) == 1


def test_a_body_over_the_request_limit_is_a_413_for_pages_and_the_api(app, client, auth, upload_task):
    task_id, csrf = upload_task
    app.config["MAX_CONTENT_LENGTH"] = 2 ** 20
    try:
        page = _post_form(client, task_id, csrf, (PNG + b"\x00" * 2 ** 20, "big.png"))
        api = client.post(f"{API}/process-instances", data=b'{"process_id": "' + b"x" * 2 ** 20 + b'"}',
                          content_type="application/json", headers=auth)
        body, content_type = _multipart({}, {"file": (b"<x/>" * 2 ** 18, "big.bpmn")})
        upload = client.post(f"{API}/process-definitions", headers=auth, data=body, content_type=content_type)
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 16 * 2 ** 20
    assert page.status_code == 413 and "<main>" in page.text and "larger than" in page.text
    for response in (api, upload):
        assert response.status_code == 413
        assert response.json["error"]["code"] == "request_entity_too_large"
    assert _documents(app) == 0


def test_a_file_field_says_the_limit_and_a_too_large_page_leads_back_to_the_form(app, client, upload_task):
    """A 30 MB voucher got a bare 413 page in MiB whose only link went to the inbox, the typed values lost, and no
    field said the limit beforehand: each file field says it in MB, and the page links back to where it came from."""
    task_id, csrf = upload_task
    form = client.get(f"/tasks/{task_id}", headers={"Accept-Language": "zh-CN"}).text
    assert "单个文件不超过 10 MB，一次提交合计不超过 16 MB。" in form
    app.config["MAX_CONTENT_LENGTH"] = 2 ** 20
    try:
        page = _post_form(client, task_id, csrf, (PNG + b"\x00" * 2 ** 20, "big.png"),
                          **{"Accept-Language": "zh-CN", "Referer": f"http://localhost/tasks/{task_id}"})
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 16 * 2 ** 20
    assert page.status_code == 413 and "一次最多 1 MB" in page.text and "MiB" not in page.text
    assert f'<a href="http://localhost/tasks/{task_id}" id="back">返回上一页</a>' in page.text
    elsewhere = client.get("/no-such-page", headers={"Accept-Language": "zh-CN", "Referer": "https://evil.example/"})
    assert elsewhere.status_code == 404 and 'id="back"' not in elsewhere.text  # never a link off the site


def test_nul_in_a_file_name_is_a_400(app, client, auth, upload_task):
    task_id, csrf = upload_task
    assert _post_form(client, task_id, csrf, (PNG, "v\x00.png")).status_code == 400
    body, content_type = _multipart({}, {"file": (b"<definitions/>", "a\x00.bpmn")})
    r = client.post(f"{API}/process-definitions", headers=auth, data=body, content_type=content_type)
    assert r.status_code == 400 and r.json["error"]["code"] == "bad_request"
    assert _documents(app) == 0


@pytest.mark.parametrize("body", [
    '{"process_id": "twelve_steps", "data": {"note": "\\ud800"}}',
    '{"process_id": "twelve_steps", "data": {"\\udfff": 1}}',
    '{"process_id": "twelve_steps", "business_key": "K\\udc00", "data": {}}',
    '{"process_id": "twelve_steps", "data": {"list": ["ok", "\\ud83d"]}}',
])
def test_a_lone_surrogate_in_a_json_body_is_a_400(app, client, auth, deploy, body):
    deploy("twelve_steps.bpmn")
    r = client.post(f"{API}/process-instances", data=body, content_type="application/json", headers=auth)
    assert r.status_code == 400, r.json
    assert "lone surrogates" in str(r.json["error"])
    paired = '{"process_id": "twelve_steps", "data": {"note": "\\ud83d\\ude00"}}'  # a real character: kept
    r = client.post(f"{API}/process-instances", data=paired, content_type="application/json", headers=auth)
    assert r.status_code == 201 and r.json["data"]["note"] == "\U0001F600"


CAMUNDA_QUERY_NAMES = ("processInstanceId", "processDefinitionKey", "businessKey", "variables", "firstResult",
                       "maxResults", "topicName", "locked", "unassigned", "candidateGroup", "key", "finished",
                       "variableName", "deleteReason", "processInstanceIds", "assignee")
CAMUNDA_BODIES = (*BODIES, '{"messageName": "m", "processVariables": {"a": {"value": NaN}}}',
                  '{"variables": {"a": {"type": "File", "value": "\\u0000"}}}', '{"retries": 1e999}',
                  '{"workerId": "w", "topics": [{"topicName": "t", "lockDuration": 1e999}]}',
                  '{"name": "s", "variables": {"x": {"type": "Json", "value": "[[[[[[[["}}}')


def test_camundas_rest_routes_refuse_odd_ids_queries_and_bodies_without_a_500(app, live, auth):
    """`/engine-rest` with an admin's token (the HTML sweep above reaches it with a session only: 401s)."""
    answered = 0
    camunda = [(path, odd) for path, odd in _paths(app, "GET", prefix_api=False) if path.startswith("/engine-rest")]
    for path, odd_ids in camunda:
        for odd in (*odd_ids, path.replace("/1", "/²"), path.replace("/1", "/%00")):
            r = live.get(odd, headers=auth)
            assert r.status_code < 500 and r.is_json, (odd, r.status_code)
        for name in CAMUNDA_QUERY_NAMES:
            for value in QUERY_VALUES:
                r = live.get(path, query_string={name: value}, headers=auth)
                assert r.status_code < 500, (path, name, value[:20], r.status_code)
                answered += 1
    for method in ("POST", "PUT", "DELETE"):
        for path, odd_ids in _paths(app, method, prefix_api=False):
            if not path.startswith("/engine-rest"):
                continue
            for target in (path, *odd_ids, path.replace("/1", "/²")):
                for body in CAMUNDA_BODIES:
                    r = live.open(target, method=method, data=body, content_type="application/json", headers=auth)
                    assert r.status_code < 500 and (r.status_code == 204 or r.is_json), (method, target, body[:30],
                                                                                        r.status_code)
                    answered += 1
    assert answered > 1000


def test_a_nul_or_a_lone_surrogate_is_refused_in_the_readers_language(app, client, auth, upload_task):
    """`请求体不是有效的 JSON：NUL characters are not allowed。` and, for a form field, the whole answer in English."""
    zh = {**auth, "Accept-Language": "zh-CN"}
    for body in ('{"process_id": "a\\u0000b", "data": {}}', '{"process_id": "x", "data": {"note": "\\ud800"}}'):
        r = client.post(f"{API}/process-instances", data=body, content_type="application/json", headers=zh)
        error = r.json["error"]
        said = " ".join([error["message"], *(m for ms in (error.get("fields") or {}).values() for m in ms)])
        words = re.sub(r"\\u[0-9a-f]{4}", "", said.replace("JSON", ""))  # the escapes named are codes
        assert r.status_code == 400 and not re.search(r"[A-Za-z]{4,}", words), said
    body, content_type = _multipart({"note": "a\x00b"}, {"file": (b"<definitions/>", "a.bpmn")})
    r = client.post(f"{API}/process-definitions", headers=zh, data=body, content_type=content_type)
    said = str(r.json["error"]["message"])
    assert r.status_code == 400 and "空字符" in said and not re.search(r"[A-Za-z]{4,}", said), said
    english = client.post(f"{API}/process-definitions", headers={**auth, "Accept-Language": "en"}, data=body,
                          content_type=content_type)
    assert "NUL characters are not allowed" in english.json["error"]["message"]
