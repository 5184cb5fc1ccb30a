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

import re
from collections.abc import Iterator
from typing import Any

from app.engine.said import said

BASE_LANGUAGE = "en"
OTHER_LANGUAGES = ("zh",)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")  # Chinese characters


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


def _sides(base: Any, other: Any, language: str) -> tuple[bool, bool, bool]:
    """(written in English, written in `language`, written in Chinese in the English place only): a diagram
    drawn by a team in China (an Activiti or Flowable one, say) names its tasks in Chinese, in `name`."""
    chinese_only = language == "zh" and isinstance(base, str) and not other and bool(_HAN.search(base))
    return bool(base) and not chinese_only, bool(other) or chinese_only, chinese_only


def _label_problem(kind: str, node: dict[str, Any], language: str, field: str | None = None) -> str | None:
    """What the form's title (`kind` "form") or a field's label (`kind` "field") lacks in `language`, or None."""
    base, other = node.get("title"), node.get(_key("title", language))
    english, translated, chinese_only = _sides(base, other, language)
    if english and translated:
        return None
    if kind == "form":
        if chinese_only:
            return said("the form's title %(title)r is in Chinese only: write the English title as title and this "
                        "one as title@zh", title=base)
        if english:
            return said("the form has no title in %(language)s (title@%(language)s)", language=language)
        if translated:
            return said("the form has no title in English (title)")
        return said("the form has no title in English and %(language)s (title, title@%(language)s)",
                    language=language)
    if chinese_only:
        return said("field %(field)r is labelled in Chinese only (%(label)r): write the English label as title and "
                    "this one as title@zh", field=field, label=base)
    if english:
        return said("field %(field)r has no label in %(language)s (title@%(language)s)", field=field,
                    language=language)
    if translated:
        return said("field %(field)r has no label in English (title)", field=field)
    return said("field %(field)r has no label in English and %(language)s (title, title@%(language)s)", field=field,
                language=language)


def form_label_problems(schema: dict[str, Any]) -> list[str]:
    """What a form lacks to be read in every language: one sentence per missing label."""
    problems: list[str] = []
    for language in OTHER_LANGUAGES:
        missing = _label_problem("form", schema, language)
        if missing:
            problems.append(missing)
    for name, prop in _fields(schema):
        for language in OTHER_LANGUAGES:
            missing = _label_problem("field", prop, language, name)
            if missing:
                problems.append(missing)
            if prop.get("description") and not prop.get(_key("description", language)):
                problems.append(said("field %(field)r has a description but none in %(language)s "
                                     "(description@%(language)s)", field=name, language=language))
            found = prop.get("items")
            items: dict[str, Any] = found if isinstance(found, dict) else {}
            offered = prop if "enum" in prop else items if prop.get("type") == "array" and "enum" in items else None
            if offered is not None and isinstance(offered["enum"], list):  # one choice, or several (a list of them)
                english, other = offered.get("enumNames"), offered.get(_key("enumNames", language))
                count = len(offered["enum"])
                if not (isinstance(english, list) and len(english) == count
                        and isinstance(other, list) and len(other) == count):
                    problems.append(said("the choices of field %(field)r have no labels in English and %(language)s "
                                         "(enumNames, enumNames@%(language)s: one per choice, %(count)d)",
                                         field=name, language=language, count=count))
    return problems


def task_label_problems(name: str | None, properties: dict[str, Any]) -> list[str]:
    """What a user task lacks to be named in every language: its name, its name in another language, or both."""
    return [_missing("user task", name, properties.get(_key("name", language)), language)
            for language in OTHER_LANGUAGES if not all(_sides(name, properties.get(_key("name", language)),
                                                              language)[:2])]


def process_label_problems(names: dict[str, str]) -> list[str]:
    """What a process lacks to be named in every language."""
    return [_missing("process", names.get(BASE_LANGUAGE), names.get(language), language)
            for language in OTHER_LANGUAGES if not all(_sides(names.get(BASE_LANGUAGE), names.get(language),
                                                              language)[:2])]


def _missing(kind: str, name: str | None, translated_name: str | None, language: str) -> str:
    english, other, chinese_only = _sides(name, translated_name, language)
    if chinese_only:
        return said("the process %(name)r is named in Chinese only: write its English name as its name and this one "
                    "as the property name@zh on the process", name=name) if kind == "process" else said(
            "the user task %(name)r is named in Chinese only: write its English name as its name and this one as the "
            "property name@zh", name=name)
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
