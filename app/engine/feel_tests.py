"""A decision table's input entries written as FEEL unary tests, run as SpiffWorkflow's entries (issue 17).

Camunda 7 reads an input entry as FEEL "simple unary tests": `"Spring"`, `< 10`, a range `[5..8]` (or
`]5..8]`, `[5..8[`, `(5..8)`), a list of tests any of which holds (`"Fall","Winter","Spring"`), and
`not(...)` of tests; `true`, `false` and `null` are FEEL's constants. SpiffWorkflow's engine reads an entry as Python put after the input (`< 10`), or
with `?` standing for it (`5 <= ? <= 8`). A range does not compile there, and a list and `not("x")`
compile and mean something else — the input equal to a tuple, the input equal to False — so the table
silently never matches. `translate` gives the entry SpiffWorkflow runs for the three FEEL-only shapes
(values by `juel.feel`); an entry of any other shape is left as it is (a comparison, a value, or
Python, as Loanflow's own tables write it: `not in ("A", "E")`), and so is one whose parts are no FEEL
it translates.
"""
from __future__ import annotations

import ast
import re

from app.engine.juel import ExpressionRefused, feel

_RANGE = re.compile(r"^(?P<open>[\[\]\(])\s*(?P<low>.+?)\s*\.\.\s*(?P<high>.+?)\s*(?P<close>[\[\]\)])$", re.S)
_LITERALS = {"true": "True", "false": "False", "null": "None"}
_COMPARISON = re.compile(r"^(?P<op><=|>=|<|>|!=|=)\s*(?P<value>.+)$", re.S)


def _split(text: str) -> list[str]:
    """`text` at its top-level commas (outside strings and brackets)."""
    items, depth, quoted, start = [], 0, False, 0
    for i, char in enumerate(text):
        if char == '"' and (i == 0 or text[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and char in "([":
            depth += 1
        elif not quoted and char in ")]":
            depth -= 1
        elif not quoted and char == "," and depth <= 0:
            items.append(text[start:i].strip())
            start = i + 1
    items.append(text[start:].strip())
    return items


def _value(text: str) -> str:
    python = feel(text)
    node = ast.parse(python, mode="eval").body
    simple = isinstance(node, ast.Constant | ast.Name | ast.Subscript | ast.Attribute) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant))
    return python if simple else f"({python})"


def _test(item: str) -> str:
    """One unary test, with `?` for the input."""
    ranged = _RANGE.match(item)
    if ranged:
        low = "<=" if ranged["open"] == "[" else "<"
        high = "<=" if ranged["close"] == "]" else "<"
        return f"{_value(ranged['low'])} {low} ? {high} {_value(ranged['high'])}"
    compared = _COMPARISON.match(item)
    if compared:
        op = "==" if compared["op"] == "=" else compared["op"]
        return f"? {op} {_value(compared['value'])}"
    return f"? == {_value(item)}"


def _tests(text: str) -> str:
    items = _split(text)
    if any(not item for item in items):
        raise ExpressionRefused(text)
    tests = [_test(item) for item in items]
    return tests[0] if len(tests) == 1 else " or ".join(f"({t})" for t in tests)


def translate(entry: str | None) -> str | None:
    """The entry SpiffWorkflow runs for a FEEL-only input entry (a range, a list, `not(...)`, a FEEL constant),
    else None."""
    text = (entry or "").strip()
    if not text or text == "-":
        return None
    negated = re.fullmatch(r"not\s*\((?P<inner>.*)\)", text, re.S)
    inner = negated["inner"].strip() if negated else text
    if not negated and len(_split(text)) < 2 and not _RANGE.match(text):
        return _LITERALS.get(text)  # a value or a comparison: SpiffWorkflow reads it as it is, but for FEEL's
        # true, false and null, which it would read as variables
    try:
        tests = _tests(inner)
    except (ExpressionRefused, RecursionError):
        return None
    return f"not ({tests})" if negated else tests


_ONE_STRING = re.compile(r'"[^"\\]*"')  # one FEEL string, no escapes inside


def translate_output(entry: str | None) -> str | None:
    """The Python for an output entry that is one of FEEL's constants (`true`, `false`, `null`) — SpiffWorkflow
    would read it as a variable — or a FEEL string written over several lines, which a Python string literal
    cannot be; else None."""
    text = (entry or "").strip()
    if "\n" in text and _ONE_STRING.fullmatch(text):
        return repr(text[1:-1])
    if text in _LITERALS or not text or _compiles(text):
        return _LITERALS.get(text)
    try:  # not Python: FEEL (`if score > 700 then "A" else "B"`), as Camunda reads an output entry
        return feel(text)
    except (ExpressionRefused, RecursionError):
        return None


def output_refusal(entry: str | None) -> str | None:
    """Why an output entry can run neither as Python nor as the FEEL `juel.feel` translates (the reason the
    translator gives), else None. SpiffWorkflow refused it as "Malformed Output Expression", naming no cause."""
    text = (entry or "").strip()
    if not text or text in _LITERALS or _compiles(text) or ("\n" in text and _ONE_STRING.fullmatch(text)):
        return None
    try:
        feel(text)
    except ExpressionRefused as exc:
        return exc.reason
    except RecursionError:
        return "too deeply nested"
    return None


def _compiles(text: str) -> bool:
    try:
        ast.parse(text, mode="eval")
    except SyntaxError:
        return False
    return True
