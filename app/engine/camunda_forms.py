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
| `checklist`, `taglist` | a list of those choices, each once (`items` as a select's; a group of checkboxes); `validate.required`: at least one |
| `datetime` | `subtype: date` a string with `format: date`; `time` with `format: time`; `datetime` with `format: date-time` (the time as typed: the offset Camunda adds is said in a note) |
| `filepicker` | a list of files (`items.format: data-url`, `maxItems: 1` unless `multiple`), each kept as a document of the instance (`document:<id>`, not Camunda's file metadata: said in a note); `accept` as the document types Loanflow keeps |
| `dynamiclist` | a table of rows at its `path`: a list of objects whose fields are its components |
| `group` | its components, in place (a group with a `path`, setting its fields inside one variable, is refused) |
| `text`, `html`, `image`, `spacer`, `separator`, `button`, `iframe` | nothing: they set no variable |

`label` becomes the field's `title`, `description` its `description`, `defaultValue` its
`default`, `readonly` or `disabled` `readOnly`; `label@zh`, `description@zh` and a value's `label@zh` (any
language code after the `@`, written beside form-js's own keys, which Camunda's tools keep and ignore) its text
in that language (`title@zh`, `description@zh`, `enumNames@zh`), as the inbox shows it to a Chinese reader. A component whose choices come from any other expression
(`valuesExpression`), a file picker that takes only files Loanflow does not keep, a list inside a list's
rows, or a type Loanflow does not know is an error naming the key and the type: the form would otherwise
accept answers Camunda's would refuse, or lose them. A rule Loanflow does not check (`validationType:
email`, a condition that hides a field) is said in a note.
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


def _flattened(components: Any, errors: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if not isinstance(components, list):
        errors.append(said("the components %(components)r are not a list", components=components))
        return found
    for component in components:
        if not isinstance(component, dict):
            errors.append(said("a component is %(kind)s, not an object", kind=type(component).__name__))
        elif component.get("type") == "group":
            if isinstance(component.get("path"), str) and component["path"].strip():
                errors.append(said("the group %(path)r sets its fields inside the variable %(path)r; Loanflow's forms "
                                   "set each field as a variable of its own: remove the group's path",
                                   path=component["path"]))
            found += _flattened(component.get("components") or [], errors)
        else:
            found.append(component)
    return found


def _field(component: dict[str, Any], notes: list[str], errors: list[str],
           in_rows: bool = False) -> tuple[str, dict[str, Any], bool] | None:
    kind = str(component.get("type") or "")
    if kind in _SILENT:
        return None
    if kind == "dynamiclist":
        if in_rows:
            errors.append(said("the dynamiclist %(path)r is a list inside a list's rows; Loanflow's forms show one "
                               "table of rows", path=component.get("path") or component.get("key") or ""))
            return None
        return _rows(component, notes, errors)
    key = component.get("key")
    if not isinstance(key, str) or not key.strip():
        errors.append(said("the %(kind)s component has no key: it would set no variable", kind=kind) if kind
                      else said("the untyped component has no key: it would set no variable"))
        return None
    where = said("the %(kind)s %(key)r", kind=kind, key=key)
    if kind == "filepicker" and in_rows:
        errors.append(said("%(where)s is inside a list's rows; Loanflow's forms take files outside a table of rows",
                           where=where))
        return None
    prop = _typed(component, kind, where, errors, notes)
    if prop is None:
        return None
    if component.get("label"):
        prop["title"] = str(component["label"])
    if component.get("description"):
        prop["description"] = str(component["description"])
    prop.update(_in_languages(component, "label", "title") | _in_languages(component, "description", "description"))
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


def _rows(component: dict[str, Any], notes: list[str], errors: list[str]) -> tuple[str, dict[str, Any], bool] | None:
    """A dynamic list: rows of the fields it holds, set as a list of objects at its `path` (a table of rows)."""
    path = component.get("path")
    if not isinstance(path, str) or not path.strip():
        errors.append(said("the dynamiclist component has no path: it would set no variable"))
        return None
    row: dict[str, Any] = {"type": "object", "properties": {}}
    required = []
    for each in _flattened(component.get("components") or [], errors):
        made = _field(each, notes, errors, in_rows=True)
        if made is None:
            continue
        key, prop, needed = made
        if key in row["properties"]:
            errors.append(said("two components of the dynamiclist %(path)r set %(key)r", path=path, key=key))
            continue
        row["properties"][key] = prop
        if needed:
            required.append(key)
    if required:
        row["required"] = required
    rows: dict[str, Any] = {"type": "array", "items": row}
    if component.get("label"):
        rows["title"] = str(component["label"])
    rows.update(_in_languages(component, "label", "title"))
    return path.strip(), rows, False


def _typed(component: dict[str, Any], kind: str, where: str, errors: list[str],
           notes: list[str]) -> dict[str, Any] | None:
    if kind in ("textfield", "textarea"):
        return {"type": "string"}
    if kind == "number":
        return {"type": "integer" if component.get("decimalDigits") == 0 else "number"}
    if kind == "checkbox":
        return {"type": "boolean"}
    if kind in ("radio", "select"):
        return _choices(component, where, errors)
    if kind in ("checklist", "taglist"):  # several of the choices: a list of them, each once
        offered = _choices(component, where, errors)
        return None if offered is None else {"type": "array", "items": offered, "uniqueItems": True}
    if kind == "datetime":
        return _moment(component, where, errors, notes)
    if kind == "filepicker":
        return _files(component, where, errors, notes)
    errors.append(said("%(where)s: the component type %(kind)r is not one Loanflow's forms show", where=where, kind=kind))
    return None


def _choices(component: dict[str, Any], where: str, errors: list[str]) -> dict[str, Any] | None:
    """What one choice of a radio, select, checklist or taglist is: listed, or from a variable's list."""
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
    listed = component.get("values")
    values = [v for v in listed if isinstance(v, dict) and "value" in v] if isinstance(listed, list) else []
    if not values:
        errors.append(said("%(where)s offers no choices", where=where))
        return None
    return {"type": "string", "enum": [str(v["value"]) for v in values],
            "enumNames": [str(v.get("label") or v["value"]) for v in values],
            **{f"enumNames@{language}": [str(v.get(f"label@{language}") or v.get("label") or v["value"])
                                         for v in values]
               for language in sorted({k.split("@", 1)[1] for v in values for k in v if k.startswith("label@")})}}


def _in_languages(component: dict[str, Any], name: str, target: str) -> dict[str, str]:
    """A component's text in other languages (`"label@zh": "债权人"`, beside form-js's own `label`, which
    Camunda's tools keep and ignore) as the inbox's forms hold them (`title@zh`)."""
    return {f"{target}@{key.split('@', 1)[1]}": str(value) for key, value in component.items()
            if key.startswith(f"{name}@") and isinstance(value, str) and value.strip()}


def _moment(component: dict[str, Any], where: str, errors: list[str], notes: list[str]) -> dict[str, Any] | None:
    """A date, a time or a date and time: Camunda writes a time with its offset unless told not to;
    Loanflow's picker keeps it as typed (said in a note)."""
    subtype = component.get("subtype", "date")
    if subtype == "date":
        return {"type": "string", "format": "date"}
    if subtype not in ("time", "datetime"):
        errors.append(said("%(where)s asks for a %(subtype)s; Loanflow's forms ask for a date, a time or both",
                           where=where, subtype=subtype))
        return None
    if component.get("timeSerializingFormat", "utc_offset") != "no_timezone":
        notes.append(said("%(where)s: the time is kept as it is typed, without the offset from UTC Camunda adds",
                          where=where))
    return {"type": "string", "format": "time" if subtype == "time" else "date-time"}


# The files a file picker's `accept` names (extensions or types, as an HTML input takes them), as the
# document types Loanflow keeps (`documents.ALLOWED`); any other is said in a note, never kept.
_SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_WORD = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FILE_TYPES = {".pdf": ("application/pdf",), ".png": ("image/png",), ".jpg": ("image/jpeg",), ".jpeg": ("image/jpeg",),
              "image/*": ("image/png", "image/jpeg"), ".xlsx": (_SPREADSHEET,), ".docx": (_WORD,),
              ".zip": ("application/zip",), ".csv": ("text/plain",), ".txt": ("text/plain",),
              "text/csv": ("text/plain",)}
for _type in ("application/pdf", "image/png", "image/jpeg", _SPREADSHEET, _WORD, "application/zip", "text/plain"):
    FILE_TYPES[_type] = (_type,)


def accepted(accept: str) -> tuple[list[str], list[str]]:
    """An HTML `accept` (`.pdf, image/*`) as the document types Loanflow keeps, and what it names that Loanflow
    does not keep."""
    asked = [a.strip().lower() for a in accept.split(",") if a.strip()]
    return list(dict.fromkeys(t for a in asked for t in FILE_TYPES.get(a, ()))), [a for a in asked if a not in FILE_TYPES]


def _files(component: dict[str, Any], where: str, errors: list[str], notes: list[str]) -> dict[str, Any] | None:
    """A file picker: Camunda 8 sets a list of files, one or several; each kept as a document of the instance."""
    item: dict[str, Any] = {"type": "string", "format": "data-url"}
    accept = component.get("accept")
    if isinstance(accept, str) and accept.strip() and not accept.strip().startswith("="):
        types, unkept = accepted(accept)
        if not types:
            errors.append(said("%(where)s takes only files Loanflow does not keep (%(types)s); it keeps PDF, PNG, "
                               "JPEG, XLSX, DOCX, ZIP and CSV", where=where, types=", ".join(unkept)))
            return None
        if unkept:
            notes.append(said("%(where)s: Loanflow does not keep files of %(types)s; the field takes the others",
                              where=where, types=", ".join(unkept)))
        item["accept"] = types
    elif accept not in (None, ""):
        errors.append(said("%(where)s takes the files an expression names (%(expression)r); write them in the form",
                           where=where, expression=accept))
        return None
    if component.get("multiple") not in (None, True, False):
        errors.append(said("%(where)s takes several files or one as an expression says (%(expression)r); write "
                           "which in the form", where=where, expression=component.get("multiple")))
        return None
    notes.append(said("%(where)s: each file is kept as a document of the instance, its value 'document:<id>' (not "
                      "Camunda's file metadata)", where=where))
    files: dict[str, Any] = {"type": "array", "items": item}
    if component.get("multiple") is not True:
        files["maxItems"] = 1
    return files


def _rules(prop: dict[str, Any], validate: dict[str, Any], where: str, notes: list[str]) -> None:
    words = {"minLength": "minLength", "maxLength": "maxLength", "min": "minimum", "max": "maximum"}
    kind = prop.get("type")  # none for choices from a variable's list
    for rule, value in validate.items():
        if rule == "required":
            if value is True and kind == "array":  # a list required: at least one choice ticked, one file
                prop["minItems"] = 1
            continue
        if rule == "pattern" and kind == "string" and isinstance(value, str):
            prop["pattern"] = value
        elif rule in ("minLength", "maxLength") and kind == "string" and isinstance(value, int):
            prop[words[rule]] = value
        elif rule in ("min", "max") and kind in ("integer", "number") and isinstance(value, int | float):
            prop[words[rule]] = value
        else:
            notes.append(said("%(where)s: the rule %(rule)s %(value)r is not checked by Loanflow", where=where, rule=rule,
                              value=value))


_KINDS: dict[str, Any] = {"string": str, "boolean": bool, "integer": int, "number": int | float, "array": list}


def _default(prop: dict[str, Any], value: Any, where: str, notes: list[str]) -> None:
    """The field's default where it fits the field: of its type and among its choices (each of a list's)."""
    kind = prop.get("type")
    found = prop.get("items")
    items: dict[str, Any] = found if isinstance(found, dict) else {}
    fits = kind in _KINDS and isinstance(value, _KINDS[kind]) and not (kind != "boolean" and isinstance(value, bool))
    if fits and kind == "array":
        fits = "enum" in items and all(each in items["enum"] for each in value) and not items.get("format")
    if fits and ("enum" not in prop or value in prop["enum"]):
        prop["default"] = value
    else:
        notes.append(said("%(where)s: the default %(value)r does not fit the field; the form has none", where=where,
                          value=value))
