"""The notify simulator: checks the address and answers a receipt; it stores nothing.

The platform keeps every notification itself (the outbox); the simulator only decides what a real
gateway would: an SMS goes to an 11-digit mainland mobile number (1, then 3-9, then 9 digits), an
e-mail to an address of the form `name@domain.tld`. A message it cannot deliver raises
`ProviderError`; one it can is `delivered`, with an id hashed from the message, so the same message
sent twice (a retry) gets the same id.
"""
from __future__ import annotations

import hashlib
import re

from handlers.errors import ProviderError

from .model import Notification, SendResult

PROVIDER = "simulator"
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_EMAIL_MAX = 254


def valid_mobile(value: str) -> bool:
    """True for an 11-digit mainland mobile number: 1, then 3-9, then nine digits."""
    return isinstance(value, str) and value.isascii() and _MOBILE.fullmatch(value) is not None


def valid_email(value: str) -> bool:
    """True for something shaped like an e-mail address (one @, a dotted domain, no spaces)."""
    return isinstance(value, str) and len(value) <= _EMAIL_MAX and _EMAIL.fullmatch(value) is not None


class SimulatedNotify:
    """A `Notifier` computed in process."""

    def send(self, message: Notification) -> SendResult:
        if message.channel == "sms" and not valid_mobile(message.to):
            raise ProviderError(f"{message.to!r} is not a mainland mobile number", provider=PROVIDER)
        if message.channel == "email" and not valid_email(message.to):
            raise ProviderError(f"{message.to!r} is not an e-mail address", provider=PROVIDER)
        if not message.body.strip():
            raise ProviderError("the message has no body", provider=PROVIDER)
        key = "\x1f".join((message.channel, message.to, message.subject, message.body, message.ref))
        message_id = f"SIM-{message.channel.upper()}-" + hashlib.sha256(key.encode()).hexdigest()[:20].upper()
        return SendResult(provider_message_id=message_id, status="delivered")
