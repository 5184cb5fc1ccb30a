"""Camunda 7's embedded task forms (HTML) as the JSON Schema forms Loanflow shows (issue 17).

A Camunda 7 user task names its form `camunda:formKey="embedded:app:forms/approve.html"`: an HTML fragment of
the process application whose inputs say which variable each sets (`cam-variable-name`) and as what
(`cam-variable-type`). Tasklist fills and submits them; Loanflow reads the same declarations into the JSON
Schema its inbox renders and every submission is checked against (`schema_of`), saying what it could not keep:

| element | becomes |
|---|---|
| `input`/`textarea` of `cam-variable-type` `String` | a string; `required`, `minlength`, `maxlength`, `pattern` kept |
| `Long`, `Integer`, `Short` | an integer; `min`, `max` as `minimum`, `maximum` |
| `Double` | a number; `min`, `max` kept |
| `Boolean`, or an `input type="checkbox"` | a boolean |
| `select` with `option`s | a string with the options' values as `enum`, their texts as `enumNames` |
| `select` with `cam-choices="variable"` | a choice from the list that variable holds when the task is ready |
| `input type="radio"`s of one variable | a string with their values as `enum` (their labels as `enumNames`) |
| `Date` | a date-and-time picker (`format: date-time`); the value is the text it posts, not a Date (a note says so) |
| `File` (`input type="file"`) | an upload kept as a document of the instance, its value `document:<id>`, not a FileValue (a note says so); `accept` as the document types Loanflow keeps |

The field's title is the text of its `label for="..."`, else its placeholder, else the variable's name;
`readonly` or `disabled` make it read-only. A `Json`, `Object` or other type, and a field without a
type Loanflow can read, is an error naming the variable: the form would accept answers Tasklist would
refuse. A `<script cam-script>` is not run (a note says so). The HTML is read with scripts, comments and
entities left unread, never fetched from anywhere.
"""
from __future__ import annotations

from typing import Any

from lxml import etree, html

from app.engine.camunda_forms import CHOICES_FROM_DATA, FormNotConverted, accepted
from app.engine.said import parts, said

HTML_SUFFIX = ".html"
_NUMBERS = {"long": "integer", "integer": "integer", "short": "integer", "double": "number"}
_PARSER = html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True, huge_tree=False)


def schema_of(text: str, title: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """The JSON Schema of an embedded form and the notes on what it does not do; `FormNotConverted` naming
    every field that cannot become one."""
    try:
        root = html.fromstring(f"<div>{text}</div>", parser=_PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise FormNotConverted(said("it is not HTML that can be read: %(error)s", error=str(exc))) from exc
    labels = {node.get("for"): " ".join(node.text_content().split()) for node in root.iter("label") if node.get("for")}
    schema: dict[str, Any] = {"type": "object", "properties": {}}
    if title:
        schema["title"] = title
    required: list[str] = []
    errors: list[str] = []
    notes: list[str] = []
    for node in root.iter("input", "textarea", "select"):
        name = (node.get("cam-variable-name") or "").strip()
        if not name:
            continue
        if node.tag == "input" and (node.get("type") or "").lower() == "radio":  # one choice among the inputs of a name
            choice = schema["properties"].setdefault(name, {"type": "string", "enum": [], "enumNames": []})
            value = node.get("value", "")
            if "enum" in choice and value not in choice["enum"]:
                choice["enum"].append(value)
                choice["enumNames"].append(labels.get(node.get("id")) or value)
            choice.setdefault("title", name)
            if node.get("required") is not None and name not in required:
                required.append(name)
            continue
        try:
            field = _field(node, notes)
        except FormNotConverted as exc:
            errors.append(exc.args[0])
            continue
        field["title"] = labels.get(node.get("id")) or (node.get("placeholder") or "").strip() or name
        if node.get("readonly") is not None or node.get("disabled") is not None:
            field["readOnly"] = True
        schema["properties"][name] = field
        if node.get("required") is not None and name not in required:
            required.append(name)
    if errors:
        raise FormNotConverted(parts(errors, "; "))
    if required:
        schema["required"] = required
    if any(node.get("cam-script") is not None for node in root.iter("script")):
        notes.append(said("its script (cam-script) is not run"))
    return schema, notes


def _field(node: html.HtmlElement, notes: list[str]) -> dict[str, Any]:
    name = node.get("cam-variable-name")
    kind = (node.get("cam-variable-type") or "").strip()
    if kind.lower() == "file" or (node.tag == "input" and (node.get("type") or "").lower() == "file"):
        return _file(node, name, notes)
    if kind.lower() == "date":
        notes.append(said("%(name)r is kept as the date and time its picker posts (2026-01-05T09:00), not as a Date",
                          name=name))
        return {"type": "string", "format": "date-time"}
    if node.tag == "input" and (node.get("type") or "").lower() == "checkbox":
        return {"type": "boolean"}
    if node.tag == "select":
        if node.get("cam-choices"):
            return {"type": "string", "anyOf": [f"{CHOICES_FROM_DATA}{node.get('cam-choices').strip()}"]}
        options = [(o.get("value", o.text_content().strip()), " ".join(o.text_content().split()))
                   for o in node.iter("option") if o.get("value", o.text_content().strip())]
        return {"type": "string", "enum": [v for v, _ in options], "enumNames": [t or v for v, t in options]}
    lowered = kind.lower()
    if lowered == "boolean":
        return {"type": "boolean"}
    if lowered in _NUMBERS:
        field: dict[str, Any] = {"type": _NUMBERS[lowered]}
        for attribute, key in (("min", "minimum"), ("max", "maximum")):
            if node.get(attribute) is not None:
                field[key] = _number(node.get(attribute), name, attribute)
        return field
    if lowered in ("string", ""):
        if not kind and node.tag == "input" and (node.get("type") or "text").lower() not in ("text", "email"):
            raise FormNotConverted(said("%(name)r is an input of type %(type)r, which Loanflow does not show",
                                        name=name, type=node.get("type")))
        field = {"type": "string"}
        for attribute, key in (("minlength", "minLength"), ("maxlength", "maxLength")):
            if (node.get(attribute) or "").isdigit():
                field[key] = int(node.get(attribute))
        if node.get("pattern"):
            field["pattern"] = node.get("pattern")
        return field
    raise FormNotConverted(said("%(name)r sets a value of type %(type)s, which Loanflow's forms do not ask for",
                                name=name, type=kind))


def _file(node: html.HtmlElement, name: str, notes: list[str]) -> dict[str, Any]:
    """A file input: one upload, kept as a document of the instance; its `accept` as the types Loanflow keeps."""
    field: dict[str, Any] = {"type": "string", "format": "data-url"}
    accept = (node.get("accept") or "").strip()
    if accept:
        types, unkept = accepted(accept)
        if not types:
            raise FormNotConverted(said("%(name)r takes only files Loanflow does not keep (%(types)s); it keeps PDF, "
                                        "PNG, JPEG, XLSX, DOCX, ZIP and CSV", name=name, types=", ".join(unkept)))
        if unkept:
            notes.append(said("%(name)r: Loanflow does not keep files of %(types)s; the field takes the others",
                              name=name, types=", ".join(unkept)))
        field["accept"] = types
    notes.append(said("%(name)r: the file is kept as a document of the instance, its value 'document:<id>' (not "
                      "Camunda's FileValue); the size limit is Loanflow's", name=name))
    return field


def _number(value: str, name: str, attribute: str) -> int | float:
    try:
        number = float(value)
    except ValueError:
        raise FormNotConverted(said("%(name)r has %(attribute)s=%(value)r, which is not a number", name=name,
                                    attribute=attribute, value=value)) from None
    return int(number) if number.is_integer() else number
