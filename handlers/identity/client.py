"""The identity adapter's real client: POST `{base_url}/api/verifications` with the claim as JSON, read the verdict."""
from __future__ import annotations

import time
from collections.abc import Callable

from handlers.errors import ProviderError
from handlers.transport import endpoint, post_json

from .model import VerificationRequest, VerificationResult


class HttpIdentityClient:
    """An `IdentityVerifier` over HTTP (`Authorization: Bearer <api_key>`).

    `timeout` is in seconds per attempt, `retries` the attempts after the first one on a connection
    error, a timeout or a 5xx answer; then `ProviderUnavailable`. A 4xx answer or a verdict that does
    not read raises `ProviderError`.
    """

    def __init__(self, base_url: str, api_key: str, timeout: float = 5, retries: int = 2, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.url = endpoint(base_url, "/api/verifications")
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.sleep = sleep  # the backoff's wait; tests pass one that does not wait

    def verify(self, request: VerificationRequest) -> VerificationResult:
        answer = post_json(self.url, request.to_dict(), api_key=self.api_key, provider="identity",
                           timeout=self.timeout, retries=self.retries, sleep=self.sleep)
        try:
            return VerificationResult.from_dict(answer)
        except ValueError as exc:
            raise ProviderError(f"answered a verdict that does not read: {exc}", provider="identity") from exc
