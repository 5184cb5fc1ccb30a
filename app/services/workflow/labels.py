"""Business content in every language, written where it is defined.

The words a person reads about a deal — a user task's name, a form's title, a field's label and
help, a choice's label — are written by the analyst in the file that defines them, every language
side by side, so one edit in one place adds a field in Chinese and English:

- a JSON Schema form: the English text in the standard keyword (`title`, `description`,
  `enumNames` for the labels of an `enum`'s choices) and each other language in the same keyword
  with `@` and the language code (`title@zh`, `description@zh`, `enumNames@zh`); a UI schema's
  `ui:help` likewise (`ui:help@zh`). JSON Schema ignores unknown keywords, so validation is
  unchanged.
- a BPMN user task: its `name` in English, and a `name@zh` property
  (`<spiffworkflow:property name="name@zh" value="初审"/>`); a process likewise, with the
  property in the process's own `extensionElements`.

`localized` picks the reader's language and falls back to English, then to the app's message
catalogue (the platform's own words), never to a code. What has no label in every language is a
warning of `processes validate` and of every deploy (`label_problems`), so it is found before a
person sees a raw key.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from app.engine.said import said

BASE_LANGUAGE = "en"
OTHER_LANGUAGES = ("zh",)


def _key(keyword: str, language: str) -> str:
    return keyword if language == BASE_LANGUAGE else f"{keyword}@{language}"


def localized(node: dict[str, Any] | None, keyword: str, language: str) -> Any:
    """The keyword's value in `language`, else in English; None if neither is written."""
    if not node:
        return None
    value = node.get(_key(keyword, language))
    if value in (None, "", []):
        value = node.get(keyword)
    return value if value not in ("", []) else None


def choice_labels(prop: dict[str, Any], language: str) -> list[str] | None:
    """The labels of an enum's choices in `language` (None when the form gives none that fit)."""
    labels = localized(prop, "enumNames", language)
    choices = prop.get("enum") or []
    if not isinstance(labels, list) or len(labels) != len(choices):
        labels = prop.get("enumNames")
    return [str(label) for label in labels] if isinstance(labels, list) and len(labels) == len(choices) else None


def _fields(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        yield f"{path}{name}", prop
        items = prop.get("items")
        if prop.get("type") == "array" and isinstance(items, dict) and items.get("type") == "object":
            yield from _fields(items, f"{path}{name}[].")


def form_label_problems(schema: dict[str, Any]) -> list[str]:
    """What a form lacks to be read in every language: one sentence per missing label."""
    problems: list[str] = []
    for language in OTHER_LANGUAGES:
        if not schema.get("title") or not schema.get(_key("title", language)):
            problems.append(said("the form has no title in English and %(language)s (title, title@%(language)s)",
                                 language=language))
    for name, prop in _fields(schema):
        for language in OTHER_LANGUAGES:
            if not prop.get("title") or not prop.get(_key("title", language)):
                problems.append(said("field %(field)r has no label in English and %(language)s "
                                     "(title, title@%(language)s)", field=name, language=language))
            if prop.get("description") and not prop.get(_key("description", language)):
                problems.append(said("field %(field)r has a description but none in %(language)s "
                                     "(description@%(language)s)", field=name, language=language))
            if "enum" in prop:
                english, other = prop.get("enumNames"), prop.get(_key("enumNames", language))
                count = len(prop["enum"])
                if not (isinstance(english, list) and len(english) == count
                        and isinstance(other, list) and len(other) == count):
                    problems.append(said("the choices of field %(field)r have no labels in English and %(language)s "
                                         "(enumNames, enumNames@%(language)s: one per choice, %(count)d)",
                                         field=name, language=language, count=count))
    return problems


def task_label_problems(name: str | None, properties: dict[str, Any]) -> list[str]:
    """What a user task lacks to be named in every language: its name, its name in another language, or both."""
    return [_missing("user task", bool(name), bool(properties.get(_key("name", language))), language, name)
            for language in OTHER_LANGUAGES if not name or not properties.get(_key("name", language))]


def process_label_problems(names: dict[str, str]) -> list[str]:
    """What a process lacks to be named in every language."""
    return [_missing("process", bool(names.get(BASE_LANGUAGE)), bool(names.get(language)), language,
                     names.get(BASE_LANGUAGE))
            for language in OTHER_LANGUAGES if not names.get(BASE_LANGUAGE) or not names.get(language)]


def _missing(kind: str, english: bool, other: bool, language: str, name: str | None) -> str:
    if kind == "process":
        if english:
            return said("the process %(name)r has no name in %(language)s (property name@%(language)s on the "
                        "process)", name=name, language=language)
        if other:
            return said("the process has no name in English (name)")
        return said("the process has no name in English and %(language)s (name, property name@%(language)s on the "
                    "process)", language=language)
    if english:
        return said("the user task %(name)r has no name in %(language)s (property name@%(language)s)", name=name,
                    language=language)
    if other:
        return said("the user task has no name in English (name)")
    return said("the user task has no name in English and %(language)s (name, property name@%(language)s)",
                language=language)


def process_title(names: dict[str, str] | None, process_id: str, language: str) -> str:
    """A process's name in `language`, else in English, else its id (which validate warns about)."""
    names = names or {}
    return names.get(language) or names.get(BASE_LANGUAGE) or process_id


def task_title(title: str, properties: dict[str, Any] | None, language: str) -> str:
    """A user task's name in `language` (its `name@<language>` property), else as the diagram names it."""
    value = (properties or {}).get(_key("name", language)) if language != BASE_LANGUAGE else None
    return str(value) if value else title
