"""Why a task was cancelled, in the reader's language, when whoever ended its instance said why.

A domain that ends an instance for a reason of its own (the borrower withdrawing the application) passes
`end_instance` a sentence (`app.engine.said.said`); each open task's `task_cancelled` event keeps it, and the
party whose task it was reads it instead of "this task was withdrawn" or "the task changed in the meantime".
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.engine.said import Said, as_json
from app.services.workflow.diagram_reasons import kept_in_language
from app.services.workflow.step_store import EVENTS, core

TOLD = "told"  # the key of the sentence in a `task_cancelled` event's details


def told(sentence: Said | None) -> dict[str, Any]:
    """The details a `task_cancelled` event adds for the sentence (none without one)."""
    return {TOLD: as_json(sentence)} if sentence is not None else {}


def why_cancelled(instance_id: int, task_id: int) -> str | None:
    """What the task's cancellation said, in the reader's language; None when it said nothing."""
    for details in core(select(EVENTS.c.details).where(EVENTS.c.instance_id == instance_id,
                                                       EVENTS.c.kind == "task_cancelled")
                        .order_by(EVENTS.c.id.desc())).scalars():
        if isinstance(details, dict) and details.get("task_id") == task_id:
            return kept_in_language(details[TOLD]) if details.get(TOLD) else None
    return None
