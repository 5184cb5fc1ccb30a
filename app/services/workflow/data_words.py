"""An instance's data in its readers' words: each key the label the form that asked for it gives it, in the reader's
language, and each value in words where the form says what it means (a choice's label, an amount as money).

The history and the data of an instance page are the platform staff's (an auditor reads every step of a deal):
`confirmed_amount 900000.00`, `decision confirm` read as 确认金额（元） ¥900,000.00 and 确认意见 确认, the key
kept beside its label for the analysts who write conditions with it. A key no form of the instance asked for (what
it started with, what its scripts set) is labelled as its diagram labels it for a task's key data (`label:<field>`),
or else by any form of the diagram; one none of them names is shown as its key.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from app.engine.migration import element_labels
from app.extensions import db
from app.models import HumanTask, ProcessInstance
from app.services.workflow import labels
from app.services.workflow.forms import display_kinds, forms_by_id
from app.services.workflow.runtime import runtime

LABEL = "label:"  # an element's `label:<field>` (and `label:<field>@zh`) property: what the diagram calls a field


@dataclass(frozen=True)
class Field:
    label: str | None
    choices: dict[str, str]  # a choice's value (as text) -> its label
    money: bool


Glossary = dict[str, Field]


def _money(value: Any) -> str | None:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return f"¥{amount:,.2f}" if amount.is_finite() and not isinstance(value, bool) else None


def glossary(schemas: Iterable[dict[str, Any]], language: str) -> Glossary:
    """The top-level fields of these forms (JSON Schemas and their UI schemas), the first form naming a key wins."""
    schemas = [s for s in schemas if isinstance(s, dict)]
    kinds = display_kinds(schemas)
    out: Glossary = {}
    for schema in schemas:
        for name, prop in (schema.get("properties") or {}).items():
            if name in out or not isinstance(prop, dict):
                continue
            title = labels.localized(prop, "title", language)
            names = labels.choice_labels(prop, language) or []
            choices = {str(v): str(n) for v, n in zip(prop.get("enum") or [], names, strict=False)}
            if title or choices or kinds.get(name) == "money":
                out[name] = Field(str(title) if title else None, choices, kinds.get(name) == "money")
    return out


def of_tasks(task_ids: Iterable[int], language: str) -> dict[int, Glossary]:
    """Each task's own form's glossary (its JSON Schema and UI schema), by task id."""
    rows = db.session.execute(select(HumanTask.id, HumanTask.form_id, HumanTask.ui_form_id).where(
        HumanTask.id.in_(sorted(set(task_ids))))).all() if task_ids else []
    forms = forms_by_id(sorted({i for r in rows for i in (r.form_id, r.ui_form_id) if i is not None}))
    return {r.id: glossary([forms[i] for i in (r.form_id, r.ui_form_id) if i in forms], language) for r in rows}


def of_version(version_id: int, pins: dict[str, int] | None, language: str) -> Glossary:
    """What the version's diagram calls each key: its elements' `label:<field>` properties (money where
    `format:<field>` says so: the words a task's key data is shown in), else its forms' fields."""
    forms = forms_by_id(sorted(set(runtime().specs.forms(version_id).values())))
    out = glossary(list(forms.values()), language)
    named: set[str] = set()
    spec, subprocess_specs = runtime().specs.workflow_specs(version_id, pins or {})
    for _name, properties in element_labels(spec, subprocess_specs).values():
        for key in properties:
            field = key.removeprefix(LABEL)
            if key.startswith(LABEL) and "@" not in field and field not in named:
                named.add(field)
                label, form = labels.localized(properties, key, language), out.get(field)
                out[field] = Field(str(label) if label else (form.label if form else None),
                                   form.choices if form else {},
                                   properties.get(f"format:{field}") == "money" or (form is not None and form.money))
    return out


def of_instance(instance_id: int, language: str) -> Glossary:
    """What the forms of the instance's completed tasks call each key, the task completed last first (the one that
    last wrote it: its data now); a key none of them asked for (what the instance started with, what a step set) as
    its diagram calls it (`of_version`). A form still open wrote nothing: its `decision` is not the one the data
    holds."""
    ids = list(db.session.scalars(select(HumanTask.id).where(
        HumanTask.instance_id == instance_id, HumanTask.form_id.is_not(None), HumanTask.state == "completed")
        .order_by(HumanTask.completed_at.desc(), HumanTask.id.desc())))
    by_task = of_tasks(ids, language)
    merged: Glossary = {}
    for task_id in ids:
        for key, known in by_task.get(task_id, {}).items():
            merged.setdefault(key, known)
    run = db.session.execute(select(ProcessInstance.process_version_id, ProcessInstance.pins).where(
        ProcessInstance.id == instance_id)).first()
    return {**of_version(run.process_version_id, run.pins, language), **merged} if run is not None else merged


def in_words(words: Glossary, key: str, value: Any) -> tuple[str | None, str | None]:
    """(the key's label, the value in words) as `words` has them; None for what they do not say."""
    known = words.get(key)
    if known is None:
        return None, None
    if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value) in known.choices:
        return known.label, known.choices[str(value)]
    return known.label, _money(value) if known.money and isinstance(value, str | int) else None
