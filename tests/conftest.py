"""Fixtures: the app on SQLite and (when available) PostgreSQL, a client, a clock, an admin token.

Every database test runs once per backend. PostgreSQL comes from TEST_DATABASE_URL (a server
`.ci/run` starts); with LOANFLOW_REQUIRE_SERVICES=1 a missing server is an error, not a skip.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import settings

from app import create_app
from app.extensions import db

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
REQUIRE_SERVICES = os.environ.get("LOANFLOW_REQUIRE_SERVICES") == "1"

# Property tests draw new examples on every `make test` (that is how they find what nobody thought of); under CI
# (LOANFLOW_REQUIRE_SERVICES=1) they draw the same examples every run, so whether a change lands never depends on
# the luck of a draw (a forced sale's one-cent case failed one CI run in many). What a local run finds is pinned
# with `@example`; a failure prints the blob that reproduces it. HYPOTHESIS_PROFILE chooses either way.
settings.register_profile("explore", print_blob=True)
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if REQUIRE_SERVICES else "explore"))


def _postgres_admin_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return None
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


def require_postgres_admin_url() -> str:
    """The maintenance URL of the test PostgreSQL server; skips (fails under
    LOANFLOW_REQUIRE_SERVICES=1) when none is configured."""
    admin_url = _postgres_admin_url()
    if admin_url is None:
        if REQUIRE_SERVICES:
            pytest.fail("LOANFLOW_REQUIRE_SERVICES=1 but TEST_DATABASE_URL is not set: PostgreSQL is required")
        pytest.skip("PostgreSQL not configured (set TEST_DATABASE_URL)")
    return admin_url


@contextmanager
def throwaway_postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database named `prefix_<random>`, dropped afterwards; yields its URL."""
    admin_url = require_postgres_admin_url()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_database():
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    with throwaway_postgres_database("loanflow_test") as url:
        yield url


def _make_app(database_url: str, tmp: Path):
    from flask_migrate import upgrade

    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret",
        "FORMS_DIR": str(FIXTURES / "forms"),
        "PROCESSES_DIR": str(FIXTURES / "bpmn"),
        "RATELIMIT_ENABLED": False,
        "PASSWORD_HASH_FAST": True,  # argon2id at its lowest cost: the suite signs in often  # tests sign in many times from one address; test_identity checks it on
    })
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend_app(request, tmp_path_factory):
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "test.db"
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_database")
    app = _make_app(url, tmp_path_factory.mktemp("instance"))
    app.config["BACKEND"] = request.param
    yield app
    with app.app_context():
        db.engine.dispose()


def _empty_tables() -> None:
    from app.services.ledger.posting import ensure_default_chart

    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("TRUNCATE " + ", ".join(t.name for t in tables) + " RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    ensure_default_chart()  # reference data the migrations write: the ledger's accounts
    db.session.commit()


class FakeClock:
    """The time services see; tests move it explicitly, never sleep."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


@pytest.fixture
def clock():
    return FakeClock(datetime(2026, 11, 28, 9, 0, tzinfo=UTC))


@pytest.fixture
def app(backend_app, clock):
    backend_app.extensions["loanflow_clock"] = clock
    with backend_app.app_context():
        _empty_tables()
        db.session.remove()
    backend_app.extensions["loanflow_runtime"].clear_caches()  # ids restart with the emptied tables
    yield backend_app
    backend_app.extensions.pop("loanflow_clock", None)
    with backend_app.app_context():
        db.session.remove()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def admin_token(app) -> str:
    from app.services.identity.directory import ensure_platform_admin

    with app.app_context():
        token = ensure_platform_admin()
        db.session.remove()
    return token


@pytest.fixture
def auth(admin_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token}"}


@pytest.fixture
def second_auth(app, admin_token) -> dict[str, str]:
    """Another platform admin: for tasks that must be done by someone else (four-eyes)."""
    from app.services.identity import directory as identity

    with app.app_context():
        identity.create_user("admin2", "PLATFORM", ["platform_admin"])
        token = identity.issue_token("admin2")
        db.session.remove()
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def operators_registered(app, *operators: str) -> Iterator[None]:
    """The app's handler registry plus stand-ins for `operators`, while the block runs.

    Deploying refuses a diagram whose service operator is not registered; a version deployed
    while its handler module was loaded, which has been removed since, still runs and gets an
    `unknown_operator` incident. This makes that deployment: deploy inside the block, run after.
    """
    from app.services.workflow.operators import HandlerRegistry

    runtime = app.extensions["loanflow_runtime"]
    before = runtime.handlers
    widened = HandlerRegistry()
    for operator in before.operators():
        widened.register(operator)(lambda params, ctx, op=operator: before.call(op, params, ctx))
    for operator in operators:
        widened.register(operator)(lambda params, ctx: pytest.fail("a stand-in operator was called"))
    runtime.handlers = widened
    try:
        yield
    finally:
        runtime.handlers = before


def fixture_diagram(name: str):
    """A fixture diagram by file name in tests/fixtures/bpmn, or by a path under tests/fixtures for another
    folder: bpmn_versions/ holds later versions of processes in bpmn/ (the same process id, so they cannot
    sit beside them: `processes deploy` of that folder would find the id twice)."""
    from app.services.workflow.deployment import DiagramFile

    path = FIXTURES / name if "/" in name else FIXTURES / "bpmn" / name
    return DiagramFile(path.name, path.read_bytes())


@pytest.fixture
def deploy(app):
    """Deploy fixture diagrams by file name (from tests/fixtures/bpmn) and return the results.

    `removed_operators`: operators registered only while deploying (see `operators_registered`)."""
    from app.services.workflow.deployment import deploy_and_commit

    def _deploy(*names: str, removed_operators: tuple[str, ...] = ()):
        with app.app_context(), operators_registered(app, *removed_operators):
            files = [fixture_diagram(n) for n in names]
            results = deploy_and_commit(files)
            db.session.remove()
        return results

    return _deploy


def quiet_request_log() -> None:
    """A served app's requests are not logged line by line (werkzeug logs each at INFO, and its lines reached the
    CI's output when a test ended while the browser still asked for something, such as the favicon)."""
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)


@pytest.fixture
def served(app):
    """The test's app served over real HTTP from a thread (threaded werkzeug server): for races
    and isolation tests that need real concurrent requests. Yields its base URL."""
    import threading

    from werkzeug.serving import make_server

    quiet_request_log()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="served-app", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def chinese() -> Iterator[None]:
    """A request in Chinese over the real catalogue, without the application: for what the engine says."""
    from flask import Flask
    from flask_babel import Babel

    app = Flask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(ROOT / "app" / "translations")
    Babel(app, locale_selector=lambda: "zh")
    with app.test_request_context():
        yield
