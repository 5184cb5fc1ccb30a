"""Sending notices: to the users of an organisation (in-app, and by e-mail or SMS where their
account has an address) or to an address (a lead's mobile), through the notify adapter.

The adapter is the configured provider (`LOANFLOW_NOTIFY_URL`, an HTTP client) or, unset, the
simulator in process; a test puts its own in `app.extensions["notifier"]`. Every message is a
row of `notifications`; a retried send with the same idempotency key sends nothing twice. A
provider that refuses an address marks that message failed and the others go on; a provider that
is down raises `ProviderUnavailable`, which a service task retries (and, in the end, an incident).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select

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


def _deliver(provider: Notifier, name: str, channel: str, to: str, subject: str, body: str,
             key: str | None) -> tuple[str, str | None, str]:
    """(status, provider's message id, error) of one SMS or e-mail."""
    try:
        result = provider.send(Message(channel=channel, to=to, subject=subject, body=body, ref=key or ""))  # type: ignore[arg-type]
    except ProviderUnavailable:
        raise
    except ProviderError as exc:
        return "failed", None, str(exc)
    return "sent", result.provider_message_id, ""


def send(template: str, params: Mapping[str, Any], *, org_id: int | None = None, roles: Iterable[str] = (),
         user_ids: Iterable[int] = (), addresses: Iterable[tuple[str, str]] = (), business_key: str | None = None,
         idempotency_key: str | None = None) -> list[int]:
    """Send `template` to the active users of `org_id` (holding one of `roles`, if given), to
    `user_ids`, and to `addresses` ((channel, address) pairs); the ids of the notifications."""
    if template not in TEMPLATES:
        raise ValueError(f"no notice template {template!r}; known: {', '.join(sorted(TEMPLATES))}")
    provider, provider_name = notifier()
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
    with db.session.begin_nested():  # a provider down mid-way leaves no half-sent batch behind
        for user in targets:
            subject, body = render(template, params, user.locale or "zh")
            channels = [("in_app", user.username)]
            channels += [("email", user.email)] if user.email else []
            channels += [("sms", user.mobile)] if user.mobile else []
            for channel, to in channels:
                sent += _one(provider, provider_name, template, params, channel, to, subject, body, business_key,
                             f"{idempotency_key}:{channel}:{user.id}" if idempotency_key else None, at,
                             user_id=user.id, org_id=user.org_id)
        for channel, to in addresses:
            subject, body = render(template, params, "zh")
            sent += _one(provider, provider_name, template, params, channel, to, subject, body, business_key,
                         f"{idempotency_key}:{channel}:{to}" if idempotency_key else None, at)
    return sent


def _one(provider: Notifier, provider_name: str, template: str, params: Mapping[str, Any], channel: str, to: str,
         subject: str, body: str, business_key: str | None, key: str | None, at: Any, user_id: int | None = None,
         org_id: int | None = None) -> list[int]:
    if _seen(key):
        return []
    if channel == "in_app":
        status, message_id, error, name = "sent", None, "", "platform"
    else:
        (status, message_id, error), name = _deliver(provider, provider_name, channel, to, subject, body, key), \
            provider_name
    row = Notification(channel=channel, recipient=to, user_id=user_id, org_id=org_id, template=template,
                       params={k: str(v) for k, v in params.items()}, subject=subject,
                       body=body if not error else f"{body}\n[{error}]", business_key=business_key, provider=name,
                       provider_message_id=message_id, status=status, idempotency_key=key, created_at=at)
    db.session.add(row)
    db.session.flush()
    return [row.id]
