"""The notify adapter's provider-neutral contract: a message (`Notification`), the provider's receipt
(`SendResult`) and who sends (`Notifier`). Both records travel as JSON objects (`to_dict`/`from_dict`;
`from_dict` raises ValueError on a shape it cannot read).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast

Channel = Literal["sms", "email"]
CHANNELS: tuple[str, ...] = ("sms", "email")
STATUSES: tuple[str, ...] = ("accepted", "delivered")  # taken for delivery; delivered already


@dataclass(frozen=True)
class Notification:
    """One SMS or e-mail: `to` is a mainland mobile number or an e-mail address; `subject` is for
    e-mail (an SMS sends the body alone); `ref` is the platform's own reference of the message, sent
    as the request's idempotency key so a retried send is recognised.
    """

    channel: Channel
    to: str
    subject: str
    body: str
    ref: str = ""

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"channel is one of {', '.join(CHANNELS)}")
        for name in ("to", "subject", "body", "ref"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} is a string")

    def to_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "to": self.to, "subject": self.subject, "body": self.body,
                "ref": self.ref}

    @classmethod
    def from_dict(cls, data: Any) -> Notification:
        if not isinstance(data, dict):
            raise ValueError("a notification is a JSON object")
        missing = [k for k in ("channel", "to", "body") if k not in data]
        if missing:
            raise ValueError(f"{missing[0]} is required")
        return cls(channel=cast(Channel, data["channel"]), to=data["to"], subject=data.get("subject", ""),
                   body=data["body"], ref=data.get("ref", ""))


@dataclass(frozen=True)
class SendResult:
    """The provider's receipt: its id for the message and `accepted` or `delivered`."""

    provider_message_id: str
    status: str

    def __post_init__(self) -> None:
        if not isinstance(self.provider_message_id, str) or not self.provider_message_id:
            raise ValueError("provider_message_id is required")
        if self.status not in STATUSES:
            raise ValueError(f"status is one of {', '.join(STATUSES)}")

    def to_dict(self) -> dict[str, Any]:
        return {"provider_message_id": self.provider_message_id, "status": self.status}

    @classmethod
    def from_dict(cls, data: Any) -> SendResult:
        if not isinstance(data, dict):
            raise ValueError("a send result is a JSON object")
        return cls(provider_message_id=data.get("provider_message_id", ""), status=data.get("status", ""))


class Notifier(Protocol):
    """Anything that sends a notification: `SimulatedNotify`, `HttpNotifyClient`, a test's fake.

    `send` raises `handlers.errors.ProviderError` when the provider refuses the message (an address
    it cannot deliver to) and `ProviderUnavailable` when it cannot be reached.
    """

    def send(self, message: Notification) -> SendResult: ...
