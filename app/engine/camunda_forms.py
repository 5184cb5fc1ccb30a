"""Camunda Forms (form-js) files as the JSON Schema forms Loanflow shows (issue 17).

Camunda 7.15+ and Camunda 8 draw a user task's form in the Camunda Forms editor and save it as JSON
(`task-form.form`, named by `camunda:formKey="camunda-forms:app:task-form.form"`, or embedded in a
Camunda 8 diagram as `zeebe:userTaskForm`): a list of `components`, each with a `type`, a `key` (the
variable it sets), a `label` and `validate` rules. `schema_of` turns it into the JSON Schema the inbox
renders and every submission is checked against, saying what it could not keep:

| component | becomes |
|---|---|
| `textfield`, `textarea` | a string; `validate.required`, `minLength`, `maxLength`, `pattern` kept |
| `number` | a number (an integer with `decimalDigits: 0`); `validate.min`, `max` as `minimum`, `maximum` |
| `checkbox` | a boolean |
| `radio`, `select` with static `values` | a string with those values as `enum`, their labels as `enumNames` |
| `radio`, `select` with `valuesKey` (or a `valuesExpression` that names one variable, `=employees`) | a choice from the list of `{label, value}` that variable holds when the task is ready (`CHOICES_FROM_DATA`, `app/services/workflow/form_choices.py`) |
| `datetime` with `subtype: date` | a string with `format: date` |
| `group` | its components, in place |
| `text`, `html`, `image`, `spacer`, `separator`, `button`, `iframe` | nothing: they set no variable |

`label` becomes the field's `title`, `description` its `description`, `defaultValue` its
`default`, `readonly` or `disabled` `readOnly`. A component whose choices come from any other expression
(`valuesExpression`), one that sets a list (`checklist`, `taglist`,
`dynamiclist`), a time or a date-time, or a type Loanflow does not know is an error naming the key and
the type: the form would otherwise accept answers Camunda's would refuse, or lose them. A rule
Loanflow does not check (`validationType: email`, a condition that hides a field) is said in a note.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.engine import json_errors
from app.engine.said import parts, said

FORM_SUFFIX = ".form"
# How a JSON Schema form says a field's choices are the list a task-data variable holds (SpiffArena's
# way, and what a Camunda `valuesKey` becomes): `"anyOf": ["options_from_task_data_var:<variable>"]`.
CHOICES_FROM_DATA = "options_from_task_data_var:"
_SILENT = frozenset({"text", "html", "image", "spacer", "separator", "button", "iframe", "table", "documentPreview"})
_LISTS = frozenset({"checklist", "taglist", "dynamiclist", "filepicker"})


class FormNotConverted(ValueError):
    """The form-js document cannot become a JSON Schema form; the message says why."""


def read(text: str) -> dict[str, Any]:
    """A `.form` file's JSON; `FormNotConverted` when it is not a Camunda Forms document."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise FormNotConverted(said("it is not valid JSON: %(error)s", error=json_errors.said_of(str(exc)))) from exc
    except RecursionError as exc:
        raise FormNotConverted(said("it nests deeper than a form can")) from exc
    if not isinstance(document, dict) or not isinstance(document.get("components"), list):
        raise FormNotConverted(said("it is not a Camunda Forms document (no list of components)"))
    return document


def _variable_expression(value: Any) -> str | None:
    """The variable a FEEL expression that only names one reads (`=employees`), None for any other."""
    if not isinstance(value, str):
        return None
    name = value.strip().removeprefix("=").strip()
    return name if name.isidentifier() and not name.startswith("_") else None


def by_id(folder: Path) -> dict[str, Path]:
    """The Camunda Forms files of a folder by the `id` each holds: Camunda 8 links a user task to a form by that id
    (`zeebe:formDefinition formId="loan-review"`), whatever the file is called (`review.form`). A file that is
    not a form, or whose id another file of the folder holds first (by name), is left out."""
    found: dict[str, Path] = {}
    for path in sorted(folder.glob(f"*{FORM_SUFFIX}")):
        try:
            form_id = read(path.read_text(encoding="utf-8")).get("id")
        except (FormNotConverted, UnicodeDecodeError, OSError):
            continue
        if isinstance(form_id, str) and form_id.strip():
            found.setdefault(form_id.strip(), path)
    return found


def schema_of(document: dict[str, Any], title: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """The JSON Schema of a Camunda Forms document and the notes on what it does not check.

    Raises `FormNotConverted` naming every component that cannot become a field."""
    schema: dict[str, Any] = {"type": "object", "properties": {}}
    if title:
        schema["title"] = title
    required: list[str] = []
    notes: list[str] = []
    errors: list[str] = []
    try:
        components = _flattened(document.get("components") or [], errors)
    except RecursionError as exc:
        raise FormNotConverted(said("its groups nest deeper than a form can")) from exc
    for component in components:
        made = _field(component, notes, errors)
        if made is None:
            continue
        key, prop, needed = made
        if key in schema["properties"]:
            errors.append(said("two components set %(key)r", key=key))
            continue
        schema["properties"][key] = prop
        if needed:
            required.append(key)
    if errors:
        raise FormNotConverted(parts(errors, "; "))
    if required:
        schema["required"] = required
    return schema, notes


def _flattened(components: list[Any], errors: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for component in components:
        if not isinstance(component, dict):
            errors.append(said("a component is %(kind)s, not an object", kind=type(component).__name__))
        elif component.get("type") == "group":
            found += _flattened(component.get("components") or [], errors)
        else:
            found.append(component)
    return found


def _field(component: dict[str, Any], notes: list[str], errors: list[str]) -> tuple[str, dict[str, Any], bool] | None:
    kind = str(component.get("type") or "")
    key = component.get("key")
    if kind in _SILENT:
        return None
    if not isinstance(key, str) or not key.strip():
        errors.append(said("the %(kind)s component has no key: it would set no variable", kind=kind) if kind
                      else said("the untyped component has no key: it would set no variable"))
        return None
    where = said("the %(kind)s %(key)r", kind=kind, key=key)
    prop = _typed(component, kind, where, errors)
    if prop is None:
        return None
    if component.get("label"):
        prop["title"] = str(component["label"])
    if component.get("description"):
        prop["description"] = str(component["description"])
    if component.get("readonly") is True or component.get("disabled") is True:
        prop["readOnly"] = True
    rules = component.get("validate")
    validate: dict[str, Any] = rules if isinstance(rules, dict) else {}
    _rules(prop, validate, where, notes)
    if "defaultValue" in component:
        _default(prop, component["defaultValue"], where, notes)
    if component.get("conditional"):
        notes.append(said("%(where)s: the condition that hides it is not applied; the field is always shown", where=where))
    return key, prop, validate.get("required") is True


def _typed(component: dict[str, Any], kind: str, where: str, errors: list[str]) -> dict[str, Any] | None:
    if kind in ("textfield", "textarea"):
        return {"type": "string"}
    if kind == "number":
        return {"type": "integer" if component.get("decimalDigits") == 0 else "number"}
    if kind == "checkbox":
        return {"type": "boolean"}
    if kind in ("radio", "select"):
        if isinstance(component.get("valuesKey"), str) and component["valuesKey"].strip():
            return {"anyOf": [CHOICES_FROM_DATA + component["valuesKey"].strip()]}
        named = _variable_expression(component.get("valuesExpression"))
        if named is not None:  # `=employees`: the list a variable holds, as valuesKey names it
            return {"anyOf": [CHOICES_FROM_DATA + named]}
        if component.get("valuesExpression") or component.get("valuesKey"):
            errors.append(said("%(where)s takes its choices from the expression %(expression)r; Loanflow's forms "
                               "take them from a variable (valuesKey) or list them: write them in the form",
                               where=where, expression=component.get("valuesExpression") or component.get("valuesKey")))
            return None
        values = [v for v in component.get("values") or [] if isinstance(v, dict) and "value" in v]
        if not values:
            errors.append(said("%(where)s offers no choices", where=where))
            return None
        return {"type": "string", "enum": [str(v["value"]) for v in values],
                "enumNames": [str(v.get("label") or v["value"]) for v in values]}
    if kind == "datetime":
        if component.get("subtype", "date") == "date":
            return {"type": "string", "format": "date"}
        errors.append(said("%(where)s asks for a %(subtype)s; Loanflow's forms ask for a date", where=where,
                           subtype=component.get("subtype")))
        return None
    if kind in _LISTS:
        errors.append(said("%(where)s sets a list; Loanflow's forms set one value per field (or a table of rows)",
                           where=where))
        return None
    errors.append(said("%(where)s: the component type %(kind)r is not one Loanflow's forms show", where=where, kind=kind))
    return None


def _rules(prop: dict[str, Any], validate: dict[str, Any], where: str, notes: list[str]) -> None:
    words = {"minLength": "minLength", "maxLength": "maxLength", "min": "minimum", "max": "maximum"}
    for rule, value in validate.items():
        if rule == "required":
            continue
        if rule == "pattern" and prop["type"] == "string" and isinstance(value, str):
            prop["pattern"] = value
        elif rule in ("minLength", "maxLength") and prop["type"] == "string" and isinstance(value, int):
            prop[words[rule]] = value
        elif rule in ("min", "max") and prop["type"] in ("integer", "number") and isinstance(value, int | float):
            prop[words[rule]] = value
        else:
            notes.append(said("%(where)s: the rule %(rule)s %(value)r is not checked by Loanflow", where=where, rule=rule,
                              value=value))


def _default(prop: dict[str, Any], value: Any, where: str, notes: list[str]) -> None:
    kinds = {"string": str, "boolean": bool, "integer": int, "number": int | float}
    fits = isinstance(value, kinds[prop["type"]]) and not (prop["type"] != "boolean" and isinstance(value, bool))
    if fits and ("enum" not in prop or value in prop["enum"]):
        prop["default"] = value
    else:
        notes.append(said("%(where)s: the default %(value)r does not fit the field; the form has none", where=where,
                          value=value))
