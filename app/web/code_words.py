"""Code inside a sentence a Chinese reader reads, marked as code: a check's finding quotes the diagram's own
words — `camunda:formKey`, `start-form.form`, an element's English name — which are the analyst's data, not
text to translate. In a Chinese page each run of Latin letters, digits and code punctuation is wrapped in
`<span class="code" translate="no">`, so a reader (and a translating browser) sees what is code; an English
page shows the sentence as it is."""
from __future__ import annotations

import re

from flask_babel import get_locale
from markupsafe import Markup, escape

_RUN = re.compile(r"[A-Za-z0-9_$#@{}'\"][A-Za-z0-9_:./@#$\-{}'\"=!]*")


def parts(text: object) -> list[tuple[str, bool]]:
    """`text` as its pieces, each with whether it is code: the Latin runs of a Chinese page's text; else the
    whole text, not code. (A script that shows a finding builds its spans from these: `reason_parts`.)"""
    plain = str(text)
    locale = get_locale()
    if locale is None or locale.language != "zh":
        return [(plain, False)] if plain else []
    found: list[tuple[str, bool]] = []
    at = 0
    for run in _RUN.finditer(plain):
        if not re.search(r"[A-Za-z]", run.group()):
            continue
        if run.start() > at:
            found.append((plain[at:run.start()], False))
        found.append((run.group(), True))
        at = run.end()
    if at < len(plain):
        found.append((plain[at:], False))
    return found


def code_marked(text: object) -> Markup:
    """`text`, escaped, with its Latin runs marked as code where the page is Chinese."""
    return Markup("").join(Markup('<span class="code" translate="no">%s</span>') % piece if code else escape(piece)
                           for piece, code in parts(text))


def with_parts(problem: dict) -> dict:
    """A finding for a page's script, with its reason's pieces (`parts`) beside the reason."""
    return problem | {"reason_parts": parts(problem.get("reason", ""))}
