"""What the check found in a diagram, in the reader's language.

The engine says each finding with `app.engine.said.said` (the English text that keeps its template and
parameters); here the template is looked up in the catalogue and its parameters put in, each parameter
that is itself said rendered the same way. A finding said some other way (a compiler's detail, a text
SpiffWorkflow wrote, an English string built by slicing) stays as it is: English, never an error.
"""
from __future__ import annotations

from typing import Any

from app.engine.said import Said
from app.services import context

# how a list's parts are separated in a language that does not write them as English does
_SEPARATORS = {"zh": {", ": "、", "; ": "；", " / ": "／"}}


def in_language(reason: Any) -> str:
    """`reason` in the reader's language (outside a request, and for a text that is not said: as it is)."""
    if not isinstance(reason, Said):
        return str(reason)
    params = {name: in_language(value) if isinstance(value, Said) else value
              for name, value in reason.params.items()}
    template = context.translated(reason.template)
    if reason.separator is not None and reason.separator in _SEPARATORS.get(context.language(), {}):
        template = template.replace(reason.separator, _SEPARATORS[context.language()][reason.separator])
    try:
        return template % params
    except (KeyError, TypeError, ValueError):  # a translation that lost a parameter: the English, whole
        return str(reason)


__all__ = ["in_language"]
