"""The notify adapter's real client: POST `{base_url}/api/messages` with the message as JSON, read the receipt."""
from __future__ import annotations

from handlers.transport import JsonClient

from .model import Notification, SendResult


class HttpNotifyClient(JsonClient):
    """A `Notifier` over HTTP (`Authorization: Bearer <api_key>`, `Idempotency-Key: <message.ref>`).

    `timeout` is in seconds per attempt, `retries` the attempts after the first one on a connection
    error, a timeout or a 5xx answer; then `ProviderUnavailable`. A 4xx answer or a receipt that does
    not read raises `ProviderError`.
    """

    provider = "notify"

    def send(self, message: Notification) -> SendResult:
        answer = self.post("/api/messages", message.to_dict(), idempotency_key=message.ref or None)
        receipt: SendResult = self.read(answer, SendResult.from_dict, "a receipt")
        return receipt
