"""Who may see and do what: the platform sees every deal; everyone else sees only their own.

A user task sits in a lane whose name is a role code. The task is offered to users who hold that
role in the organisation the instance is bound to for the role's org kind (a funder's reviewers
for the instance's `funder`, the borrower's applicants for its `borrower`, ...). Platform roles
see everything read-only; only `platform_admin` acts across organisations. What a user may not
see answers 404; what they see but may not do answers 403, by the table of actions
(`app.services.identity.policy`).

Which roles a user holds, and where, is `app.services.identity.grants`' (the other half of this policy): a
principal carries only the roles that belong in its organisation, so a platform role held in a
funder grants nothing here. The checks below still ask `is_platform` before any platform power.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true

from app.models import HumanTask, InstanceParty, ProcessInstance, TaskCandidate
from app.services.identity.directory import Principal
from app.services.identity.grants import CANDIDATES_LANE, ROLE_PARTY

PLATFORM_LANES = frozenset({"platform_admin", "operator", "analyst", "auditor", "collections_agent"})
UNLANED_ROLE = "operator"  # who is offered a task without a lane, beside the instance's starter


def lane_party(lane: str | None) -> str | None:
    """The party (org kind) of an instance whose organisation works tasks in this lane."""
    return ROLE_PARTY.get(lane or "")


def party_kinds(principal: Principal) -> set[str]:
    return {ROLE_PARTY[r] for r in principal.roles if r in ROLE_PARTY}


def offered_everything(principal: Principal) -> bool:
    """The platform admin: every task is offered to them, in every organisation."""
    return principal.is_platform and principal.has_role("platform_admin")


def oversees_organisation(principal: Principal) -> bool:
    """A team lead: sees every deal, loan and task of their organisation, whatever its lane."""
    return principal.has_role("team_lead")


def instance_visible(principal: Principal) -> ColumnElement[bool]:
    """SQL condition on ProcessInstance: the instances this user may see."""
    if principal.is_platform:
        return true()
    kinds = party_kinds(principal)
    own_party = and_(InstanceParty.instance_id == ProcessInstance.id, InstanceParty.org_id == principal.org_id)
    bound: ColumnElement[bool]
    if oversees_organisation(principal):  # every deal their organisation is party to
        bound = exists().where(own_party)
    elif kinds:
        bound = exists().where(own_party, InstanceParty.party.in_(kinds))
    else:
        bound = false()
    return or_(bound, ProcessInstance.started_by_id == principal.id)


def task_offered(principal: Principal, unlaned: bool = True) -> ColumnElement[bool]:
    """SQL condition on HumanTask: the open tasks this user may claim and complete.

    `unlaned=False` leaves out tasks without a lane offered to the instance's starter: callers that
    know the user started no instance drop that OR branch, so the inbox index serves the rest.
    """
    branches = offered_branches(principal, unlaned)
    if not branches:
        return false()
    return branches[0] if len(branches) == 1 else or_(*branches)


def offered_branches(principal: Principal, unlaned: bool = True, named: bool = True) -> list[ColumnElement[bool]]:
    """`task_offered` as disjoint conditions whose OR it is, each one lane (or no lane) at a time.

    One equality per branch lets an index hand out a branch's tasks already in order, so the
    inbox reads a page (or a capped count) branch by branch and stops early in each. `named=False` leaves
    out the tasks offered to the user by name: callers that know no task ever was drop that branch.
    """
    if offered_everything(principal):
        return [true()]
    party_lanes = sorted(r for r in principal.roles if r in ROLE_PARTY)
    others: list[ColumnElement[bool]] = []
    if principal.is_platform:
        platform_lanes = sorted(principal.roles & PLATFORM_LANES)
        # a platform lane is offered in every organisation: its own-organisation branch adds nothing
        party_lanes = [lane for lane in party_lanes if lane not in platform_lanes]
        others = [HumanTask.lane == lane for lane in platform_lanes]
        if principal.has_role(UNLANED_ROLE):  # a task without a lane: the platform's operators
            others.append(HumanTask.lane.is_(None))  # (analysts and auditors only read)
    elif unlaned:
        # "started by me" as an IN over the indexed started_by_id: a small set, no per-task probe
        others = [and_(HumanTask.lane.is_(None), HumanTask.instance_id.in_(
            select(ProcessInstance.id).where(ProcessInstance.started_by_id == principal.id)))]
    own_org = [and_(HumanTask.org_id == principal.org_id, HumanTask.lane == lane) for lane in party_lanes]
    by_name = [and_(HumanTask.lane == CANDIDATES_LANE, HumanTask.id.in_(  # offered to the users it names
        select(TaskCandidate.task_id).where(TaskCandidate.user_id == principal.id)))] if named else []
    return own_org + others + by_name


def task_visible(principal: Principal) -> ColumnElement[bool]:
    """SQL condition on HumanTask: offered to the user, or claimed or completed by them."""
    if principal.is_platform:
        return true()
    lead = HumanTask.org_id == principal.org_id if oversees_organisation(principal) else false()
    return or_(task_offered(principal), HumanTask.claimed_by_id == principal.id,
               HumanTask.completed_by_id == principal.id, lead)


__all__ = ["ROLE_PARTY", "UNLANED_ROLE", "instance_visible", "lane_party", "offered_branches", "offered_everything",
           "oversees_organisation", "task_offered", "task_visible"]
