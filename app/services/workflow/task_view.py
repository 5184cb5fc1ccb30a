"""What a task page shows, for the person looking: their part of the deal, in their words.

A deal is shared by several organisations, and much of what one writes is internal to it (a
funder's recommended limit, its reviewers' names and notes). So a party's view is built from who
did what, not from a list of secrets:

- **Key data**: the fields the user task declares (`keyData`, names separated by spaces or
  commas), labelled from the task's own `label:<field>` / `label:<field>@zh` properties or else a
  form of the process version that has the field, formatted as `format:<field>` says (`money`,
  `date`, `percent`: a ratio such as 0.7548 read as 75.48%) or else by the form's widget. A task that declares none shows none to the parties;
  platform staff see every field.
- **History and data**: what the viewer's party may read (`party_scope`, the same rule the API
  follows): other parties' tasks and answers left out, people outside its reach unnamed.
- **Parties**: organisation names, not codes.
"""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from app.engine.camunda_user_tasks import FORM_VALUES_PROPERTY
from app.engine.migration import element_labels, message_catchers
from app.extensions import db
from app.models import HumanTask, InstanceEvent, InstanceParty, Organisation, ProcessInstance, User
from app.services.identity import policy
from app.services.identity.directory import Principal
from app.services.workflow import labels
from app.services.workflow.cancellations import why_cancelled
from app.services.workflow.forms import display_kinds, forms_by_id
from app.services.workflow.party_scope import PartyScope, scope_of
from app.services.workflow.queries import IN_TIME_ORDER, get_instance, process_titles, task_detail
from app.services.workflow.runtime import runtime

KEY_DATA = "keyData"


def _declared(properties: dict[str, Any]) -> list[str]:
    return [name for name in re.split(r"[\s,]+", str(properties.get(KEY_DATA) or "")) if name]


def _field_labels(forms: list[dict[str, Any]], language: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for form in forms:
        for name, prop in (form.get("properties") or {}).items():
            label = labels.localized(prop, "title", language) if isinstance(prop, dict) else None
            if label and name not in found:
                found[name] = str(label)
    return found


def _label(name: str, properties: dict[str, Any], from_forms: dict[str, str], language: str) -> str:
    own = labels.localized(properties, f"label:{name}", language)  # label:<field>@zh, else label:<field>
    return str(own or from_forms.get(name) or name)


def key_data(principal: Principal, task: dict[str, Any], instance: dict[str, Any], language: str) -> list[dict]:
    """[{name, label, value, kind}] of the fields this viewer is shown, in the declared order (a
    field without a value is left out)."""
    data: dict[str, Any] = instance["data"] or {}
    properties = task.get("properties") or {}
    names = _declared(properties)
    if principal.is_platform and not names:
        names = list(data)
    form_ids = list(runtime().specs.forms(instance["process_version_id"]).values())
    forms = list(forms_by_id(form_ids).values())
    kinds, from_forms = display_kinds(forms), _field_labels(forms, language)
    return [_shown_as({"name": n, "label": _label(n, properties, from_forms, language),
                       "value": in_language(data, n, language), "kind": properties.get(f"format:{n}") or kinds.get(n)},
                      language)
            for n in names if data.get(n) not in (None, "")]  # nothing to show: no line


DOCUMENT_REFERENCE = re.compile(r"document:(\d+)")


LIST_SEPARATORS = {"zh": "、"}  # how a list of answers is written in a sentence; ", " in English


def _shown_as(item: dict[str, Any], language: str) -> dict[str, Any]:
    """An uploaded file's answer (`document:<id>`, what a form's file field keeps) as kind
    `document` with the document's id: the page names the file, not the reference. A list of files
    is kind `documents` with their ids; a list of other answers (the choices ticked) one text."""
    value = item["value"]
    if isinstance(value, list) and value and all(isinstance(v, str) and DOCUMENT_REFERENCE.fullmatch(v) for v in value):
        return {**item, "kind": "documents", "value": [int(v.split(":")[1]) for v in value]}
    if isinstance(value, list) and all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in value):
        return {**item, "value": LIST_SEPARATORS.get(language, ", ").join(str(v) for v in value)}
    found = DOCUMENT_REFERENCE.fullmatch(value) if isinstance(value, str) else None
    return {**item, "kind": "document", "value": int(found.group(1))} if found else item


def in_language(data: dict[str, Any], name: str, language: str) -> Any:
    """A value a diagram keeps in both languages (`<name>_en`, `<name>_zh` beside `<name>`) in the
    reader's; any other value as it is."""
    twin = data.get(f"{name}_{language}")
    return twin if isinstance(twin, str) and twin else data[name]


ENGINE_STEPS = frozenset({"message_received", "completed"})


WAITED_FOR = ("message_received", "timer_fired", "signal_received")  # events named by the element that waited


def _waiting_elements(instance_id: int) -> tuple[dict[str, tuple[str | None, dict[str, str]]], dict[str, str]]:
    """The instance's version's elements by id (name, properties) and which element catches each message."""
    row = db.session.execute(select(ProcessInstance.process_version_id, ProcessInstance.pins).where(
        ProcessInstance.id == instance_id)).first()
    if row is None:
        return {}, {}
    spec, subprocess_specs = runtime().specs.workflow_specs(row.process_version_id, row.pins or {})
    return element_labels(spec, subprocess_specs), message_catchers(spec, subprocess_specs)


def history(principal: Principal, instance_id: int, language: str,
            scope: PartyScope | None = None) -> list[dict[str, Any]]:
    """The instance's events this viewer may read, oldest first: kind, element, title, actor, at, data."""
    lanes: dict[str, tuple[str | None, str, dict, int | None, int | None]] = {
        element: (lane, title, props or {}, form_id, ui_id) for element, lane, title, props, form_id, ui_id in
        db.session.execute(select(HumanTask.element_id, HumanTask.lane, HumanTask.title, HumanTask.properties,
                                  HumanTask.form_id, HumanTask.ui_form_id).where(HumanTask.instance_id == instance_id))}
    forms = forms_by_id(sorted({f for *_rest, form_id, ui_id in lanes.values() for f in (form_id, ui_id) if f}))
    rows = db.session.execute(
        select(InstanceEvent, User.username, User.display_name, User.org_id)
        .outerjoin(User, User.id == InstanceEvent.actor_id)
        .where(InstanceEvent.instance_id == instance_id).order_by(*IN_TIME_ORDER)).all()
    scope = scope or scope_of(principal, instance_id)
    # a message caught and a stage's sub-process ending are the engine's steps: the staff's to read ("收到消息",
    # "本阶段结束" on a borrower's task said nothing to the borrower)
    hidden = set() if policy.allowed(principal, "instances.inspect") else ENGINE_STEPS
    elements, catchers = _waiting_elements(instance_id) if any(e.kind in WAITED_FOR for e, *_ in rows) else ({}, {})
    shown = []
    for event, username, display_name, actor_org in rows:
        _lane, title, props, form_id, ui_id = lanes.get(event.element_id or "", (None, None, {}, None, None))
        if title is None and event.kind in WAITED_FOR:  # which message or deadline: the event that waited for it
            waited = event.element_id or catchers.get(str((event.details or {}).get("name") or ""))
            title, props = elements.get(waited or "", (None, {}))
        if not scope.shows_event(event.kind, event.element_id) or (event.kind in hidden and not title):
            continue  # an engine step that says nothing by name is the staff's to read
        named = scope.names_actor(actor_org)
        shown.append({
            "kind": event.kind, "element_id": event.element_id, "at": event.at,
            "title": labels.task_title(title, props, language) if title else None,
            "actor": (display_name or username) if named and username else None,
            "fields": _answers((event.details or {}).get("data"), forms.get(form_id or 0), forms.get(ui_id or 0),
                               language)
            if event.kind == "task_completed" else [],
        })
    return shown


def _answers(data: Any, form: dict[str, Any] | None, ui_form: dict[str, Any] | None,
             language: str) -> list[dict[str, Any]]:
    """A completed task's answers as the form asked them: [{name, label, value, kind}], choices by label,
    money and dates marked as its form and UI schema show them."""
    if not isinstance(data, dict):
        return []
    props = (form or {}).get("properties") or {}
    kinds = display_kinds([f for f in (form, ui_form) if f])
    shown = []
    for name, value in data.items():
        found = props.get(name)
        prop: dict[str, Any] = found if isinstance(found, dict) else {}
        label = labels.localized(prop, "title", language) or name
        value = _chosen(prop, value, language)
        if isinstance(value, list) and isinstance(prop.get("items"), dict):
            value = [_chosen(prop["items"], each, language) for each in value]  # the choices ticked
        shown.append(_shown_as({"name": name, "label": str(label), "value": value, "kind": kinds.get(name)}, language))
    return shown


def _chosen(prop: dict[str, Any], value: Any, language: str) -> Any:
    """A choice's label in `language` where the form lists the value among its choices, else the value."""
    choices = labels.choice_labels(prop, language) if isinstance(prop.get("enum"), list) else None
    if choices and not isinstance(value, list | dict) and value in prop["enum"]:
        return choices[prop["enum"].index(value)]
    return value


def _name_of(username: str | None) -> str | None:
    """The name people read for a user (their display name; the user name if they have none)."""
    if not username:
        return None
    return db.session.scalar(select(User.display_name).where(User.username == username)) or username


def parties(instance_id: int) -> list[tuple[str, str]]:
    """(party, organisation name) of the instance, in party order."""
    return [(party, name) for party, name in db.session.execute(
        select(InstanceParty.party, Organisation.name).join(Organisation, Organisation.id == InstanceParty.org_id)
        .where(InstanceParty.instance_id == instance_id).order_by(InstanceParty.party))]


def _form_values(task: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The values an open task's form starts with: for a form drawn for Camunda, what the task's data holds under
    its fields' names, as Camunda's Tasklist fills it; for Loanflow's own forms, only a field that says
    `"defaultFrom": "<name>"` starts with the task's value `<name>` (the order's amount and due date the core
    enterprise confirms, the receipt the warehouse confirms); the rest ask afresh."""
    form = task.get("form") or {}
    if task["state"] == "completed":
        return {}
    fields = form.get("properties") or {}
    if not (task.get("properties") or {}).get(FORM_VALUES_PROPERTY):
        sources = {name: spec.get("defaultFrom") for name, spec in fields.items() if isinstance(spec, dict)}
        return {name: data[source] for name, source in sources.items()
                if isinstance(source, str) and data.get(source) not in (None, "")}
    return {name: data[name] for name in fields if data.get(name) is not None}


def task_page(principal: Principal, task_id: int, language: str) -> dict[str, Any]:
    """Everything the task page shows this viewer (404 for a task they may not see)."""
    task = task_detail(principal, task_id, language)
    instance = get_instance(principal, task["instance_id"])
    scope = scope_of(principal, instance.id)
    # what the task shows: its own scope's values (a task in a call activity), else the instance's
    shown = task["shown"] if task.get("shown") is not None else instance.data
    data = scope.data(shown)
    as_dict = {"data": data, "process_version_id": instance.process_version_id}
    events = history(principal, instance.id, language, scope)
    process = process_titles([instance.process_version_id], language).get(instance.process_version_id)
    return {"task": task, "business_key": instance.business_key, "process": process, "key_data": key_data(principal, task, as_dict,
                                                                                       language),
            "form_values": _form_values(task, data),
            "parties": parties(instance.id), "history": events, "claimed_by_name": _name_of(task.get("claimed_by")),
            "earlier": [e for e in events if e["kind"] == "task_completed" and e["fields"]],
            "why_cancelled": why_cancelled(instance.id, task_id) if task["state"] == "cancelled" else None}
