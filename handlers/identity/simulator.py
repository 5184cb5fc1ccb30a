"""The identity simulator: a verdict from the claim alone, the same verdict for the same claim.

Checked in this order, the first failure being the verdict: the ID number's or credit code's check
character (`handlers.identifiers`; `bad_identifier`), the mainland mobile format (`bad_mobile`), the
verification code (`wrong_code`: only the sandbox code `SANDBOX_CODE` is accepted, as providers'
sandboxes do; the simulator sends no SMS) and the name (`name_mismatch`). The names the simulator
knows are the caller's registry, identifier → name (a mapping or a function asking the platform's
tables); an identifier it does not know accepts any non-empty name. The reference is hashed from
the claim and the verdict.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping

from handlers.identifiers import valid_credit_code, valid_id_number
from handlers.notify import valid_mobile

from .model import CodeSent, VerificationRequest, VerificationResult

SANDBOX_CODE = "123456"


def normalized_identifier(value: str) -> str:
    """The identifier as the simulator compares it: no surrounding space, letters in upper case."""
    return value.strip().upper()


class SimulatedIdentity:
    """An `IdentityVerifier` computed in process; `registry` maps an identifier to its holder's name,
    or is a function answering the name (None when unknown). Keys are compared normalised
    (`normalized_identifier`), names without surrounding space.
    """

    def __init__(self, registry: Mapping[str, str] | Callable[[str], str | None] | None = None) -> None:
        if callable(registry):
            self._name_of: Callable[[str], str | None] = registry
        else:
            known = {normalized_identifier(k): v.strip() for k, v in (registry or {}).items()}
            self._name_of = known.get

    def verify(self, request: VerificationRequest) -> VerificationResult:
        code, reason = self._refusal(request)
        identifier = normalized_identifier(request.identifier)
        key = "\x1f".join((identifier, request.name.strip(), request.mobile, code))
        reference = "SIM-IDV-" + hashlib.sha256(key.encode()).hexdigest()[:20].upper()
        return VerificationResult(verified=not code, reason_code=code, reason=reason, reference=reference)

    def send_code(self, mobile: str) -> CodeSent:
        """No SMS leaves the simulator: the answer says the sandbox code it accepts."""
        if not valid_mobile(mobile):
            raise ValueError("the mobile number is not an 11-digit mainland mobile number")
        reference = "SIM-SMS-" + hashlib.sha256(mobile.encode()).hexdigest()[:20].upper()
        return CodeSent(reference=reference, sandbox_code=SANDBOX_CODE)

    def _refusal(self, request: VerificationRequest) -> tuple[str, str]:
        """("", "") when the claim holds, else the reason code and its sentence."""
        identifier = normalized_identifier(request.identifier)
        if request.id_number and not valid_id_number(identifier):
            return "bad_identifier", "the ID number is not valid (its check character is wrong)"
        if request.credit_code and not valid_credit_code(identifier):
            return "bad_identifier", "the unified social credit code is not valid (its check character is wrong)"
        if not valid_mobile(request.mobile):
            return "bad_mobile", "the mobile number is not an 11-digit mainland mobile number"
        if request.code != SANDBOX_CODE:
            return "wrong_code", "the verification code is wrong"
        name, known = request.name.strip(), self._name_of(identifier)
        if not name or (known is not None and name != known.strip()):
            return "name_mismatch", "the name does not match the identifier's holder"
        return "", ""
