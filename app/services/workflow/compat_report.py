"""The rows of `processes compat` and their summary: what each file and process did, and why not."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from app.engine.errors import DiagramProblem
from app.extensions import db

REASON_CHARS = 200


@dataclass
class Row:
    file: str
    process_id: str  # "-": the file holds no executable process (or is a decision file)
    kind: str = "process"  # process | decision
    parsed: bool = False
    imported: str = "-"  # "<n> change(s): first change" or "-"
    lint_ok: bool = False
    deployed: bool = False
    ran: bool = False
    reason: str = ""
    false_completion: bool = False
    traceback: str = ""  # the type and text of an unexpected exception
    end_events: list[str] = field(default_factory=list)  # the end events its instance reached
    # `processes validate` and the deploy disagreed on the file: what each said ("" when they agree)
    disagreement: str = ""

    @property
    def executable(self) -> bool:
        return self.kind == "process" and self.process_id != "-"


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)

    @property
    def executable(self) -> list[Row]:
        return [r for r in self.rows if r.executable]

    @property
    def ran(self) -> int:
        return sum(1 for r in self.executable if r.ran)

    @property
    def false_completions(self) -> int:
        return sum(1 for r in self.rows if r.false_completion)

    @property
    def tracebacks(self) -> int:
        return sum(1 for r in self.rows if r.traceback)

    @property
    def disagreements(self) -> int:
        """Files (not rows) on which `processes validate` and the deploy gave different verdicts."""
        return len({r.file for r in self.rows if r.disagreement})

    def summary(self) -> str:
        return f"ran {self.ran} of {len(self.executable)} executable processes"

    def as_dicts(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.rows]


def short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= REASON_CHARS else text[:REASON_CHARS - 1] + "…"


def problem_text(problem: DiagramProblem) -> str:
    where = f"{problem.element_id}: " if problem.element_id else ""
    return short(f"{where}{problem.reason}")


def unexpected(row: Row, stage: str, exc: Exception) -> None:
    """An exception other than the platform's refusals: counted as a traceback, the run goes on."""
    db.session.rollback()
    row.traceback = short(f"{type(exc).__name__} in {stage}: {exc}")
    row.reason = row.reason or f"unexpected {type(exc).__name__} in {stage}"
