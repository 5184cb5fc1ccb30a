"""The rows of `processes compat` and their summary: what each file and process did, and why not."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from app.engine.errors import DiagramProblem
from app.engine.said import said
from app.extensions import db
from app.services.workflow import compat_why

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

    @property
    def why(self) -> str:
        """The group of the reason an executable process did not run (`compat_why`); "" otherwise."""
        defect = bool(self.traceback) or self.false_completion
        if not self.executable or (self.ran and not defect):
            return ""
        return compat_why.group_of(self.reason, defect)


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
        return said("ran %(ran)d of %(total)d executable processes", ran=self.ran, total=len(self.executable))

    def ceiling(self) -> compat_why.Ceiling:
        """The rows that did not run, by group, and the ceiling they leave."""
        return compat_why.ceiling(len(self.executable), self.ran, (r.why for r in self.executable if r.why))

    def as_dicts(self) -> list[dict[str, Any]]:
        return [{**asdict(r), "why": r.why} for r in self.rows]


def one_line(text: str) -> str:
    """The text on one line; kept whole (the table shortens it for the screen: `shortened`, while the
    groups of `compat_why` and the JSON read all of it)."""
    return " ".join(str(text).split())


def shortened(text: str) -> str:
    """At most REASON_CHARS characters, for the table on the screen."""
    return text if len(text) <= REASON_CHARS else text[:REASON_CHARS - 1] + "…"


def problem_text(problem: DiagramProblem) -> str:
    where = f"{problem.element_id}: " if problem.element_id else ""
    return one_line(f"{where}{problem.reason}")


def unexpected(row: Row, stage: str, exc: Exception) -> None:
    """An exception other than the platform's refusals: counted as a traceback, the run goes on."""
    db.session.rollback()
    row.traceback = one_line(f"{type(exc).__name__} in {stage}: {exc}")
    row.reason = row.reason or f"unexpected {type(exc).__name__} in {stage}"
