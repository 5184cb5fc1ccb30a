"""Organisations, their users, the roles users hold and their API tokens."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models.types import BigId, JsonType, UTCDateTime, utcnow

ORG_KINDS = ("platform", "funder", "borrower", "core_enterprise", "warehouse", "collection_agency")
PLATFORM_ROLES = frozenset({"platform_admin", "operator", "analyst", "auditor"})
ROLES = (
    "platform_admin", "operator", "analyst", "auditor",
    "first_reviewer", "second_reviewer", "finance",
    "applicant", "core_signer", "warehouse_supervisor", "collections_agent", "team_lead",
)
TOKEN_DAYS = 90  # an API token's life unless asked otherwise; rows from before 0007 count from created_at
MAX_TOKEN_DAYS = 365
TOKEN_LABEL_LENGTH = 100  # api_tokens.label


class Organisation(Model):
    __tablename__ = "organisations"
    # An index, not a table constraint: SQLite adds it without rebuilding a table others point to.
    __table_args__ = (Index("ix_organisations_credit_code", "credit_code", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The unified social credit code (统一社会信用代码) of a registered company: how leads and risk
    # enquiries find it.
    credit_code: Mapped[str | None] = mapped_column(String(18))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kinds: Mapped[list[OrgKind]] = relationship(back_populates="organisation", cascade="all, delete-orphan")

    @property
    def kind_codes(self) -> list[str]:
        return sorted(k.kind for k in self.kinds)


class OrgKind(Model):
    __tablename__ = "org_kinds"

    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation: Mapped[Organisation] = relationship(back_populates="kinds")


class User(Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(255))
    mobile: Mapped[str | None] = mapped_column(String(20))  # a mainland mobile number, for SMS notices
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))  # argon2; None until the invitation is used
    locale: Mapped[str | None] = mapped_column(String(8))  # zh | en; None: from the browser
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    organisation: Mapped[Organisation] = relationship()
    roles: Mapped[list[UserRole]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def role_codes(self) -> frozenset[str]:
        return frozenset(r.role for r in self.roles)

    def has_role(self, role: str) -> bool:
        return role in self.role_codes


class UserRole(Model):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    user: Mapped[User] = relationship(back_populates="roles")


class ApiToken(Model):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # None only for rows made before 0007
    label: Mapped[str | None] = mapped_column(String(TOKEN_LABEL_LENGTH))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user: Mapped[User] = relationship()


class UserSession(Model):
    """A signed-in browser session: the cookie carries a random id whose SHA-256 is stored here.

    It ends at sign-out (that session), and at a password, role or status change (all of the
    user's sessions); an ended or expired row no longer signs anyone in.
    """

    __tablename__ = "user_sessions"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_reason: Mapped[str | None] = mapped_column(String(32))  # logout | password | roles | deactivated ...
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))


class SignInThrottle(Model):
    """Failed sign-ins per key, each a hash: of a (user name, client address) pair (an exponential
    backoff), of a user name alone (the account lock) or of an address alone (the address limit);
    see `app.services.identity.accounts.authenticate`. A name that does not exist is throttled and
    locked exactly like one that does.
    """

    __tablename__ = "sign_in_throttles"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class UserToken(Model):
    """A single-use, expiring link: an invitation to set a first password, or a password reset."""

    __tablename__ = "user_tokens"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # invite | reset
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEntry(Model):
    """Who did what to whom: sign-ins (and failures) and every administrative change."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(255))
    ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
