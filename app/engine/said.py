"""A sentence the engine says to a person, kept with its template so that the reader's language can say it.

The engine knows no translations (it runs outside requests, in the worker and on the command line), yet
what it finds in a diagram is read on the modeller's page by an analyst in their own language. So the
check says each finding with `said(template, **params)`: the result *is* the English text (a `str`, so
the command line, the logs, the tests and every comparison see what they always saw), and it keeps its
template and parameters. The service layer renders it again in the reader's language
(`app.services.workflow.diagram_reasons.in_language`): the template is looked up in the catalogue
(`messages.po`, Chinese beside English) and the parameters put in; a parameter that is itself `said`
(a part of the sentence, "the intermediate throw event") is rendered the same way, one that is not
(an id, a name, an expression, a file) stays as it is.

Rules for a template: `%(name)s` parameters only (never `{}` or positional `%s`), a literal `%` written
`%%`, one sentence kind per template (no English pieces glued on with `+`: make the piece a parameter
that is itself `said`). A string built from a `said` by slicing or concatenation is a plain `str`
again and is shown in English: that is the fallback, never an error.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any


class Said(str):
    """The English text of a finding, with the template and parameters it was made from."""

    template: str
    params: dict[str, Any]
    separator: str | None = None  # a list's (`parts`)

    def __new__(cls, template: str, params: dict[str, Any]) -> Said:
        made = super().__new__(cls, template % params)
        made.template = template
        made.params = params
        return made

    def __reduce__(self) -> tuple[Any, ...]:  # pickled (the isolated parser's results) and deep-copied intact
        return Said, (self.template, self.params)

    def __deepcopy__(self, memo: dict[int, Any]) -> Said:
        return self  # immutable, as a str is


_SAID: set[str] = set()  # the templates this process has said (the code's literals, and the lists' shapes)


def said(template: str, **params: Any) -> Said:
    """`template % params`, remembered: what a person reads, in English, and translatable."""
    _SAID.add(template)
    return Said(template, params)


def was_said(template: str) -> bool:
    """Whether this process said `template`: a said reason kept as text (an XML attribute the import reads
    back) is made again only from a template the code wrote, never from one a file supplies (a width such as
    `%(x)999999999s` would take the memory it names)."""
    return template in _SAID


_PLAIN = re.compile(r"(?:[^%]|%%|%\(\w+\)[srd])*")


def is_plain(template: str) -> bool:
    """Whether `template` formats without a width, a precision or a flag (only `%(name)s`, `%(name)r`,
    `%(name)d` and `%%`): safe to format whoever wrote it, its text no longer than what it is given."""
    return _PLAIN.fullmatch(template) is not None


def parts(items: list[Any], separator: str = ", ") -> Said:
    """Several parts in one parameter ("a, b, c"), each rendered in the reader's language if it is `said`."""
    joined: dict[str, Any] = {f"p{i}": item for i, item in enumerate(items)}
    shape = separator.replace("%", "%%").join(f"%(p{i})s" for i in range(len(items)))
    _SAID.add(shape)
    made = Said(shape, joined)
    made.separator = separator  # the reader's language may write it otherwise ("、" for ", " in Chinese)
    return made


def foreign(template: str) -> tuple[re.Pattern[str], str]:
    """A fixed sentence another program writes (SpiffWorkflow's parser, Python's compiler) as a template: the
    pattern that finds it in a text and the template, said when found (`in_its_words`). Each `%(name)s` is
    any text, as short as the whole allows ("%(kind)s: %(detail)s" splits at the first ": "); the first
    pattern to match wins. `tests/unit/test_said.py` requires its Chinese, as for `said`."""
    _SAID.add(template)
    pattern = re.sub(r"%\\\((\w+)\\\)s", r"(?P<\1>.*?)", re.escape(template))
    return re.compile(pattern, re.S), template


def in_its_words(text: str, sentences: list[tuple[re.Pattern[str], str]]) -> str:
    """`text` said with the first of `sentences` it is (its English kept to the byte), else `text` as it is."""
    for pattern, template in sentences:
        found = pattern.fullmatch(text)
        if found is not None:
            sentence = Said(template, found.groupdict())
            return sentence if sentence == text else text
    return text


def in_its_words_within(text: str, sentences: list[tuple[re.Pattern[str], str]],
                        inner: dict[str, Callable[[str], str]]) -> str:
    """`text` said with the first of `sentences` it is, each parameter named in `inner` said again by its
    function (a compiler's "Line 1: %(error)s: %(detail)s" and the detail's own sentence); else `text`."""
    where = in_its_words(text, sentences)
    if not isinstance(where, Said):
        return text
    again = Said(where.template, {name: inner[name](value) if name in inner else value
                                  for name, value in where.params.items()})
    return again if again == text else text


def as_json(value: Any) -> Any:
    """`value` as JSON keeps it: a said sentence as its template, parameters and English text (each
    parameter the same way); text, numbers, true/false and null as they are; anything else as its text."""
    if isinstance(value, Said):
        kept = {"said": value.template, "params": {name: as_json(v) for name, v in value.params.items()},
                "text": str(value)}
        return {**kept, "separator": value.separator} if value.separator is not None else kept
    if value is None or type(value) in (str, int, float, bool):
        return value
    return str(value)


def from_json(value: Any) -> Any:
    """What `as_json` kept, said again — only from a template this process said (`was_said`): anything else
    is refused with ValueError, never formatted."""
    if isinstance(value, dict):
        if not was_said(value["said"]):
            raise ValueError("not a template Loanflow said")
        return Said(value["said"], {name: from_json(v) for name, v in value["params"].items()})
    return value


__all__ = ["Said", "as_json", "foreign", "from_json", "in_its_words", "in_its_words_within", "is_plain", "parts", "said",
           "was_said"]
