"""Persisting one engine step: instance state, the human-task table and the history, together."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.engine.durations import due_after
from app.engine.runner import ReadyTask, StepOutcome
from app.extensions import db
from app.models import HumanTask, InstanceEvent, ProcessInstance
from app.models.task import OPEN_TASK_STATES


def record(instance_id: int, kind: str, at: datetime, actor_id: int | None = None,
           element_id: str | None = None, details: dict[str, Any] | None = None) -> None:
    """Append one event to an instance's history (flushed with the step's transaction)."""
    db.session.add(InstanceEvent(instance_id=instance_id, kind=kind, element_id=element_id, at=at,
                                 actor_id=actor_id, details=details or {}))


def apply_outcome(instance: ProcessInstance, outcome: StepOutcome, at: datetime,
                  actor_id: int | None, form_ids: dict[str, int], new: bool = False) -> None:
    """Write a step's result: state, summary, task rows that changed and the events they make.

    The instance row is changed last, so the step writes it with a single versioned UPDATE.
    """
    open_rows = [] if new else [row for row in db.session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance.id, HumanTask.state.in_(OPEN_TASK_STATES)))
        if row.state in OPEN_TASK_STATES]  # the task this step completed is closed in memory already
    ready = {t.engine_task_id: t for t in outcome.ready}
    for row in open_rows:
        if row.engine_task_id not in ready:
            row.state = "cancelled"
            row.completed_at = at
            record(instance.id, "task_cancelled", at, None, row.element_id, {"task_id": row.id})
    known = {row.engine_task_id for row in open_rows}
    new_rows = [_task_row(instance.id, t, at, form_ids) for t in outcome.ready if t.engine_task_id not in known]
    if new_rows:
        db.session.add_all(new_rows)
        db.session.flush()
        for row in new_rows:
            record(instance.id, "task_ready", at, None, row.element_id,
                   {"task_id": row.id, "title": row.title, "lane": row.lane})
    instance.state = outcome.state
    instance.data = outcome.data
    instance.status = outcome.status
    instance.updated_at = at
    if outcome.status == "completed":
        instance.ended_at = at
        instance.error = None
        record(instance.id, "completed", at, actor_id, outcome.end_events[0] if outcome.end_events else None,
               {"end_events": outcome.end_events})
    elif outcome.status == "error":
        instance.error = outcome.error
        error = dict(outcome.error or {})
        record(instance.id, "error", at, actor_id, error.pop("element_id", None), error)
    else:
        instance.error = None


def _task_row(instance_id: int, task: ReadyTask, at: datetime, form_ids: dict[str, int]) -> HumanTask:
    props = task.properties
    priority = _priority(props.get("priority"))
    due_at = None
    if props.get("dueIn"):
        try:
            due_at = due_after(props["dueIn"], at)
        except ValueError:
            due_at = None
    return HumanTask(
        instance_id=instance_id, engine_task_id=task.engine_task_id, element_id=task.element_id,
        title=task.title[:255], lane=task.lane, state="ready",
        form_id=form_ids.get(props.get("formJsonSchemaFilename", "")),
        ui_form_id=form_ids.get(props.get("formUiSchemaFilename", "")),
        properties=props, priority=priority, due_at=due_at, created_at=at)


def _priority(raw: str | None) -> int | None:
    try:
        value = int(raw) if raw not in (None, "") else None
    except ValueError:
        return None
    return value if value is None or 1 <= value <= 5 else None
