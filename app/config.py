"""Every setting of the application, read once from the environment and checked at start-up."""
from __future__ import annotations

import os
from pathlib import Path

from app.engine.limits import DEFAULT_MEMORY_LIMIT_MB

ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """A setting is missing or malformed."""


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _database_url(instance_path: Path) -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{instance_path / 'loanflow.db'}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def load_config(instance_path: Path) -> dict:
    """The configuration mapping handed to Flask; overridable by `create_app(config=...)`."""
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY", "dev-only-not-secret"),
        "SQLALCHEMY_DATABASE_URI": _database_url(instance_path),
        "PROCESSES_DIR": os.environ.get("LOANFLOW_PROCESSES_DIR", str(ROOT / "processes")),
        "FORMS_DIR": os.environ.get("LOANFLOW_FORMS_DIR", str(ROOT / "forms")),
        # Diagrams and uploads larger than this are refused before parsing.
        "MAX_DIAGRAM_BYTES": _int("LOANFLOW_MAX_DIAGRAM_BYTES", 2 * 1024 * 1024),
        "MAX_CONTENT_LENGTH": _int("LOANFLOW_MAX_REQUEST_BYTES", 16 * 1024 * 1024),
        "MAX_DOCUMENT_BYTES": _int("LOANFLOW_MAX_DOCUMENT_BYTES", 10 * 1024 * 1024),
        # An instance whose task tree grows deeper than this gets an incident (SpiffWorkflow
        # silently stops iterating at depth 1000).
        "ENGINE_MAX_TREE_DEPTH": _int("LOANFLOW_ENGINE_MAX_TREE_DEPTH", 900),
        # Modules whose register(registry) adds service-task handlers beyond those shipped.
        "HANDLER_MODULES": [m.strip() for m in os.environ.get("LOANFLOW_HANDLER_MODULES", "").split(",") if m.strip()],
        "API_TITLE": "Loanflow API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("LOANFLOW_SECURE_COOKIES", "0") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "PERMANENT_SESSION_LIFETIME": _int("LOANFLOW_SESSION_SECONDS", 8 * 3600),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "BABEL_DEFAULT_LOCALE": "zh",
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("LOANFLOW_TIMEZONE", "Asia/Shanghai"),  # times shown to people
        "LANGUAGES": ["zh", "en"],
        "RATELIMIT_ENABLED": os.environ.get("LOANFLOW_RATELIMIT", "1") == "1",
        # address-space cap of a gunicorn or background worker process, 0 for none (limits.cap_memory)
        "MEMORY_LIMIT_MB": _int("LOANFLOW_MEMORY_LIMIT_MB", DEFAULT_MEMORY_LIMIT_MB),
    }


def engine_options(uri: str) -> dict:
    """Pool settings: a liveness ping only where connections cross a network."""
    if not uri.startswith("postgresql"):
        return {}
    # No server-side prepared statements: psycopg would otherwise DEALLOCATE ALL on every reset.
    # JIT compiles plans of large estimated cost: slower, not faster, for the short inbox queries.
    return {"pool_pre_ping": True, "pool_recycle": 1800,
            "connect_args": {"prepare_threshold": None, "options": "-c jit=off"}}


def check_config(config: dict) -> None:
    """Refuse to start with settings that cannot work."""
    uri = config.get("SQLALCHEMY_DATABASE_URI", "")
    if not (uri.startswith("sqlite") or uri.startswith("postgresql")):
        raise ConfigError(f"DATABASE_URL must be SQLite or PostgreSQL, got {uri.split(':')[0]!r}")
    if not config.get("TESTING") and not config.get("DEBUG") and config["SECRET_KEY"] == "dev-only-not-secret":
        if os.environ.get("LOANFLOW_ENV", "development") == "production":
            raise ConfigError("SECRET_KEY must be set in production")
