"""In-app notices as their reader sees them: one's own notices, newest first, how many are unread,
and marking one read. A notice is a row of `notifications` on the `in_app` channel addressed to the
user; another user's notice, or an SMS or e-mail, is not found (404) here, whoever asks.

A notice is read in the reader's language: its template filled again from its parameters (the text
stored when it was sent is in the recipient's language of that day, and stays for the rest).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import Notification
from app.services import clock
from app.services.context import lazy_gettext as _l
from app.services.errors import NotFound
from app.services.identity.directory import Principal
from app.services.notices.templates import TEMPLATES, render

IN_APP = "in_app"
READ = "read"


@dataclass(frozen=True)
class Notice:
    """A notice as its reader sees it, in their language."""

    id: int
    subject: str
    body: str
    template: str
    business_key: str | None
    created_at: datetime
    read_at: datetime | None

    @property
    def read(self) -> bool:
        return self.read_at is not None


def _view(row: Notification, language: str) -> Notice:
    subject, body = row.subject, row.body
    if row.template in TEMPLATES:
        subject, body = render(row.template, row.params or {}, language)
    return Notice(row.id, subject, body, row.template, row.business_key, row.created_at, row.read_at)


def _mine(principal: Principal):  # noqa: ANN202 - a SQL condition
    return (Notification.user_id == principal.id) & (Notification.channel == IN_APP)


def my_notices(principal: Principal, page: int = 1, per_page: int = 20, unread_only: bool = False,
               language: str = "zh") -> dict[str, Any]:
    """A page of the principal's notices, newest first, in `language` (`zh`, `en`): `items` (`Notice`),
    `total`, `page`, `per_page`, `unread`."""
    condition = _mine(principal)
    if unread_only:
        condition = condition & Notification.read_at.is_(None)
    total = db.session.scalar(select(func.count()).select_from(Notification).where(condition)) or 0
    rows = list(db.session.scalars(select(Notification).where(condition).order_by(Notification.created_at.desc(), Notification.id.desc())
                                   .offset((page - 1) * per_page).limit(per_page)))
    return {"items": [_view(row, language) for row in rows], "total": total, "page": page, "per_page": per_page, "unread": unread_count(principal)}


def unread_count(principal: Principal) -> int:
    """How many of the principal's notices are not read yet (the header's number)."""
    return db.session.scalar(select(func.count()).select_from(Notification)
                             .where(_mine(principal), Notification.read_at.is_(None))) or 0


def mark_read(principal: Principal, notice_id: int, language: str = "zh") -> Notice:
    """Mark one of the principal's notices read (again: no change); another's is not found."""
    row = db.session.scalar(select(Notification).where(Notification.id == notice_id, _mine(principal)))
    if row is None:
        raise NotFound(_l("No such notice."), code="notice_not_found")
    if row.read_at is None:
        row.read_at = clock.now()
        row.status = READ
        db.session.commit()
    return _view(row, language)


def mark_all_read(principal: Principal) -> int:
    """Mark every unread notice of the principal read; how many were."""
    rows = list(db.session.scalars(select(Notification).where(_mine(principal), Notification.read_at.is_(None))))
    at = clock.now()
    for row in rows:
        row.read_at, row.status = at, READ
    db.session.commit()
    return len(rows)
