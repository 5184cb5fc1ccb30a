"""The e-signature simulator's callbacks to the platform: queued (a setting `esign.callback.<flow>`)
in the transaction that completed or expired the flow, and POSTed later by the worker
(`deliver_callbacks`), never inside the request that caused them.

Each is the flow's `handlers.esign.FlowEvent` as JSON, signed with `ESIGN_CALLBACK_SECRET`
(`handlers.esign.sign_callback`: the `X-Esign-*` headers, a new nonce per attempt) and sent to the
flow's callback URL, or to `BASE_URL` (LOANFLOW_BASE_URL) + `CALLBACK_PATH` when the flow has none.
A 2xx answer delivers it; anything else is tried again later, waiting longer each time, up to
`MAX_ATTEMPTS`.
"""
from __future__ import annotations

import json
import logging
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta

from app.extensions import db
from app.services import clock, context
from app.services.simulators import state
from handlers.esign import FlowEvent, sign_callback

PREFIX = "esign.callback."
CALLBACK_PATH = "/api/v1/callbacks/esign"
MAX_ATTEMPTS = 20
TIMEOUT_SECONDS = 10

log = logging.getLogger("loanflow.simulators.esign")

Post = Callable[[str, bytes, dict[str, str]], int]


def queue(flow_id: str, business_key: str, status: str, url: str, reason: str = "") -> None:
    """Queue the callback saying flow `flow_id` ended with `status` (in the caller's transaction)."""
    event = FlowEvent(flow_id=flow_id, business_key=business_key, status=status, reason=reason)
    state.put(PREFIX + flow_id, {"url": url, "event": event.to_dict(), "attempts": 0,
                                 "next_at": clock.now().isoformat()})


def callback_url(url: str) -> str:
    """Where a callback goes: the flow's own URL, else the platform's callback endpoint at BASE_URL."""
    if url:
        return url
    base = str(context.config("BASE_URL", "") or context.config("PUBLIC_URL", ""))
    return base.rstrip("/") + CALLBACK_PATH


def http_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST `body`; the answer's status (0 when nothing answered)."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8", **headers})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code)
    except (urllib.error.URLError, OSError) as exc:
        log.warning("e-sign callback to %s not answered: %s", url, exc)
        return 0


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(5 * 2 ** attempts, 3600))


def _deliver(name: str, value: dict, now: datetime, post: Post) -> bool:
    body = json.dumps(value["event"], sort_keys=True).encode("utf-8")
    secret = str(context.config("ESIGN_CALLBACK_SECRET"))
    url = callback_url(str(value.get("url") or ""))
    answered = post(url, body, sign_callback(secret, body, now, secrets.token_hex(16)))
    if 200 <= answered < 300:
        state.delete(name)
        return True
    attempts = int(value.get("attempts", 0)) + 1
    if attempts >= MAX_ATTEMPTS:
        log.error("e-sign callback %s to %s dropped after %d attempts (last answer %s)", name, url, attempts, answered)
        state.delete(name)
    else:
        log.warning("e-sign callback %s to %s answered %s; trying again later", name, url, answered)
        state.put(name, {**value, "attempts": attempts, "next_at": (now + _backoff(attempts)).isoformat()})
    return False


def deliver_callbacks(post: Post = http_post) -> int:
    """POST the queued callbacks that are due, each committed on its own; how many were delivered."""
    delivered = 0
    for name, value in state.named(PREFIX):
        now = clock.now()
        if datetime.fromisoformat(value["next_at"]) > now:
            continue
        try:
            delivered += _deliver(name, value, now, post)
        finally:
            db.session.commit()
    return delivered


def pending() -> list[dict]:
    """The queued callbacks' values (url, event, attempts, next_at), oldest first."""
    return [value for _name, value in state.named(PREFIX)]
