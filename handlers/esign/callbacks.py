"""The e-signature provider's callbacks, authenticated as every provider's are (`handlers.callbacks`:
HMAC-SHA256 over timestamp, nonce and body; 5 minutes either side of now; single-use nonce), with the
headers `X-Esign-Timestamp`, `X-Esign-Nonce` and `X-Esign-Signature`.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from handlers import callbacks

HEADER_PREFIX = "X-Esign"


def sign_callback(secret: str, body: bytes, timestamp: datetime, nonce: str) -> dict[str, str]:
    """The headers that authenticate `body` sent at `timestamp` (timezone-aware) with `nonce` (8-64 of A-Z a-z 0-9 - _)."""
    return callbacks.sign_callback(secret, body, timestamp, nonce, prefix=HEADER_PREFIX)


def verify_callback(secret: str, headers: Mapping[str, str], body: bytes, now: datetime,
                    seen_nonce: Callable[[str], bool]) -> bytes:
    """`body` when it is authentic, fresh and new; `handlers.callbacks.CallbackRejected` otherwise (its
    `reason` says which: unsigned, malformed, bad_signature, stale, replayed). `seen_nonce` records the
    nonce and answers whether it was used before; it is asked last, so a forged callback uses up none."""
    return callbacks.verify_callback(secret, headers, body, now, seen_nonce, prefix=HEADER_PREFIX)
