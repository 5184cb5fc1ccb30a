"""What the engine said (the check's findings, an incident's reason in its own words), in the reader's language.

The engine says each finding with `app.engine.said.said` (the English text that keeps its template and
parameters); here the template is looked up in the catalogue and its parameters put in, each parameter
that is itself said rendered the same way. A finding said some other way (a compiler's detail, a text
SpiffWorkflow wrote, an English string built by slicing) stays as it is: English, never an error.
"""
from __future__ import annotations

from typing import Any

from app.engine.said import Said, is_plain
from app.services import context

# how a list's parts are separated in a language that does not write them as English does
_SEPARATORS = {"zh": {", ": "、", "; ": "；", " / ": "／"}}


def in_language(reason: Any) -> str:
    """`reason` in the reader's language (outside a request, and for a text that is not said: as it is)."""
    if not isinstance(reason, Said):
        return str(reason)
    params = {name: in_language(value) if isinstance(value, Said) else value
              for name, value in reason.params.items()}
    template = _separated(context.translated(reason.template), reason.separator)
    try:
        return template % params
    except (KeyError, TypeError, ValueError):  # a translation that lost a parameter: the English, whole
        return str(reason)


def kept_in_language(kept: Any) -> str:
    """A sentence kept as JSON (`said.as_json`: an incident's reason, stored with the instance) in the reader's
    language. The catalogue's translation of its template is formatted; a template the catalogue does not
    have is its stored English text — unless it is plain (no width, no precision: `said.is_plain`) and a
    part of it is said, or it is a list (`parts`), whose separators the language writes its own way: then
    it is put together from its parts."""
    if not isinstance(kept, dict):
        return str(kept)
    text = str(kept.get("text", ""))
    template = kept.get("said")
    if not isinstance(template, str):
        return text
    translation = context.translated(template)
    if translation == template and not (is_plain(template) and (_translates_a_part(kept) or kept.get("separator"))):
        return text  # nothing of it in the reader's language: its English, as stored
    translation = _separated(translation, kept.get("separator"))
    params = kept.get("params")
    try:
        return translation % {name: kept_in_language(value) if isinstance(value, dict) else value
                              for name, value in (params if isinstance(params, dict) else {}).items()}
    except (KeyError, TypeError, ValueError):
        return text


def _separated(template: str, separator: Any) -> str:
    """A list's template (`parts`) with the separators of the reader's language."""
    instead = _SEPARATORS.get(context.language(), {}).get(separator) if isinstance(separator, str) else None
    return template.replace(separator, instead) if instead else template


def _translates_a_part(kept: dict[str, Any]) -> bool:
    """Whether a part of a kept sentence (a list's item, say) is said: then the sentence is put together
    again — a plain template only (`said.is_plain`), so a stored one formats to no more than it is given."""
    params = kept.get("params")
    return isinstance(params, dict) and any(isinstance(v, dict) for v in params.values())


__all__ = ["in_language", "kept_in_language"]
