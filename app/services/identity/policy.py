"""Who may do what: one table of action → the roles that may do it and the side they must act from.

Each action the platform guards beyond seeing is a row of `POLICY`; its grants name roles and the
side the role must be held on:

- `platform`: held in a platform organisation; acts on anything, whoever's deal it is.
- `party`: held in the organisation bound to the deal as the given party (org kind): the deal's
  borrower's applicant, its funder's finance. An action over the organisation's own deals (the
  funder's trial balance) names the caller's organisation as that party.
- `own_organisation`: held in the organisation the object belongs to (a team lead and the tasks
  their organisation works).

Services ask `require` (403 unless allowed) or `allowed`; a page that only needs to know whether
to offer something asks a service, which asks here. No role code is written anywhere else but in
the other halves of the policy: which instances and tasks a user sees and is offered
(`app.services.identity.access`, where a refusal is 404) and which role may be held where and
granted by whom (`app.services.identity.grants`); `app.models.identity` names the roles.
`tests/unit/test_access_policy.py` holds that line; the authorization matrix
(`tests/integration/test_authorization_matrix.py`) reads its expectations from this table.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from app.services.context import either, translated
from app.services.context import lazy_gettext as _l
from app.services.errors import Forbidden, Text

if TYPE_CHECKING:
    from app.services.identity.directory import Principal

PLATFORM_KIND = "platform"  # the org kind of the platform's own organisation


class Side(StrEnum):
    PLATFORM = "platform"
    PARTY = "party"
    OWN_ORGANISATION = "own_organisation"


@dataclass(frozen=True)
class Grant:
    """Holders of any of `roles` on `side` may do the action; `party`: which party of the deal."""

    side: Side
    roles: frozenset[str]
    party: str | None = None

    def describe(self) -> Text:
        """Who holds the grant, in the reader's words: the roles' names and the side they act from (never a code)."""
        from app.services.identity.grants import KIND_NAMES, ROLE_NAMES  # grants imports this module

        roles = either(sorted(translated(ROLE_NAMES.get(role, role)) for role in self.roles))
        if self.side is Side.PLATFORM:
            return _l("%(roles)s (the platform)", roles=roles)
        if self.side is Side.PARTY:
            party = translated(KIND_NAMES.get(self.party or "", self.party or ""))
            return _l("%(roles)s (a party of the deal: %(party)s)", roles=roles, party=party)
        return _l("%(roles)s (of the organisation it belongs to)", roles=roles)


def platform(*roles: str) -> Grant:
    return Grant(Side.PLATFORM, frozenset(roles))


def party(party_kind: str, *roles: str) -> Grant:
    return Grant(Side.PARTY, frozenset(roles), party_kind)


def own_organisation(*roles: str) -> Grant:
    return Grant(Side.OWN_ORGANISATION, frozenset(roles))


PLATFORM_STAFF = ("platform_admin", "operator", "analyst", "auditor")  # read everything
PLATFORM_ACTORS = ("platform_admin", "operator")  # start, repair and administer

POLICY: dict[str, tuple[Grant, ...]] = {
    # the audit log (`identity.audit_trail`): read by the platform admin and the auditor, changed by nobody
    "audit.read": (platform("platform_admin", "auditor"),),
    # BPMN and DMN definitions
    "definitions.read": (platform(*PLATFORM_STAFF),),
    "definitions.deploy": (platform("platform_admin", "analyst"),),
    # which registered operator runs a Camunda service task (camunda:class, ..., an external topic)
    "operator_mappings.manage": (platform("platform_admin"),),
    # which role is offered a Camunda group's user tasks (camunda:candidateGroups)
    "group_mappings.manage": (platform("platform_admin"),),
    # both mapping tables, read: the analysts who deploy Camunda diagrams (an unmapped name refuses one), the auditor
    "mappings.read": (platform("platform_admin", "analyst", "auditor"),),
    # process instances; an applicant starts only what an active product offers (instances._may_start)
    "instances.start": (platform(*PLATFORM_ACTORS), party("borrower", "applicant")),
    "instances.cancel": (platform(*PLATFORM_ACTORS),),
    "instances.set_parties": (platform(*PLATFORM_ACTORS),),
    "instances.migrate": (platform(*PLATFORM_ACTORS),),  # move waiting instances to another version
    # the console's instance search, and an instance page's internals (data, scripts' errors, the chain)
    "instances.inspect": (platform(*PLATFORM_STAFF),),
    "messages.deliver": (platform(*PLATFORM_ACTORS),),
    "signals.send": (platform(*PLATFORM_ACTORS),),
    "incidents.read": (platform(*PLATFORM_STAFF),),
    "incidents.retry": (platform(*PLATFORM_ACTORS),),
    # Camunda's external task workers: fetch, lock and answer the tasks mapped to camunda.external_task
    "external_tasks.work": (platform(*PLATFORM_ACTORS),),
    # tasks: who works one is its lane (access.task_offered); these are the powers over others' work
    "tasks.assign": (platform("platform_admin"), own_organisation("team_lead")),
    "tasks.unclaim_others": (platform("platform_admin"),),  # release a task someone else claimed
    # 催办: remind a task's holder (or its group) of a task that waits too long (notices.reminders)
    "tasks.remind": (platform(*PLATFORM_ACTORS), own_organisation("team_lead")),
    # loans and the ledger
    "payments.record": (platform("platform_admin"), party("borrower", "applicant")),  # an offline repayment
    "payments.confirm": (platform("platform_admin"), party("funder", "finance")),  # confirm or reject it
    "repayments.online": (party("borrower", "applicant"),),  # pay a loan online: the payer is the borrower
    "ledger.trial_balance": (platform(*PLATFORM_STAFF), party("funder", "finance")),
    # origination: products, the borrower's applications, leads, the risk simulator's blacklist
    "products.administer": (platform(*PLATFORM_ACTORS),),
    "products.read": (platform(*PLATFORM_STAFF),),  # the product list with every product's terms, withdrawn ones too
    "applications.draft": (party("borrower", "applicant"),),  # draft, edit, attach, submit, withdraw, delete
    "leads.manage": (platform(*PLATFORM_ACTORS),),  # enter, qualify or drop leads; register channels
    "risk.blacklist": (platform(*PLATFORM_ACTORS),),
    "risk.simulate": (platform(*PLATFORM_STAFF),),  # the risk simulator's page: try an assessment
    # notices: the notify simulator's outbox (SMS and e-mail it delivered)
    "notices.outbox": (platform(*PLATFORM_STAFF),),
    # the payment gateway simulator's page: its orders, and the failures, delays and duplicate
    # notifications it inflicts on the next orders
    "payments.simulate": (platform(*PLATFORM_ACTORS),),
    # collateral: commodity prices of pledged goods (each revalues the pledges), and who reads a
    # pledge's LTV; the party grants of `collateral.read` are also whom a zone crossing is told
    "collateral.prices": (platform(*PLATFORM_ACTORS),),
    "collateral.read": (platform(*PLATFORM_STAFF), party("borrower", "applicant"), party("funder", "finance"),
                        party("warehouse", "warehouse_supervisor")),
    # goods released from a pledge in proportion to the principal repaid: the warehouse holding them
    "collateral.release": (platform("platform_admin"), party("warehouse", "warehouse_supervisor")),
    # collections: the overdue cases' list (the platform, the funder's finance, the agency a case is
    # assigned to: the platform's own agents while no agency is) and assigning a case to a collection
    # agency (the agency's agents then work it)
    "collections.read": (platform(*PLATFORM_STAFF, "collections_agent"), party("funder", "finance"),
                         party("collection_agency", "collections_agent")),
    "collections.assign": (platform(*PLATFORM_ACTORS),),
    # a contact logged on a case's page between its contact tasks: the collections agents of the organisation
    # working the case (the service also requires it to be the case's `collection_agency`: the platform's own
    # agents only while no agency is assigned)
    "collections.contact": (platform("collections_agent"), party("collection_agency", "collections_agent")),
    # insight (issue 16): the heatmap and the tasks' waiting times are the platform's staff's; the
    # portfolio dashboard also a funder's own staff's, over the loans their organisation funds
    "insight.read": (platform(*PLATFORM_STAFF),),
    "portfolio.read": (platform(*PLATFORM_STAFF),
                       party("funder", "first_reviewer", "second_reviewer", "finance")),
    # users and organisations; whom an administrator acts on, and which roles they grant, is grants.py's
    "users.administer": (platform(*PLATFORM_ACTORS),),
}


def _could(principal: Principal, grant: Grant) -> bool:
    """The grant's role held on its side, whatever the object."""
    if not grant.roles & principal.roles:
        return False
    if grant.side is Side.PLATFORM:
        return PLATFORM_KIND in principal.org_kinds
    if grant.side is Side.PARTY:
        return grant.party in principal.org_kinds
    return True


def _meets(principal: Principal, grant: Grant, parties: Mapping[str, int | None] | None,
           org_id: int | None) -> bool:
    if not _could(principal, grant):
        return False
    if grant.side is Side.PARTY:
        return parties is not None and parties.get(grant.party or "") == principal.org_id
    if grant.side is Side.OWN_ORGANISATION:
        return org_id is not None and org_id == principal.org_id
    return True


def grant_for(principal: Principal, action: str, parties: Mapping[str, int | None] | None = None,
              org_id: int | None = None) -> Grant | None:
    """The first grant of the action that lets the principal do it to this object (None: none does).

    `parties`: the deal's organisations by party (org kind → organisation id); `org_id`: the
    organisation the object belongs to. Without them only platform grants can match.
    """
    return next((g for g in POLICY[action] if _meets(principal, g, parties, org_id)), None)


def allowed(principal: Principal, action: str, parties: Mapping[str, int | None] | None = None,
            org_id: int | None = None) -> bool:
    return grant_for(principal, action, parties, org_id) is not None


def require(principal: Principal, action: str, parties: Mapping[str, int | None] | None = None,
            org_id: int | None = None, message: str | Text | None = None, code: str | None = None) -> Grant:
    """The grant that allows it; 403 (`Forbidden`, with `message` and `code` if given) otherwise."""
    grant = grant_for(principal, action, parties, org_id)
    if grant is None:
        needs = either([g.describe() for g in POLICY[action]])
        raise Forbidden(message or _l("This needs the role of %(roles)s.", roles=needs), code=code)
    return grant


def who_may(action: str) -> str | Text:
    """Who may do `action`, in the reader's words ("平台管理员或平台运营（平台）"): what a page tells a reader it refuses."""
    return either([g.describe() for g in POLICY[action]])


def party_roles(action: str, party_kind: str) -> frozenset[str]:
    """The roles that may do the action as the deal's `party_kind` (whom to tell that it waits for them)."""
    return frozenset(role for g in POLICY[action] if g.side is Side.PARTY and g.party == party_kind for role in g.roles)


def may_ever(principal: Principal, action: str) -> bool:
    """Whether some object could allow it: a role of the action held on a side it can be on.
    For offering an action at all (a form, a link) before the object is known."""
    return any(_could(principal, grant) for grant in POLICY[action])


__all__ = ["POLICY", "Grant", "Side", "allowed", "grant_for", "may_ever", "party_roles", "require", "who_may"]
