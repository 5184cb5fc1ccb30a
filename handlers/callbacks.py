"""Signed callbacks from a provider to the platform: HMAC-SHA256 over timestamp, nonce and body.

A provider that tells the platform something by itself (a payment settled) signs the request with
the secret both sides hold: `signature = hex(HMAC-SHA256(secret, timestamp + "\\n" + nonce + "\\n" + body))`,
sent with the timestamp (Unix seconds) and a single-use nonce in three headers named after the
provider's prefix (`X-Callback-Timestamp`, `X-Callback-Nonce`, `X-Callback-Signature` by default;
`header_names(prefix)`). `verify_callback` accepts the body only when the signature is
right (compared in constant time), the timestamp is within `MAX_SKEW` of now, and the nonce was not
seen before; otherwise it raises `CallbackRejected` with a reason from `REJECTION_REASONS`. The
signature is checked before the nonce is asked about, so a forged request cannot use up a nonce.
Adapters wrap these for their own payloads (`handlers.payments.callbacks`).
"""
from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

DEFAULT_PREFIX = "X-Callback"
MAX_SKEW = timedelta(minutes=5)
REJECTION_REASONS: tuple[str, ...] = ("unsigned", "bad_signature", "stale", "replayed", "malformed")
_NONCE = re.compile(r"[A-Za-z0-9_-]{8,64}")


class CallbackRejected(Exception):
    """A callback the platform must not act on; `reason` is one of `REJECTION_REASONS`, `message` says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


def header_names(prefix: str = DEFAULT_PREFIX) -> tuple[str, str, str]:
    """The timestamp, nonce and signature headers of a provider whose headers start with `prefix`."""
    return f"{prefix}-Timestamp", f"{prefix}-Nonce", f"{prefix}-Signature"


def signature_of(secret: str, body: bytes, timestamp: int, nonce: str) -> str:
    """The hex HMAC-SHA256 of `timestamp + "\\n" + nonce + "\\n" + body` under `secret`."""
    message = f"{timestamp}\n{nonce}\n".encode() + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign_callback(secret: str, body: bytes, timestamp: datetime, nonce: str, *,
                  prefix: str = DEFAULT_PREFIX) -> dict[str, str]:
    """The headers that authenticate `body` sent at `timestamp` (timezone-aware) with `nonce`."""
    if not secret:
        raise ValueError("a callback is signed with a non-empty secret")
    if not _NONCE.fullmatch(nonce):
        raise ValueError("a nonce is 8 to 64 letters, digits, '-' or '_'")
    seconds = int(timestamp.timestamp())
    stamp_header, nonce_header, signature_header = header_names(prefix)
    return {stamp_header: str(seconds), nonce_header: nonce,
            signature_header: signature_of(secret, body, seconds, nonce)}


def verify_callback(secret: str, headers: Mapping[str, str], body: bytes, now: datetime,
                    seen_nonce: Callable[[str], bool], *, prefix: str = DEFAULT_PREFIX) -> bytes:
    """`body` when the headers authenticate it; else `CallbackRejected`.

    `headers` are looked up without regard to case. `seen_nonce(nonce)` is asked only for a request
    whose signature and timestamp hold; it answers True when the nonce was used before and should
    remember it (an insert into a table with a unique index does both), so a replay is refused.
    """
    if not secret:
        raise ValueError("a callback is verified with a non-empty secret")
    given = {k.lower(): v for k, v in headers.items()}
    stamp, nonce, signature = (given.get(h.lower(), "") for h in header_names(prefix))
    if not (stamp and nonce and signature):
        raise CallbackRejected("unsigned", "the callback lacks its timestamp, nonce or signature header")
    if not stamp.isascii() or not stamp.isdigit() or not _NONCE.fullmatch(nonce):
        raise CallbackRejected("malformed", "the callback's timestamp or nonce does not read")
    expected = signature_of(secret, body, int(stamp), nonce)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode("utf-8", "replace")):
        raise CallbackRejected("bad_signature", "the signature does not match the body")
    if abs(now.timestamp() - int(stamp)) > MAX_SKEW.total_seconds():
        raise CallbackRejected("stale", "the timestamp is more than 5 minutes away from now")
    if seen_nonce(nonce):
        raise CallbackRejected("replayed", "the nonce was used before")
    return body
