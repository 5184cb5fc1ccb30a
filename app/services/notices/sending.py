"""Sending notices: to the users of an organisation (in-app, and by e-mail or SMS where their
account has an address) or to an address (a lead's mobile), through the notify adapter.

`send` records every message in the caller's transaction (a service task's step): an in-app notice
is there at once, an SMS or e-mail is `queued`. The worker (`deliver_queued`, every few seconds)
hands queued ones to the adapter after that transaction committed, so a decision never waits on,
nor is undone by, an SMS gateway: a provider that refuses an address marks the message failed with
its reason; a provider that is down is tried again (10 s, then twice as long each time) up to
`MAX_ATTEMPTS`, then the message is failed with the reason. The adapter is the configured provider
(`LOANFLOW_NOTIFY_URL`, an HTTP client) or, unset, the simulator in process; a test puts its own in
`app.extensions["notifier"]`. The same idempotency key twice sends nothing twice.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.engine.said import said
from app.extensions import db
from app.models import Notification, User, UserRole
from app.services import clock, context
from app.services.notices.templates import TEMPLATES, render
from handlers.errors import ProviderError, ProviderUnavailable
from handlers.notify import HttpNotifyClient, Notifier, SimulatedNotify
from handlers.notify import Notification as Message

SIMULATOR = "simulator"


def notifier() -> tuple[Notifier, str]:
    """The notify adapter this application sends through, and its provider's name."""
    configured = context.extension("notifier", None)
    if configured is not None:
        return configured, getattr(configured, "name", "test")
    url = context.config("NOTIFY_URL", "")
    if url:
        return HttpNotifyClient(url, context.config("NOTIFY_API_KEY", "")), url
    return SimulatedNotify(), SIMULATOR


def _seen(key: str | None) -> bool:
    return key is not None and db.session.scalar(
        select(Notification.id).where(Notification.idempotency_key == key)) is not None


def send(template: str, params: Mapping[str, Any], *, org_id: int | None = None, roles: Iterable[str] = (),
         user_ids: Iterable[int] = (), addresses: Iterable[tuple[str, str]] = (), business_key: str | None = None,
         idempotency_key: str | None = None) -> list[int]:
    """Send `template` to the active users of `org_id` (holding one of `roles`, if given), to
    `user_ids`, and to `addresses` ((channel, address) pairs); the ids of the notifications."""
    if template not in TEMPLATES:
        raise ValueError(said("no notice template %(name)s; known: %(known)s", name=repr(template),
                              known=", ".join(sorted(TEMPLATES))))
    query = select(User).where(User.active.is_(True))
    wanted_roles = list(roles)
    targets: list[User] = []
    if org_id is not None:
        org_query = query.where(User.org_id == org_id)
        if wanted_roles:
            org_query = org_query.where(User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(wanted_roles))))
        targets += list(db.session.scalars(org_query.order_by(User.id)))
    ids = [i for i in user_ids if i not in {u.id for u in targets}]
    if ids:
        targets += list(db.session.scalars(query.where(User.id.in_(ids)).order_by(User.id)))
    sent: list[int] = []
    at = clock.now()
    for user in targets:
        subject, body = render(template, params, user.locale or "zh")
        channels = [("in_app", user.username)]
        channels += [("email", user.email)] if user.email else []
        channels += [("sms", user.mobile)] if user.mobile else []
        for channel, to in channels:
            sent += _one(template, params, channel, to, subject, body, business_key,
                         f"{idempotency_key}:{channel}:{user.id}" if idempotency_key else None, at,
                         user_id=user.id, org_id=user.org_id)
    for channel, to in addresses:
        subject, body = render(template, params, "zh")
        sent += _one(template, params, channel, to, subject, body, business_key,
                     f"{idempotency_key}:{channel}:{to}" if idempotency_key else None, at)
    return sent


def _one(template: str, params: Mapping[str, Any], channel: str, to: str, subject: str, body: str,
         business_key: str | None, key: str | None, at: datetime, user_id: int | None = None,
         org_id: int | None = None) -> list[int]:
    if _seen(key):
        return []
    in_app = channel == "in_app"
    row = Notification(channel=channel, recipient=to, user_id=user_id, org_id=org_id, template=template,
                       params={k: str(v) for k, v in params.items()}, subject=subject, body=body,
                       business_key=business_key, provider="platform" if in_app else "",
                       status="sent" if in_app else "queued", next_attempt_at=None if in_app else at,
                       idempotency_key=key, created_at=at)
    db.session.add(row)
    db.session.flush()
    return [row.id]


MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=10)


def deliver_queued(limit: int = 100) -> int:
    """Hand the queued SMS and e-mails that are due to the notify adapter, each in its own
    transaction; how many were handed over (sent or refused). Several workers never send one twice
    (PostgreSQL: SKIP LOCKED)."""
    at = clock.now()
    due = list(db.session.scalars(select(Notification.id).where(
        Notification.status == "queued", Notification.next_attempt_at <= at)
        .order_by(Notification.next_attempt_at, Notification.id).limit(limit)))
    db.session.rollback()  # no transaction held while a provider answers
    provider, name = notifier()
    done = 0
    for notification_id in due:
        row = db.session.scalar(select(Notification).where(
            Notification.id == notification_id, Notification.status == "queued").with_for_update(skip_locked=True))
        if row is None:
            db.session.rollback()
            continue
        message = Message(channel=row.channel, to=row.recipient, subject=row.subject, body=row.body,  # type: ignore[arg-type]
                          ref=row.idempotency_key or f"notification-{row.id}")
        row.provider, row.attempts = name, row.attempts + 1
        try:
            result = provider.send(message)
        except ProviderUnavailable as exc:
            if row.attempts >= MAX_ATTEMPTS:
                row.status, row.error, row.next_attempt_at = "failed", str(exc), None
            else:
                row.next_attempt_at, row.error = clock.now() + FIRST_RETRY * 2 ** (row.attempts - 1), str(exc)
        except ProviderError as exc:
            row.status, row.error, row.next_attempt_at = "failed", str(exc), None
            done += 1
        else:
            row.status, row.provider_message_id, row.error, row.next_attempt_at = \
                "sent", result.provider_message_id, None, None
            done += 1
        db.session.commit()
    return done
