"""The e-signature adapter's provider-neutral contract: a signing flow for one document and its signers
in order (`FlowRequest`), what a completion callback says (`FlowEvent`), and who runs flows (`ESignProvider`).
"""
from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

EVENT_STATUSES: tuple[str, ...] = ("completed", "expired", "refused")  # how a flow can end


@dataclass(frozen=True)
class Signer:
    """One signer: `party` is the role code (`borrower`, `core_enterprise`, `funder`), `field` the PDF
    signature field the signature goes into (`sig_<party>` unless given), `username` the platform user
    who signs for the party; `auto`: the party signs with its organisation's seal, applied by the
    provider itself as soon as the signers before it have signed (自动签署)."""

    party: str
    name: str
    identifier: str
    username: str
    mobile: str = ""
    field: str = ""
    auto: bool = False

    def __post_init__(self) -> None:
        if not self.party or not self.name or not self.username:
            raise ValueError("a signer has a party, a name and a username")
        if not self.field:
            object.__setattr__(self, "field", f"sig_{self.party}")

    def to_dict(self) -> dict[str, Any]:
        return {"party": self.party, "name": self.name, "identifier": self.identifier, "username": self.username,
                "mobile": self.mobile, "field": self.field, "auto": self.auto}


@dataclass(frozen=True)
class FlowRequest:
    """Sign `document` (a PDF) by `signers` in the order given; `business_key` is the platform's reference
    (the application's number) the provider echoes in its callbacks."""

    business_key: str
    document_name: str
    document: bytes
    signers: tuple[Signer, ...]

    def __post_init__(self) -> None:
        if not self.business_key:
            raise ValueError("a signing flow has a business key")
        if not self.signers:
            raise ValueError("a signing flow has signers")
        if not self.document.startswith(b"%PDF-"):
            raise ValueError("the document to sign is a PDF")
        if len({s.party for s in self.signers}) != len(self.signers):
            raise ValueError("each party signs once")

    def to_dict(self) -> dict[str, Any]:
        return {"business_key": self.business_key, "document_name": self.document_name,
                "document": base64.b64encode(self.document).decode("ascii"),
                "signers": [s.to_dict() for s in self.signers]}


@dataclass(frozen=True)
class FlowEvent:
    """A flow's completion callback: the provider's `flow_id`, the platform's `business_key`, how it ended."""

    flow_id: str
    business_key: str
    status: str
    reason: str = ""

    def __post_init__(self) -> None:
        if not self.flow_id or not self.business_key:
            raise ValueError("a flow event names its flow and business key")
        if self.status not in EVENT_STATUSES:
            raise ValueError(f"status is one of {', '.join(EVENT_STATUSES)}")

    def to_dict(self) -> dict[str, str]:
        return {"flow_id": self.flow_id, "business_key": self.business_key, "status": self.status,
                "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Any) -> FlowEvent:
        if not isinstance(data, dict):
            raise ValueError("a flow event is a JSON object")
        values = {k: data.get(k, "") for k in ("flow_id", "business_key", "status", "reason")}
        if not all(isinstance(v, str) for v in values.values()):
            raise ValueError("a flow event's fields are strings")
        return cls(**values)


@dataclass(frozen=True)
class SignerState:
    """One signer of a flow as the provider holds it: `status` is `waiting` or `signed`; `signing_url`
    the provider's signing page for the signer ("" when the provider gives none); `signed_at` when they signed
    (ISO 8601 with its offset; "" when not signed, or when the provider does not say)."""

    party: str
    username: str
    name: str
    status: str
    signing_url: str = ""
    signed_at: str = ""


@dataclass(frozen=True)
class FlowState:
    """A flow as the provider holds it: its status (`signing`, `completed`, `expired`, ...) and its
    signers in signing order."""

    flow_id: str
    status: str
    signers: tuple[SignerState, ...]

    @classmethod
    def from_dict(cls, data: Any) -> FlowState:
        """A flow of the provider's `GET /api/flows` answer (`{"id", "status", "signers": [...]}`)."""
        if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
            raise ValueError("a flow is a JSON object with an id")
        signers = data.get("signers")
        if not isinstance(signers, list) or not all(isinstance(s, dict) for s in signers):
            raise ValueError("a flow's signers are a list of objects")
        return cls(flow_id=data["id"], status=str(data.get("status") or ""), signers=tuple(
            SignerState(party=str(s.get("party") or ""), username=str(s.get("username") or ""),
                        name=str(s.get("name") or ""), status=str(s.get("status") or ""),
                        signing_url=str(s.get("signing_url") or ""), signed_at=_moment(s.get("signed_at")))
            for s in signers))


def _moment(value: Any) -> str:
    """An ISO 8601 moment with its offset, as given; "" for anything else (a provider's answer is not trusted)."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return ""
    return value if moment.tzinfo is not None else ""


class ESignProvider(Protocol):
    """Anything that runs signing flows: `HttpESignClient`, the simulator, a test's fake.

    `flows` answers the flows of a business key, oldest first, with their signers (who has signed).
    `create_flow`, `signed_document` and `flows` raise `handlers.errors.ProviderError` (refused) or
    `ProviderUnavailable` (down); `parse_callback` raises `handlers.esign.CallbackRejected` for a
    callback that is unsigned, tampered, stale or replayed, and ValueError for a body it cannot read.
    """

    def create_flow(self, request: FlowRequest) -> str: ...

    def signed_document(self, flow_id: str) -> bytes: ...

    def flows(self, business_key: str) -> list[FlowState]: ...

    def parse_callback(self, headers: Mapping[str, str], body: bytes, now: datetime,
                       seen_nonce: Callable[[str], bool]) -> FlowEvent: ...
