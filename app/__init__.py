"""Loanflow: the application factory."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

from app.config import check_config, engine_options, load_config, resolve_secret_key


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.url_map.converters["int"] = RowIdConverter  # before any route is added
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(load_config(Path(app.instance_path)))
    if config:
        app.config.update(config)
    check_config(app.config)
    from app.logging_setup import configure_logging, install_request_id

    configure_logging(app.config)
    install_request_id(app)
    _init_security(app)
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["SQLALCHEMY_DATABASE_URI"]))

    from app.extensions import api, babel, csrf, db, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    _tune_sqlite(app)
    api.init_app(app)
    csrf.init_app(app)
    from app import text_input

    text_input.install(app)  # a NUL in any query or form text is a 400
    _init_limiter(app)
    from app.web.i18n import select_locale
    from app.web.session import install_session

    babel.init_app(app, locale_selector=select_locale)
    install_session(app)

    from app import models  # noqa: F401 - register the tables with the metadata
    from app.api import register_api
    from app.services.workflow.runtime import Runtime
    from app.wiring import product_registry

    registry = app.config.get("HANDLER_REGISTRY") or product_registry(app.config.get("HANDLER_MODULES", ()))
    app.extensions["loanflow_runtime"] = Runtime(app.config["ENGINE_MAX_TREE_DEPTH"], registry)
    register_api(app, api)
    from app.web import register_web

    register_web(app)
    from app.simulators import register_simulators

    register_simulators(app)

    from app.cli import register_cli

    register_cli(app)
    return app


# Everything from this origin, nothing inline, no plugins, never inside another site's frame.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def _init_security(app: Flask) -> None:
    """The install's own secret key, the proxies it trusts, security headers and cookie flags."""
    from flask_talisman import Talisman

    app.config["SECRET_KEY"] = resolve_secret_key(app.config)
    hops = app.config["PROXY_HOPS"]
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    # HTTPS is the proxy's to enforce (no redirect here: health checks and `make run` speak HTTP);
    # HSTS goes out only on responses served over HTTPS. Cookie flags come from the config.
    Talisman(app, force_https=False, frame_options="DENY", content_security_policy=CONTENT_SECURITY_POLICY,
             strict_transport_security_include_subdomains=False, session_cookie_secure=False,
             session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"])


def _init_limiter(app: Flask) -> None:
    """Only the sign-in pages (the `auth` blueprint) carry rate limits, so the limiter's request
    hooks run for that blueprint alone instead of on every API request."""
    from app.extensions import limiter

    registries: tuple[dict[Any, list[Any]], ...] = (app.before_request_funcs, app.after_request_funcs,
                                                     app.teardown_request_funcs)
    app_wide = [list(registry.get(None, ())) for registry in registries]
    # initialised as enabled whatever this app says, so an app made later without limits does not turn them off
    # for the others of the process (the tests make several); each request asks its own app (`_limits_off`)
    wanted = app.config.setdefault("RATELIMIT_ENABLED", True)
    app.config["RATELIMIT_ENABLED"] = True
    try:
        limiter.init_app(app)
    finally:
        app.config["RATELIMIT_ENABLED"] = wanted
    for registry, before in zip(registries, app_wide, strict=True):
        added = [hook for hook in registry.get(None, ()) if hook not in before]
        if added:
            registry[None] = before
            registry.setdefault("auth", []).extend(added)


def _numbers_up_to(limit: int) -> str:
    """A regular expression of the decimal numbers from 0 to `limit`: fewer digits, or as many and
    smaller at the first digit that differs, or `limit` itself."""
    digits = str(limit)
    options = [rf"\d{{1,{len(digits) - 1}}}"]
    options += [rf"{digits[:i]}[0-{int(d) - 1}]\d{{{len(digits) - i - 1}}}" for i, d in enumerate(digits) if d != "0"]
    return "(?:" + "|".join([*options, digits]) + ")"


class RowIdConverter(IntegerConverter):
    """`<int:...>` in every route: at most a 64-bit row id, so a bigger number is a 404 rather than
    an overflow in the database driver (a 500).

    The bound is in the pattern, not only in `max`: werkzeug's matcher takes a path whose number its
    converter then refuses for a route of another method, so a POST to `/loans/<too big>/payments`
    answered 405 (the GET route's methods) instead of 404. A route may lower the bound with
    `<int(max=...):...>`, pattern included.
    """

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        limit = kwargs.setdefault("max", 2 ** 63 - 1)
        super().__init__(url_map, *args, **kwargs)
        self.regex = _numbers_up_to(limit)


def _tune_sqlite(app: Flask) -> None:
    """WAL and a busy timeout so concurrent requests wait for each other instead of failing.

    The driver keeps its default (legacy) transactions on purpose: it opens one just before the
    first write, so a transaction never reads first and then fails to upgrade to writing
    (SQLITE_BUSY under a deferred BEGIN) — an engine step reads and then writes. Money decisions
    take the write lock before they read (`app.services.ledger.journal.hold_sqlite_write_lock`), waiting
    up to the busy timeout for it, so two of them on one payment run one after the other.
    """
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    from app.extensions import db

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001 - the DB-API driver's objects
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=15000")
            if ":memory:" not in app.config["SQLALCHEMY_DATABASE_URI"]:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
