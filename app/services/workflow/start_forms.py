"""The form a process's start event asks (a Camunda start form's fields, `camunda:formData`, issue 17): the
data an instance is started with at its none start event is checked against it before anything is written,
as a task's submission is checked against the task's form. A person gives the data on the console's start
page (`app/web/start_page.py`), a program over the API; a message, a signal or a timer starts with its own."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.engine import start_events
from app.services.context import lazy_gettext as _l
from app.services.errors import Invalid
from app.services.identity import policy
from app.services.identity.directory import Principal
from app.services.workflow.forms import forms_by_id, validate_submission


def may_start_on_page(principal: Principal) -> bool:
    """Who fills a start form on the console's start page: the platform's grant to start instances (admins,
    operators), or to try a process one may deploy (analysts: as the modeler's test instance)."""
    return policy.allowed(principal, "instances.start") or policy.allowed(principal, "definitions.deploy")


def schema(spec: Any, forms: Mapping[str, int]) -> dict[str, Any] | None:
    """The JSON Schema of the start form of a version (its spec, its forms: file name -> form version id), if
    its none start event has one."""
    name = start_events.start_form(spec)
    form_id = forms.get(name) if name else None
    return forms_by_id([form_id]).get(form_id) if form_id else None


def ui_schema(spec: Any, forms: Mapping[str, int]) -> dict[str, Any]:
    """The UI schema of the start form of a version, {} when its start event names none."""
    name = start_events.start_ui_form(spec)
    form_id = forms.get(name) if name else None
    return (forms_by_id([form_id]).get(form_id) or {}) if form_id else {}


def check(process_id: str, spec: Any, forms: Mapping[str, int],
          data: dict[str, Any] | None) -> dict[str, Any] | None:
    """Refuse (422, the fields said) data that does not fit the start form; the form (None when there is none)."""
    form = schema(spec, forms)
    if form is None:
        return None
    try:
        validate_submission(form, data if data is not None else {})
    except Invalid as exc:
        if exc.code != "form_invalid":
            raise
        raise Invalid(_l("The data to start %(process)s with does not fit its start form: see the fields.",
                         process=repr(process_id)), fields=exc.fields, code="start_data_invalid") from None
    return form
