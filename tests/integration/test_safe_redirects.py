"""After signing in, switching the language or claiming a task, `next` leads only to a path of
this site, read the way a browser reads it: never to another host, never a 500."""
from __future__ import annotations

import re

import pytest

from app.web.auth import safe_next
from tests.integration.test_identity import PASSWORD, set_password

ELSEWHERE = [
    "//evil.example/x", "/%09/evil.example/x", "/\t/evil.example/x", "/\n/evil.example", "\r\n//evil.example",
    " //evil.example", "/\\evil.example", "\\\\evil.example", "/%5Cevil.example", "%2F%2Fevil.example",
    "/%2F/evil.example", "/%2f%2fevil.example", "https://evil.example/", "HTTPS:evil.example", "javascript:alert(1)",
    "\x00//evil.example", "/\x0b/evil.example", "\x1f//evil.example", "http:/evil.example", "evil.example",
    "/%0d%0a/evil.example", "/\x7f", "", "\u3000//evil.example",
]
HERE = ["/", "/?view=group", "/tasks/12", "/tasks/12?next=/x#part", "/%E4%B8%AD?q=a%20b", "/a//b", "/中文"]


@pytest.mark.parametrize("target", ELSEWHERE)
def test_anything_but_a_path_of_this_site_leads_to_the_inbox(app, target):
    with app.test_request_context("/"):
        assert safe_next(target) == "/"


@pytest.mark.parametrize("target", HERE)
def test_a_path_of_this_site_is_kept(app, target):
    with app.test_request_context("/"):
        assert safe_next(target) == target


def test_browsers_ignore_what_is_stripped(app):
    with app.test_request_context("/"):
        assert safe_next(" /tasks/1\t") == "/tasks/1"
        assert safe_next("/ta\nsks/1") == "/tasks/1"
        assert safe_next("/ok\r\nSet-Cookie: x=1") == "/okSet-Cookie: x=1"  # a path here, no header


def _login(client, next_value: str):
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    return client.post("/login", query_string={"next": next_value},
                       data={"csrf_token": csrf, "username": "admin", "password": PASSWORD})


@pytest.mark.parametrize("target", ["/\t/evil.example/x", "/\n/evil.example", "//evil.example", "/\\evil.example",
                                    "%2F%2Fevil.example", "/\r\n/evil.example"])
def test_signing_in_and_switching_language_never_leave_the_site(app, client, admin_token, target):
    set_password(app, "admin")
    signed_in = _login(client, target)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/"
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)
    switched = client.post("/language", data={"csrf_token": csrf, "locale": "en", "next": target})
    assert switched.status_code == 302 and switched.headers["Location"] == "/"
    client.post("/logout", data={"csrf_token": csrf})


def test_the_path_asked_for_before_signing_in_is_kept(app, client, admin_token):
    set_password(app, "admin")
    response = _login(client, "/?view=group")
    assert response.status_code == 302 and response.headers["Location"] == "/?view=group"
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)
    for target, location in (("/中文", "/%E4%B8%AD%E6%96%87"), ("/ok\r\nSet-Cookie: x=1", "/okSet-Cookie:%20x=1")):
        switched = client.post("/language", data={"csrf_token": csrf, "locale": "en", "next": target})
        assert switched.status_code == 302 and switched.headers["Location"] == location
        assert "x=1" not in str(switched.headers.getlist("Set-Cookie"))
