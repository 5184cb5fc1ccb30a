"""The services' one door to the running application: its settings, its extensions, the business
time zone and the reader's language. No other service module imports Flask.

Every function needs an application context, as the services' database session does; tests and
the command line give one as they do for the session.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, request
from flask_babel import LazyString, force_locale, format_date, format_datetime, get_locale, get_translations
from flask_babel import gettext as flask_gettext

from app.config import business_timezone
from app.lending.errors import LendingError

_REQUIRED = object()


def config(key: str, default: Any = _REQUIRED) -> Any:
    """A setting of the running application (`app.config`); KeyError if it is missing and no default is given."""
    if default is _REQUIRED:
        return current_app.config[key]
    return current_app.config.get(key, default)


def extension(name: str, default: Any = _REQUIRED) -> Any:
    """An object the application factory (or a test) keeps in `app.extensions`."""
    if default is _REQUIRED:
        return current_app.extensions[name]
    return current_app.extensions.get(name, default)


def provider(name: str, http: Callable[[str, str, float], Any], in_process: Callable[[], Any],
             default_timeout: float = 10) -> Any:
    """An outside service's adapter, one rule for all (risk, identity, e-signature, payments): the
    test's own in `app.extensions["<name>_provider"]`, else the HTTP client for `<NAME>_URL` made by
    `http(url, api key, timeout)` (`<NAME>_API_KEY`, `<NAME>_TIMEOUT`), else the simulator in process."""
    configured = extension(f"{name}_provider", None)
    if configured is not None:
        return configured
    key = name.upper()
    url = str(config(f"{key}_URL", "") or "")
    if url:
        return http(url, str(config(f"{key}_API_KEY", "")), float(config(f"{key}_TIMEOUT", default_timeout)))
    return in_process()


def served_url() -> str:
    """Where providers call the platform back: LOANFLOW_BASE_URL when set, else the address the
    request being served came in on (so a server on any port works), else LOANFLOW_PUBLIC_URL (the
    worker, the command line). Without a trailing slash."""
    base = str(config("BASE_URL", "") or "")
    if not base and has_request_context():
        base = request.host_url
    return (base or str(config("PUBLIC_URL", ""))).rstrip("/")


def business_tz() -> ZoneInfo:
    """The business time zone: LOANFLOW_TIMEZONE, checked at start-up (`app.config.business_timezone`)."""
    return business_timezone(current_app.config)


def language() -> str:
    """The reader's language code (`zh`, `en`: the locale flask-babel selects); outside a request, English."""
    if not has_request_context():
        return "en"
    locale = get_locale()
    return locale.language if locale is not None else "en"


def moment(at: datetime, seconds: bool = True) -> str:
    """A moment as the reader reads it: in the business time zone, by their locale (2026-12-07 17:15:02; without
    `seconds` as the pages write it, 2026-12-07 17:15); outside a request, ISO 8601 in that zone."""
    if not has_request_context():
        return at.astimezone(business_tz()).isoformat(timespec="seconds")
    return str(format_datetime(at, "medium" if seconds else "short"))


def day(value: Any) -> str:
    """A date (YYYY-MM-DD, or a date) as the reader's pages write it (2026年12月7日, Dec 7, 2026); outside a request,
    or anything not a date, as it is."""
    try:
        parsed = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return str(format_date(parsed, "medium")) if has_request_context() else parsed.isoformat()


def gettext(text: str, **variables: Any) -> str:
    """`text` translated into the reader's language (the locale flask-babel selects); outside a
    request (the command line, the worker) there is no reader: the English text."""
    if not has_request_context():
        return text % variables if variables else text
    return flask_gettext(text, **variables)


def translated(text: str) -> str:
    """`text`'s entry in the reader's catalogue, unformatted (its `%(name)s` left for the caller: a
    template whose parameters are rendered one by one); outside a request, `text`."""
    if not has_request_context():
        return text
    return get_translations().gettext(text)


def in_language(text: str, language: str) -> str:
    """`text`'s entry in `language`'s catalogue (a label kept untranslated, `N_`), whatever the reader's; outside a
    request, `text`."""
    if not has_request_context():
        return text
    with force_locale(language):
        return get_translations().gettext(text)


def lazy_gettext(text: str, **variables: Any) -> LazyString:
    """`text` marked for the catalogue and translated when it is read (`str()`), as `gettext` then does:
    for messages kept in constants and the messages of `app.services.errors`, which become the
    reader's language when raised in a request."""
    return LazyString(gettext, text, **variables)


@contextmanager
def in_english() -> Iterator[None]:
    """What is read inside is English, whoever's request runs it: what a service task's handler raises or
    returns is kept (an incident's message, a business error's message in the process's data), and kept
    words are one language; the reader's language is put on them when they are read."""
    with force_locale("en"):
        yield


def readable(error: LendingError) -> LazyString:
    """A refusal of the lending domain (`app.lending.errors`) in the reader's language: its template from the
    catalogue, with its parameters."""
    return lazy_gettext(error.template, **error.params)


def either(words: Sequence[str | LazyString]) -> str | LazyString:
    """`a or b or c` in the reader's language: the codes a refusal offers (`shorten_term or reduce_instalment`),
    each left as it is, joined by the language's "or"."""
    if not words:
        return ""
    joined: str | LazyString = words[0]
    for word in words[1:]:
        joined = lazy_gettext("%(first)s or %(second)s", first=joined, second=word)
    return joined
