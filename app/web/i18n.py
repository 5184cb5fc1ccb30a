"""The interface language: the user's choice (this session's, else their account's, for a page or an
API call with their token), else the browser's, else Simplified Chinese for a page and English for
the API."""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app, g, request, session
from flask_babel import format_date, format_datetime, format_decimal, format_percent
from flask_login import current_user

API_PREFIX = "/api/"


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("locale")
    if chosen in languages:
        return str(chosen)
    principal = g.get("principal")  # an API call's caller (a bearer token), resolved by app.api.auth
    if principal is None and current_user and getattr(current_user, "is_authenticated", False):
        principal = current_user.principal
    if principal is not None and principal.locale in languages:
        return str(principal.locale)
    best = request.accept_languages.best_match(languages)
    if best is None and request.path.startswith(API_PREFIX):
        return "en"  # API callers are programs first: English unless the caller or its account says otherwise
    return str(best or current_app.config["BABEL_DEFAULT_LOCALE"])


def money(value: Any) -> str:
    """An amount in CNY, ¥1,234,567.80 in every language: the sign the platform's own sentences write ("You pay
    ¥500.00") — English's CN¥ beside them made one page write one currency two ways; anything not a number as
    it is."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not amount.is_finite() or isinstance(value, bool):
        return str(value)
    return ("-" if amount < 0 else "") + "¥" + format_decimal(abs(amount), "#,##0.00")


def percent(value: Any, ratio: bool = True) -> str:
    """A ratio (0.80) as a percentage by the page's locale (80%); `ratio=False`: a value in percent already (an
    annual rate of 10.5 is 10.5%). Anything not a number as it is."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not number.is_finite() or isinstance(value, bool):
        return str(value)
    return format_percent(number if ratio else number / 100, "#,##0.##%")


def local_date(value: Any) -> str:
    """An ISO date (or datetime) by the page's locale; anything else as it is."""
    try:
        parsed = date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return format_date(parsed, "medium")


def moment(value: Any) -> str:
    """A moment (a datetime kept in UTC) as people read it: in the business time zone, by the page's locale
    (2026/11/25 00:30); nothing for none."""
    return "" if value is None else format_datetime(value, "short")
