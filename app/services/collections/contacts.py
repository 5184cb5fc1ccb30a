"""The contacts an agent logs on a case's page (`/collections/<id>`), as many as happen: a record each
(table `collection_contacts`: who logged it, when the contact was, channel, outcome, any promise to pay).

The case's contact task (`processes/collections.bpmn`) stays for the decisions it drives (the next step,
the promise the case checks); between its tasks the agent working the case logs every further call or
visit here, checked by the contact task's own form (its hours, its choices, a promise's date, a promise at most what
settles the loan today) and held to
have happened: not later than now, not before the case opened. Only an agent of the organisation that
works the case logs (`collections.contact`); a reader who does not see the case gets 404.
"""
from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import CollectionContact, FormVersion, HumanTask, InstanceParty, ProcessInstance, User
from app.services import clock
from app.services.collections.cases import AGENCY, china, payoff
from app.services.context import gettext
from app.services.context import lazy_gettext as _l
from app.services.errors import Forbidden, Invalid, NotFound
from app.services.identity import policy
from app.services.identity.access import instance_visible
from app.services.identity.audit import audit
from app.services.identity.directory import Principal
from app.services.workflow import labels
from app.services.workflow.forms import forms_by_id, validate_submission

PROCESS = "collections"
CONTACT_FORM = "collections-contact.json"  # the contact task's form: its fields, choices and checks
FIELDS = ("contact_date", "contact_time", "channel", "outcome", "promise_date", "promise_amount", "note")
PROMISE = ("promise_date", "promise_amount")
ENDED = ("completed", "cancelled", "error")


def contact_form(instance_id: int | None = None) -> dict[str, Any]:
    """The contact task's form as the case uses it (its last contact task's version, else the newest deployed),
    without the task's own decision (`next_step`)."""
    form_id = db.session.scalar(select(HumanTask.form_id).where(
        HumanTask.instance_id == instance_id, HumanTask.element_id == "contact", HumanTask.form_id.isnot(None))
        .order_by(HumanTask.id.desc()).limit(1)) if instance_id is not None else None
    if form_id is None:
        form_id = db.session.scalar(select(FormVersion.id).where(FormVersion.filename == CONTACT_FORM)
                                    .order_by(FormVersion.id.desc()).limit(1))
    form = dict(forms_by_id([form_id]).get(form_id) or {}) if form_id is not None else {}
    form["properties"] = {k: v for k, v in (form.get("properties") or {}).items() if k in FIELDS}
    form["required"] = [k for k in form.get("required") or [] if k in FIELDS]
    return form


def fields(instance_id: int | None, language: str) -> dict[str, dict[str, Any]]:
    """The form's fields for a page: title and, for a choice, its (value, label) pairs in the reader's language."""
    found: dict[str, dict[str, Any]] = {}
    for name, prop in contact_form(instance_id)["properties"].items():
        shown = labels.choice_labels(prop, language) or [str(v) for v in prop.get("enum") or []]
        found[name] = {"title": labels.localized(prop, "title", language) or name,
                       "choices": list(zip(prop.get("enum") or [], shown, strict=False))}
    return found


def _case(principal: Principal, instance_id: int) -> tuple[ProcessInstance, dict[str, int]]:
    row = db.session.scalar(select(ProcessInstance).where(
        ProcessInstance.id == instance_id, ProcessInstance.process_id == PROCESS, instance_visible(principal)))
    parties: dict[str, int] = dict(db.session.execute(select(InstanceParty.party, InstanceParty.org_id).where(
        InstanceParty.instance_id == instance_id)).all())
    if row is None or not policy.allowed(principal, "collections.read", parties):
        raise NotFound(_l("no such collections case"))
    return row, parties


def may_log(principal: Principal, parties: dict[str, int]) -> bool:
    """An agent of the organisation working the case (the assigned agency, else the platform's own agents)."""
    return parties.get(AGENCY) == principal.org_id and policy.allowed(principal, "collections.contact", parties)


def _answer(raw: dict[str, Any]) -> dict[str, Any]:
    answer = {k: str(raw[k]).strip() for k in FIELDS if raw.get(k) not in (None, "") and str(raw[k]).strip()}
    if "promise_amount" in answer:
        answer["promise_amount"] = answer["promise_amount"].replace(",", "")
    if answer.get("outcome") != "promised":  # a promise only comes with a promise's outcome
        for name in PROMISE:
            answer.pop(name, None)
    return answer


def _happened(row: ProcessInstance, answer: dict[str, Any]) -> datetime:
    """When the contact was (China time); refused if later than now or before the case opened."""
    hour, minute = (int(p) for p in answer["contact_time"].split(":"))
    at = datetime.combine(date.fromisoformat(answer["contact_date"]), time(hour, minute), tzinfo=china())
    now = clock.now().astimezone(china())
    opened_on = ((row.data or {}).get("collections_opened") or {}).get("business_date")  # the batch's day it opened
    opened = date.fromisoformat(opened_on) if isinstance(opened_on, str) and len(opened_on) == 10 else None
    if at > now:
        raise Invalid(_l("The form has errors: see the fields."), code="form_invalid", fields={"contact_time": [
            gettext("A contact is logged once it has happened: %(now)s China time or earlier.",
                    now=now.strftime("%H:%M"))]})
    if opened is not None and at.date() < opened:
        raise Invalid(_l("The form has errors: see the fields."), code="form_invalid", fields={"contact_date": [
            gettext("The case opened on %(day)s: a contact before it belongs to no case.", day=opened.isoformat())]})
    return at


def log_contact(principal: Principal, instance_id: int, raw: dict[str, Any]) -> int:
    """Keep one contact on the case (checked by the contact task's form); its id. Commits."""
    row, parties = _case(principal, instance_id)
    if not may_log(principal, parties):
        raise Forbidden(_l("contacts are logged by the collections agents working the case"), code="not_case_agent")
    if row.status in ENDED:
        raise Invalid(_l("the case has ended"), fields={"contact_date": [_l("the case has ended")]})
    answer = _answer(raw)
    validate_submission(contact_form(instance_id), answer, {"payoff": payoff((row.data or {}).get("loan_id"))})
    at = _happened(row, answer)
    contact = CollectionContact(
        instance_id=row.id, loan_id=(row.data or {}).get("loan_id"), contacted_at=at, channel=answer["channel"],
        outcome=answer["outcome"], promise_date=date.fromisoformat(answer["promise_date"])
        if "promise_date" in answer else None,
        promise_amount=Decimal(answer["promise_amount"]) if "promise_amount" in answer else None,
        note=answer.get("note"), recorded_by_id=principal.id, recorded_at=clock.now())
    db.session.add(contact)
    db.session.flush()
    audit("collections_contact_logged", principal.id, f"instance:{row.id}", contact=contact.id,
          channel=contact.channel, outcome=contact.outcome)
    db.session.commit()
    return contact.id


def logged(instance_ids: list[int], language: str) -> dict[int, list[dict[str, Any]]]:
    """The contacts logged on each case, in the shape of a contact task's answers (choices named in the reader's
    language), each with who logged it."""
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in instance_ids}
    if not instance_ids:
        return found
    props = contact_form()["properties"]
    rows = db.session.execute(select(CollectionContact, User.display_name, User.username)
                              .join(User, User.id == CollectionContact.recorded_by_id)
                              .where(CollectionContact.instance_id.in_(instance_ids))
                              .order_by(CollectionContact.contacted_at, CollectionContact.id)).all()
    for contact, display_name, username in rows:
        local = contact.contacted_at.astimezone(china())
        answer: dict[str, Any] = {
            "contact_date": local.date().isoformat(), "contact_time": local.strftime("%H:%M"),
            "channel": contact.channel, "outcome": contact.outcome, "note": contact.note or "",
            "promise_date": contact.promise_date.isoformat() if contact.promise_date else None,
            "promise_amount": f"{contact.promise_amount:.2f}" if contact.promise_amount is not None else None,
            "by": display_name or username, "logged": True}
        for name in ("channel", "outcome"):
            prop = props.get(name) or {}
            shown, choices = labels.choice_labels(prop, language) or [], prop.get("enum") or []
            if answer[name] in choices and shown:
                answer[f"{name}_label"] = shown[choices.index(answer[name])]
        found[contact.instance_id].append(answer)
    return found
