"""The risk adapter's real client: POST `{base_url}/api/assess` with the request as JSON, read the report."""
from __future__ import annotations

from handlers.transport import JsonClient

from .model import RiskReport, RiskRequest


class HttpRiskClient(JsonClient):
    """A `RiskProvider` over HTTP (`Authorization: Bearer <api_key>`).

    `timeout` is in seconds per attempt, `retries` the attempts after the first one on a connection
    error, a timeout or a 5xx answer; then `ProviderUnavailable`. A 4xx answer or a report that does
    not read raises `ProviderError`.
    """

    provider = "risk"

    def assess(self, request: RiskRequest) -> RiskReport:
        report: RiskReport = self.read(self.post("/api/assess", request.to_dict()), RiskReport.from_dict, "a report")
        return report
