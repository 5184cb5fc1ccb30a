"""Who may hold, grant and administer which role: where each role belongs, and the ranks of roles.

The one policy behind every path that makes or changes a user (the CLI, the administration page,
the API, the demo seed) and behind reading a user's roles back:

- A role belongs in organisations of given kinds (`ROLE_ORG_KINDS`): platform roles in a
  `platform` organisation, a party's roles in an organisation of that party's kind, `team_lead`
  in any organisation that is not only the platform. Granting a role elsewhere is refused (422,
  field `role`), and a row that holds one anyway (made before this rule) grants nothing: the
  principal's roles are `effective_roles`, so no check downstream ever sees it.
- Roles have ranks (`RANKS`): platform admin 4; operator, analyst and auditor 3; team lead 2;
  the parties' roles 1. A user's rank is that of their highest role held, wherever it is held.
- Only a platform admin grants platform roles; an operator grants the roles below their own rank
  (the parties' roles and team lead).
- Who administers users at all is the access policy's `users.administer`
  (`app.services.identity.policy`). Acting on a user (an invitation link, deactivating or
  activating them, listing or revoking their API tokens) is for those who outrank them: an
  operator administers the parties' users; a platform admin everyone, other platform admins
  included (someone must be able to stop an admin account that is misused; every such act is in
  the audit log). Nobody deactivates themselves.
- A link that sets a password: an invitation only for a user who has not set one (a re-invite
  of a user who has is refused for everyone); a reset only by a platform admin, and never for
  another platform admin who is active and has a password (deactivate them first, on the record).

`actor` None is the machine's own operator (the CLI, the demo seed): every grant that fits the
organisation is theirs.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from app.models import User
from app.models.identity import ORG_KINDS, PLATFORM_ROLES
from app.services.context import lazy_gettext as _l
from app.services.context import translated
from app.services.errors import Conflict, Forbidden, Invalid, ServiceError
from app.services.identity import policy

if TYPE_CHECKING:
    from app.services.identity.directory import Principal

PLATFORM = "platform"
PLATFORM_ADMIN = "platform_admin"  # the highest rank: acts across organisations, grants every role
# The org kind of an instance's party whose organisation works a lane of this role.
ROLE_PARTY = {
    "first_reviewer": "funder",
    "second_reviewer": "funder",
    "finance": "funder",
    "applicant": "borrower",
    "core_signer": "core_enterprise",
    "warehouse_supervisor": "warehouse",
    "collections_agent": "collection_agency",
}
# The roles of a borrower's first user, registered by the platform from a qualified lead.
LEAD_USER_ROLES = ("applicant",)
# The kinds of organisation a role may be held in (any one of the organisation's kinds will do).
ROLE_ORG_KINDS: dict[str, frozenset[str]] = {
    **{role: frozenset({PLATFORM}) for role in PLATFORM_ROLES},
    **{role: frozenset({kind}) for role, kind in ROLE_PARTY.items()},
    "collections_agent": frozenset({PLATFORM, "collection_agency"}),
    "team_lead": frozenset(ORG_KINDS) - {PLATFORM},
}


def N_(text: str) -> str:
    """Marks a message for the catalogue (`make translations`); it is translated where it is shown."""
    return text


# What each role is called on a page (the reader's language: `app.web.vocabulary.role_label`).
ROLE_NAMES: dict[str, str] = {
    "platform_admin": N_("Platform administrator"), "operator": N_("Platform operator"),
    "analyst": N_("Business analyst"), "auditor": N_("Auditor"), "first_reviewer": N_("First reviewer"),
    "second_reviewer": N_("Second reviewer"), "finance": N_("Funder finance"), "applicant": N_("Applicant"),
    "core_signer": N_("Core enterprise signer"), "warehouse_supervisor": N_("Warehouse supervisor"),
    "collections_agent": N_("Collections agent"), "team_lead": N_("Team lead"),
}
# Who in a funder hears of what its finance escalates (an overdue loan): its management.
MANAGEMENT_ROLES = ("team_lead",)
# What each kind of organisation is called on a page.
KIND_NAMES: dict[str, str] = {
    PLATFORM: N_("Platform"), "funder": N_("Funder"), "borrower": N_("Borrower"), "core_enterprise": N_("Core enterprise"),
    "warehouse": N_("Warehouse"), "collection_agency": N_("Collection agency")}
# The lane of a task offered to the users it names (`camunda:candidateUsers`): no role holds it, so the inbox
# offers such a task to those users only (`task_candidates`, `access.offered_branches`).
CANDIDATES_LANE = "candidate_users"
LANE_NAMES: dict[str, str] = {**ROLE_NAMES, CANDIDATES_LANE: N_("The users it names")}
RANKS: dict[str, int] = {
    PLATFORM_ADMIN: 4, **dict.fromkeys(("operator", "analyst", "auditor"), 3), "team_lead": 2,
    **dict.fromkeys(ROLE_PARTY, 1),
}


def role_fits(role: str, org_kinds: Iterable[str]) -> bool:
    return bool(ROLE_ORG_KINDS.get(role, frozenset()) & set(org_kinds))


def effective_roles(roles: Iterable[str], org_kinds: Iterable[str]) -> frozenset[str]:
    """The roles that count: those held in an organisation of a kind they belong in."""
    kinds = frozenset(org_kinds)
    return frozenset(role for role in roles if role_fits(role, kinds))


def rank(roles: Iterable[str]) -> int:
    return max((RANKS.get(role, 0) for role in roles), default=0)


def check_roles_fit(roles: Iterable[str], org_code: str, org_kinds: Iterable[str]) -> None:
    """422 naming the field `role` for each role that does not belong in the organisation."""
    kinds = frozenset(org_kinds)
    misfits = sorted(role for role in set(roles) if not role_fits(role, kinds))
    if misfits:
        problems = [_l("%(role)s is held only in an organisation of kind %(kinds)s", role=translated(ROLE_NAMES[role]),
                       kinds=" / ".join(translated(KIND_NAMES.get(k, k)) for k in sorted(ROLE_ORG_KINDS[role])))
                    for role in misfits]
        raise Invalid(_l("role(s) %(roles)s do not belong in organisation %(code)s (%(kinds)s)",
                         roles=", ".join(misfits), code=repr(org_code), kinds=", ".join(sorted(kinds)) or _l("no kind")),
                      fields={"role": problems}, code="role_misfit")


def is_administrator(actor: Principal) -> bool:
    """Whether the actor administers users at all (`users.administer` in the access policy)."""
    return policy.allowed(actor, "users.administer")


def is_platform_admin(actor: Principal) -> bool:
    return actor.is_platform and actor.has_role(PLATFORM_ADMIN)


def require_administrator(actor: Principal) -> None:
    if not is_administrator(actor):
        raise Forbidden(NOT_AN_ADMINISTRATOR, code="not_an_administrator")


NOT_AN_ADMINISTRATOR = _l("administering users needs the platform_admin or operator role in the platform")


def grantable_roles(actor: Principal | None) -> list[str]:
    """The roles this actor may grant, highest first (for forms)."""
    return sorted((role for role in RANKS if may_grant(actor, role)), key=lambda r: (-RANKS[r], r))


def may_grant(actor: Principal | None, role: str) -> bool:
    if actor is None or is_platform_admin(actor):
        return role in RANKS
    return is_administrator(actor) and role not in PLATFORM_ROLES and RANKS.get(role, 99) < rank(actor.roles)


def check_may_grant(actor: Principal | None, roles: Iterable[str]) -> None:
    refused = sorted(role for role in set(roles) if not may_grant(actor, role))
    if refused:
        raise Forbidden(_l("you may not grant the role(s) %(roles)s: only a platform admin grants platform roles, "
                           "and nobody grants a role of their own rank or above", roles=", ".join(refused)),
                        fields={"role": [_l("%(role)s: not yours to grant", role=role) for role in refused]},
                        code="grant_refused")


def check_may_create_org(actor: Principal | None, kinds: Iterable[str]) -> None:
    if actor is not None and PLATFORM in set(kinds) and not is_platform_admin(actor):
        raise Forbidden(_l("only a platform admin registers a platform organisation"),
                        fields={"kind": [_l("platform: not yours to register")]}, code="grant_refused")


def administer_refusal(actor: Principal | None, target: User) -> ServiceError | None:
    """Why this actor may not act on this user (None: they may)."""
    if actor is None or is_platform_admin(actor):
        return None
    if not is_administrator(actor):
        return Forbidden(NOT_AN_ADMINISTRATOR, code="not_an_administrator")
    if rank(target.role_codes) >= rank(actor.roles):
        return Forbidden(_l("user %(name)s ranks as high as you or higher: a platform admin acts on them",
                            name=repr(target.username)), code="outranks_you")
    return None


def set_active_refusal(actor: Principal | None, target: User) -> ServiceError | None:
    if actor is not None and actor.id == target.id:
        return Forbidden(_l("you cannot deactivate or reactivate yourself"), code="own_account")
    return administer_refusal(actor, target)


def invite_refusal(actor: Principal | None, target: User) -> ServiceError | None:
    """Who may act first (403), then whether an invitation still makes sense (409)."""
    refusal = administer_refusal(actor, target)
    if refusal is None and target.password_hash is not None:
        return Conflict(_l("user %(name)s has set a password already: a platform admin issues a password reset "
                           "link instead", name=repr(target.username)), code="has_password")
    return refusal


def reset_refusal(actor: Principal | None, target: User) -> ServiceError | None:
    """Who may act first (403), then whether a reset makes sense (409)."""
    if actor is not None and actor.id != target.id:
        if not is_platform_admin(actor):
            return Forbidden(_l("only a platform admin issues a password reset link for someone else"),
                             code="not_a_platform_admin")
        if target.active and target.password_hash is not None and rank(target.role_codes) >= rank(actor.roles):
            return Forbidden(_l("user %(name)s is an active platform admin with a password: deactivate the account "
                                "first", name=repr(target.username)), code="active_admin")
    if target.password_hash is None:
        return Conflict(_l("user %(name)s has no password yet: send an invitation link", name=repr(target.username)),
                        code="no_password")
    return None


def raise_if(refusal: ServiceError | None) -> None:
    if refusal is not None:
        raise refusal
