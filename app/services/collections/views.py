"""What people see of the collections cases, and the platform's assignment of a case to an agency.

A case is visible to platform staff, to the funder's finance of its loan and to the collection
agency it is assigned to (`collections.read`; an agency sees only its own cases, anyone else gets
404). The list reads each case's data and its recorded contacts (the `contact` tasks' answers), with
choices named from the form in the reader's language.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, InstanceEvent, InstanceParty, Organisation, ProcessInstance, User
from app.models.identity import OrgKind
from app.services.collections import cases as cases_of
from app.services.collections import contacts as logged_contacts
from app.services.collections.cases import AGENCY
from app.services.context import lazy_gettext as _l
from app.services.errors import Forbidden, Invalid, NotFound
from app.services.identity import grants, policy
from app.services.identity.access import instance_visible
from app.services.identity.directory import Principal
from app.services.workflow import instances, labels
from app.services.workflow.forms import forms_by_id
from app.services.workflow.queries import party_codes

PROCESS = "collections"
BORROWER = "borrower"  # the deal's party the case collects from
ENDED = ("completed", "cancelled")
CHOICES = ("channel", "outcome")  # contact answers that are codes: shown by their form's labels
# How a case ended (its end event), in both languages.
ENDS: dict[str, tuple[str, str]] = {
    "end_cured": ("Cured: back to current", "已恢复正常"), "end_closed": ("Loan repaid", "贷款已结清"),
    "end_written_off": ("Loan written off", "贷款已核销"), "end_kept": ("Promise kept", "已履行还款承诺"),
    "end_sold": ("Debt sold", "债权已出售"), "end_write_off": ("Debt written off", "债权已核销"),
    "end_none": ("Nothing to collect", "无需催收"),
}


def may_read(principal: Principal) -> bool:
    return policy.may_ever(principal, "collections.read")


def may_assign(principal: Principal) -> bool:
    return policy.allowed(principal, "collections.assign")


def _parties(ids: list[int]) -> dict[int, dict[str, int]]:
    found: dict[int, dict[str, int]] = {i: {} for i in ids}
    for instance_id, party, org_id in db.session.execute(select(
            InstanceParty.instance_id, InstanceParty.party, InstanceParty.org_id).where(
            InstanceParty.instance_id.in_(ids))):
        found[instance_id][party] = org_id
    return found


def _visible_cases(principal: Principal, instance_id: int | None = None) -> list[ProcessInstance]:
    if not may_read(principal):
        raise Forbidden(_l("the collections cases are for platform staff, the funder's finance and the "
                           "collection agency a case is assigned to"), code="not_collections")
    query = select(ProcessInstance).where(ProcessInstance.process_id == PROCESS, instance_visible(principal))
    if instance_id is not None:
        query = query.where(ProcessInstance.id == instance_id)
    rows = list(db.session.scalars(query.order_by(ProcessInstance.id.desc())))
    parties = _parties([r.id for r in rows])
    return [r for r in rows if policy.allowed(principal, "collections.read", parties[r.id])]


def _twin(data: dict[str, Any], name: str, language: str) -> Any:
    value = data.get(f"{name}_{language}")
    return value if value else data.get(name)


def _contacts(instance_ids: list[int], language: str) -> dict[int, list[dict[str, Any]]]:
    """Each case's contacts in the order they happened: the contact tasks' answers and those logged on the page."""
    done = db.session.execute(select(HumanTask, User.display_name, User.username).outerjoin(
        User, User.id == HumanTask.completed_by_id).where(
        HumanTask.instance_id.in_(instance_ids), HumanTask.element_id == "contact", HumanTask.state == "completed")
        .order_by(HumanTask.completed_at, HumanTask.id)).all()
    tasks = [task for task, _name, _user in done]
    by = {task.id: name or user for task, name, user in done}
    forms = forms_by_id(sorted({t.form_id for t in tasks if t.form_id}))
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in instance_ids}
    for task in tasks:
        answer = dict(task.data or {})
        props = (forms.get(task.form_id or 0) or {}).get("properties") or {}
        for name in CHOICES:
            prop = props.get(name) or {}
            shown = labels.choice_labels(prop, language) or []
            choices = prop.get("enum") or []
            if answer.get(name) in choices and shown:
                answer[f"{name}_label"] = shown[choices.index(answer[name])]
        found[task.instance_id].append({**answer, "by": by.get(task.id)})
    for instance_id, more in logged_contacts.logged(instance_ids, language).items():
        found[instance_id] = sorted(found[instance_id] + more, key=lambda c: (str(c.get("contact_date") or ""),
                                                                              str(c.get("contact_time") or "")))
    return found


def _org_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all())


def cases(principal: Principal, language: str, instance_id: int | None = None) -> list[dict[str, Any]]:
    """The cases this reader sees, newest first: loan, borrower, the loan's dpd, bucket and amount overdue as it
    stands (an ended case's as they were), action, contacts, promises; one case also how the borrower is reached."""
    one = instance_id is not None
    rows = _visible_cases(principal, instance_id)
    ids = [r.id for r in rows]
    contacts, parties = _contacts(ids, language), _parties(ids)
    names = _org_names({o for p in parties.values() for o in p.values()})
    in_house = set(db.session.scalars(select(OrgKind.org_id).where(OrgKind.kind == grants.PLATFORM)))
    open_tasks = {instance_id: labels.task_title(title, properties, language)  # named in the reader's language
                  for instance_id, title, properties in db.session.execute(
                      select(HumanTask.instance_id, HumanTask.title, HumanTask.properties).where(
                          HumanTask.instance_id.in_(ids), HumanTask.state.in_(("ready", "claimed"))))} if ids else {}
    ends = dict(db.session.execute(select(InstanceEvent.instance_id, InstanceEvent.element_id).where(
        InstanceEvent.instance_id.in_(ids), InstanceEvent.kind == "completed")).all()) if ids else {}
    now = cases_of.standing(sorted({int(r.data["loan_id"]) for r in rows
                                    if r.status not in ENDED and isinstance((r.data or {}).get("loan_id"), int)}))
    reached = cases_of.reach(sorted({p[BORROWER] for p in parties.values() if BORROWER in p})) if one else {}
    views = []
    for row in rows:
        data = row.data or {}
        ended = ENDS.get(ends.get(row.id) or "")
        standing = {**{key: data.get(key) for key in ("dpd", "bucket", "amount_overdue")},
                    **now.get(data.get("loan_id") or 0, {})}  # an open case: the loan as it stands; an ended one: then
        views.append({
            "id": row.id, "loan": data.get("loan") or row.business_key, "loan_id": data.get("loan_id"),
            "borrower": data.get("borrower"), **standing, "reach": reached.get(parties[row.id].get(BORROWER, 0), []),
            "action": _twin(data, "action_name", language),
            "status": row.status, "ended": ended[0 if language == "en" else 1] if ended else None,
            "agency": None if parties[row.id].get(AGENCY) in in_house else names.get(parties[row.id].get(AGENCY, 0)),
            # the platform's organisation by the name its tasks' parties show (the list said only 'the platform's own')
            "in_house": names.get(parties[row.id].get(AGENCY, 0)) if parties[row.id].get(AGENCY) in in_house else None,
            "contacts": contacts[row.id],
            "promises": [c for c in contacts[row.id] if c.get("outcome") == "promised"],
            "broken_promises": data.get("broken_promises") or 0,
            "letter": data.get("letter_document"), "waiting_on": open_tasks.get(row.id),
            "waiver": _waiver(data.get("waiver_decision")),
            "may_log": row.status not in ENDED and logged_contacts.may_log(principal, parties[row.id]),
            "bills": cases_of.overdue_bills(data["loan_id"]) if one and row.status not in ENDED
            and isinstance(data.get("loan_id"), int) else [],
        })
    return views


def _waiver(decision: Any) -> dict[str, Any] | None:
    """The case's last penalty waiver as finance decided and the ledger booked it (`decisions.decide_waiver`):
    waived, rejected by the checker, or refused by the ledger (more than was owed by then), with its figures; the
    page says it in the reader's language."""
    if not isinstance(decision, dict) or decision.get("outcome") not in ("waived", "rejected", "refused"):
        return None
    return {key: decision.get(key) for key in ("outcome", "waived", "asked", "owed")}


def case_of_loan(principal: Principal, business_key: str) -> int | None:
    """The loan's newest collections case this reader sees (for a link from the loan's page), else None."""
    if not may_read(principal):
        return None
    rows = db.session.scalars(select(ProcessInstance.id).where(
        ProcessInstance.process_id == PROCESS, ProcessInstance.business_key == business_key,
        instance_visible(principal)).order_by(ProcessInstance.id.desc())).all()
    parties = _parties(list(rows))
    return next((i for i in rows if policy.allowed(principal, "collections.read", parties[i])), None)


def case(principal: Principal, instance_id: int, language: str) -> dict[str, Any]:
    found = cases(principal, language, instance_id)
    if not found:
        raise NotFound(_l("no such collections case"))
    return found[0]


def agencies() -> list[tuple[str, str]]:
    """(code, name) of every collection agency, for the assignment form."""
    return [(code, name) for code, name in db.session.execute(
        select(Organisation.code, Organisation.name).join(OrgKind, OrgKind.org_id == Organisation.id)
        .where(OrgKind.kind == AGENCY).order_by(Organisation.name))]


def assign(principal: Principal, instance_id: int, agency_code: str) -> None:
    """Bind the case to a collection agency (`collections.assign`): its agents get the case's open
    contact tasks and see the case; the agency it had before no longer does. Commits."""
    policy.require(principal, "collections.assign")
    row = db.session.scalar(select(ProcessInstance).where(ProcessInstance.id == instance_id,
                                                          ProcessInstance.process_id == PROCESS))
    if row is None:
        raise NotFound(_l("no such collections case"))
    if row.status in instances.FINISHED:
        raise Invalid(_l("the case has ended"), fields={"agency": [_l("the case has ended")]})
    codes = {party: code for party, code in party_codes(instance_id).items() if party != AGENCY}
    if agency_code not in {code for code, _name in agencies()}:
        raise Invalid(_l("choose a collection agency"), fields={"agency": [_l("choose a collection agency")]})
    instances.set_parties(instance_id, {**codes, AGENCY: agency_code}, principal)
