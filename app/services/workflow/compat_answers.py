"""What `processes compat` answers a user task's form with, as a person filling it in would.

The first visit of a task gets the first choices (the enum's first value, `true`, the minimum
number); a task the instance comes back to gets other ones (`visit` n takes the n-th choice of each
enum and `oneOf`, flips booleans on odd visits, and gives a free-text field the strings the diagram's
conditions compare it with, `hints`), so that a loop that asks again until the answer
changes is given a changed answer rather than the same one forever.
"""
from __future__ import annotations

import re
import re._parser as _regex  # type: ignore[import-not-found]  # the stdlib's own regex parser (sre_parse)
from datetime import UTC, date, datetime
from typing import Any

MAX_REPEAT = 256
_CATEGORY_EXAMPLE = {"CATEGORY_DIGIT": "0", "CATEGORY_WORD": "a", "CATEGORY_SPACE": " ", "CATEGORY_NOT_DIGIT": "a",
                     "CATEGORY_NOT_WORD": "-", "CATEGORY_NOT_SPACE": "a"}


def _choice(options: list[Any], visit: int) -> Any:
    return options[visit % len(options)]


def _example(items: Any, visit: int) -> str | None:
    """A short string a parsed regular expression matches (None for constructs it does not read)."""
    out = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "NOT_LITERAL":
            out.append("b" if chr(arg) == "a" else "a")
        elif name == "ANY":
            out.append("a")
        elif name == "AT":
            continue
        elif name == "IN":
            first = next(iter(arg), None)
            if first is None or str(first[0]) == "NEGATE":
                return None
            part = _example([first], visit) if str(first[0]) != "RANGE" else chr(first[1][0])
            if part is None:
                return None
            out.append(part)
        elif name == "CATEGORY":
            if str(arg) not in _CATEGORY_EXAMPLE:
                return None
            out.append(_CATEGORY_EXAMPLE[str(arg)])
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _high, sub = arg
            part = _example(sub, visit)
            if part is None or low > MAX_REPEAT:  # `a{1000000000}`: no answer rather than a gigabyte
                return None
            out.append(part * low)
        elif name in ("SUBPATTERN", "ATOMIC_GROUP"):
            part = _example(arg[-1], visit)
            if part is None:
                return None
            out.append(part)
        elif name == "BRANCH":
            part = _example(_choice(arg[1], visit), visit)
            if part is None:
                return None
            out.append(part)
        else:
            return None
    return "".join(out)


def matching(pattern: str, visit: int = 0) -> str | None:
    """A short string that JSON Schema's `pattern` (a search, not a full match) accepts: the `visit`-th
    alternative of each `a|b`, the fewest repetitions, the first character of each class; None for a
    pattern it cannot answer (a negated class, a look-around, a back-reference)."""
    try:
        example = _example(_regex.parse(pattern), visit)
    except (re.error, RecursionError, ValueError):
        return None
    return example if example is not None and re.search(pattern, example) else None


def _is_text(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "string" and not schema.get("enum") \
        and not schema.get("format") and "const" not in schema


def _sample(schema: Any, visit: int, hints: dict[str, list[str]], depth: int = 0) -> Any:
    """A value a JSON Schema accepts, for the `visit`-th time the form is filled in."""
    if not isinstance(schema, dict) or depth > 8:
        return None
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return _choice(schema["enum"], visit) if visit else schema.get("default", schema["enum"][0])
    if "default" in schema and (not visit or schema.get("type") not in ("boolean", "object")):
        return schema["default"]
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            choice = _choice(schema[key], visit)
            return choice.get("const", _sample(choice, visit, hints, depth + 1)) if isinstance(choice, dict) else None
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            if isinstance(part, dict):
                merged.update(part)
        return _sample(merged, visit, hints, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        found = {name: value for name, prop in properties.items()
                 if (value := _field(name, prop, visit, hints, depth)) is not None
                 or name in schema.get("required", [])}
        # a field required but never described (its widget lives in the UI schema): any text
        found.update({name: "x" for name in schema.get("required", []) if name not in properties})
        return found
    if kind == "array":
        return [_sample(schema.get("items") or {}, visit, hints, depth + 1) for _ in range(int(schema.get("minItems") or 0))]
    if kind == "boolean":
        first = schema.get("default", True)
        return first if visit % 2 == 0 else not first
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        value = max(1, low + (1 if "exclusiveMinimum" in schema else 0)) if isinstance(low, int | float) else 1
        high = schema.get("maximum")
        if isinstance(high, int | float) and value > high:
            value = high
        return int(value) if kind == "integer" else value
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date":
            return date(2026, 1, 5).isoformat()
        if fmt == "date-time":
            return datetime(2026, 1, 5, 9, 0, tzinfo=UTC).isoformat()
        if fmt == "time":
            return "09:00"  # what a time picker posts
        if fmt == "email":
            return "someone@example.com"
        if isinstance(schema.get("pattern"), str):
            example = matching(schema["pattern"], visit)
            if example is not None:
                return example
        return "x" * max(1, int(schema.get("minLength") or 1))
    return None


def _field(name: str, schema: Any, visit: int, hints: dict[str, list[str]], depth: int) -> Any:
    if visit and hints.get(name) and _is_text(schema):
        hint = _choice(hints[name], visit - 1)
        if not isinstance(schema.get("pattern"), str) or re.search(schema["pattern"], hint):
            return hint
    return _sample(schema, visit, hints, depth + 1)


# UI schema widgets that ask for a date or a date and time, as the JSON Schema format they stand for
WIDGET_FORMATS = {"date": "date", "datetime": "date-time", "date-time": "date-time"}


def _with_widgets(schema: Any, ui: Any) -> Any:
    """The schema with each field's date or date-time widget (from its UI schema) as its `format`, so
    that the answer is what the picker would post, not a text."""
    if not isinstance(schema, dict) or not isinstance(ui, dict) or not isinstance(schema.get("properties"), dict):
        return schema
    properties = {}
    for name, prop in schema["properties"].items():
        widget = ui.get(name, {}).get("ui:widget") if isinstance(ui.get(name), dict) else None
        prop = _with_widgets(prop, ui.get(name))
        if isinstance(prop, dict) and widget in WIDGET_FORMATS and "format" not in prop:
            prop = {**prop, "format": WIDGET_FORMATS[widget]}
        properties[name] = prop
    return {**schema, "properties": properties}


def form_data(schema: dict[str, Any] | None, visit: int = 0, hints: dict[str, list[str]] | None = None,
              ui: dict[str, Any] | None = None) -> dict[str, Any]:
    """Data for a user task from its form's JSON Schema (and UI schema: `ui`), the `visit`-th time it is
    asked (`hints`: the strings the diagram compares each variable with); {} without a form."""
    value = _sample(_with_widgets(schema, ui), visit, hints or {}) if schema else {}
    return value if isinstance(value, dict) else {}
