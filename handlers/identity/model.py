"""The identity adapter's provider-neutral contract: who claims to be whom (`VerificationRequest`), the
provider's verdict (`VerificationResult`) and who answers (`IdentityVerifier`).

A person is verified by resident ID number, an enterprise (its legal representative or agent) by
unified social credit code; either way with the mobile number registered to them and the
verification code sent to it. Both records travel as JSON objects (`to_dict` / `from_dict`, the
same shape on the wire and in a deal's instance data); `from_dict` raises ValueError on a shape it
cannot read.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

# Why a verification was refused; `VerificationResult.reason_code` is one of these or "" when verified.
REASON_CODES: tuple[str, ...] = ("bad_identifier", "bad_mobile", "wrong_code", "name_mismatch")


@dataclass(frozen=True, kw_only=True)
class VerificationRequest:
    """A signer's claim: `name` with exactly one of `id_number` (a person) or `credit_code` (an
    enterprise), the `mobile` number and the `code` the person received on it.
    """

    name: str
    id_number: str = ""
    credit_code: str = ""
    mobile: str
    code: str

    def __post_init__(self) -> None:
        for key in ("name", "id_number", "credit_code", "mobile", "code"):
            if not isinstance(getattr(self, key), str):
                raise ValueError(f"{key} is a string")
        if bool(self.id_number.strip()) == bool(self.credit_code.strip()):
            raise ValueError("exactly one of id_number and credit_code is given")

    @property
    def identifier(self) -> str:
        """The ID number or the credit code, whichever was given."""
        return self.id_number or self.credit_code

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "id_number": self.id_number, "credit_code": self.credit_code,
                "mobile": self.mobile, "code": self.code}

    @classmethod
    def from_dict(cls, data: Any) -> VerificationRequest:
        if not isinstance(data, dict):
            raise ValueError("a verification request is a JSON object")
        missing = [k for k in ("name", "mobile", "code") if k not in data]
        if missing:
            raise ValueError(f"{missing[0]} is required")
        return cls(name=data["name"], id_number=data.get("id_number", ""), credit_code=data.get("credit_code", ""),
                   mobile=data["mobile"], code=data["code"])


@dataclass(frozen=True)
class VerificationResult:
    """The provider's verdict: `verified`, or why not (`reason_code` from `REASON_CODES` and `reason`,
    a sentence in English for logs and the platform's own message); `reference` is the provider's id
    of this verification.
    """

    verified: bool
    reason_code: str
    reason: str
    reference: str

    def __post_init__(self) -> None:
        if not isinstance(self.verified, bool):
            raise ValueError("verified is true or false")
        if self.verified and self.reason_code:
            raise ValueError("a verified result has no reason_code")
        if not self.verified and self.reason_code not in REASON_CODES:
            raise ValueError(f"reason_code is one of {', '.join(REASON_CODES)}")
        if not isinstance(self.reason, str):
            raise ValueError("reason is a string")
        if not isinstance(self.reference, str) or not self.reference:
            raise ValueError("reference is required")

    def to_dict(self) -> dict[str, Any]:
        return {"verified": self.verified, "reason_code": self.reason_code, "reason": self.reason,
                "reference": self.reference}

    @classmethod
    def from_dict(cls, data: Any) -> VerificationResult:
        if not isinstance(data, dict):
            raise ValueError("a verification result is a JSON object")
        verified = data.get("verified")
        if not isinstance(verified, bool):
            raise ValueError("verified is true or false")
        return cls(verified=verified, reason_code=data.get("reason_code") or "", reason=data.get("reason", ""),
                   reference=data.get("reference", ""))


@dataclass(frozen=True, kw_only=True)
class CodeSent:
    """The provider sent a verification code by SMS to a mobile number: its `reference`, and for a sandbox the
    code it accepts (`sandbox_code`, "" from a real provider, which never says the code)."""

    reference: str
    sandbox_code: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"reference": self.reference, "sandbox_code": self.sandbox_code}

    @classmethod
    def from_dict(cls, data: Any) -> CodeSent:
        if not isinstance(data, dict) or not isinstance(data.get("reference"), str) or not data["reference"]:
            raise ValueError("a sent code is a JSON object with a reference")
        sandbox = data.get("sandbox_code") or ""
        if not isinstance(sandbox, str):
            raise ValueError("sandbox_code is a string")
        return cls(reference=data["reference"], sandbox_code=sandbox)


class IdentityVerifier(Protocol):
    """Anything that verifies a claim: `SimulatedIdentity`, `HttpIdentityClient`, a test's fake.

    A refused claim is a result (`verified` false), not an exception; `verify` raises
    `handlers.errors.ProviderUnavailable` when the provider cannot be reached and
    `handlers.errors.ProviderError` when it refuses the request itself.
    """

    def verify(self, request: VerificationRequest) -> VerificationResult: ...

    def send_code(self, mobile: str) -> CodeSent:
        """Send a verification code by SMS to `mobile` (an 11-digit mainland number; ValueError otherwise)."""
        ...
