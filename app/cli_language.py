"""The language the commands speak: English, or Chinese with `LOANFLOW_LANG=zh`.

Every command prints what a person reads: `processes validate` and `processes deploy` what the strict check
found, the others what they did. Their English lines are what other tools read (`error: FILE:LINE: ELEMENT:
REASON`, `ok: N file(s)...`, `ID vN new`, `woke N instance(s)`), so English stays the default; a person
who reads Chinese sets `LOANFLOW_LANG=zh` (`zh_CN`... too) and reads the same lines in Chinese — the words
of the line and every finding, as the pages say them. `spoken()` runs a command's work in that language
(a request context whose locale is forced, which `gettext` and `in_language` read); in English nothing is
pushed, and the command runs as it always has. `SpokenGroup` runs each of its commands so, `speaks` one
command made outside a group. Options' help texts stay English (click's own words are English too).
"""
from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale

ENV = "LOANFLOW_LANG"


def language() -> str:
    """`zh` when LOANFLOW_LANG names Chinese, else `en`."""
    return "zh" if os.environ.get(ENV, "").strip().lower().startswith("zh") else "en"


@contextmanager
def spoken() -> Iterator[str]:
    """The command's work and output in the command line's language; yields the language."""
    chosen = language()
    if chosen == "en":
        yield chosen
        return
    with current_app.test_request_context(), force_locale(chosen):
        yield chosen


def speaks(f: Callable[..., Any]) -> Callable[..., Any]:
    """Run the command's function in the command line's language (put it under the `command` decorator)."""
    @functools.wraps(f)
    def in_language(*args: Any, **kwargs: Any) -> Any:
        with spoken():
            return f(*args, **kwargs)
    return in_language


class SpokenGroup(AppGroup):
    """A group of commands that each speak the command line's language (`speaks`)."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]:  # type: ignore[override]
        made = super().command(*args, **kwargs)
        return lambda f: made(speaks(f))
