"""Organisations, users, roles and API tokens (full sign-in comes with the web inbox)."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from time import monotonic

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import ApiToken, Organisation, OrgKind, User, UserRole
from app.models.identity import ORG_KINDS, PLATFORM_ROLES, ROLES
from app.services.audit import audit
from app.services.clock import now
from app.services.errors import Conflict, Invalid, Unauthorized


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_org(code: str, kinds: list[str], name: str, actor_id: int | None = None) -> Organisation:
    unknown = sorted(set(kinds) - set(ORG_KINDS))
    if unknown or not kinds:
        raise Invalid(f"unknown organisation kind(s): {', '.join(unknown) or '(none given)'}; "
                      f"choose from {', '.join(ORG_KINDS)}", fields={"kind": ["unknown kind"]})
    if db.session.scalar(select(Organisation).where(Organisation.code == code)):
        raise Conflict(f"organisation {code!r} already exists")
    org = Organisation(code=code, name=name, created_at=now())
    org.kinds = [OrgKind(kind=k) for k in sorted(set(kinds))]
    db.session.add(org)
    audit("org_created", actor_id, f"org:{code}", kinds=sorted(set(kinds)), name=name)
    db.session.commit()
    return org


def create_user(username: str, org_code: str, roles: list[str], display_name: str | None = None,
                actor_id: int | None = None, email: str | None = None) -> User:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise Invalid(f"unknown role(s): {', '.join(unknown) or '(none given)'}; choose from {', '.join(ROLES)}",
                      fields={"role": ["unknown role"]})
    org = db.session.scalar(select(Organisation).where(Organisation.code == org_code))
    if org is None:
        raise Invalid(f"unknown organisation {org_code!r}", fields={"org": ["unknown organisation"]})
    if db.session.scalar(select(User).where(User.username == username)):
        raise Conflict(f"user {username!r} already exists")
    user = User(username=username, org_id=org.id, display_name=display_name, created_at=now())
    user.roles = [UserRole(role=r) for r in sorted(set(roles))]
    user.email = email
    db.session.add(user)
    audit("user_created", actor_id, f"user:{username}", org=org_code, roles=sorted(set(roles)))
    db.session.commit()
    return user


def issue_token(username: str) -> str:
    """A new bearer token for the user; only its hash is stored, so it is shown once."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise Invalid(f"unknown user {username!r}", fields={"username": ["unknown user"]})
    token = "lf_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=_hash_token(token), created_at=now()))
    db.session.commit()
    return token


@dataclass(frozen=True)
class Principal:
    """Who is acting: what every permission check needs, read in one query per request."""

    id: int
    username: str
    org_id: int
    roles: frozenset[str]
    org_kinds: frozenset[str] = frozenset()
    locale: str | None = None

    def has_role(self, role: str) -> bool:
        return role in self.roles

    @property
    def is_platform(self) -> bool:
        """A platform role in a platform organisation: sees every deal."""
        return "platform" in self.org_kinds and bool(self.roles & PLATFORM_ROLES)


Actor = Principal  # services act for a Principal; the name says what the parameter is for

_PRINCIPAL = (select(User.id, User.username, User.org_id, User.active, User.locale, UserRole.role, OrgKind.kind)
              .select_from(User).outerjoin(UserRole, UserRole.user_id == User.id)
              .outerjoin(OrgKind, OrgKind.org_id == User.org_id))


def _principal(rows) -> Principal | None:  # noqa: ANN001
    if not rows or not rows[0].active:
        return None
    first = rows[0]
    return Principal(first.id, first.username, first.org_id, frozenset(r.role for r in rows if r.role),
                     frozenset(r.kind for r in rows if r.kind), first.locale)


def principal_for_user(user_id: int) -> Principal | None:
    return _principal(db.session.execute(_PRINCIPAL.where(User.id == user_id)).all())


def principal_for(username: str) -> Principal:
    user_id = db.session.scalar(select(User.id).where(User.username == username))
    principal = principal_for_user(user_id) if user_id is not None else None
    if principal is None:
        raise Invalid(f"unknown or inactive user {username!r}", fields={"username": ["unknown user"]})
    return principal


TOKEN_CACHE_SECONDS = 5.0  # a revoked token or a changed role takes effect within this


def user_for_token(token: str) -> Principal:
    """The principal of a bearer token, cached a few seconds per process (one query otherwise)."""
    digest = _hash_token(token)
    cache = current_app.extensions["loanflow_runtime"].principals
    hit = cache.get(digest)
    if hit is not None and hit[1] > monotonic():
        return hit[0]
    principal = _principal_for_token_hash(digest)
    if len(cache) > 10_000:
        cache.clear()
    cache[digest] = (principal, monotonic() + TOKEN_CACHE_SECONDS)
    return principal


def _principal_for_token_hash(digest: str) -> Principal:
    rows = db.session.execute(_PRINCIPAL.add_columns(ApiToken.revoked_at)
                              .join(ApiToken, ApiToken.user_id == User.id)
                              .where(ApiToken.token_hash == digest)).all()
    principal = _principal(rows) if rows and rows[0].revoked_at is None else None
    if principal is None:
        raise Unauthorized("invalid or revoked token")
    return principal


def ensure_platform_admin(username: str = "admin", org_code: str = "PLATFORM") -> str:
    """Idempotent seed: the platform organisation and its admin; returns a new token for the admin."""
    if db.session.scalar(select(Organisation).where(Organisation.code == org_code)) is None:
        create_org(org_code, ["platform"], "Loanflow platform")
    if db.session.scalar(select(User).where(User.username == username)) is None:
        create_user(username, org_code, ["platform_admin"], "Platform administrator")
    return issue_token(username)
