"""The API's per-field messages in the reader's language.

A request the API's schemas refuse (422) says why for each field in marshmallow's words ("Missing data for
required field.", "Must be one of: months, weeks, days.") or the schemas' own ("send at least one field to
change"). Each is said from the catalogue: the schemas' words as they are, marshmallow's by its template —
read from marshmallow's own fields and validators, so a message is found whatever values it was formatted
with (`Must be one of: %(choices)s.`); the values (choices, bounds, what was sent) stay as they are. A message
the catalogue does not hold is left as it is (already said in the reader's language, or new).
"""
from __future__ import annotations

import functools
import inspect
import re
from dataclasses import dataclass

from flask_babel import gettext
from marshmallow import Schema, fields, validate

# Marshmallow formats a few templates twice: the comparison words first (`Range`), the kind of value
# (`DateTime` and kin: "Not a valid {obj_type}."). Each is expanded into the sentences it can make.
_COMPARISONS = {"min_op": ("greater than", "greater than or equal to"),
                "max_op": ("less than", "less than or equal to")}
_KINDS = ("datetime", "date", "time", "timedelta")
_AWARENESS = ("naive", "aware")
_FIELD = re.compile(r"\{(\w+)(?:!r)?\}")


@dataclass(frozen=True)
class Template:
    msgid: str              # the catalogue's entry: `%(name)s` for each value
    pattern: re.Pattern[str]  # what marshmallow made of it, each value captured by name


def marshmallow_sentences() -> set[str]:
    """Every sentence marshmallow's fields, validators and schemas say, `{name}` for each value."""
    found: set[str] = set(Schema._default_error_messages.values())
    for _, cls in inspect.getmembers(fields, inspect.isclass):
        found.update(getattr(cls, "default_error_messages", {}).values())
    for _, cls in inspect.getmembers(validate, inspect.isclass):
        found.update(v for k, v in vars(cls).items() if isinstance(v, str) and k.startswith(("message", "default_message")))
    words = {w for pair in _COMPARISONS.values() for w in pair}  # the comparisons `Range` puts in its sentences
    return {sentence for template in found - words for sentence in _expanded(template)}


def _expanded(template: str) -> list[str]:
    if "{min_op}" in template or "{max_op}" in template:
        sentences = [template]
        for name, words in _COMPARISONS.items():
            if "{" + name + "}" in template:
                sentences = [s.replace("{" + name + "}", w) for s in sentences for w in words]
        return [s.replace("{{", "{").replace("}}", "}") for s in sentences]
    if "{awareness}" in template:  # only a date-time or a time is naive or aware
        return [template.replace("{awareness}", a).replace("{obj_type}", k)
                for a in _AWARENESS for k in ("datetime", "time")]
    return [template.replace("{obj_type}", k) for k in _KINDS] if "{obj_type}" in template else [template]


def _template(sentence: str) -> Template:
    msgid = _FIELD.sub(lambda m: f"%({m.group(1)})s", sentence.replace("%", "%%"))
    parts, names, at = [], [], 0
    for match in _FIELD.finditer(sentence):
        parts.append(re.escape(sentence[at:match.start()]))
        name = match.group(1)
        parts.append(f"(?P<{name}>.+)" if name not in names else ".+")
        names.append(name)
        at = match.end()
    parts.append(re.escape(sentence[at:]))
    return Template(msgid, re.compile("".join(parts), re.DOTALL))


@functools.cache
def templates() -> tuple[Template, ...]:
    """Marshmallow's sentences with values, longest first (the most specific wins)."""
    return tuple(sorted((_template(s) for s in marshmallow_sentences() if _FIELD.search(s)),
                        key=lambda t: -len(t.msgid)))


def said(message: str) -> str:
    """`message` in the reader's language: the catalogue's own entry, else marshmallow's template with the
    values it was formatted with, else `message` as it is."""
    translated = gettext(message)
    if translated != message:
        return translated
    for template in templates():
        match = template.pattern.fullmatch(message)
        if match:
            return gettext(template.msgid, **match.groupdict())
    return message
