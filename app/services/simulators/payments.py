"""The payment gateway simulator's side of the platform: `handlers.payments.SimulatedGateway` over the
`payment_orders` table (`TableOrderStore`), so the web server that takes an order and the worker that
settles it see the same orders.

An order settles a few seconds after it is taken (`SETTLE_AFTER`) unless the platform injected
otherwise (`fail_next`, `delay_next`, `notify_twice_next`; kept in `simulator_state` as
`payments.injection`). The worker calls `settle_due` (settles what is due and queues its
notifications, one row of `simulator_state` per copy, in the settling transaction) and then
`deliver_notifications` (POSTs each queued copy, signed with `PAYMENTS_CALLBACK_SECRET` and a fresh
nonce, to its order's `notify_url`; a copy the platform does not take with a 2xx is tried again with
backoff, up to `MAX_ATTEMPTS`). Copies of one settlement share their `notification_id`.
"""
from __future__ import annotations

import logging
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Organisation
from app.models import PaymentOrder as OrderRow
from app.services import clock, context
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict, Invalid, NotFound
from app.services.identity import policy
from app.services.identity.directory import Principal
from app.services.simulators import state
from handlers.errors import ProviderError
from handlers.payments import (
    Injection,
    Notification,
    OrderReceipt,
    OrderStatus,
    PaymentOrder,
    SimulatedGateway,
    StoredOrder,
    sign_notification,
)

log = logging.getLogger("loanflow.simulators.payments")

INJECTION = "payments.injection"
QUEUE_PREFIX = "payments.notify."  # one queued notification copy per setting
CALLBACK_PATH = "/api/v1/callbacks/payments"
SETTLE_AFTER = timedelta(seconds=3)
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=5)
POST_TIMEOUT = 10  # seconds


class TableOrderStore:
    """An `OrderStore` over `payment_orders` and `simulator_state`, in the caller's transaction."""

    def add(self, order: StoredOrder) -> StoredOrder:
        row = OrderRow(order_id=order.order_id, idempotency_key=order.order.idempotency_key,
                       order=order.order.to_dict(), amount=Decimal(order.order.amount), status=order.status,
                       fail_reason=order.fail_reason, copies=order.copies, created_at=order.created_at,
                       settle_at=order.settle_at)
        try:
            with db.session.begin_nested():
                db.session.add(row)
                db.session.flush()
        except IntegrityError:  # the same key, placed by a request that ran at the same time
            earlier = self.by_key(order.order.idempotency_key)
            if earlier is None:
                raise
            return earlier
        return order

    def get(self, order_id: str) -> StoredOrder | None:
        row = db.session.scalar(select(OrderRow).where(OrderRow.order_id == order_id))
        return _stored(row) if row is not None else None

    def by_key(self, idempotency_key: str) -> StoredOrder | None:
        row = db.session.scalar(select(OrderRow).where(OrderRow.idempotency_key == idempotency_key))
        return _stored(row) if row is not None else None

    def save(self, order: StoredOrder) -> None:
        row = db.session.scalar(select(OrderRow).where(OrderRow.order_id == order.order_id))
        if row is None:
            raise LookupError(f"no payment order {order.order_id}")
        row.status, row.settled_at, row.failure_reason = order.status, order.settled_at, order.failure_reason
        db.session.flush()

    def due(self, now: datetime) -> list[StoredOrder]:
        _hold_sqlite_write_lock()  # two workers do not settle an order twice
        rows = db.session.scalars(select(OrderRow).where(OrderRow.status == "pending", OrderRow.settle_at <= now)
                                  .order_by(OrderRow.settle_at, OrderRow.id).with_for_update(skip_locked=True))
        return [_stored(row) for row in rows]

    def injection(self) -> Injection:
        """What the next orders suffer; the setting's row (made on first use) stays locked (PostgreSQL)
        until the caller commits, so two orders taken at once do not both take the same injected failure."""
        _hold_sqlite_write_lock()
        value = state.get(INJECTION, for_update=True)
        if value is None:
            try:
                with db.session.begin_nested():
                    self.set_injection(Injection())
            except IntegrityError:  # made by an order taken at the same time
                pass
            value = state.get(INJECTION, for_update=True)
        return _injection(value or {})

    def set_injection(self, injection: Injection) -> None:
        state.put(INJECTION, {"fail_next": injection.fail_next, "fail_reason": injection.fail_reason,
                              "late_next": injection.late_next, "late_by": injection.late_by.total_seconds(),
                              "twice_next": injection.twice_next})


def _hold_sqlite_write_lock() -> None:
    """On SQLite, take the database's write lock now, to the end of the transaction: its sqlite3 driver
    begins a transaction at the first write only, so a read before it may be stale by the time it writes
    (as `ledger.journal.hold_sqlite_write_lock` explains). PostgreSQL locks the row instead."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("UPDATE simulator_state SET name = name WHERE 1 = 0"))


def _stored(row: OrderRow) -> StoredOrder:
    return StoredOrder(order_id=row.order_id, order=PaymentOrder.from_dict(row.order), created_at=row.created_at,
                       settle_at=row.settle_at, fail_reason=row.fail_reason, copies=row.copies, status=row.status,
                       settled_at=row.settled_at, failure_reason=row.failure_reason)


def _injection(value: dict[str, Any]) -> Injection:
    if not value:
        return Injection()
    return Injection(fail_next=int(value.get("fail_next", 0)), fail_reason=str(value.get("fail_reason", "")),
                     late_next=int(value.get("late_next", 0)), late_by=timedelta(seconds=float(value["late_by"])),
                     twice_next=int(value.get("twice_next", 0)))


def gateway() -> SimulatedGateway:
    """The simulator over the tables, on the services' clock."""
    return SimulatedGateway(TableOrderStore(), clock=clock.now, settle_after=SETTLE_AFTER)


# --- the gateway's API (app/simulators) ---------------------------------------------------------------

def create_order(order: PaymentOrder) -> OrderReceipt:
    """Take `order` (committed); the same order under the same key again answers the same receipt.
    Raises `handlers.payments.IdempotencyConflict` for the key used with a different order."""
    try:
        receipt = gateway().create_order(order)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return receipt


def query(order_id: str) -> OrderStatus:
    """Where the order stands; `handlers.errors.ProviderError` (status 404) for an order not taken here."""
    return gateway().query(order_id)


def close(order_id: str) -> OrderStatus:
    """Close a collection its payer has not paid (committed); its status. `handlers.errors.ProviderError` 404 for
    an order not taken here, 409 for one that is not a collection."""
    _hold_sqlite_write_lock()
    try:
        status = gateway().close(order_id)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return status


# --- the worker ---------------------------------------------------------------------------------------

def settle_due(now: datetime | None = None) -> int:
    """Settle the orders due by `now` (the services' clock unless given) and queue their
    notifications (committed); how many settled. A collection order waits for its payer (`pay`)."""
    now = now or clock.now()
    notifications = gateway().settle_due(now)
    count = _queue(notifications)
    db.session.commit()
    return count


def _queue(notifications: list[Notification]) -> int:
    """Queue each notification copy for the worker (`deliver_notifications`); how many orders they settle."""
    urls: dict[str, str] = {}
    for notification in notifications:
        if notification.order_id not in urls:
            row = db.session.scalar(select(OrderRow.order).where(OrderRow.order_id == notification.order_id))
            urls[notification.order_id] = callback_url((row or {}).get("notify_url", ""))
        state.put(QUEUE_PREFIX + secrets.token_urlsafe(16), {
            "notification": notification.to_dict(), "url": urls[notification.order_id], "attempts": 0,
            "next_at": clock.now().isoformat(), "last_error": ""})  # sent from now on
    return len(urls)


# --- the payer's side: a collection order's payment page -----------------------------------------------

PAY_PATH = "/simulators/payments/orders/{order_id}/pay"


def pay_path(order_id: str) -> str:
    """The simulator's page where the payer of a collection order pays it."""
    return PAY_PATH.format(order_id=order_id)


def payer_order(principal: Principal | None, order_id: str, *, for_update: bool = False) -> StoredOrder:
    """A collection order as its payer sees it: the caller must belong to the payer's organisation (its
    account number is the organisation's credit code, else its code); `principal` None is the
    simulator's key, which sees every order. NotFound for anything else, as for an unknown order."""
    if for_update:
        _hold_sqlite_write_lock()
    query = select(OrderRow).where(OrderRow.order_id == order_id)
    row = db.session.scalar(query.with_for_update() if for_update else query)
    if row is None:
        raise NotFound(_l("No such payment order."))
    stored = _stored(row)
    if stored.order.kind != "collection" or (principal is not None and not _pays(principal, stored)):
        raise NotFound(_l("No such payment order."))
    return stored


def _pays(principal: Principal, stored: StoredOrder) -> bool:
    org = db.session.get(Organisation, principal.org_id)
    return org is not None and stored.order.payer.number in {org.credit_code, org.code} - {None, ""}


def pay(principal: Principal | None, order_id: str) -> StoredOrder:
    """The payer pays a pending collection order (committed): it settles now (as an injected failure if
    the simulator was told to fail the next orders when it was taken) and its notification is queued
    for the worker, which sends it signed as for any order. Conflict for an order settled already."""
    if payer_order(principal, order_id, for_update=True).status == "closed":
        db.session.rollback()
        raise Conflict(_l("This payment order was closed: a later order for the loan replaced it."))
    try:
        notifications = gateway().pay(order_id, clock.now())
    except ProviderError as exc:
        db.session.rollback()
        if exc.status == 409:
            raise Conflict(_l("This payment order is settled already.")) from None
        raise NotFound(_l("No such payment order.")) from None
    _queue(notifications)
    db.session.commit()
    return payer_order(principal, order_id)


def callback_url(notify_url: str) -> str:
    """Where a notification goes: the order's `notify_url`, else the platform's payments callback at
    LOANFLOW_BASE_URL (else PUBLIC_URL)."""
    if notify_url:
        return notify_url
    base = context.config("BASE_URL", "") or context.config("PUBLIC_URL", "")
    return base.rstrip("/") + CALLBACK_PATH


def deliver_notifications(limit: int = 100, post: Callable[[str, bytes, dict[str, str]], str] | None = None) -> int:
    """POST the queued notifications that are due, each signed afresh; how many the platform took.
    No transaction is held while the platform answers. `post` (url, body, headers) → "" when taken,
    else what went wrong: HTTP unless given (the demo's seed hands them to the platform in process)."""
    post = post or _post
    now = clock.now()
    queued = [(name, value) for name, value in state.named(QUEUE_PREFIX, limit)
              if datetime.fromisoformat(value["next_at"]) <= now]
    db.session.rollback()
    delivered = 0
    secret = context.config("PAYMENTS_CALLBACK_SECRET")
    for name, value in queued:
        notification = Notification.from_dict(value["notification"])
        signed = sign_notification(secret, notification, clock.now(), secrets.token_urlsafe(16))
        error = post(value["url"], signed.body, signed.headers)
        if not error:
            state.delete(name)
            delivered += 1
        else:
            _failed(name, value, error)
        db.session.commit()
    return delivered


def _failed(name: str, value: dict[str, Any], error: str) -> None:
    attempts = int(value["attempts"]) + 1
    notification_id = value["notification"]["notification_id"]
    if attempts >= MAX_ATTEMPTS:
        log.warning("payment notification %s to %s dropped after %d attempts: %s", notification_id, value["url"],
                    attempts, error)
        state.delete(name)
        return
    log.info("payment notification %s to %s not taken (%s); trying again", notification_id, value["url"], error)
    next_at = clock.now() + FIRST_RETRY * 2 ** (attempts - 1)
    state.put(name, {**value, "attempts": attempts, "next_at": next_at.isoformat(), "last_error": error[:500]})


def _post(url: str, body: bytes, headers: dict[str, str]) -> str:
    """POST `body`; "" when answered 2xx, else what went wrong."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=POST_TIMEOUT) as response:
            response.read()
            return ""
    except urllib.error.HTTPError as exc:
        with exc:
            return f"answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"unreachable: {exc}"


# --- the platform's staff: the orders page and the injections ---------------------------------------

def may_simulate(principal: Principal) -> bool:
    """Whether the simulators' pages offer the payment gateway to this user."""
    return policy.allowed(principal, "payments.simulate")


def orders(principal: Principal, page: int = 1, per_page: int = 20) -> dict[str, Any]:
    """The orders the gateway took, newest first, and what the next orders will suffer."""
    policy.require(principal, "payments.simulate")
    total = db.session.scalar(select(func.count()).select_from(OrderRow)) or 0
    rows = list(db.session.scalars(select(OrderRow).order_by(OrderRow.created_at.desc(), OrderRow.id.desc())
                                   .offset((page - 1) * per_page).limit(per_page)))
    return {"items": rows, "total": total, "page": page, "per_page": per_page,
            "injection": _injection(state.get(INJECTION) or {})}


def inject(principal: Principal, *, fail_next: int = 0, fail_reason: str = "", late_next: int = 0,
           late_minutes: int = 10, twice_next: int = 0) -> Injection:
    """Set what the next orders suffer (a count of 0 stops each), committed; `Invalid` for a count
    below zero, failures without a reason or a delay under a minute."""
    policy.require(principal, "payments.simulate")
    try:
        if late_minutes < 1:
            raise ValueError("late_by is at least a minute")
        injection = Injection(fail_next=fail_next, fail_reason=fail_reason.strip() if fail_next else "",
                              late_next=late_next, late_by=timedelta(minutes=late_minutes), twice_next=twice_next)
    except ValueError:
        raise Invalid(_l("Counts are whole numbers, zero or more; failing orders need a reason; a delay is at "
                         "least one minute.")) from None
    return _set(injection)


def fail_next(count: int, reason: str) -> Injection:
    """The next `count` orders fail with `reason` (0 stops it); committed. For the platform's tests and demos."""
    return _set(replace(TableOrderStore().injection(), fail_next=count, fail_reason=reason if count else ""))


def delay_next(count: int, late_by: timedelta) -> Injection:
    """The next `count` orders settle, and are notified, `late_by` later than usual; committed."""
    return _set(replace(TableOrderStore().injection(), late_next=count, late_by=late_by))


def notify_twice_next(count: int) -> Injection:
    """The next `count` orders are notified twice (the same notification id); committed."""
    return _set(replace(TableOrderStore().injection(), twice_next=count))


def _set(injection: Injection) -> Injection:
    TableOrderStore().set_injection(injection)
    db.session.commit()
    return injection
