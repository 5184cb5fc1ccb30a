"""Browser tests: the app served over HTTP from a thread, driven by Debian's Chromium through Playwright.

One server (a temp-file SQLite database) and one browser per test session; each test gets fresh
browser contexts (no shared cookies) and seeds its own organisations, users and instances with
unique names, so tests do not see each other's tasks. Without /usr/bin/chromium the tests skip,
unless LOANFLOW_REQUIRE_SERVICES=1 (CI), where they fail. Set LOANFLOW_E2E_SCREENSHOTS=DIR to keep
screenshots of the inbox and a task page for a look at the layout. `demo_server`/`demo_page` serve
`make run`'s data instead (the shipped processes and forms, `seed demo`), one server per test module.
"""
from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask

from tests.conftest import FIXTURES, REQUIRE_SERVICES

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
PASSWORD = "correct-horse-42"
TIMEOUT_MS = 10_000
DESKTOP = {"width": 1280, "height": 800}
_serial = itertools.count(1)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        if REQUIRE_SERVICES:
            pytest.fail(f"LOANFLOW_REQUIRE_SERVICES=1 but {CHROMIUM} is missing: install Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class LiveServer:
    app: Flask
    url: str
    admin_token: str

    def api(self, method: str, path: str, **kwargs):
        """The JSON API as the platform admin (a bearer token), from the test process."""
        client = self.app.test_client()
        response = client.open(f"/api/v1{path}", method=method,
                               headers={"Authorization": f"Bearer {self.admin_token}"}, **kwargs)
        assert response.status_code < 400, (path, response.status_code, response.json)
        return response.json


@pytest.fixture(scope="package")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    from flask_migrate import upgrade

    from app import create_app
    from app.engine.parser import DiagramFile
    from app.extensions import db
    from app.services.identity.directory import ensure_platform_admin
    from app.services.workflow.deployment import deploy_and_commit

    path = tmp_path_factory.mktemp("e2e-db") / "loanflow.db"
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
        "SECRET_KEY": "e2e-secret",
        "FORMS_DIR": str(FIXTURES / "forms"),
        "PROCESSES_DIR": str(FIXTURES / "bpmn"),
        "RATELIMIT_ENABLED": False,  # the tests sign in many times from one address
        "PASSWORD_HASH_FAST": True,  # argon2id at its lowest cost: every sign-in hashes
    })
    with app.app_context():
        upgrade()
        token = ensure_platform_admin()
        name = "review_with_form.bpmn"
        deploy_and_commit([DiagramFile(name, (FIXTURES / "bpmn" / name).read_bytes())])
        db.session.remove()
    yield from serve(app, token)


def serve(app: Flask, token: str) -> Iterator[LiveServer]:
    """The app over real HTTP from a thread until the generator is closed; its pool disposed after."""
    from werkzeug.serving import make_server

    from app.extensions import db
    from tests.conftest import quiet_request_log

    quiet_request_log()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}", token)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def new_page(browser, live_server) -> Iterator[Callable]:
    """A page in a fresh browser context (its own cookies), its browser language given as `locale`."""
    contexts = []

    def _new_page(locale: str = "en-US"):
        context = browser.new_context(base_url=live_server.url, locale=locale,
                                      viewport=DESKTOP)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield _new_page
    for context in contexts:
        context.close()


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory) -> Iterator[LiveServer]:
    """`make run`'s data served over HTTP, one server per test module: processes/ and forms/ deployed,
    `seed demo` (its organisations, users, products and deals), one invitation for the page sweep."""
    from flask_migrate import upgrade

    from app import create_app
    from app.demo import seed_demo
    from app.extensions import db
    from app.services.identity import accounts
    from app.services.identity import directory as identity
    from app.services.identity.directory import ensure_platform_admin
    from app.services.workflow import deployment

    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path_factory.mktemp('demo-db') / 'demo.db'}",
        "SECRET_KEY": "demo-secret",
        "RATELIMIT_ENABLED": False,
        "PASSWORD_HASH_FAST": True,
    })
    with app.app_context():
        upgrade()
        token = ensure_platform_admin()
        deployment.deploy_and_commit(deployment.read_diagram_files([Path(app.config["PROCESSES_DIR"])]))
        seed_demo()
        identity.create_user("a11y_invited", "BANK1", ["first_reviewer"])
        app.config["A11Y_INVITATION"] = accounts.invite("a11y_invited")
        db.session.remove()
    yield from serve(app, token)


@pytest.fixture
def demo_page(browser, demo_server):
    """A page on the demo server in a fresh browser context whose language is Chinese."""
    context = browser.new_context(base_url=demo_server.url, locale="zh-CN", viewport=DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


@dataclass
class World:
    """What one test seeded: organisation codes by role name and usernames by nickname."""
    server: LiveServer
    suffix: str

    def org(self, code: str, kinds: list[str]) -> str:
        from app.services.identity import directory as identity

        with self.server.app.app_context():
            identity.create_org(code, kinds, f"{code} Ltd")
        return code

    def user(self, name: str, org_code: str, roles: list[str], password: str | None = PASSWORD) -> str:
        """A user (username made unique to the test) with a password set through an invitation."""
        from app.extensions import db
        from app.services.identity import accounts
        from app.services.identity import directory as identity

        username = f"{name}_{self.suffix}"
        with self.server.app.app_context():
            identity.create_user(username, org_code, roles)
            if password is not None:
                accounts.set_password_with_token(accounts.invite(username), "invite", password)
            db.session.remove()
        return username

    def invite(self, username: str) -> str:
        from app.extensions import db
        from app.services.identity import accounts

        with self.server.app.app_context():
            token = accounts.invite(username)
            db.session.remove()
        return token

    def start(self, funder: str, key: str | None = None) -> dict:
        """A review_with_form instance bound to the funder; returns the instance with `task_id` of first_review."""
        instance = self.server.api("POST", "/process-instances", json={
            "process_id": "review_with_form", "business_key": key or f"KEY-{self.suffix}-{next(_serial)}",
            "parties": {"funder": funder}})
        instance["task_id"] = self.open_task(instance["id"], "first_review")["id"]
        return instance

    def open_task(self, instance_id: int, element_id: str) -> dict:
        items = self.server.api("GET", "/tasks", query_string={"instance_id": instance_id})["items"]
        [task] = [t for t in items if t["element_id"] == element_id and t["state"] in ("ready", "claimed")]
        return task

    def task(self, task_id: int) -> dict:
        return self.server.api("GET", f"/tasks/{task_id}")


@pytest.fixture
def world(live_server) -> World:
    return World(live_server, f"T{next(_serial)}")  # organisation codes are capitals


def sign_in(page, username: str, password: str = PASSWORD, next_path: str = "/") -> None:
    page.goto(f"/login?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert not page.url.split("?")[0].endswith("/login"), page.locator(".error").all_inner_texts()


def task_ids(page) -> list[int]:
    return [int(i) for i in page.locator("tr[data-task-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.taskId)")]


def screenshot(page, name: str) -> None:
    folder = os.environ.get("LOANFLOW_E2E_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
