"""Security headers and cookie flags: a content security policy of this origin only (so no page
carries inline script or style), no framing, no MIME sniffing, a referrer policy, HSTS over HTTPS
only, and session cookies that are Secure, HttpOnly and SameSite=Lax by default."""
from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask
from tests.integration.test_identity import set_password, sign_in

API = "/api/v1"
TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "web" / "templates"
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=|javascript:", re.I)


def _policy(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: " ".join(part.split()[1:]) for part in header.split(";") if part.strip()}


def test_pages_and_the_api_carry_the_security_headers(client):
    for response in (client.get("/login"), client.get(f"{API}/healthz"), client.get("/no-such-page")):
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        policy = _policy(response)
        assert policy["default-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
        assert policy["object-src"] == "'none'" and policy["form-action"] == "'self'"
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
        assert "Strict-Transport-Security" not in response.headers  # plain HTTP: no HSTS


def test_hsts_only_over_https_and_no_redirect_to_https_in_development(client):
    assert client.get("/login").status_code == 200  # http://localhost, not redirected
    secure = client.get("/login", base_url="https://localhost")
    assert secure.status_code == 200
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_the_session_cookie_is_secure_httponly_and_samesite_lax_by_default(app, client, admin_token):
    set_password(app, "admin")
    response = sign_in(client, "admin")
    assert response.status_code == 302
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite=lax"} <= flags
    assert app.config["REMEMBER_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_HTTPONLY"]


def test_no_template_has_inline_script_style_or_handlers():
    found = {path.name: INLINE.findall(path.read_text()) for path in TEMPLATES.glob("*.html")}
    assert {name: hits for name, hits in found.items() if hits} == {}


def test_rendered_pages_have_no_inline_script_or_style(app, client, auth, deploy):
    deploy("review_with_form.bpmn")
    started = client.post(f"{API}/process-instances", json={"process_id": "review_with_form"}, headers=auth)
    assert started.status_code == 201
    with app.app_context():
        task_id = db.session.scalar(select(HumanTask.id).where(HumanTask.instance_id == started.json["id"]))
        db.session.remove()
    pages = [client.get("/login").text, client.get("/reset").text]
    set_password(app, "admin")
    sign_in(client, "admin")
    pages += [client.get(path).text for path in ("/", "/?view=group", f"/tasks/{task_id}", "/admin/")]
    assert all("<main>" in page for page in pages)
    assert [INLINE.findall(page) for page in pages] == [[]] * len(pages)
    assert all('<script src="/static/app.js" defer></script>' in page for page in pages)
    script = client.get("/static/app.js")
    assert script.status_code == 200 and "Loanflow's one script" in script.text
    script.close()
