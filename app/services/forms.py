"""Validating task submissions against their JSON Schema forms."""
from __future__ import annotations

from typing import Any

from jsonschema import validators
from jsonschema.exceptions import SchemaError

from app.services.errors import Invalid


def _field_name(path: Any) -> str:
    return ".".join(str(p) for p in path) or "_form"


def validate_submission(schema: dict[str, Any] | None, data: Any) -> None:
    """Raise `Invalid` with per-field messages unless `data` satisfies the form's JSON Schema."""
    if not isinstance(data, dict):
        raise Invalid("form data must be a JSON object", fields={"data": ["must be an object"]})
    if schema is None:
        return
    cls = validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise Invalid(f"the task's form is not a valid JSON Schema: {exc.message}", code="form_broken") from exc
    fields: dict[str, list[str]] = {}
    for error in sorted(cls(schema).iter_errors(data), key=lambda e: list(e.absolute_path)):
        path = list(error.absolute_path)
        if error.validator == "required":
            # jsonschema reports a missing property on its parent; name the property itself.
            missing = error.message.split("'")[1] if "'" in error.message else ""
            path = [*path, missing] if missing else path
        fields.setdefault(_field_name(path), []).append(error.message)
    if fields:
        raise Invalid("the form has errors", fields=fields, code="form_invalid")
