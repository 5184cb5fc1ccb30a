"""The language the diagram commands speak: English, or Chinese with `LOANFLOW_LANG=zh`.

`flask --app wsgi processes validate` and `processes deploy` print what the strict check found. Their
English lines are what other tools read (`error: FILE:LINE: ELEMENT: REASON`, `ok: N file(s)...`, `ID vN
new`), so English stays the default; an analyst who reads Chinese sets `LOANFLOW_LANG=zh` (`zh_CN`...
too) and reads the same lines in Chinese — the words of the line and every finding, as the modeller's
page says them. `spoken()` runs a command's work in that language (a request context whose locale is
forced, which `gettext` and `in_language` read); in English nothing is pushed, and the command runs as
it always has.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
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
