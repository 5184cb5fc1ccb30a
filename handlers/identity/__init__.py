"""The identity adapter (实名认证): is this signer who they claim to be — name, ID number or unified
social credit code, mobile number and the verification code sent to it.

`IdentityVerifier` is the interface; `HttpIdentityClient` speaks to a configured provider and
`SimulatedIdentity` answers in process, deterministically (checksums, mobile format, the sandbox code
`123456`, the caller's registry of names). A refused claim is a `VerificationResult` with a reason
code from `REASON_CODES`; the provider being down or refusing the request raises
`handlers.errors.ProviderUnavailable` / `ProviderError`.
"""
from __future__ import annotations

from .client import HttpIdentityClient
from .model import REASON_CODES, CodeSent, IdentityVerifier, VerificationRequest, VerificationResult
from .simulator import SANDBOX_CODE, SimulatedIdentity

__all__ = ["REASON_CODES", "SANDBOX_CODE", "CodeSent", "HttpIdentityClient", "IdentityVerifier", "SimulatedIdentity",
           "VerificationRequest", "VerificationResult"]
