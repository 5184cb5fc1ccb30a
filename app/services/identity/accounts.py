"""Accounts: invitations and password resets by single-use links, the password policy, sign-in
throttled per (user name, address) pair, locked per user name, limited per address, the unlock."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from zxcvbn import zxcvbn

from app.extensions import db
from app.models import AuditEntry, SignInThrottle, User, UserToken
from app.services import context
from app.services.clock import now
from app.services.context import lazy_gettext as _l
from app.services.errors import Invalid, NotFound, Unauthorized
from app.services.identity.audit import audit
from app.services.identity.directory import Principal, principal_for_user
from app.services.identity.sessions import end_user_sessions

FREE_ATTEMPTS = 5  # failed sign-ins of one user name from one address before each further one waits
FIRST_WAIT = timedelta(seconds=30)  # after the FREE_ATTEMPTS-th failure; doubled after each further one
MAX_WAIT = timedelta(minutes=15)
FORGET_AFTER = timedelta(days=1)  # a (name, address) pair with no failure for this long starts afresh
ACCOUNT_LOCK_AFTER = 10  # counted failures of one user name from any addresses: the name is locked ...
ACCOUNT_LOCK = timedelta(minutes=15)  # ... this long (again after each further ACCOUNT_LOCK_AFTER)
ADDRESS_LIMIT = 50  # counted failures from one address within ADDRESS_WINDOW, whatever the names: ...
ADDRESS_WINDOW = timedelta(hours=1)
ADDRESS_WAIT = timedelta(minutes=5)  # ... the address waits this long (loose: one office shares an address)
INVITE_VALID = timedelta(days=7)
RESET_VALID = timedelta(hours=2)
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128  # a passphrase fits; a megabyte posted as a password does no work
MIN_PASSWORD_SCORE = 3  # zxcvbn's 0-4: 3 is "safely unguessable" (about 10^8 guesses or more)
ZXCVBN_MAX_LENGTH = 72  # zxcvbn reads this much (its cost grows with the length); the rest only adds
NAME_PART_MIN = 3  # a name's parts this long or longer may not appear in its password
# Why a password is refused (Invalid.fields["password"]); the pages say each in the reader's language.
PASSWORD_TOO_SHORT = f"at least {MIN_PASSWORD_LENGTH} characters"
PASSWORD_TOO_LONG = f"at most {MAX_PASSWORD_LENGTH} characters"
PASSWORD_HAS_NAME = "must not contain the account's own name, its organisation's or its e-mail"
PASSWORD_GUESSABLE = "too easy to guess: use several uncommon words, or a longer mix of letters, digits and symbols"
SIGN_IN_FAILED = _l("wrong username or password, or too many failed attempts: wait a moment and try again")

LINK_INVALID = _l("this link is invalid, used or expired")


class SignInLocked(Unauthorized):
    """A sign-in refused, without checking the password, because the user name is locked
    (`scope` "account") or the address has failed too often (`scope` "address") until `until`.
    Said the same for a name that exists and one that does not."""

    code = "sign_in_locked"

    def __init__(self, scope: str, until: datetime) -> None:
        at = until.isoformat(timespec="minutes")
        super().__init__(_l("too many failed sign-ins for this account: locked until %(at)s", at=at) if scope == "account"
                         else _l("too many failed sign-ins from this address: locked until %(at)s", at=at))
        self.scope = scope
        self.until = until


def _hasher() -> PasswordHasher:
    """argon2id with the library's defaults; tests may lower the cost (PASSWORD_HASH_FAST)."""
    if context.config("PASSWORD_HASH_FAST", False):
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link_token(user_id: int, purpose: str, actor_id: int | None = None, commit: bool = True) -> str:
    """A single-use token for an invitation or a reset; earlier unused ones of that purpose lapse.
    `commit` False: in the caller's transaction (a service task's step)."""
    at = now()
    db.session.execute(update(UserToken).where(UserToken.user_id == user_id, UserToken.purpose == purpose,
                                               UserToken.used_at.is_(None)).values(used_at=at))
    token = secrets.token_urlsafe(32)
    valid = INVITE_VALID if purpose == "invite" else RESET_VALID
    db.session.add(UserToken(user_id=user_id, purpose=purpose, token_hash=_digest(token), created_at=at,
                             expires_at=at + valid))
    audit(f"{purpose}_issued", actor_id, f"user:{user_id}")
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return token


def invite(username: str, actor_id: int | None = None) -> str:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(_l("unknown user %(name)s", name=repr(username)))
    return issue_link_token(user.id, "invite", actor_id)


def request_reset(username: str, ip: str | None = None) -> str | None:
    """A reset token for an active user who has a password; None (silently) otherwise."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or user.password_hash is None:
        audit("reset_requested_unknown", None, f"username:{username}", ip)
        db.session.commit()
        return None
    return issue_link_token(user.id, "reset")


def check_link_token(token: str, purpose: str) -> UserToken:
    row = db.session.scalar(select(UserToken).where(UserToken.token_hash == _digest(token),
                                                    UserToken.purpose == purpose))
    if row is None or row.used_at is not None or row.expires_at <= now():
        raise NotFound(LINK_INVALID)
    return row


def _account_words(user: User) -> list[str]:
    """What names the account: its user name, display name, e-mail and organisation (each whole and
    word by word), given to the strength checker as guessable."""
    org = user.organisation
    names = [user.username, user.display_name or "", user.email or "", org.code, org.name]
    words = {n.lower() for n in names if n}
    words |= {w.lower() for n in names for w in re.split(r"[\W_]+", n or "") if len(w) >= NAME_PART_MIN}
    return sorted(words)


def password_problems(password: str, user: User) -> list[str]:
    """Why a password is refused for this account (PASSWORD_* reasons), none if it may be set.

    The strength is zxcvbn's estimate (dictionaries, keyboard patterns, dates, repeats), with the
    account's own names as words an attacker tries first; a score below MIN_PASSWORD_SCORE is too
    easy to guess."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(PASSWORD_TOO_SHORT)
    if len(password) > MAX_PASSWORD_LENGTH:
        return [*problems, PASSWORD_TOO_LONG]
    words = _account_words(user)
    lowered = password.lower()
    if any(len(w) >= NAME_PART_MIN and w in lowered for w in words):
        problems.append(PASSWORD_HAS_NAME)
    result = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=words, max_length=ZXCVBN_MAX_LENGTH)
    if result["score"] < MIN_PASSWORD_SCORE:
        problems.append(PASSWORD_GUESSABLE)
    return problems


def check_password_strength(password: str, user: User) -> None:
    problems = password_problems(password, user)
    if problems:
        raise Invalid(_l("the password is too weak"), fields={"password": problems}, code="weak_password")


def link_account(token: str, purpose: str) -> dict[str, str | None]:
    """Whose account a valid invitation or reset link sets the password of, for its page."""
    user = db.session.get(User, check_link_token(token, purpose).user_id)
    assert user is not None
    return {"username": user.username, "display_name": user.display_name, "org": user.organisation.name}


def set_password_with_token(token: str, purpose: str, password: str, ip: str | None = None) -> Principal:
    """Use an invitation or reset link: set the password, spend the token, unlock the account."""
    row = check_link_token(token, purpose)
    user = db.session.get(User, row.user_id)
    assert user is not None
    check_password_strength(password, user)
    spent = db.session.execute(update(UserToken).where(UserToken.id == row.id, UserToken.used_at.is_(None))
                               .values(used_at=now())).rowcount  # type: ignore[attr-defined]
    if spent != 1:
        db.session.rollback()
        raise NotFound(LINK_INVALID)
    user.password_hash = _hasher().hash(password)
    ended = end_user_sessions(user.id, "password")  # whoever held the old password is signed out
    audit(f"password_set_by_{purpose}", user.id, f"user:{user.id}", ip, sessions_ended=ended)
    db.session.commit()
    principal = principal_for_user(user.id)
    if principal is None:
        raise Unauthorized(_l("this account is not active"))
    return principal


def authenticate(username: str, password: str, ip: str | None = None) -> Principal:
    """Check a sign-in. Failures are counted three ways (`sign_in_throttles`):

    - per (user name, address) pair: past FREE_ATTEMPTS each further attempt from that pair waits
      longer (30 s, 60 s, ... up to 15 minutes), answered like any failure (SIGN_IN_FAILED);
    - per user name, from any address: every ACCOUNT_LOCK_AFTER-th counted failure locks the name
      for ACCOUNT_LOCK (SignInLocked "account", with the time; an administrator can unlock it);
    - per address, whatever the names: ADDRESS_LIMIT failures within ADDRESS_WINDOW make the address
      wait ADDRESS_WAIT (SignInLocked "address"): loose, so one person's typos behind an office's
      one address never stop their colleagues.

    An attempt refused for a wait or a lock is not counted. Unknown name, inactive account and wrong
    password answer the same after the same work (one password hash), and a name that does not
    exist is locked exactly like one that does, so no answer tells whether an account exists. Every
    attempt is audited.
    """
    at = now()
    keys = (_throttle_key(username, ip), _account_key(username), _address_key(ip))
    blocked: dict[str, datetime] = {key: until for key, until in db.session.execute(
        select(SignInThrottle.key_hash, SignInThrottle.blocked_until)
        .where(SignInThrottle.key_hash.in_(keys), SignInThrottle.blocked_until > at)) if until is not None}
    user = db.session.scalar(select(User).where(User.username == username))
    target = f"user:{user.id}" if user is not None else f"username:{username[:64]}"
    for key, scope in ((keys[1], "account"), (keys[2], "address"), (keys[0], "pair")):
        if key in blocked:
            _hasher().hash(password)  # the work of a real check, and the password is not checked
            audit("login_throttled", user.id if user else None, target, ip, until=blocked[key].isoformat(),
                  scope=scope)
            db.session.commit()
            if scope == "pair":
                raise Unauthorized(SIGN_IN_FAILED)
            raise SignInLocked(scope, blocked[key])
    if user is None or not user.active or user.password_hash is None:
        _hasher().hash(password)
        _count_failure(keys, at)
        audit("login_failed", user.id if user else None, target, ip, reason="unknown or inactive")
        db.session.commit()
        raise Unauthorized(SIGN_IN_FAILED)
    try:
        _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        _count_failure(keys, at)
        audit("login_failed", user.id, target, ip, reason="wrong password")
        db.session.commit()
        raise Unauthorized(SIGN_IN_FAILED) from None
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = _hasher().hash(password)
    db.session.execute(delete(SignInThrottle).where(SignInThrottle.key_hash.in_(keys[:2])))  # not the address's
    user.last_login_at = at
    audit("login", user.id, target, ip)
    db.session.commit()
    principal = principal_for_user(user.id)
    assert principal is not None
    return principal


def _throttle_key(username: str, ip: str | None) -> str:
    """The throttle's row of a (user name, address) pair: names compare case-insensitively."""
    return hashlib.sha256(f"{username.lower()}\x00{ip or ''}".encode()).hexdigest()


def _account_key(username: str) -> str:
    """The throttle's row of a user name, from any address."""
    return hashlib.sha256(f"\x00account\x00{username.lower()}".encode()).hexdigest()


def _address_key(ip: str | None) -> str:
    """The throttle's row of an address, whatever the names."""
    return hashlib.sha256(f"\x00address\x00{ip or ''}".encode()).hexdigest()


def wait_after(failures: int) -> timedelta | None:
    """How long a pair waits after its `failures`-th failure in a row; None while attempts are free."""
    if failures < FREE_ATTEMPTS:
        return None
    return min(FIRST_WAIT * 2 ** min(failures - FREE_ATTEMPTS, 16), MAX_WAIT)


def _account_lock_after(failures: int) -> timedelta | None:
    return ACCOUNT_LOCK if failures % ACCOUNT_LOCK_AFTER == 0 else None


def _address_wait_after(failures: int) -> timedelta | None:
    return ADDRESS_WAIT if failures >= ADDRESS_LIMIT else None


def _count_failure(keys: tuple[str, str, str], at: datetime) -> None:
    """One more failure of the pair, the name and the address (atomic, so racing attempts each
    count; always in this order, so two writers never wait on each other in a circle); rows quiet
    for FORGET_AFTER are forgotten, and an address's count starts afresh after ADDRESS_WINDOW."""
    db.session.execute(delete(SignInThrottle).where(SignInThrottle.updated_at < at - FORGET_AFTER))
    pair, account, address = keys
    for key, window, wait_for in ((pair, FORGET_AFTER, wait_after), (account, FORGET_AFTER, _account_lock_after),
                                  (address, ADDRESS_WINDOW, _address_wait_after)):
        failures = _count(key, at, window)
        wait = wait_for(failures)
        if wait is not None:
            db.session.execute(update(SignInThrottle).where(SignInThrottle.key_hash == key)
                               .values(blocked_until=at + wait))


def _count(key: str, at: datetime, window: timedelta) -> int:
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(SignInThrottle).values(key_hash=key, failures=1, updated_at=at)
    fresh = case((SignInThrottle.updated_at < at - window, 1), else_=SignInThrottle.failures + 1)
    return db.session.execute(statement.on_conflict_do_update(
        index_elements=[SignInThrottle.key_hash],
        set_={"failures": fresh, "updated_at": at}).returning(SignInThrottle.failures)).scalar_one()


def unlock(user: User, actor_id: int | None) -> bool:
    """Lift a user's sign-in lock and the waits of the addresses they failed from this past day
    (read from the audit log); whether anything was locked or waiting."""
    since = now() - FORGET_AFTER
    addresses = set(db.session.scalars(select(AuditEntry.ip).where(
        AuditEntry.target == f"user:{user.id}", AuditEntry.action.in_(("login_failed", "login_throttled")),
        AuditEntry.at >= since)))
    keys = [_account_key(user.username), *(_throttle_key(user.username, ip) for ip in addresses)]
    lifted = db.session.execute(delete(SignInThrottle).where(SignInThrottle.key_hash.in_(keys))).rowcount  # type: ignore[attr-defined]
    audit("user_unlocked", actor_id, f"user:{user.id}", username=user.username)
    db.session.commit()
    return bool(lifted)


def outstanding_links() -> dict[int, dict[str, Any]]:
    """Each user's unused, unexpired invitation or reset link (the newest): purpose, issued, expires."""
    at = now()
    rows = db.session.scalars(select(UserToken).where(UserToken.used_at.is_(None), UserToken.expires_at > at)
                              .order_by(UserToken.created_at, UserToken.id))
    return {row.user_id: {"purpose": row.purpose, "created_at": row.created_at, "expires_at": row.expires_at}
            for row in rows}


def locked_until(usernames: list[str]) -> dict[str, datetime]:
    """Which of these user names are locked now, and until when."""
    keys = {_account_key(name): name for name in usernames}
    rows = db.session.execute(select(SignInThrottle.key_hash, SignInThrottle.blocked_until).where(
        SignInThrottle.key_hash.in_(keys), SignInThrottle.blocked_until > now())).all()
    return {keys[key]: until for key, until in rows if until is not None}


def set_locale(user_id: int, locale: str) -> None:
    db.session.execute(update(User).where(User.id == user_id).values(locale=locale))
    db.session.commit()
