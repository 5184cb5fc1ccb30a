"""Acquisition: leads from channels (loan marketplaces posting with their API key) and from operators.

A lead is checked here (the company or person, their unified social credit code or resident ID
number with its checksum, the contact's mainland mobile, an optional e-mail, an optional offered
product and amount), numbered `LEAD-YYYY-NNNN`, marked when it repeats an earlier lead or an
organisation already registered (same credit code or ID number: the operator decides), and starts
the `acquisition` diagram with that number as its business key. The diagram's operators
(`origination.lead_outcome`, `origination.register_lead`) record the outcome and register the
borrower: its organisation, its first user (an applicant) and the invitation sent through notices.

A channel's API key is shown once, when the channel is registered; only its SHA-256 is kept. A
channel sees its own leads' number, status and reason, never the platform's notes or duplicates.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select

from app.engine.said import said
from app.extensions import db
from app.lending.errors import LendingError
from app.lending.money import parse_money
from app.models import Channel, HumanTask, Lead, Organisation, ProcessInstance, Product, User
from app.models.origination import LEAD_STATUSES
from app.services import clock, context
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict, Invalid, NotFound, Text, Unauthorized
from app.services.identity import accounts, directory, grants, policy
from app.services.identity.directory import Principal
from app.services.ledger.loans import business_today
from app.services.notices import sending
from app.services.origination.numbering import insert_numbered
from app.services.origination.products import offered_product
from app.services.workflow import instances
from handlers.identifiers import valid_credit_code, valid_id_number

PROCESS = "acquisition"
CHANNEL_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{1,63}")
MOBILE = re.compile(r"1[3-9]\d{9}")  # a mainland mobile number, without +86
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
KEY_PREFIX = "lfch_"  # says what a leaked key is, in a log or a repository
OPEN_TASK_STATES = ("ready", "claimed")
DEFAULT_PUBLIC_URL = "http://127.0.0.1:5000"
CODE_FORMAT = _l("A channel code is 2 to 64 letters, digits, dashes or underscores, beginning with a letter or a digit.")
NAME_FORMAT = _l("A channel name is 1 to 200 characters.")
NOT_FOUND = _l("No such lead.")
OPERATORS_ONLY = _l("Leads are for the platform's operators.")


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# -- channels ---------------------------------------------------------------------------------

def register_channel(code: str, name: str, actor: Principal | None = None) -> tuple[Channel, str]:
    """A new channel and its API key, which is returned this once (only its hash is kept).
    `actor` None is the command line."""
    if actor is not None:
        policy.require(actor, "leads.manage")
    code, name = (code or "").strip(), (name or "").strip()
    if not CHANNEL_CODE.fullmatch(code):
        raise Invalid(CODE_FORMAT, {"code": [CODE_FORMAT]})
    if not name or len(name) > 200:
        raise Invalid(NAME_FORMAT, {"name": [NAME_FORMAT]})
    if db.session.scalar(select(Channel.id).where(Channel.code == code)) is not None:
        raise Conflict(_l("A channel with the code %(code)s exists already.", code=code))
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = Channel(code=code, name=name, key_hash=_digest(key), active=True, created_at=clock.now())
    db.session.add(row)
    db.session.commit()
    return row, key


def authenticate_channel(key: str | None) -> Channel:
    """The active channel whose API key this is; 401 otherwise."""
    row = db.session.scalar(select(Channel).where(Channel.key_hash == _digest(key))) if key else None
    if row is None or not row.active:
        raise Unauthorized(_l("The channel key is missing, wrong or disabled."), code="bad_channel_key")
    return row


# -- checking a lead --------------------------------------------------------------------------

def _text(data: Mapping[str, Any], name: str, limit: int, errors: dict[str, list[Text]],
          required: bool = False) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[name] = [_l("Required, at most %(limit)s characters.", limit=limit)]
        return None
    if not isinstance(value, str):
        errors[name] = [_l("Must be text.")]
        return None
    value = value.strip()
    if len(value) > limit:
        errors[name] = [_l("At most %(limit)s characters.", limit=limit)]
        return None
    return value


def normalized_mobile(value: str) -> str:
    """A mainland mobile number as 11 digits: spaces and dashes dropped, a +86 / 0086 prefix too."""
    digits = re.sub(r"[\s-]", "", value)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            return digits[len(prefix):]
    return digits


def _checked(data: Mapping[str, Any], from_channel: bool) -> dict[str, Any]:
    """The lead's fields, or 422 naming each wrong one."""
    errors: dict[str, list[Text]] = {}
    out: dict[str, Any] = {
        "company_name": _text(data, "company_name", 200, errors, required=True),
        "contact_name": _text(data, "contact_name", 100, errors, required=True),
    }
    credit_code = _text(data, "credit_code", 18, errors)
    id_number = _text(data, "id_number", 18, errors)
    if credit_code is not None:
        credit_code = credit_code.upper()
        if not valid_credit_code(credit_code):
            errors["credit_code"] = [_l("An 18-character unified social credit code with a valid check character.")]
    if id_number is not None:
        id_number = id_number.upper()
        if not valid_id_number(id_number):
            errors["id_number"] = [_l("An 18-character resident ID number with a valid check character.")]
    if credit_code is None and id_number is None and "credit_code" not in errors and "id_number" not in errors:
        errors["credit_code"] = [_l("Enter a valid unified social credit code (18 characters), or an ID number.")]
    out["credit_code"], out["id_number"] = credit_code, id_number
    mobile = _text(data, "mobile", 20, errors, required=True)
    if mobile is not None:
        mobile = normalized_mobile(mobile)
        if not MOBILE.fullmatch(mobile):
            errors["mobile"] = [_l("Enter a mainland mobile number (11 digits starting with 1).")]
    out["mobile"] = mobile
    email = _text(data, "email", 254, errors)
    if email is not None and not EMAIL.fullmatch(email):
        errors["email"] = [_l("Enter a valid e-mail address, or leave it empty.")]
    out["email"] = email
    product_code = _text(data, "product_code", 64, errors)
    if product_code is not None:
        try:
            offered_product(product_code)
        except Invalid:
            errors["product_code"] = [_l("Choose a product that is offered, or none.")]
    out["product_code"] = product_code
    amount = data.get("amount")
    out["amount"] = None
    if amount not in (None, ""):
        try:
            out["amount"] = parse_money(amount if isinstance(amount, str | Decimal) else str(amount), "amount")
        except LendingError:
            errors["amount"] = [_l("Enter a positive amount such as 500000.00, or leave it empty.")]
        else:
            if out["amount"] <= 0:
                errors["amount"] = [_l("Enter a positive amount such as 500000.00, or leave it empty.")]
    out["external_ref"] = _text(data, "external_ref", 128, errors) if from_channel else None
    if errors:
        raise Invalid(_l("Some of the lead's fields are missing or wrong."), errors)
    return out


# -- creating a lead --------------------------------------------------------------------------

def _earlier_lead(credit_code: str | None, id_number: str | None) -> Lead | None:
    same = ([Lead.credit_code == credit_code] if credit_code else []) + \
        ([Lead.id_number == id_number] if id_number else [])
    if not same:
        return None
    return db.session.scalar(select(Lead).where(or_(*same)).order_by(Lead.id).limit(1))


def _registered_org(credit_code: str | None) -> Organisation | None:
    if not credit_code:
        return None
    return db.session.scalar(select(Organisation).where(Organisation.credit_code == credit_code))


def _start_data(row: Lead) -> dict[str, Any]:
    """What the diagram starts with: the qualify task's key data (no mobile or e-mail; the product by name)."""
    duplicate = ""
    if row.duplicate_of_id is not None:
        duplicate = db.session.scalar(select(Lead.number).where(Lead.id == row.duplicate_of_id)) or ""
    if row.org_id is not None:
        org = db.session.get(Organisation, row.org_id)
        duplicate = " / ".join(x for x in (duplicate, org.name if org else "") if x)
    product = db.session.scalar(select(Product.name).where(Product.code == row.product_code)) \
        if row.product_code else None
    return {"lead_number": row.number, "company_name": row.company_name, "credit_code": row.credit_code or "",
            "id_number": row.id_number or "", "contact_name": row.contact_name, "product": product or "",
            "amount": f"{row.amount:.2f}" if row.amount is not None else "", "duplicate_of": duplicate}


def _create(fields: dict[str, Any], channel_id: int | None, created_by_id: int | None) -> Lead:
    earlier = _earlier_lead(fields["credit_code"], fields["id_number"])
    org = _registered_org(fields["credit_code"])
    at = clock.now()
    row = insert_numbered(lambda number: Lead(
        number=number, channel_id=channel_id, created_by_id=created_by_id, status="new",
        duplicate_of_id=earlier.id if earlier else None, org_id=org.id if org else None, created_at=at, **fields),
        Lead.number, "LEAD", business_today(), _l("The lead could not be given a number; please try again."))
    instances.start(PROCESS, None, row.number, _start_data(row))  # commits the lead with its instance
    db.session.refresh(row)
    return row


@dataclass(frozen=True)
class Submitted:
    lead: Lead
    repeated: bool  # the channel sent this external_ref before: the first lead, nothing new


def submit_lead(channel: Channel, data: Mapping[str, Any]) -> Submitted:
    """A channel's lead; the same external_ref from the same channel again is the first lead."""
    fields = _checked(data, from_channel=True)
    # One channel's posts one after the other: two with the same reference at once make one lead.
    db.session.scalar(select(Channel.id).where(Channel.id == channel.id).with_for_update())
    if fields["external_ref"] is not None:
        first = db.session.scalar(select(Lead).where(Lead.channel_id == channel.id,
                                                     Lead.external_ref == fields["external_ref"]))
        if first is not None:
            db.session.commit()
            return Submitted(first, True)
    return Submitted(_create(fields, channel.id, None), False)


def may_manage(principal: Principal) -> bool:
    """Whether the principal enters, reads and qualifies leads (the pages' links and guards)."""
    return policy.may_ever(principal, "leads.manage")


def products_offered(language: str | None = None) -> list[tuple[str, str]]:
    """(code, name) of the products a lead may ask for, for the operators' form, named in `language`."""
    return [(p.code, p.name_in(language)) for p in db.session.scalars(
        select(Product).where(Product.active.is_(True), Product.kind.is_not(None)).order_by(Product.code))]


def check_lead(principal: Principal, data: Mapping[str, Any]) -> None:
    """The checks entering a lead makes (`Invalid` naming each wrong field), entering nothing: a page that could not
    read a field says the others' errors with its own."""
    policy.require(principal, "leads.manage", message=_l("Entering leads is for the platform's operators."))
    _checked(data, from_channel=False)


def enter_lead(principal: Principal, data: Mapping[str, Any]) -> Lead:
    """A lead an operator enters (from a telephone call, a visit)."""
    policy.require(principal, "leads.manage", message=_l("Entering leads is for the platform's operators."))
    return _create(_checked(data, from_channel=False), None, principal.id)


# -- reading leads ----------------------------------------------------------------------------

def lead_view(row: Lead) -> dict[str, Any]:
    """What the channel that sent it learns: number, status and, once dropped, the reason."""
    return {"id": row.id, "number": row.number, "status": row.status, "external_ref": row.external_ref,
            "reason": row.reason if row.status == "dropped" else None, "created_at": row.created_at,
            "decided_at": row.decided_at}


def _details(rows: list[Lead], language: str | None = None) -> list[dict[str, Any]]:
    """What the platform's operators see of leads: everything, with what each may duplicate, read
    for a page of leads in one query per kind of row (channels, earlier leads, organisations, tasks)."""
    def by_id(model: Any, ids: set[int | None]) -> dict[int, Any]:
        wanted = {i for i in ids if i is not None}
        return {r.id: r for r in db.session.scalars(select(model).where(model.id.in_(wanted)))} if wanted else {}

    channels = by_id(Channel, {r.channel_id for r in rows})
    earlier = by_id(Lead, {r.duplicate_of_id for r in rows})
    orgs = by_id(Organisation, {r.org_id for r in rows})
    codes = {r.product_code for r in rows if r.product_code}
    product_names = {p.code: p.name_in(language) for p in db.session.scalars(
        select(Product).where(Product.code.in_(codes)))} if codes else {}
    tasks: dict[str | None, int] = {key: task_id for key, task_id in db.session.execute(
        select(ProcessInstance.business_key, func.min(HumanTask.id))
        .join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
        .where(ProcessInstance.business_key.in_([r.number for r in rows]), HumanTask.state.in_(OPEN_TASK_STATES))
        .group_by(ProcessInstance.business_key))} if rows else {}
    deciders = _deciders([r for r in rows if r.decided_at is not None])
    out = []
    for row in rows:
        duplicate, org = earlier.get(row.duplicate_of_id or 0), orgs.get(row.org_id or 0)
        channel = channels.get(row.channel_id or 0)
        registered_before = org is not None and (row.status != "registered" or org.created_at < row.created_at)
        out.append({
            **lead_view(row), "reason": row.reason,
            "company_name": row.company_name, "credit_code": row.credit_code, "id_number": row.id_number,
            "contact_name": row.contact_name, "mobile": row.mobile, "email": row.email,
            "product_code": row.product_code, "product_name": product_names.get(row.product_code or ""),
            "amount": row.amount, "channel": channel.code if channel else None, "channel_name": channel.name if channel else None,
            "duplicate": duplicate is not None or registered_before,
            "duplicate_of": ({"id": duplicate.id, "number": duplicate.number, "status": duplicate.status}
                             if duplicate else None),
            "organisation": {"code": org.code, "name": org.name} if org else None,
            "registered_before": registered_before,
            "open_task_id": tasks.get(row.number),
            "decided_by": deciders.get(row.number),
        })
    return out


def _deciders(rows: list[Lead]) -> dict[str, str]:
    """Who decided each lead: the person who last completed a task of its process, by lead number."""
    if not rows:
        return {}
    last = (select(ProcessInstance.business_key, func.max(HumanTask.completed_at).label("at"))
            .join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
            .where(ProcessInstance.business_key.in_([r.number for r in rows]), HumanTask.state == "completed")
            .group_by(ProcessInstance.business_key).subquery())
    found = db.session.execute(
        select(ProcessInstance.business_key, User.display_name, User.username)
        .join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
        .join(last, (last.c.business_key == ProcessInstance.business_key) & (last.c.at == HumanTask.completed_at))
        .join(User, User.id == HumanTask.completed_by_id)).all()
    return {key: display or username for key, display, username in found if key is not None}


def lead_detail(row: Lead, language: str | None = None) -> dict[str, Any]:
    """What the platform's operators see of a lead (`_details`; its product named in `language`)."""
    return _details([row], language)[0]


def _load(lead_id: int) -> Lead:
    row = db.session.get(Lead, lead_id) if 0 < lead_id < 2 ** 63 else None
    if row is None:
        raise NotFound(NOT_FOUND)
    return row


def get_lead(principal: Principal, lead_id: int, language: str | None = None) -> dict[str, Any]:
    policy.require(principal, "leads.manage", message=OPERATORS_ONLY)
    return lead_detail(_load(lead_id), language)


def get_channel_lead(channel: Channel, lead_id: int) -> dict[str, Any]:
    """A channel's own lead; another channel's is 404, as one that does not exist."""
    row = _load(lead_id)
    if row.channel_id != channel.id:
        raise NotFound(NOT_FOUND)
    return lead_view(row)


def list_leads(principal: Principal, page: int = 1, per_page: int = 50, status: str | None = None) -> dict[str, Any]:
    """The newest leads first, with the duplicate marker; `status` one of LEAD_STATUSES."""
    policy.require(principal, "leads.manage", message=OPERATORS_ONLY)
    query = select(Lead)
    if status is not None:
        if status not in LEAD_STATUSES:
            message = _l("Choose a lead status: new, qualified, dropped or registered.")
            raise Invalid(message, {"status": [message]})
        query = query.where(Lead.status == status)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(db.session.scalars(query.order_by(Lead.id.desc()).offset((page - 1) * per_page).limit(per_page)))
    return {"items": _details(rows), "total": total, "page": page, "per_page": per_page}


# -- what the diagram's operators do ----------------------------------------------------------

def _by_number(number: str | None) -> Lead:
    row = db.session.scalar(select(Lead).where(Lead.number == (number or "")).with_for_update())
    if row is None:
        raise LookupError(said("no lead %(number)s", number=repr(number)))  # an incident: the diagram runs for a lead that is not there
    return row


def record_outcome(number: str | None, status: str, reason: str | None) -> dict[str, Any]:
    """`origination.lead_outcome`: the lead is qualified or dropped (with the reason the channel reads)."""
    if status not in ("qualified", "dropped"):
        raise ValueError(said("a lead's outcome is qualified or dropped, not %(given)s", given=repr(status)))
    if status == "dropped" and not (reason or "").strip():
        raise ValueError(said("a dropped lead needs a reason"))
    row = _by_number(number)
    row.status, row.reason = status, (reason or "").strip() or None
    row.decided_at = clock.now()
    return {"status": status}


def _free(code: str, taken: Any) -> str:
    candidate, n = code, 1
    while db.session.scalar(select(taken).where(taken == candidate)) is not None:
        n += 1
        candidate = f"{code}-{n}"
    return candidate


def invitation_url(token: str) -> str:
    """The set-password link of an invitation (the web's `auth.accept_invitation`), on the public address."""
    return f"{str(context.config('PUBLIC_URL', DEFAULT_PUBLIC_URL)).rstrip('/')}/invite/{token}"


def register(number: str | None, idempotency_key: str) -> dict[str, Any]:
    """`origination.register_lead`: the borrower organisation, its first user holding the lead roles
    with the contact's mobile and e-mail, and the invitation by SMS and e-mail. An organisation
    registered already (its credit code; a person's earlier registered lead) is the lead's, and
    nobody new is made or invited: its users are there. In the step's transaction: a retry after
    a failure starts over."""
    row = _by_number(number)
    org = db.session.get(Organisation, row.org_id) if row.org_id is not None else _registered_org(row.credit_code)
    if org is None and row.id_number:  # a person registered from an earlier lead
        org = db.session.scalar(select(Organisation).join(Lead, Lead.org_id == Organisation.id).where(
            Lead.id_number == row.id_number, Lead.status == "registered").order_by(Lead.id).limit(1))
    result: dict[str, Any] = {"org_code": org.code if org else "", "username": "", "notification_ids": []}
    if org is None:
        code = _free(f"B-{row.number.removeprefix('LEAD-')}", Organisation.code)
        org = directory.create_org(code, ["borrower"], row.company_name[:200], None, commit=False)
        org.credit_code = row.credit_code
        result["org_code"] = org.code
        username = _free(row.mobile or code.lower(), User.username)
        user = directory.create_user(username, org.code, list(grants.LEAD_USER_ROLES), row.contact_name, None,
                                     email=row.email, mobile=row.mobile, commit=False)
        token = accounts.issue_link_token(user.id, "invite", None, commit=False)
        addresses = [("sms", row.mobile)] if row.mobile else []
        addresses += [("email", row.email)] if row.email else []
        result["username"] = username
        result["notification_ids"] = sending.send(
            "lead_invitation", {"company": org.name, "username": username, "link": invitation_url(token)},
            addresses=addresses, business_key=row.number, idempotency_key=f"{idempotency_key}:lead_invitation")
    row.org_id, row.status = org.id, "registered"
    row.decided_at = row.decided_at or clock.now()
    return result
