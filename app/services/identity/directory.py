"""Organisations, users, the roles they hold, and API tokens: who a request acts for.

Who may grant which role is `app.services.identity.grants`'; every path that creates a user comes
through `create_user`, and every principal is read with the roles that count (`effective_roles`).
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.models import ApiToken, Organisation, OrgKind, User, UserRole
from app.models.identity import (
    MAX_TOKEN_DAYS,
    ORG_KINDS,
    PLATFORM_ROLES,
    ROLES,
    TOKEN_DAYS,
    TOKEN_LABEL_LENGTH,
)
from app.services.clock import now
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict, Invalid, NotFound, Unauthorized
from app.services.identity import grants
from app.services.identity.audit import audit
from handlers.identifiers import valid_credit_code

LAST_USED_PRECISION = timedelta(minutes=5)  # a token's last_used_at is written at most this often
ORG_CODE = re.compile(r"[A-Z][A-Z0-9_-]{1,31}")  # BANK1, TRADER-SH: what processes' parties and reports name
ORG_CODE_RULE = _l("2 to 32 characters: capital letters A-Z, digits, '-' or '_', starting with a letter")
ORG_NAME_LENGTH = 200  # organisations.name


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_org_code_and_name(code: str, name: str) -> None:
    """An organisation's code matches ORG_CODE (422, field `code`, error code `bad_org_code`); its
    name is 1 to ORG_NAME_LENGTH characters after trimming (field `name`, `bad_org_name`)."""
    if not ORG_CODE.fullmatch(code):
        raise Invalid(_l("organisation code %(code)s is not valid: %(rule)s", code=repr(code[:40]), rule=ORG_CODE_RULE),
                      fields={"code": [ORG_CODE_RULE]}, code="bad_org_code")
    if not name.strip() or len(name) > ORG_NAME_LENGTH:
        rule = _l("1 to %(n)s characters", n=ORG_NAME_LENGTH)
        raise Invalid(_l("organisation name: %(rule)s", rule=rule), fields={"name": [rule]}, code="bad_org_name")


CREDIT_CODE_RULE = _l("18 characters with a valid check character")


def checked_credit_code(value: str | None, org_id: int | None = None) -> str | None:
    """A unified social credit code as kept (upper case; None for none): 18 characters with its check character
    (422, field `credit_code`, `bad_credit_code`), on file for no other organisation (409, `credit_code_taken`):
    a company's deals are risk-checked and its signer verified by it."""
    code = (value or "").strip().upper() or None
    if code is None:
        return None
    if not valid_credit_code(code):
        raise Invalid(_l("unified social credit code %(code)s is not valid: %(rule)s", code=repr(code[:40]),
                         rule=CREDIT_CODE_RULE), fields={"credit_code": [CREDIT_CODE_RULE]}, code="bad_credit_code")
    holder = db.session.scalar(select(Organisation.id).where(Organisation.credit_code == code))
    if holder is not None and holder != org_id:
        raise Conflict(_l("unified social credit code %(code)s is already on file for another organisation",
                          code=repr(code)), code="credit_code_taken")
    return code


def create_org(code: str, kinds: list[str], name: str, actor: Principal | None = None,
               commit: bool = True, credit_code: str | None = None) -> Organisation:
    """A new organisation of `kinds`; every path (CLI, administration page, seeds) comes here, so
    the code and name are checked once (`check_org_code_and_name`), and its unified social credit code
    when one is given (`checked_credit_code`). `commit` False: in the caller's transaction (a service
    task's step)."""
    unknown = sorted(set(kinds) - set(ORG_KINDS))
    if unknown or not kinds:
        raise Invalid(_l("unknown organisation kind(s): %(kinds)s; choose from %(choices)s",
                         kinds=", ".join(unknown) or _l("(none given)"), choices=", ".join(ORG_KINDS)),
                      fields={"kind": [_l("unknown kind")]})
    check_org_code_and_name(code, name)
    grants.check_may_create_org(actor, kinds)
    if db.session.scalar(select(Organisation).where(Organisation.code == code)):
        raise Conflict(_l("organisation %(code)s already exists", code=repr(code)))
    credit_code = checked_credit_code(credit_code)
    org = Organisation(code=code, name=name, created_at=now(), credit_code=credit_code)
    org.kinds = [OrgKind(kind=k) for k in sorted(set(kinds))]
    db.session.add(org)
    audit("org_created", actor.id if actor else None, f"org:{code}", kinds=sorted(set(kinds)), name=name,
          credit_code=credit_code)
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return org


def set_credit_code(org_code: str, credit_code: str, actor: Principal | None) -> Organisation:
    """Record (or correct) the unified social credit code of a registered organisation, for whoever may
    register an organisation of its kinds; audited."""
    if actor is not None:
        grants.require_administrator(actor)  # before the code is read: the answer never depends on it
    org = db.session.scalar(select(Organisation).where(Organisation.code == org_code))
    if org is None:
        raise NotFound(_l("organisation %(code)s is not registered", code=repr(org_code[:40])))
    grants.check_may_create_org(actor, org.kind_codes)
    code = checked_credit_code(credit_code, org.id)
    if code is None:
        raise Invalid(_l("unified social credit code %(code)s is not valid: %(rule)s", code="''",
                         rule=CREDIT_CODE_RULE), fields={"credit_code": [CREDIT_CODE_RULE]}, code="bad_credit_code")
    if code != org.credit_code:
        audit("org_credit_code_set", actor.id if actor else None, f"org:{org.code}", before=org.credit_code,
              credit_code=code)
        org.credit_code = code
    db.session.commit()
    return org


USERNAME_LENGTH = 80
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def _user_errors(username: str, email: str | None, mobile: str | None) -> dict[str, list[Any]]:
    errors: dict[str, list[Any]] = {}
    if not username or len(username) > USERNAME_LENGTH or any(c.isspace() or not c.isprintable() for c in username):
        errors["username"] = [_l("1 to %(n)s characters, without spaces.", n=USERNAME_LENGTH)]
    if email and (len(email) > 254 or not _EMAIL.fullmatch(email)):
        errors["email"] = [_l("An e-mail address such as name@example.com.")]
    if mobile and not _MOBILE.fullmatch(mobile):
        errors["mobile"] = [_l("A mainland mobile number: 11 digits starting with 1.")]
    return errors


def _holder_of(username: str) -> str | None:
    """The user name already taken that `username` would be, letter case aside (`Analyst` is `analyst`: the sign-in
    lock counts names in lower case, and a reader of the audit log takes them for one person)."""
    return db.session.scalar(select(User.username).where(func.lower(User.username) == username.lower()).limit(1))


def create_user(username: str, org_code: str, roles: list[str], display_name: str | None = None,
                actor: Principal | None = None, email: str | None = None, mobile: str | None = None,
                commit: bool = True) -> User:
    """A new user holding `roles` in the organisation: each role must belong in an organisation of
    that kind (422, field `role`) and be the actor's to grant (403); `actor` None is the CLI.
    `commit` False: in the caller's transaction (a service task's step)."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise Invalid(_l("unknown role(s): %(roles)s; choose from %(choices)s",
                         roles=", ".join(unknown), choices=", ".join(ROLES)),
                      fields={"role": [_l("unknown role")]})
    org = db.session.scalar(select(Organisation).where(Organisation.code == org_code))
    errors = _user_errors(username, email, mobile)
    if not roles:
        errors["role"] = [_l("Choose at least one role.")]
    if org is None:
        errors["org"] = [_l("Choose a registered organisation.")]
    if errors:  # every field at once: one submission says all that is wrong (a name taken alone is a conflict)
        if "username" not in errors and _holder_of(username):
            errors["username"] = [_l("This user name is taken.")]
        if org is not None and roles:  # a role that does not belong in the organisation, with the rest
            try:
                grants.check_roles_fit(roles, org.code, org.kind_codes)
            except Invalid as misfit:
                errors["role"] = list(misfit.fields["role"])
        raise Invalid(_l("The user cannot be created: see the fields."), fields=errors)
    assert org is not None
    grants.check_roles_fit(roles, org.code, org.kind_codes)
    grants.check_may_grant(actor, roles)
    if holder := _holder_of(username):
        raise Conflict(_l("user %(name)s already exists", name=repr(holder)))
    user = User(username=username, org_id=org.id, display_name=display_name, created_at=now())
    user.roles = [UserRole(role=r) for r in sorted(set(roles))]
    user.email, user.mobile = email, mobile
    db.session.add(user)
    audit("user_created", actor.id if actor else None, f"user:{username}", org=org_code, roles=sorted(set(roles)))
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return user


# -- API tokens -------------------------------------------------------------------------------

def token_expiry(row: ApiToken) -> datetime:
    """When a token stops working: its own expiry, or TOKEN_DAYS after it was made (rows before 0007)."""
    return row.expires_at or row.created_at + timedelta(days=TOKEN_DAYS)


def token_state(row: ApiToken, at: datetime | None = None) -> str:
    if row.revoked_at is not None:
        return "revoked"
    return "expired" if token_expiry(row) <= (at or now()) else "active"


@dataclass(frozen=True)
class IssuedToken:
    """A token as issued: the secret itself is here once and never stored."""

    row: ApiToken
    token: str


def create_token(user_id: int, days: int = TOKEN_DAYS, label: str | None = None, actor_id: int | None = None,
                 not_after: datetime | None = None) -> IssuedToken:
    """A new bearer token for the user, valid `days` (at most `not_after`); only its hash is kept."""
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise Invalid(_l("a token lives 1 to %(n)s days", n=MAX_TOKEN_DAYS),
                      fields={"days": [_l("1 to %(n)s", n=MAX_TOKEN_DAYS)]})
    if label is not None and len(label) > TOKEN_LABEL_LENGTH:
        raise Invalid(_l("a label has at most %(n)s characters", n=TOKEN_LABEL_LENGTH),
                      fields={"label": [_l("at most %(n)s characters", n=TOKEN_LABEL_LENGTH)]})
    at = now()
    expires = at + timedelta(days=days)
    if not_after is not None:
        expires = min(expires, not_after)
    token = "lf_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user_id, token_hash=_hash_token(token), created_at=at, expires_at=expires,
                   label=label or None)
    db.session.add(row)
    db.session.flush()
    audit("token_issued", actor_id, f"user:{user_id}", token_id=row.id, label=row.label,
          expires_at=expires.isoformat())
    db.session.commit()
    return IssuedToken(row, token)


def issue_token(username: str, days: int = TOKEN_DAYS, label: str | None = None) -> str:
    """A new bearer token for the user (by the machine's operator: the CLI, the seed); shown once."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise Invalid(_l("unknown user %(name)s", name=repr(username)), fields={"username": [_l("unknown user")]})
    return create_token(user.id, days, label).token


def tokens_of(user_id: int, page: int = 1, per_page: int | None = None) -> tuple[list[ApiToken], int]:
    """The user's tokens, newest first (revoked and expired ones included), a page at a time; the total."""
    query = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())
    total = db.session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user_id))
    if per_page is not None:
        query = query.limit(per_page).offset((page - 1) * per_page)
    return list(db.session.scalars(query)), int(total or 0)


def live_tokens(user_id: int) -> int:
    """How many of the user's tokens still work."""
    at = now()
    return int(db.session.scalar(select(func.count()).select_from(ApiToken).where(
        ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None),
        or_(ApiToken.expires_at > at, and_(ApiToken.expires_at.is_(None),
                                           ApiToken.created_at > at - timedelta(days=TOKEN_DAYS))))) or 0)


def revoke_token(row: ApiToken, actor_id: int | None = None) -> ApiToken:
    """Revoke a token at once (the caller checked who may); revoking it again changes nothing."""
    if row.revoked_at is None:
        row.revoked_at = now()
        audit("token_revoked", actor_id, f"user:{row.user_id}", token_id=row.id, label=row.label)
        db.session.commit()
    return row


@dataclass(frozen=True)
class Principal:
    """Who is acting: what every permission check needs, read in one query per request."""

    id: int
    username: str
    org_id: int
    roles: frozenset[str]
    org_kinds: frozenset[str] = frozenset()
    locale: str | None = None
    display_name: str | None = None

    def has_role(self, role: str) -> bool:
        return role in self.roles

    @property
    def name(self) -> str:
        """What a person is called on a page: their display name, else their user name."""
        return self.display_name or self.username

    @property
    def is_platform(self) -> bool:
        """A platform role in a platform organisation: sees every deal."""
        return "platform" in self.org_kinds and bool(self.roles & PLATFORM_ROLES)


Actor = Principal  # services act for a Principal; the name says what the parameter is for

_PRINCIPAL = (select(User.id, User.username, User.org_id, User.active, User.locale, User.display_name, UserRole.role,
                     OrgKind.kind)
              .select_from(User).outerjoin(UserRole, UserRole.user_id == User.id)
              .outerjoin(OrgKind, OrgKind.org_id == User.org_id))


def _principal(rows) -> Principal | None:  # noqa: ANN001
    """The principal of a user's rows (one per role and org kind), with only the roles that count:
    a role held in an organisation of a kind it does not belong in grants nothing."""
    if not rows or not rows[0].active:
        return None
    first = rows[0]
    kinds = frozenset(r.kind for r in rows if r.kind)
    roles = grants.effective_roles((r.role for r in rows if r.role), kinds)
    return Principal(first.id, first.username, first.org_id, roles, kinds, first.locale, first.display_name)


_USER_PRINCIPAL = _PRINCIPAL.where(User.id == bindparam("user_id"))


def principal_for_user(user_id: int) -> Principal | None:
    """The principal of a user id (None: no such user, or deactivated), in one query.

    The statement is built once and run on the session's connection: its cache key is computed
    once and no ORM result machinery runs, which is most of a query's cost per request here."""
    return _principal(db.session.connection().execute(_USER_PRINCIPAL, {"user_id": user_id}).all())


def principal_for(username: str) -> Principal:
    user_id = db.session.scalar(select(User.id).where(User.username == username))
    principal = principal_for_user(user_id) if user_id is not None else None
    if principal is None:
        raise Invalid(_l("unknown or inactive user %(name)s", name=repr(username)),
                      fields={"username": [_l("unknown user")]})
    return principal


@dataclass(frozen=True)
class TokenUse:
    """Who a bearer token acts for, and the token itself (a token mints none that outlives it)."""

    principal: Principal
    token_id: int
    expires_at: datetime


_TOKEN_PRINCIPAL = (_PRINCIPAL.add_columns(ApiToken.id.label("token_id"), ApiToken.revoked_at, ApiToken.expires_at,
                                           ApiToken.created_at.label("token_created_at"), ApiToken.last_used_at)
                    .join(ApiToken, ApiToken.user_id == User.id).where(ApiToken.token_hash == bindparam("digest")))


def authenticate_token(token: str) -> TokenUse:
    """The principal of a bearer token, read afresh on every request (one query on the unique
    token hash): a revoked or expired token, or a deactivated user's, is refused at once (401)."""
    rows = db.session.connection().execute(_TOKEN_PRINCIPAL, {"digest": _hash_token(token)}).all()  # as above
    if not rows:
        raise Unauthorized(_l("invalid token"))
    first, at = rows[0], now()
    if first.revoked_at is not None:
        raise Unauthorized(_l("this token has been revoked"), code="token_revoked")
    expires = first.expires_at or first.token_created_at + timedelta(days=TOKEN_DAYS)
    if expires <= at:
        raise Unauthorized(_l("this token has expired"), code="token_expired")
    principal = _principal(rows)
    if principal is None:
        raise Unauthorized(_l("this account is deactivated"), code="account_inactive")
    if first.last_used_at is None or first.last_used_at <= at - LAST_USED_PRECISION:
        _stamp_last_used(first.token_id, at)
    return TokenUse(principal, first.token_id, expires)


def _stamp_last_used(token_id: int, at: datetime) -> None:
    """Note the token's use, at most every LAST_USED_PRECISION, in a transaction of its own that
    does not wait: while another request holds the lock (SQLite's write lock during a long step,
    or the token's row), the note is skipped rather than keep the request waiting; a later request
    takes it."""
    db.session.commit()  # the read's transaction ends first: a stale read cannot be upgraded on SQLite
    connection = db.session.connection()
    waited = None
    if connection.dialect.name == "sqlite":
        waited = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        connection.exec_driver_sql("PRAGMA busy_timeout=0")
    else:  # PostgreSQL: only the token's own row can be locked (a revocation in flight)
        connection.exec_driver_sql("SET LOCAL lock_timeout = '50ms'")
    try:
        connection.execute(_STAMP, {"token_id": token_id, "at": at})
        stamped = True
    except OperationalError:  # the write lock is someone else's just now
        stamped = False
    finally:
        if waited is not None:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={int(waited)}")
    if stamped:
        db.session.commit()
    else:
        db.session.rollback()


_STAMP = update(ApiToken).where(ApiToken.id == bindparam("token_id")).values(last_used_at=bindparam("at"))


PLATFORM_ADMIN_NAME = "Platform administrator"  # the first admin's display name until someone names them


def ensure_platform_admin(username: str = "admin", org_code: str = "PLATFORM") -> str:
    """Idempotent seed: the platform organisation and its admin; returns a new token for the admin."""
    if db.session.scalar(select(Organisation).where(Organisation.code == org_code)) is None:
        create_org(org_code, [grants.PLATFORM], "Loanflow")  # a name in no one language
    if db.session.scalar(select(User).where(User.username == username)) is None:
        create_user(username, org_code, [grants.PLATFORM_ADMIN], PLATFORM_ADMIN_NAME)
    return issue_token(username)
