"""A list page's date range filter (`?from=…&to=…`): read leniently (a date it cannot read is left out), and
what is wrong with it said next to its field, as the instance search and the deals list say it."""
from __future__ import annotations

from datetime import date

from flask import request
from flask_babel import gettext as _


def date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, "").strip())
    except ValueError:
        return None


def date_errors(start: date | None, end: date | None, backwards: str,
                names: tuple[str, str] = ("from", "to")) -> dict[str, list[str]]:
    """What is wrong with the dates typed: one it could not read (left out of the search), and an end before the
    start (`backwards`: that nothing can match, in the list's words)."""
    errors: dict[str, list[str]] = {}
    for name, read in zip(names, (start, end), strict=True):
        if read is None and request.args.get(name, "").strip():
            errors[name] = [_("Write the date as YYYY-MM-DD, such as 2026-12-01; the search left it out.")]
    if start and end and start > end:
        errors[names[1]] = [backwards]
    return errors
