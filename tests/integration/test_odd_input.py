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
QUERY_VALUES = ("-1", "99999999999999999999", "NaN", "2026-99-99", "\x00", "x" * 3000)
QUERY_NAMES = ("page", "per_page", "instance_id", "state", "status", "date", "process_id", "business_key", "q",
               "sort", "view", "due_before", "party", "next")
BODIES = ('{"x": NaN}', '{"x": 1e999}', "[" * 5000 + "]" * 5000, '{"data": {"a": "\\u0000"}}',
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
