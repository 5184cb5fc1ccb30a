"""Choices a form takes from the task's data: SpiffArena's `options_from_task_data_var:` lists.

A SpiffArena form draws a field whose choices the process computes (the borrower's own accounts, the
warehouses holding the goods) as `"anyOf": ["options_from_task_data_var:accounts"]`: the choices are
the list `accounts` in the task's data when the task is shown, each `{"value": ..., "label": ...}`
(a plain text or number is its own label). A Camunda Forms select with `valuesKey` becomes the same
(`camunda_forms`). Loanflow keeps that meaning in three places:

- **deploy** (`annotate`): each user task whose form reads such lists gets the property
  `choicesFrom` naming them, in the spec the version keeps (the form version is fixed with it);
- **the task becoming ready** (`runner._ready_task`): the named lists are captured with the task,
  in its `shown` values, as `keyData` is;
- **every reading of the form** (`resolved`, through `tasks.task_form`): the page, the API and the
  check of a submission see the field as an ordinary choice, `enum` with `enumNames`, from the
  captured list. A list the task's data did not hold gives no choice, so nothing can be submitted
  for that field, and the page says why.

`resolved` also inlines a property's local `$ref` (`#/definitions/...`, `#/$defs/...`), the way
SpiffArena's forms name a shared field, so the page renders it as the field it stands for.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from app.engine.camunda_forms import CHOICES_FROM_DATA as PREFIX
from app.engine.parser import set_user_task_property
from app.engine.runner import CHOICES_PROPERTY as PROPERTY

MAX_REF_DEPTH = 8  # a $ref leading to a $ref... (a cycle is left as it is, for jsonschema to follow)


def _placeholder(value: Any) -> str | None:
    """The data name of `["options_from_task_data_var:<name>"]`, else None."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str) and value[0].startswith(PREFIX):
        return value[0][len(PREFIX):].strip() or None
    return None


def _walk(node: Any):  # noqa: ANN202 - a generator of the schema's objects
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


def sources(schema: Any) -> list[str]:
    """The task-data lists the form's choices come from, in the order the form names them."""
    found: list[str] = []
    for node in _walk(schema):
        name = _placeholder(node.get("anyOf"))
        if name and name not in found:
            found.append(name)
    return found


def annotate(process: Any, forms: dict[str, dict]) -> None:
    """Name, on each user task of the process (embedded subprocesses' too) whose form takes choices
    from its data, the lists to capture when it becomes ready (`choicesFrom`)."""
    def named(properties: dict[str, str]) -> str | None:
        return " ".join(sources(forms.get(properties.get("formJsonSchemaFilename", "")))) or None

    set_user_task_property(process, PROPERTY, named)


def _choices(listed: Any) -> tuple[list[Any], list[str]]:
    """Values and labels of a captured list: `{"value", "label"}` items, or plain values."""
    values: list[Any] = []
    labels: list[str] = []
    for item in listed if isinstance(listed, list) else []:
        if isinstance(item, dict) and "value" in item:
            value, label = item["value"], item.get("label", item["value"])
        elif isinstance(item, str | int | float) and not isinstance(item, bool):
            value, label = item, item
        else:
            continue
        if value not in values:
            values.append(value)
            labels.append(str(label))
    return values, labels


def _inline_refs(schema: dict[str, Any]) -> None:
    """Replace each property's local `$ref` by what it names, the property's own keywords winning (the
    reference resolved by jsonschema's own `referencing`; one outside the form is left as it is)."""
    resolver = Registry().resolver_with_root(DRAFT202012.create_resource(schema))

    def target(ref: Any) -> dict[str, Any] | None:
        if not isinstance(ref, str) or not ref.startswith("#"):
            return None
        try:
            found = resolver.lookup(ref).contents
        except Unresolvable:
            return None
        return found if isinstance(found, dict) else None

    def expand(prop: dict[str, Any], depth: int) -> dict[str, Any]:
        while "$ref" in prop and depth < MAX_REF_DEPTH:
            named = target(prop["$ref"])
            if named is None:
                break
            prop = {**named, **{k: v for k, v in prop.items() if k != "$ref"}}
            depth += 1
        if isinstance(prop.get("properties"), dict):
            prop["properties"] = {n: expand(p, depth) if isinstance(p, dict) else p
                                  for n, p in prop["properties"].items()}
        if isinstance(prop.get("items"), dict):
            prop["items"] = expand(prop["items"], depth)
        return prop

    if isinstance(schema.get("properties"), dict):
        schema["properties"] = {n: expand(p, 0) if isinstance(p, dict) else p
                                for n, p in schema["properties"].items()}


def _with_choices(schema: dict[str, Any], choices: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
    """A copy of the form with each choice list replaced by the keywords `choices(its data name)` gives."""
    form = copy.deepcopy(schema)
    for node in _walk(form):
        name = _placeholder(node.get("anyOf"))
        if name is not None:
            del node["anyOf"]
            node.update(choices(name))
    return form


def resolved(schema: dict[str, Any] | None, shown: dict[str, Any] | None) -> dict[str, Any] | None:
    """The form as this task shows and checks it: its choice lists from the task's captured data, its
    properties' local `$ref`s inlined. The form itself (shared by every task) is left as it is."""
    if not isinstance(schema, dict):
        return schema
    has_refs = any("$ref" in node for node in _walk(schema.get("properties")))
    if not (has_refs or sources(schema)):
        return schema

    def captured(name: str) -> dict[str, Any]:
        values, labels = _choices((shown or {}).get(name))
        return {"enum": values, "enumNames": labels}

    form = _with_choices(schema, captured)
    _inline_refs(form)
    return form


def checkable(schema: Any) -> Any:
    """The form with each choice list standing in as one choice: what the deploy checks as a JSON Schema."""
    if not isinstance(schema, dict) or not sources(schema):
        return schema
    return _with_choices(schema, lambda name: {"enum": [name]})


__all__ = ["PREFIX", "PROPERTY", "annotate", "checkable", "resolved", "sources"]
