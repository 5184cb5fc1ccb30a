"""Accounts: invitations and password resets by single-use links, sign-in with lockout, the audit log."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select, update

from app.extensions import db
from app.models import User, UserToken
from app.services.audit import audit
from app.services.clock import now
from app.services.errors import Invalid, NotFound, Unauthorized
from app.services.identity import Principal, principal_for_user

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
INVITE_VALID = timedelta(days=7)
RESET_VALID = timedelta(hours=2)
MIN_PASSWORD_LENGTH = 10

def _hasher() -> PasswordHasher:
    """argon2id with the library's defaults; tests may lower the cost (PASSWORD_HASH_FAST)."""
    if current_app.config.get("PASSWORD_HASH_FAST"):
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_link_token(user_id: int, purpose: str, actor_id: int | None = None) -> str:
    """A single-use token for an invitation or a reset; earlier unused ones of that purpose lapse."""
    at = now()
    db.session.execute(update(UserToken).where(UserToken.user_id == user_id, UserToken.purpose == purpose,
                                               UserToken.used_at.is_(None)).values(used_at=at))
    token = secrets.token_urlsafe(32)
    valid = INVITE_VALID if purpose == "invite" else RESET_VALID
    db.session.add(UserToken(user_id=user_id, purpose=purpose, token_hash=_digest(token), created_at=at,
                             expires_at=at + valid))
    audit(f"{purpose}_issued", actor_id, f"user:{user_id}")
    db.session.commit()
    return token


def invite(username: str, actor_id: int | None = None) -> str:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"unknown user {username!r}")
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
        raise NotFound("this link is invalid, used or expired")
    return row


def check_password_strength(password: str, username: str) -> None:
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"at least {MIN_PASSWORD_LENGTH} characters")
    if username.lower() in password.lower():
        problems.append("must not contain the username")
    if password.isdigit() or password.isalpha():
        problems.append("mix letters with digits or symbols")
    if problems:
        raise Invalid("the password is too weak", fields={"password": problems})


def set_password_with_token(token: str, purpose: str, password: str, ip: str | None = None) -> Principal:
    """Use an invitation or reset link: set the password, spend the token, unlock the account."""
    row = check_link_token(token, purpose)
    user = db.session.get(User, row.user_id)
    assert user is not None
    check_password_strength(password, user.username)
    spent = db.session.execute(update(UserToken).where(UserToken.id == row.id, UserToken.used_at.is_(None))
                               .values(used_at=now())).rowcount  # type: ignore[attr-defined]
    if spent != 1:
        db.session.rollback()
        raise NotFound("this link is invalid, used or expired")
    user.password_hash = _hasher().hash(password)
    user.failed_logins = 0
    user.locked_until = None
    audit(f"password_set_by_{purpose}", user.id, f"user:{user.id}", ip)
    db.session.commit()
    principal = principal_for_user(user.id)
    if principal is None:
        raise Unauthorized("this account is not active")
    return principal


def authenticate(username: str, password: str, ip: str | None = None) -> Principal:
    """Check a sign-in; repeated failures lock the account for a while. Every attempt is audited."""
    at = now()
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or user.password_hash is None:
        _hasher().hash(password)  # spend the same time as a real check: no user enumeration by timing
        audit("login_failed", None, f"username:{username}", ip, reason="unknown or inactive")
        db.session.commit()
        raise Unauthorized("wrong username or password")
    if user.locked_until is not None and user.locked_until > at:
        audit("login_locked", user.id, f"user:{user.id}", ip)
        db.session.commit()
        raise Unauthorized(_locked_message(user.locked_until, at), code="locked")
    try:
        _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = at + LOCKOUT
            user.failed_logins = 0
        audit("login_failed", user.id, f"user:{user.id}", ip, reason="wrong password")
        db.session.commit()
        if user.locked_until is not None and user.locked_until > at:
            raise Unauthorized(_locked_message(user.locked_until, at), code="locked") from None
        raise Unauthorized("wrong username or password") from None
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = _hasher().hash(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = at
    audit("login", user.id, f"user:{user.id}", ip)
    db.session.commit()
    principal = principal_for_user(user.id)
    assert principal is not None
    return principal


def _locked_message(until: datetime, at: datetime) -> str:
    minutes = max(1, int((until - at).total_seconds() // 60))
    return f"too many failed sign-ins: the account is locked for {minutes} more minute(s)"


def set_locale(user_id: int, locale: str) -> None:
    db.session.execute(update(User).where(User.id == user_id).values(locale=locale))
    db.session.commit()
