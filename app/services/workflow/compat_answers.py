"""What `processes compat` answers a user task's form with, as a person filling it in would.

The first visit of a task gets the first choices (the enum's first value, `true`, the minimum
number); a task the instance comes back to gets other ones (`visit` n takes the n-th choice of each
enum and `oneOf`, flips booleans on odd visits, and gives a free-text field the strings the diagram's
conditions compare it with, `hints`), so that a loop that asks again until the answer
changes is given a changed answer rather than the same one forever.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any


def _choice(options: list[Any], visit: int) -> Any:
    return options[visit % len(options)]


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
        if fmt == "email":
            return "someone@example.com"
        return "x" * max(1, int(schema.get("minLength") or 1))
    return None


def _field(name: str, schema: Any, visit: int, hints: dict[str, list[str]], depth: int) -> Any:
    if visit and hints.get(name) and _is_text(schema):
        return _choice(hints[name], visit - 1)
    return _sample(schema, visit, hints, depth + 1)


def form_data(schema: dict[str, Any] | None, visit: int = 0, hints: dict[str, list[str]] | None = None,
              ) -> dict[str, Any]:
    """Data for a user task from its form's JSON Schema, the `visit`-th time it is asked (`hints`: the
    strings the diagram compares each variable with); {} without a form."""
    value = _sample(schema, visit, hints or {}) if schema else {}
    return value if isinstance(value, dict) else {}
