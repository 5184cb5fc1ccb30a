"""Administering users: invitation and reset links, deactivation, API tokens, each checked against
`app.services.identity.grants` and written to the audit log.

`actor` None is the machine's own operator (the CLI); the pages and the API always pass who acts.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import ApiToken, Organisation, User
from app.models.identity import ORG_KINDS as _ORG_KINDS
from app.services.clock import now
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict, NotFound
from app.services.identity import accounts, grants
from app.services.identity import directory as identity
from app.services.identity.audit import audit
from app.services.identity.directory import Principal
from app.services.identity.sessions import end_user_sessions

ORG_KINDS: tuple[str, ...] = _ORG_KINDS  # the kinds an organisation may have, for the pages' forms
MAX_LIVE_TOKENS = 50  # per user: enough for every script someone runs, not a store of spares
MAX_ID = 2 ** 31 - 1  # users.id and api_tokens.id are 32-bit integers: a bigger id is no row, not an overflow


def user_by_id(user_id: int) -> User:
    user = db.session.get(User, user_id) if 0 < user_id <= MAX_ID else None
    if user is None:
        raise NotFound(_l("no such user"))
    return user


def user_by_name(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(_l("unknown user %(name)s", name=repr(username)), fields={"username": [_l("unknown user")]})
    return user


def user_summary(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "display_name": user.display_name,
            "org": user.organisation.code, "roles": sorted(user.role_codes), "active": user.active,
            "deactivated_at": user.deactivated_at, "has_password": user.password_hash is not None,
            "created_at": user.created_at, "last_login_at": user.last_login_at}


def token_summary(row: ApiToken, at: datetime | None = None) -> dict[str, Any]:
    return {"id": row.id, "label": row.label, "created_at": row.created_at, "expires_at": identity.token_expiry(row),
            "last_used_at": row.last_used_at, "revoked_at": row.revoked_at, "state": identity.token_state(row, at)}


# -- links that set a password ----------------------------------------------------------------

def invitation_link(user: User, actor: Principal | None) -> str:
    """A new single-use invitation token for a user who has not set a password yet."""
    grants.raise_if(grants.invite_refusal(actor, user))
    return accounts.issue_link_token(user.id, "invite", actor.id if actor else None)


def reset_link(user: User, actor: Principal | None) -> str:
    """A password-reset token for a user who has a password (a platform admin's, or the CLI's)."""
    grants.raise_if(grants.reset_refusal(actor, user))
    return accounts.issue_link_token(user.id, "reset", actor.id if actor else None)


# -- the sign-in lock -------------------------------------------------------------------------

def unlock(user: User, actor: Principal | None) -> bool:
    """Lift a user's sign-in lock (after too many failed sign-ins) before it runs out, for those who
    administer them; audited. Whether the account was locked or waiting."""
    grants.raise_if(grants.administer_refusal(actor, user))
    return accounts.unlock(user, actor.id if actor else None)


# -- deactivation -----------------------------------------------------------------------------

def set_active(user: User, active: bool, actor: Principal | None, commit: bool = True) -> User:
    """Deactivate or reactivate a user. Deactivating ends their sessions at once, and their API
    tokens stop working with the next request (every request reads `users.active`); the tokens are
    kept, so reactivating brings back those that have not expired or been revoked. The tasks they
    hold are handed back by `app.services.workflow.handover`, which every page, route and command
    that deactivates calls (`commit` False: in its transaction)."""
    grants.raise_if(grants.set_active_refusal(actor, user))
    if user.active == active:
        return user
    user.active = active
    user.deactivated_at = None if active else now()
    if not active:
        end_user_sessions(user.id, "deactivated")
    audit("user_activated" if active else "user_deactivated", actor.id if actor else None, f"user:{user.id}",
          username=user.username)
    if commit:
        db.session.commit()
    return user



# -- API tokens -------------------------------------------------------------------------------

def issue_own_token(actor: Principal, days: int, label: str | None, not_after: datetime | None) -> dict[str, Any]:
    """A token for the caller, shown once; one minted with a token expires no later than that token."""
    live = identity.live_tokens(actor.id)
    if live >= MAX_LIVE_TOKENS:
        raise Conflict(_l("you have %(n)s live tokens, the most there may be: revoke some first", n=live),
                       code="too_many_tokens")
    issued = identity.create_token(actor.id, days, label, actor.id, not_after)
    return {**token_summary(issued.row), "token": issued.token}


def _page(user_id: int, page: int, per_page: int) -> dict[str, Any]:
    rows, total = identity.tokens_of(user_id, page, per_page)
    at = now()
    return {"items": [token_summary(row, at) for row in rows], "total": total, "page": page, "per_page": per_page}


def own_tokens(actor: Principal, page: int = 1, per_page: int = 50) -> dict[str, Any]:
    return _page(actor.id, page, per_page)


def user_tokens(user_id: int, actor: Principal, page: int = 1, per_page: int = 50) -> dict[str, Any]:
    """A user's tokens, for those who administer them."""
    grants.require_administrator(actor)
    user = user_by_id(user_id)
    if actor.id != user.id:
        grants.raise_if(grants.administer_refusal(actor, user))
    return _page(user.id, page, per_page)


def revoke_token(token_id: int, actor: Principal | None, owner_id: int | None = None) -> dict[str, Any]:
    """Revoke a token: one's own, or a token of a user one administers. With `owner_id`, the token
    must be theirs: another's token is not found, so a token id tells nothing about others."""
    row = db.session.get(ApiToken, token_id) if 0 < token_id <= MAX_ID else None
    if row is None or (owner_id is not None and row.user_id != owner_id):
        raise NotFound(_l("no such token"))
    if actor is None or actor.id != row.user_id:
        grants.raise_if(grants.administer_refusal(actor, user_by_id(row.user_id)))
    return token_summary(identity.revoke_token(row, actor.id if actor else None))


def revoke_user_token(user_id: int, token_id: int, actor: Principal) -> dict[str, Any]:
    grants.require_administrator(actor)
    user_by_id(user_id)
    return revoke_token(token_id, actor, owner_id=user_id)


# -- what administrators see ------------------------------------------------------------------

def list_users(actor: Principal, page: int, per_page: int, username: str | None = None,
               org: str | None = None) -> dict[str, Any]:
    """Users, a page at a time, for administrators."""
    grants.require_administrator(actor)
    query = select(User).order_by(User.id)
    if username:
        query = query.where(User.username == username)
    if org:
        query = query.join(Organisation, Organisation.id == User.org_id).where(Organisation.code == org)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page))
    return {"items": [user_summary(u) for u in items], "total": total, "page": page, "per_page": per_page}


def get_user(user_id: int, actor: Principal) -> dict[str, Any]:
    grants.require_administrator(actor)
    return user_summary(user_by_id(user_id))


@dataclass(frozen=True)
class UserRow:
    """A user on the administration page, with what the viewer may do to them."""

    user: User
    tokens: list[dict[str, Any]]  # the live ones, as `token_summary`
    may_invite: bool
    may_reset: bool
    may_set_active: bool
    may_revoke: bool
    locked_until: datetime | None  # locked after too many failed sign-ins, until then
    link: dict[str, Any] | None  # the outstanding invitation or reset link: its purpose, when issued, when it expires


def overview(actor: Principal) -> tuple[list[Organisation], list[UserRow]]:
    """Every organisation and user, each user's live tokens and what the actor may do to them."""
    grants.require_administrator(actor)
    orgs = list(db.session.scalars(select(Organisation).order_by(Organisation.code)))
    users = list(db.session.scalars(select(User).order_by(User.username)))
    at = now()
    live: dict[int, list[dict[str, Any]]] = {}
    for row in db.session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)):
        if identity.token_state(row, at) == "active":
            live.setdefault(row.user_id, []).append(token_summary(row, at))
    locks = accounts.locked_until([u.username for u in users])
    links = accounts.outstanding_links()
    rows = [UserRow(u, live.get(u.id, []), grants.invite_refusal(actor, u) is None,
                    grants.reset_refusal(actor, u) is None, grants.set_active_refusal(actor, u) is None,
                    actor.id == u.id or grants.administer_refusal(actor, u) is None,
                    locks.get(u.username), links.get(u.id)) for u in users]
    return orgs, rows
