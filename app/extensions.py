"""Flask extensions, created unbound here and bound to the app in `create_app`."""
from typing import TYPE_CHECKING

from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from app.schemas.common import ErrorSchema

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# Objects stay usable after a step's commit: the request ends soon after, and reloading every
# attribute after each commit was a third of the runner's statements.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
if TYPE_CHECKING:
    Model = Base  # what db.Model is, spelled so type checkers can see it
else:
    Model = db.Model
migrate = Migrate()


class LoanflowApi(Api):
    """flask-smorest's Api documenting the API's one error shape, and no catch-all `default` response:
    each operation lists the errors it answers (app/api/openapi.py)."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None


api = LoanflowApi()
login_manager = LoginManager()
csrf = CSRFProtect()
# Dates and times read the same in both languages and on every page: 2026-12-07 and 2026-12-07 17:15 (seconds
# on the console's instance page). The locales' own short forms mixed 2026/12/7, 2026年12月7日 and, in English,
# 12/7/26 (month first, a two-digit year: ambiguous to a reader in China) and Sep 23, 2026.
DATE_FORMATS = {**Babel.default_date_formats, "date.short": "yyyy-MM-dd", "date.medium": "yyyy-MM-dd",
                "datetime.short": "yyyy-MM-dd HH:mm", "datetime.medium": "yyyy-MM-dd HH:mm:ss"}
babel = Babel(date_formats=dict(DATE_FORMATS))
# Sign-in attempts per client address; the per-account lockout lives in the accounts service.
# Its request hooks run for the sign-in pages only (`app._init_limiter`).
limiter = Limiter(key_func=get_remote_address, default_limits=[], storage_uri="memory://")


@limiter.request_filter
def _limits_off() -> bool:
    """One Limiter serves every app of the process (its limits are declared on the views when they are imported),
    and `init_app` makes the last app's RATELIMIT_ENABLED everyone's: whether sign-ins are limited is asked of the
    app serving the request instead (`app._init_limiter`)."""
    return not current_app.config.get("RATELIMIT_ENABLED", True)
