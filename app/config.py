"""Every setting of the application, read once from the environment and checked at start-up."""
from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.engine.limits import DEFAULT_MEMORY_LIMIT_MB

ROOT = Path(__file__).resolve().parent.parent
# "development" (the default: `make run`, the tests, the benchmarks) may run on a key it generates
# into the instance folder; "production" needs a strong SECRET_KEY set in its environment.
ENVIRONMENTS = ("development", "production")
# Keys anyone can read in this project's history: a cookie signed with one is a forged cookie.
PUBLISHED_SECRET_KEYS = frozenset({"dev-only-not-secret"})
# The simulators' sandbox secrets the providers' callbacks are signed with outside production (they are in the
# source: anyone could sign a "payment settled" or "contract signed" with them), by the variable that sets each.
SANDBOX_CALLBACK_SECRETS = {"ESIGN_CALLBACK_SECRET": ("LOANFLOW_ESIGN_CALLBACK_SECRET", "esign-sandbox-callback-secret"),
                            "PAYMENTS_CALLBACK_SECRET": ("LOANFLOW_PAYMENTS_CALLBACK_SECRET",
                                                         "payments-sandbox-callback-secret")}
MIN_SECRET_KEY_LENGTH = 32
# The zone whose calendar dates are business dates (booking, due dates, end of day) and whose
# clock people read; one setting, LOANFLOW_TIMEZONE, read through `business_timezone`.
DEFAULT_TIMEZONE = "Asia/Shanghai"
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


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


def _environment() -> str:
    env = os.environ.get("LOANFLOW_ENV", "").strip() or "development"
    if env not in ENVIRONMENTS:
        raise ConfigError(f"LOANFLOW_ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
    return env


def load_config(instance_path: Path) -> dict:
    """The configuration mapping handed to Flask; overridable by `create_app(config=...)`."""
    environment = _environment()
    return {
        "LOANFLOW_ENV": environment,
        # Log lines: one JSON object each (production's default) or readable text (development's),
        # every record logged while serving a request carrying its X-Request-ID (app.logging_setup).
        "LOG_FORMAT": (os.environ.get("LOANFLOW_LOG_FORMAT", "").strip().lower()
                       or ("json" if environment == "production" else "text")),
        "LOG_LEVEL": os.environ.get("LOANFLOW_LOG_LEVEL", "").strip().upper() or "INFO",
        # None: `resolve_secret_key` reads (or creates) SECRET_KEY_FILE, outside production only.
        "SECRET_KEY": os.environ.get("SECRET_KEY") or None,
        "SECRET_KEY_FILE": os.environ.get("LOANFLOW_SECRET_KEY_FILE") or str(instance_path / "secret_key"),
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host are trusted
        # (the client address throttles sign-ins; the scheme marks a request secure).
        "PROXY_HOPS": _int("LOANFLOW_PROXY_HOPS", 0),
        "SQLALCHEMY_DATABASE_URI": _database_url(instance_path),
        "PROCESSES_DIR": os.environ.get("LOANFLOW_PROCESSES_DIR", str(ROOT / "processes")),
        "FORMS_DIR": os.environ.get("LOANFLOW_FORMS_DIR", str(ROOT / "forms")),
        # Outside services (docs/origination.md): a provider's base URL and API key; unset, the
        # platform calls its own simulator in process. The simulators' HTTP APIs accept SIMULATOR_API_KEY.
        "RISK_URL": os.environ.get("LOANFLOW_RISK_URL", "").strip(),
        "RISK_API_KEY": os.environ.get("LOANFLOW_RISK_API_KEY", ""),
        "RISK_TIMEOUT": _int("LOANFLOW_RISK_TIMEOUT", 5),
        "NOTIFY_URL": os.environ.get("LOANFLOW_NOTIFY_URL", "").strip(),
        # The payment gateway (docs/signing.md, disbursement): unset, the simulator in process.
        "PAYMENTS_URL": os.environ.get("LOANFLOW_PAYMENTS_URL", "").strip(),
        "PAYMENTS_API_KEY": os.environ.get("LOANFLOW_PAYMENTS_API_KEY", ""),
        "PAYMENTS_TIMEOUT": _int("LOANFLOW_PAYMENTS_TIMEOUT", 10),
        # The e-signature provider and identity verification (docs/signing.md, signing): unset, the simulators in process.
        "ESIGN_URL": os.environ.get("LOANFLOW_ESIGN_URL", "").strip(),
        "ESIGN_API_KEY": os.environ.get("LOANFLOW_ESIGN_API_KEY", ""),
        "ESIGN_TIMEOUT": _int("LOANFLOW_ESIGN_TIMEOUT", 10),
        "IDENTITY_URL": os.environ.get("LOANFLOW_IDENTITY_URL", "").strip(),
        "IDENTITY_API_KEY": os.environ.get("LOANFLOW_IDENTITY_API_KEY", ""),
        "IDENTITY_TIMEOUT": _int("LOANFLOW_IDENTITY_TIMEOUT", 5),
        # Where people reach the platform: the links sent by SMS and e-mail (an invitation) start with it.
        "PUBLIC_URL": os.environ.get("LOANFLOW_PUBLIC_URL", "").strip() or "http://127.0.0.1:5000",
        "NOTIFY_API_KEY": os.environ.get("LOANFLOW_NOTIFY_API_KEY", ""),
        "SIMULATOR_API_KEY": os.environ.get("LOANFLOW_SIMULATOR_API_KEY", "simulator-sandbox-key"),
        # Where simulators call the platform back (its callback endpoints); unset: where it is being served.
        "BASE_URL": os.environ.get("LOANFLOW_BASE_URL", "").strip(),
        # The secrets providers sign their callbacks with (HMAC-SHA256, handlers.callbacks); the
        # defaults are the simulators' sandbox secrets, for development and tests only.
        **{key: os.environ.get(variable, sandbox) for key, (variable, sandbox) in SANDBOX_CALLBACK_SECRETS.items()},
        # Diagrams and uploads larger than this are refused before parsing.
        "MAX_DIAGRAM_BYTES": _int("LOANFLOW_MAX_DIAGRAM_BYTES", 2 * 1024 * 1024),
        "MAX_CONTENT_LENGTH": _int("LOANFLOW_MAX_REQUEST_BYTES", 16 * 1024 * 1024),
        "MAX_DOCUMENT_BYTES": _int("LOANFLOW_MAX_DOCUMENT_BYTES", 10 * 1024 * 1024),
        # Camunda's external task workers waiting in a fetch (`asyncResponseTimeout`) at once, per process: each
        # holds a request thread while it waits; past this many, a fetch that finds nothing answers at once.
        "EXTERNAL_TASK_LONG_POLLS": _int("LOANFLOW_EXTERNAL_TASK_LONG_POLLS", 1),
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
        # Secure by default: browsers treat http://127.0.0.1 and http://localhost as secure, so
        # `make run` works; LOANFLOW_SECURE_COOKIES=0 only for a plain-HTTP host name in a lab.
        "SESSION_COOKIE_SECURE": os.environ.get("LOANFLOW_SECURE_COOKIES", "1") != "0",
        "REMEMBER_COOKIE_SECURE": os.environ.get("LOANFLOW_SECURE_COOKIES", "1") != "0",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": _int("LOANFLOW_SESSION_SECONDS", 8 * 3600),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "BABEL_DEFAULT_LOCALE": "zh",
        # The business time zone (business dates, the end-of-day cron, times shown to people);
        # BABEL_DEFAULT_TIMEZONE follows it (`check_config`).
        "LOANFLOW_TIMEZONE": os.environ.get("LOANFLOW_TIMEZONE", "").strip() or DEFAULT_TIMEZONE,
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
    if config.get("LOANFLOW_ENV") not in ENVIRONMENTS:
        raise ConfigError(f"LOANFLOW_ENV must be one of {', '.join(ENVIRONMENTS)}")
    config["BABEL_DEFAULT_TIMEZONE"] = business_timezone(config).key  # times shown to people
    if config.get("LOG_FORMAT", "text") not in LOG_FORMATS:
        raise ConfigError(f"LOANFLOW_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, got {config['LOG_FORMAT']!r}")
    if config.get("LOG_LEVEL", "INFO") not in LOG_LEVELS:
        raise ConfigError(f"LOANFLOW_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {config['LOG_LEVEL']!r}")
    if config["LOANFLOW_ENV"] == "production" and not config.get("SESSION_COOKIE_SECURE"):
        raise ConfigError("LOANFLOW_SECURE_COOKIES=0 is for a plain-HTTP lab host: production serves HTTPS, "
                          "and its session cookies are Secure")
    for key, (variable, sandbox) in SANDBOX_CALLBACK_SECRETS.items():
        if config["LOANFLOW_ENV"] == "production" and config.get(key) in (None, "", sandbox):
            raise ConfigError(f"production needs {variable}: the secret your provider signs its callbacks with (the "
                              f"sandbox one is published in Loanflow's source: anyone could sign a callback with it)")


def business_timezone(config: Mapping[str, Any]) -> ZoneInfo:
    """The business time zone of a configuration (LOANFLOW_TIMEZONE); a ConfigError if zoneinfo
    does not know it."""
    name = config.get("LOANFLOW_TIMEZONE") or DEFAULT_TIMEZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise ConfigError(f"LOANFLOW_TIMEZONE must be an IANA time zone such as {DEFAULT_TIMEZONE!r} "
                          f"or 'Europe/London', got {name!r}") from exc


def resolve_secret_key(config: dict) -> str:
    """The key that signs session cookies and CSRF tokens: one no other install knows.

    A configured SECRET_KEY is used when it is not a published one (and, in production, when it
    is at least MIN_SECRET_KEY_LENGTH characters). Without one, development reads the key from
    SECRET_KEY_FILE, creating it on first start; production refuses to start.
    """
    key = config.get("SECRET_KEY")
    production = config.get("LOANFLOW_ENV") == "production"
    hint = "set SECRET_KEY to a random value, e.g. python -c 'import secrets; print(secrets.token_hex(32))'"
    if key:
        if key in PUBLISHED_SECRET_KEYS:
            raise ConfigError(f"SECRET_KEY {key!r} is published in Loanflow's source: anyone can sign "
                              f"cookies with it; {hint}, or unset it outside production")
        if production and len(key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigError(f"SECRET_KEY is {len(key)} characters: production needs at least "
                              f"{MIN_SECRET_KEY_LENGTH}; {hint}")
        return key
    if production:
        raise ConfigError(f"LOANFLOW_ENV=production needs SECRET_KEY: {hint}")
    return instance_secret_key(Path(config["SECRET_KEY_FILE"]))


def instance_secret_key(path: Path) -> str:
    """The install's own key, kept in `path` (mode 0600); created on first start.

    The web server and the worker start together (`make run`): each writes a candidate to a
    private temporary file and hard-links it into place, which only one can do; all then read the
    one that won, so every process of the install signs with the same key.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, candidate = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32) + "\n")
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(candidate, path)
            except FileExistsError:
                pass  # another process started at the same time and won: use its key
        finally:
            os.unlink(candidate)
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(f"{path} holds no usable key ({len(key)} characters): delete it to have a new one made")
    return key
