"""The identity adapter's real client: POST `{base_url}/api/verifications` with the claim as JSON, read the verdict;
POST `{base_url}/api/codes` with a mobile number to have the provider send it a verification code."""
from __future__ import annotations

from handlers.transport import JsonClient

from .model import CodeSent, VerificationRequest, VerificationResult


class HttpIdentityClient(JsonClient):
    """An `IdentityVerifier` over HTTP (`Authorization: Bearer <api_key>`).

    `timeout` is in seconds per attempt, `retries` the attempts after the first one on a connection
    error, a timeout or a 5xx answer; then `ProviderUnavailable`. A 4xx answer or a verdict that does
    not read raises `ProviderError`.
    """

    provider = "identity"

    def verify(self, request: VerificationRequest) -> VerificationResult:
        answer = self.post("/api/verifications", request.to_dict())
        verdict: VerificationResult = self.read(answer, VerificationResult.from_dict, "a verdict")
        return verdict

    def send_code(self, mobile: str) -> CodeSent:
        sent: CodeSent = self.read(self.post("/api/codes", {"mobile": mobile}), CodeSent.from_dict, "a sent code")
        return sent
