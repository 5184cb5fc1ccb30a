"""The risk adapter's provider-neutral contract: what is asked (`RiskRequest`), what comes back
(`RiskReport`), and who answers (`RiskProvider`).

Both records travel as JSON objects (`to_dict` / `from_dict`), the same shape on the wire between
the real client and a provider, in the simulator's HTTP API, and in a deal's instance data.
`from_dict` raises ValueError on a shape it cannot read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, Protocol, cast

SubjectKind = Literal["id_number", "credit_code"]
SUBJECT_KINDS: tuple[str, ...] = ("id_number", "credit_code")
GRADES: tuple[str, ...] = ("A", "B", "C", "D", "E")  # best to worst
SCORE_MIN, SCORE_MAX = 300, 900


@dataclass(frozen=True)
class RiskRequest:
    """Who is assessed and for what: a person by ID number or an enterprise by unified social credit code.

    `amount` is the amount asked for, a decimal string in yuan ("500000.00"); `product_kind` the
    product's kind (`order_financing`, `pledge_financing`, `credit_loan`).
    """

    subject: str
    subject_kind: SubjectKind
    name: str
    amount: str
    product_kind: str

    def __post_init__(self) -> None:
        if self.subject_kind not in SUBJECT_KINDS:
            raise ValueError(f"subject_kind is one of {', '.join(SUBJECT_KINDS)}")
        if not isinstance(self.subject, str) or not self.subject.strip():
            raise ValueError("subject is required")
        try:
            amount = Decimal(self.amount)
        except (InvalidOperation, TypeError, ValueError) as exc:
            raise ValueError("amount is a decimal string") from exc
        if not amount.is_finite() or amount < 0:
            raise ValueError("amount is a decimal string of zero or more")

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "subject_kind": self.subject_kind, "name": self.name,
                "amount": self.amount, "product_kind": self.product_kind}

    @classmethod
    def from_dict(cls, data: Any) -> RiskRequest:
        if not isinstance(data, dict):
            raise ValueError("a risk request is a JSON object")
        try:
            return cls(subject=_text(data, "subject"), subject_kind=cast(SubjectKind, _text(data, "subject_kind")),
                       name=_text(data, "name", ""), amount=_text(data, "amount"),
                       product_kind=_text(data, "product_kind", ""))
        except KeyError as exc:
            raise ValueError(f"{exc.args[0]} is required") from exc


@dataclass(frozen=True)
class RiskReport:
    """A provider's answer: its report id, a score of 300-900 (higher is better), the grade A (best) to E,
    whether the subject is on a blacklist and which lists it hit, a bureau summary (counts such as
    `overdue_accounts`, `open_loans`, `enquiries_6m`) and the provider that answered.
    """

    report_id: str
    score: int
    grade: str
    blacklisted: bool
    hits: list[str] = field(default_factory=list)
    bureau: dict[str, Any] = field(default_factory=dict)
    provider: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.score, int) or isinstance(self.score, bool) \
                or not SCORE_MIN <= self.score <= SCORE_MAX:
            raise ValueError(f"score is a whole number from {SCORE_MIN} to {SCORE_MAX}")
        if self.grade not in GRADES:
            raise ValueError(f"grade is one of {', '.join(GRADES)}")
        if not isinstance(self.report_id, str) or not self.report_id:
            raise ValueError("report_id is required")

    def to_dict(self) -> dict[str, Any]:
        return {"report_id": self.report_id, "score": self.score, "grade": self.grade,
                "blacklisted": self.blacklisted, "hits": list(self.hits), "bureau": dict(self.bureau),
                "provider": self.provider}

    @classmethod
    def from_dict(cls, data: Any) -> RiskReport:
        if not isinstance(data, dict):
            raise ValueError("a risk report is a JSON object")
        hits, bureau = data.get("hits", []), data.get("bureau", {})
        if not isinstance(hits, list) or not all(isinstance(h, str) for h in hits):
            raise ValueError("hits is a list of strings")
        if not isinstance(bureau, dict):
            raise ValueError("bureau is an object")
        if not isinstance(data.get("blacklisted"), bool):
            raise ValueError("blacklisted is true or false")
        try:
            return cls(report_id=_text(data, "report_id"), score=data["score"], grade=_text(data, "grade"),
                       blacklisted=data["blacklisted"], hits=list(hits), bureau=dict(bureau),
                       provider=_text(data, "provider", ""))
        except KeyError as exc:
            raise ValueError(f"{exc.args[0]} is required") from exc


class RiskProvider(Protocol):
    """Anything that assesses a subject: `SimulatedRisk`, `HttpRiskClient`, a test's fake.

    `assess` raises `handlers.errors.ProviderUnavailable` when the provider cannot be reached and
    `handlers.errors.ProviderError` when it refuses the request (an identifier it does not accept).
    """

    def assess(self, request: RiskRequest) -> RiskReport: ...


def _text(data: dict[str, Any], key: str, default: str | None = None) -> str:
    if key not in data:
        if default is None:
            raise KeyError(key)
        return default
    value = data[key]
    if not isinstance(value, str):
        raise ValueError(f"{key} is a string")
    return value
