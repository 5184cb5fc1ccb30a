"""The notify adapter's real client: POST `{base_url}/api/messages` with the message as JSON, read the receipt."""
from __future__ import annotations

import time
from collections.abc import Callable

from handlers.errors import ProviderError
from handlers.transport import endpoint, post_json

from .model import Notification, SendResult


class HttpNotifyClient:
    """A `Notifier` over HTTP (`Authorization: Bearer <api_key>`, `Idempotency-Key: <message.ref>`).

    `timeout` is in seconds per attempt, `retries` the attempts after the first one on a connection
    error, a timeout or a 5xx answer; then `ProviderUnavailable`. A 4xx answer or a receipt that does
    not read raises `ProviderError`.
    """

    def __init__(self, base_url: str, api_key: str, timeout: float = 5, retries: int = 2, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.url = endpoint(base_url, "/api/messages")
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.sleep = sleep  # the backoff's wait; tests pass one that does not wait

    def send(self, message: Notification) -> SendResult:
        answer = post_json(self.url, message.to_dict(), api_key=self.api_key, provider="notify",
                           timeout=self.timeout, retries=self.retries,
                           idempotency_key=message.ref or None, sleep=self.sleep)
        try:
            return SendResult.from_dict(answer)
        except ValueError as exc:
            raise ProviderError(f"answered a receipt that does not read: {exc}", provider="notify") from exc
