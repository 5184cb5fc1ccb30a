"""What the import layer rewrites in conditions and timers drawn for other engines.

A condition or timer in a diagram is a Python expression evaluated in the sandbox. Diagrams from
Camunda and other tools write them in other languages, told apart by their form:

- conditions: the bare words `true` / `false` are booleans; `${...}` / `#{...}` is JUEL and a
  leading `=` is FEEL (Camunda 8) whatever `language` the element names (tools write XPath there
  by default); a `language` naming FEEL says so, one naming anything else (groovy, javascript,
  XPath) is refused, as it would otherwise be run as Python; a text that parses as Python stays
  as it is (Loanflow's own diagrams); one that does not but parses as the FEEL subset
  (`status = "approved"`) is FEEL, and one that is neither is left to the strict check, which
  says it does not compile.
- timers: JUEL (`${duration}`, `PT${minutes}M`), FEEL after `=`, a bare ISO 8601 value (`PT2H`,
  `2026-12-03T10:00:00Z`, `R3/PT10M`: quoted, so it is a text and not a name) and a Quartz cron
  of a fixed period in a `timeCycle` (quoted; `durations.parse_cycle` reads it as `R/<next
  firing>/<period>` when the timer starts, see `cron`). A bare value of the wrong kind (a cycle
  in `timeDuration`) and a cron outside `timeCycle` or not of a fixed period are refused.

`condition` and `timer` answer the Python to write instead (`Translation`), None when the text
is to stay as it is, or raise `ExpressionRefused` with the reason.
"""
from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime

from app.engine import cron, durations
from app.engine.juel import ExpressionRefused, feel, is_juel, juel, juel_text
from app.engine.said import said

PYTHON_LANGUAGES = frozenset({"python", "text/x-python", "application/x-python", "py"})
_NUMBER = r"\d+(?:\.\d+)?"
_DURATION = (rf"P(?=\d|T\d)(?:{_NUMBER}Y)?(?:{_NUMBER}M)?(?:{_NUMBER}W)?(?:{_NUMBER}D)?"
             rf"(?:T(?=\d)(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?")
_DATE = r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
_FORMS = {
    "timeDuration": re.compile(_DURATION),
    "timeDate": re.compile(_DATE),
    "timeCycle": re.compile(rf"R\d*/(?:{_DURATION}|{_DATE})(?:/(?:{_DURATION}|{_DATE}))?"),
}
_FORM_NAMES = {"timeDuration": said("an ISO 8601 duration"), "timeDate": said("an ISO 8601 date"),
               "timeCycle": said("an ISO 8601 cycle")}
# The shape of an ISO 8601 duration or cycle that the forms above did not read (`P1H`, `R/P1H`,
# `PT1,5H` with a wrong letter...): meant as a timer value, not as Python (where `R/P1H` divides
# two names), so refused saying what is wrong.
_ISO_LIKE = re.compile(r"(?:R\d*/)?(?:P[0-9.,YMWDTHS]*\d[0-9.,YMWDTHS]*)(?:/\S+)?", re.IGNORECASE)
_WORDS = re.compile(r"[A-Za-z][A-Za-z0-9]*(?: +[A-Za-z0-9]+)+")  # a sentence, not an expression
_TIME_BEFORE_T = re.compile(r"P(?:[^T]*?)\d(?:[.,]\d+)?[HS]", re.IGNORECASE)


@dataclass(frozen=True)
class Translation:
    python: str  # the expression to write instead
    language: str  # what the text was: JUEL, FEEL, ... (said, where it is more than a name)
    note: str = ""  # what the analyst should know beyond before -> after (said)


def _is_python(text: str) -> bool:
    with warnings.catch_warnings():  # `1and x` warns; under -W error the warning would be a SyntaxError
        warnings.simplefilter("ignore")
        try:
            ast.parse(text, mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    return True


def condition(text: str | None, language: str | None = None) -> Translation | None:
    """The Python for a condition drawn in another language, None for a Python one (or an empty one)."""
    source = (text or "").strip()
    if not source:
        return None
    if source in ("true", "false"):
        return Translation(source.capitalize(), said("a boolean literal"))
    if source.startswith(("${", "#{")):
        return Translation(juel(source), "JUEL")
    if source.startswith("="):
        return Translation(feel(source), "FEEL")
    named = (language or "").strip()
    if named and named.lower() not in PYTHON_LANGUAGES:
        if "feel" in named.lower():
            return Translation(feel(source), "FEEL")
        raise ExpressionRefused(said("the condition is written in %(language)s; Loanflow runs Python conditions and "
                                     "translates JUEL and FEEL, and will not run this one as Python: rewrite it",
                                     language=named))
    if _is_python(source):
        return None
    if is_juel(source):
        raise ExpressionRefused(said("the condition mixes text and ${...}: write it as one ${...} expression"))
    try:
        return Translation(feel(source), "FEEL")
    except ExpressionRefused:
        return None  # neither: the strict check says it does not compile, as Python, with Python's reason


def timer(kind: str, text: str | None) -> Translation | None:
    """The Python for a timer value of `kind` (timeDuration, timeDate, timeCycle) written for another
    engine, None for a Python expression (or an empty one)."""
    source = (text or "").strip()
    if not source:
        return None
    if source.startswith("="):
        return Translation(feel(source), "FEEL")
    if is_juel(source):
        return Translation(juel_text(source), "JUEL")
    form = next((k for k, pattern in _FORMS.items() if pattern.fullmatch(source)), None)
    if form is not None:
        if form != kind:
            raise ExpressionRefused(said("the %(kind)s holds %(form)s (%(value)s): a %(kind)s needs %(needed)s",
                                         kind=kind, form=_FORM_NAMES[form], value=source, needed=_FORM_NAMES[kind]))
        return Translation(repr(source), _FORM_NAMES[form])
    if _ISO_LIKE.fullmatch(source):
        if _TIME_BEFORE_T.search(source):
            raise ExpressionRefused(said("%(value)r is not %(form)s: hours, minutes and seconds come after a T (PT1H, "
                                         "PT30M, PT10S)", value=source, form=_FORM_NAMES[kind]))
        raise ExpressionRefused(said("%(value)r is not %(form)s", value=source, form=_FORM_NAMES[kind]))
    if cron.looks_like_cron(source):
        if kind != "timeCycle":
            raise ExpressionRefused(said("the %(kind)s holds a cron expression (%(value)s), which is a cycle: put it "
                                         "in a timeCycle", kind=kind, value=source))
        try:
            cycle = cron.read(source)
        except cron.CronRefused as exc:
            try:
                uneven = durations.irregular_cron(source, datetime.now(UTC))
            except durations.TimerValueError as unread:
                raise ExpressionRefused(unread.args[0]) from None
            if uneven is None:  # Unix style
                raise ExpressionRefused(said("the cron cycle %(value)r is not a fixed period: %(why)s", value=source,
                                             why=exc.args[0])) from None
            return Translation(repr(source), said("a Quartz cron cycle"),
                               said("it fires at uneven gaps, each time its fields next match (UTC)"))
        if cycle.period < durations.MIN_INTERVAL:
            raise ExpressionRefused(said("the cron cycle %(value)r fires %(meaning)s: more often than every %(most)s s",
                                         value=source, meaning=cycle.meaning,
                                         most=f"{durations.MIN_INTERVAL.total_seconds():g}"))
        return Translation(repr(source), said("a Quartz cron cycle"),
                           said("it fires %(meaning)s: read as R/<its next firing>/%(period)s when the timer starts",
                                meaning=cycle.meaning, period=cycle.iso_period))
    if _WORDS.fullmatch(source):  # words, not a value: Python's "SyntaxError: invalid syntax" said nothing
        raise ExpressionRefused(said("%(value)r is no timer value: the %(kind)s needs %(needed)s, or an expression "
                                     "giving one", value=source, kind=kind, needed=_FORM_NAMES[kind]))
    return None


def refused(kind: str, text: str | None) -> bool:
    """Whether the import layer refuses this condition (`kind` "condition") or timer value (`kind`
    timeDuration, timeDate, timeCycle): it reports that itself, naming why, so the strict check
    does not report the same text again as Python that does not compile."""
    try:
        condition(text) if kind == "condition" else timer(kind, text)
    except ExpressionRefused:
        return True
    return False


__all__ = ["ExpressionRefused", "PYTHON_LANGUAGES", "Translation", "condition", "refused", "timer"]
