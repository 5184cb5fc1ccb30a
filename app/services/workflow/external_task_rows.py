"""The external tasks a step parked for their workers, kept as rows (`external_tasks`): written by the step that
parks one (`step_store`), dropped when the instance ends. The workers' side is `external_tasks`."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.extensions import db
from app.models import ExternalTask
from app.services.clock import now


def keep(instance_id: int, awaiting: Sequence[tuple[str, str, str]]) -> None:
    """After a step: the tasks the instance parked for workers, offered (the ones offered already stay as they are)."""
    if not awaiting:
        return
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(ExternalTask).values([
        {"instance_id": instance_id, "engine_task_id": task_id, "element_id": element, "topic": topic,
         "created_at": now()} for task_id, element, topic in awaiting]).on_conflict_do_nothing(
        index_elements=[ExternalTask.instance_id, ExternalTask.engine_task_id]))


def forget(instance_id: int) -> None:
    """An instance that ended: none of its tasks is offered any more."""
    db.session.execute(delete(ExternalTask).where(ExternalTask.instance_id == instance_id))
