"""JSON Schema forms in HTML: fields to render from a schema (+ UI schema), posted fields back to JSON.

Follows the SpiffArena / react-jsonschema-form conventions the forms in `forms/` use: `enum` is a
select, `format: date` a date picker, `format: date-time` (or `ui:widget: datetime`) a date-and-time
picker (the browser posts `2026-01-05T09:00`, which `datetime.fromisoformat` reads), `format: data-url` (or `ui:widget: file`) an upload,
`ui:widget: textarea`, `ui:widget: money`, booleans as checkboxes, arrays of objects as a table of
rows, an array whose items are choices (`items.enum`) as a group of checkboxes (several choices), an
array of files (`items.format: data-url`) as an upload of several files, `format: time` a time picker.
Parsing only converts types; validation is the jsonschema library's job.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage, MultiDict

from app.services.workflow.forms import MAX_DECIMAL_EXPONENT, NO_CHOICES
from app.services.workflow.labels import choice_labels, localized
from app.text_input import is_whole
from app.web.money_input import parse_money

EMPTY_ROWS = 2


@dataclass
class Field:
    name: str  # dotted path: "limit", "items.0.amount"
    kind: str  # text | textarea | number | integer | money | date | datetime | time | select | choices | checkbox
    #            | file | files | table
    label: str
    required: bool = False
    help: str | None = None
    options: list[tuple[str, str]] = field(default_factory=list)
    value: Any = None
    columns: list[Field] = field(default_factory=list)  # for tables: one row's fields
    rows: list[list[Field]] = field(default_factory=list)
    multiple: bool = False  # for files: several may be chosen at once
    send_code: bool = False  # a mobile number's "get the verification code" button (`ui:options.sendCode`)


def _kind(schema: dict[str, Any], ui: dict[str, Any]) -> str:
    widget = ui.get("ui:widget")
    kind_of_type = schema.get("type")
    if widget in ("textarea", "money", "file", "date"):
        return str(widget)
    if widget in ("datetime", "date-time"):  # SpiffArena's and RJSF's date-and-time picker
        return "datetime"
    if "enum" in schema:
        return "select"
    if kind_of_type == "boolean":
        return "checkbox"
    if kind_of_type == "integer":
        return "integer"
    if kind_of_type == "number":
        return "number"
    found = schema.get("items")
    items: dict[str, Any] = found if isinstance(found, dict) else {}
    if kind_of_type == "array" and items.get("type") == "object":
        return "table"
    if kind_of_type == "array" and "enum" in items:
        return "choices"
    if kind_of_type == "array" and items.get("format") == "data-url":
        return "files"
    if schema.get("format") == "date":
        return "date"
    if schema.get("format") == "date-time":
        return "datetime"
    if schema.get("format") == "time":
        return "time"
    if schema.get("format") == "data-url":
        return "file"
    if schema.get("maxLength", 0) > 200:
        return "textarea"
    return "text"


def fields_of(schema: dict[str, Any], ui: dict[str, Any] | None = None, values: dict[str, Any] | None = None,
              prefix: str = "", language: str = "en", no_choices: Any = NO_CHOICES) -> list[Field]:
    """The fields to render for an object schema, in the UI schema's `ui:order` when it has one;
    labels, help and choices in `language` where the form writes it (`labels`), else in English.
    `no_choices`: the help of a choice the process gave no options for (`form_choices`)."""
    ui = ui or {}
    values = values or {}
    properties: dict[str, Any] = schema.get("properties", {})
    order = [n for n in ui.get("ui:order", []) if n in properties] + [
        n for n in properties if n not in ui.get("ui:order", [])]
    required = set(schema.get("required", []))
    fresh = not values  # a form not yet answered starts at its fields' defaults (JSON Schema's `default`)
    out = []
    for name in order:
        prop, prop_ui = properties[name], ui.get(name, {})
        kind = _kind(prop, prop_ui)
        f = Field(f"{prefix}{name}", kind, localized(prop, "title", language) or name, name in required,
                  localized(prop, "description", language) or localized(prop_ui, "ui:help", language),
                  value=prop.get("default") if fresh else values.get(name))
        if kind in ("select", "choices"):
            offered = prop if kind == "select" else prop["items"]
            titles = choice_labels(offered, language) or offered["enum"]
            f.options = [(str(v), str(t)) for v, t in zip(offered["enum"], titles, strict=False)]
            if not f.options:  # choices the process gives (form_choices), and gave none
                f.help = str(no_choices)
            if kind == "choices":  # the values ticked, as texts (a page posted back gives one text for one tick)
                chosen = f.value if isinstance(f.value, list) else [] if f.value in (None, "") else [f.value]
                f.value = [str(v) for v in chosen]
        if kind == "files":
            f.multiple = prop.get("maxItems") != 1
        f.send_code = bool((prop_ui.get("ui:options") or {}).get("sendCode")) if isinstance(prop_ui, dict) else False
        if kind == "table":
            item = prop["items"]
            f.columns = fields_of(item, prop_ui.get("items", {}), {}, f"{f.name}.#.", language, no_choices)
            found = values.get(name)
            existing = found if isinstance(found, list) else []  # rows posted under odd names are no rows
            count = max(len(existing) + 1, prop.get("minItems", 0), EMPTY_ROWS)
            f.rows = [fields_of(item, prop_ui.get("items", {}), existing[i] if i < len(existing) else {},
                                f"{f.name}.{i}.", language, no_choices) for i in range(count)]
        out.append(f)
    return out


class FormParseError(Exception):
    """Fields that could not be read (`fields`: what is wrong with each) and the `data` the others gave, for the
    form's own checks to say what else is wrong at once."""

    def __init__(self, fields: dict[str, list[str]], data: dict[str, Any] | None = None) -> None:
        super().__init__("form fields could not be read")
        self.fields = fields
        self.data = data or {}


def parse_submission(schema: dict[str, Any], ui: dict[str, Any] | None, form: MultiDict,
                     files: MultiDict, store_file) -> dict[str, Any]:
    """Posted HTML fields as JSON data typed by the schema; uploads go through `store_file(name, file)`."""
    errors: dict[str, list[str]] = {}
    data = _parse_object(schema, ui or {}, form, files, store_file, "", errors)
    if errors:
        raise FormParseError(errors, data)
    return data


def _parse_object(schema, ui, form, files, store_file, prefix, errors) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        key = f"{prefix}{name}"
        kind = _kind(prop, ui.get(name, {}))
        if kind == "table":
            rows = []
            indexes = sorted({int(k[len(key) + 1:].split(".")[0]) for k in form
                              if k.startswith(key + ".") and is_whole(k[len(key) + 1:].split(".")[0])})
            for i in indexes:
                row = _parse_object(prop["items"], ui.get(name, {}).get("items", {}), form, files, store_file,
                                    f"{key}.{i}.", errors)
                if any(v not in (None, "", False, []) for v in row.values()):
                    rows.append(row)
            data[name] = rows
            continue
        if kind == "file":
            upload: FileStorage | None = files.get(key)
            if upload is not None and upload.filename:
                try:
                    data[name] = store_file(key, upload)
                except ValueError as exc:
                    errors.setdefault(key, []).append(str(exc))
            continue
        if kind == "files":
            stored: list[Any] = []
            for upload in files.getlist(key):
                if upload is not None and upload.filename:
                    try:
                        stored.append(store_file(f"{key}.{len(stored)}", upload))
                    except ValueError as exc:
                        errors.setdefault(key, []).append(str(exc))
            data[name] = stored
            continue
        if kind == "checkbox":
            data[name] = form.get(key) in ("on", "true", "1")
            continue
        if kind == "choices":  # each ticked choice, as the form lists it (a number where its choices are numbers)
            offered = prop["items"]["enum"]
            data[name] = [next((choice for choice in offered if str(choice) == raw), raw) for raw in form.getlist(key)]
            continue
        raw = (form.get(key) or "").strip()
        if raw == "":
            continue  # absent: the schema's `required` reports it
        if kind == "integer":
            try:
                data[name] = int(raw)
            except ValueError:
                errors.setdefault(key, []).append(_("Must be a whole number."))
        elif kind == "number":
            try:
                number = Decimal(raw.replace(",", ""))
            except InvalidOperation:
                number = None
            # Decimal also reads "NaN", "Infinity" and "1e999999": none is a number a form means
            if number is None or not number.is_finite() or abs(number.adjusted()) > MAX_DECIMAL_EXPONENT:
                errors.setdefault(key, []).append(_("Must be a number."))
            else:
                data[name] = number
        elif kind == "money":
            try:
                data[name] = str(parse_money(raw))  # 1,000,000.00, ¥ and full-width digits read as typed
            except ValueError as exc:
                errors.setdefault(key, []).append(str(exc))
        elif kind == "select":  # the choice itself, a number where the form's choices are numbers
            data[name] = next((choice for choice in prop["enum"] if str(choice) == raw), raw)
        else:
            data[name] = raw
    return data
