"""The audit log as its readers read it (`/audit`): who did what to whom and when, the latest first, each action
in the reader's words, filtered by action and by who did it. The platform admin and the auditor read it (policy
`audit.read`); nobody changes it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEntry, User
from app.services.context import lazy_gettext as _l
from app.services.context import translated
from app.services.identity import policy
from app.services.identity.directory import Principal
from app.services.identity.grants import KIND_NAMES, N_, ROLE_NAMES

PER_PAGE = 50
ACTIONS = {
    "login": _l("Signed in"), "login_failed": _l("Sign-in failed"), "login_throttled": _l("Sign-in blocked for a while"),
    "invite_issued": _l("Invitation link issued"), "reset_issued": _l("Password reset link issued"),
    "reset_requested_unknown": _l("Password reset asked for an unknown user"),
    "password_set_by_invite": _l("Password set from an invitation"),
    "password_set_by_reset": _l("Password set from a reset link"),
    "user_created": _l("User created"), "user_activated": _l("User reactivated"),
    "user_deactivated": _l("User deactivated"), "user_unlocked": _l("User unlocked"),
    "org_created": _l("Organisation created"), "org_credit_code_set": _l("Credit code changed"),
    "token_issued": _l("API token issued"), "token_revoked": _l("API token revoked"),
    "callback_ignored": _l("Provider callback ignored"), "callback_refused": _l("Provider callback refused"),
    "instance_parties_changed": _l("Instance's parties changed"),
    "operator_mapping.set": _l("Operator mapping saved"), "operator_mapping.removed": _l("Operator mapping removed"),
    "group_mapping.set": _l("Group mapping saved"), "group_mapping.removed": _l("Group mapping removed"),
    "collateral.top_up": _l("Pledge topped up"), "collateral.release": _l("Pledged goods released"),
    "collateral.disposal_opened": _l("Disposal opened"), "collateral.appraised": _l("Collateral appraised"),
    "collateral.disposal_channel": _l("Disposal channel chosen"), "collateral.sold": _l("Collateral sold"),
    "collateral.write_off_proposed": _l("Write-off proposed"),
    "collateral.write_off_approved": _l("Write-off approved"), "collateral.write_off_refused": _l("Write-off refused"),
    "collateral.surplus_returned": _l("Surplus returned to the borrower"),
    "collections_contact_logged": _l("Collection contact logged"),
    "collections_debt_sale_proposed": _l("Debt sale proposed"), "collections_debt_sale_approved": _l("Debt sale approved"),
    "collections_debt_sale_rejected": _l("Debt sale rejected"), "collections_debt_sale_refused": _l("Debt sale refused"),
    "collections_write_off_approved": _l("Write-off approved"),
    "collections_write_off_rejected": _l("Write-off rejected"),
    "collections_waiver_approved": _l("Waiver approved"), "collections_waiver_rejected": _l("Waiver rejected"),
    "collections_waiver_refused": _l("Waiver refused"),
}

# What an entry's details name, in the reader's words; a key not here is shown as its key (marked as a code).
DETAILS = {
    "org": _l("Organisation"), "roles": _l("Roles"), "role": _l("Role"), "kinds": _l("Kinds"), "name": _l("Name"),
    "credit_code": _l("Unified social credit code"), "reason": _l("Reason"),
    "parameters": _l("Parameters"), "amount": _l("Amount"), "quantity": _l("Quantity"), "price": _l("Price"),
    "buyer": _l("Buyer"), "channel": _l("Channel"), "before": _l("Before"), "after": _l("After"),
    "value": _l("Value"), "username": _l("Username"), "outcome": _l("Outcome"), "costs": _l("Costs"),
    "token_id": _l("Token"), "sessions_ended": _l("Sessions ended"), "until": _l("Blocked until"),
}
DETAILS.update(operator=_l("Operator"))  # a mapping's operator (a keyword: the word is also a role's code)
DETAILS.update({
    "agency": _l("Collection agency"), "contact": _l("Contact record"), "discount_percent": _l("Discount (%)"),
    "disposal": _l("Disposal number"), "expires_at": _l("Expires at"), "flow": _l("Signing flow"),
    "current_flow": _l("Current signing flow"), "label": _l("Token label"), "ltv": _l("Loan-to-value"),
    "maker": _l("Proposed by (user number)"), "proposed_by": _l("Proposed by (user number)"),
    "net": _l("Net proceeds"), "outstanding": _l("Amount owed"), "payment_id": _l("Payment number"),
    "pledge": _l("Pledge number"), "principal_repaid": _l("Principal repaid"), "provider": _l("Provider"),
    "refused": _l("Refused because"), "scope": _l("Blocked for"), "shortfall": _l("Shortfall"),
    "waived": _l("Amount waived"), "written_off": _l("Amount written off"), "note": _l("Note"),
    "parties": _l("Parties (organisation numbers)"),
})
_NAMED = {"roles": ROLE_NAMES, "role": ROLE_NAMES, "kinds": KIND_NAMES,  # codes said by their names
          "scope": {"account": N_("this account"), "address": N_("this network address"),
                    "pair": N_("this account from this network address")},
          "reason": {"wrong password": N_("wrong password"), "unknown or inactive": N_("unknown or inactive user")}}


@dataclass(frozen=True)
class Entry:
    at: datetime
    who: str | None  # the actor's name (user name in brackets), None: the platform or nobody signed in
    action: str  # the action's code
    said: str | None  # the action in the reader's words, None for a code this table does not know
    target: str | None
    ip: str | None
    details: list[tuple[str, str | None, str]]  # (key, its label or None, the value)


@dataclass(frozen=True)
class Trail:
    entries: list[Entry]
    page: int
    pages: int
    total: int
    actions: list[tuple[str, str]]  # (code, in words) of the actions the log holds, for the filter


def may_read(principal: Principal) -> bool:
    return policy.allowed(principal, "audit.read")


def _value(key: str, value: Any) -> str:
    names = _NAMED.get(key, {})
    if isinstance(value, dict):  # an instance's parties: each party by its name, and its organisation
        return "、".join(f"{translated(KIND_NAMES[k]) if k in KIND_NAMES else k} {v}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "、".join(translated(names[v]) if v in names else str(v) for v in value)
    if isinstance(value, str) and value in names:
        return translated(names[value])
    return "" if value is None else str(value)


def _details(details: dict[str, Any] | None) -> list[tuple[str, str | None, str]]:
    return [(str(k), str(DETAILS[k]) if k in DETAILS else None, _value(str(k), v))
            for k, v in sorted((details or {}).items()) if v is not None]


def _target(target: str | None, usernames: dict[int, str]) -> str | None:
    """What an entry is about as its reader names it: a user by name (`user:4` is analyst), else as written."""
    kind, _sep, rest = (target or "").partition(":")
    if kind == "user" and rest.isdigit():
        return str(_l("User %(name)s", name=usernames.get(int(rest), rest)))
    if kind == "user" and rest:
        return str(_l("User %(name)s", name=rest))
    if kind == "org" and rest:
        return str(_l("Organisation %(code)s", code=rest))
    if kind == "instance" and rest:
        return str(_l("Instance %(id)s", id=rest))
    if kind == "username" and rest:  # a sign-in or reset for a name no user has
        return str(_l("User name %(name)s (no such user)", name=rest))
    if kind == "loan" and rest.isdigit():
        return str(_l("Loan number %(id)s", id=rest))
    return target


def _said(action: str) -> str | None:
    return str(ACTIONS[action]) if action in ACTIONS else None


def read(principal: Principal, page: int = 1, action: str | None = None, who: str | None = None,
         per_page: int = PER_PAGE) -> Trail:
    """A page of the log, the latest first; `action` one action's code, `who` the user name of who did it."""
    policy.require(principal, "audit.read")
    query = select(AuditEntry, User.username, User.display_name).outerjoin(User, User.id == AuditEntry.actor_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if who:
        query = query.where(User.username == who)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // per_page))
    rows = db.session.execute(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                              .limit(per_page).offset((min(page, pages) - 1) * per_page)).all()
    ids = {int(t.partition(":")[2]) for t in (r.AuditEntry.target or "" for r in rows)
           if t.startswith("user:") and t.partition(":")[2].isdigit()}
    usernames = {r.id: r.username for r in db.session.execute(select(User.id, User.username).where(User.id.in_(ids)))}
    entries = [Entry(row.AuditEntry.at,
                     (f"{row.display_name} ({row.username})" if row.display_name else row.username)
                     if row.username else None,
                     row.AuditEntry.action, _said(row.AuditEntry.action), _target(row.AuditEntry.target, usernames),
                     row.AuditEntry.ip, _details(row.AuditEntry.details))
               for row in rows]
    held = sorted(db.session.scalars(select(AuditEntry.action).distinct()))
    return Trail(entries, min(page, pages), pages, total, [(code, _said(code) or code) for code in held])
