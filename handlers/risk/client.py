"""The risk adapter's real client: POST `{base_url}/api/assess` with the request as JSON, read the report."""
from __future__ import annotations

import time
from collections.abc import Callable

from handlers.errors import ProviderError
from handlers.transport import endpoint, post_json

from .model import RiskReport, RiskRequest


class HttpRiskClient:
    """A `RiskProvider` over HTTP (`Authorization: Bearer <api_key>`).

    `timeout` is in seconds per attempt, `retries` the attempts after the first one on a connection
    error, a timeout or a 5xx answer; then `ProviderUnavailable`. A 4xx answer or a report that does
    not read raises `ProviderError`.
    """

    def __init__(self, base_url: str, api_key: str, timeout: float = 5, retries: int = 2, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.url = endpoint(base_url, "/api/assess")
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.sleep = sleep  # the backoff's wait; tests pass one that does not wait

    def assess(self, request: RiskRequest) -> RiskReport:
        answer = post_json(self.url, request.to_dict(), api_key=self.api_key, provider="risk",
                           timeout=self.timeout, retries=self.retries, sleep=self.sleep)
        try:
            return RiskReport.from_dict(answer)
        except ValueError as exc:
            raise ProviderError(f"answered a report that does not read: {exc}", provider="risk") from exc
