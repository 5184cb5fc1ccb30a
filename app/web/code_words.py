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


def code_marked(text: object) -> Markup:
    """`text`, escaped, with its Latin runs marked as code where the page is Chinese."""
    plain = str(text)
    locale = get_locale()
    if locale is None or locale.language != "zh":
        return escape(plain)
    out, at = [], 0
    for run in _RUN.finditer(plain):
        if not re.search(r"[A-Za-z]", run.group()):
            continue
        out += [escape(plain[at:run.start()]), Markup('<span class="code" translate="no">%s</span>') % run.group()]
        at = run.end()
    out.append(escape(plain[at:]))
    return Markup("").join(out)
