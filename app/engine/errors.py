"""Errors the engine layer raises, in terms the rest of the application understands."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class DiagramProblem:
    """One finding about a diagram: where it is and why it matters."""

    file: str
    element_id: str | None
    reason: str
    line: int | None = None
    severity: str = "error"  # error | warning

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class DiagramRejected(Exception):
    """A diagram (or set of diagrams) that cannot be imported or deployed."""

    def __init__(self, problems: list[DiagramProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.file}: {p.element_id or '-'}: {p.reason}" for p in problems))


class InstanceFault(Exception):
    """An instance cannot go on: the step failed; the reason goes to its history and incident."""

    def __init__(self, message: str, element_id: str | None = None, kind: str = "error") -> None:
        self.element_id = element_id
        self.kind = kind
        super().__init__(message)


class CannotStart(Exception):
    """The process's workflow cannot be built from its spec: the instance is refused, not started."""
