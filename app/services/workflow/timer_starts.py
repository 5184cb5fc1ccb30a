"""Timer start events start instances on their schedule, as Camunda 7's do: each firing starts one.

A deploy writes, for each new process version, when each of its timer start events first starts an
instance (`reschedule`: the rows of the process's older version go, as Camunda 7 removes their jobs).
The worker (and `timers run-due`) starts what is due (`start_due`): each row is advanced in the
transaction of the instance it starts, by an UPDATE that names the firing it read, so however many
workers race, a firing starts one instance — the others' UPDATE matches no row and their start is
rolled back. A firing that cannot start an instance (the process cannot be built) is said on the row
(`last_error`: when, and why) and the schedule goes on; it is not tried again every second.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, insert, select, update

from app.engine import timer_starts
from app.extensions import db
from app.models import ProcessVersion, TimerStart
from app.services.clock import now
from app.services.errors import Conflict, ServiceError
from app.services.workflow.step_store import core

log = logging.getLogger("loanflow.worker")
BATCH = 100
ROWS: Table = TimerStart.__table__  # type: ignore[assignment]


@dataclass
class TimerStartReport:
    started: list[int] = field(default_factory=list)  # the instances started
    skipped: int = 0  # started by another worker meanwhile, or no longer due
    failed: int = 0  # a firing that started no instance (said on its row)


def reschedule(specs: dict[str, tuple[int, Any]], at: datetime) -> None:
    """For each process deployed as a new version (process id -> (version id, spec)): its timer start events'
    schedules replace the older version's. One whose value needs data gets none (the lint said why)."""
    if not specs:
        return
    core(delete(ROWS).where(ROWS.c.process_id.in_(sorted(specs))))
    rows = []
    for process_id, (version_id, spec) in sorted(specs.items()):
        for element_id, definition in timer_starts.timer_start_events(spec):
            try:
                schedule = timer_starts.schedule_of(definition, at)
            except timer_starts.NoSchedule:
                continue
            rows.append({"process_id": process_id, "process_version_id": version_id, "element_id": element_id,
                         "next_at": schedule.at, "remaining": schedule.remaining, "started": 0, "created_at": at,
                         "interval_seconds": schedule.interval.total_seconds() if schedule.interval else None,
                         "cron": schedule.cron})
    if rows:
        core(insert(ROWS), rows)


def new_versions(process_ids: list[str]) -> dict[str, int]:
    """The newest version id of each process (as a deploy has just written them)."""
    if not process_ids:
        return {}
    rows = db.session.execute(select(ProcessVersion.process_id, ProcessVersion.id).where(
        ProcessVersion.kind == "process", ProcessVersion.process_id.in_(process_ids))
        .order_by(ProcessVersion.version)).all()
    return {process_id: version_id for process_id, version_id in rows}


def _schedule(row: Any) -> timer_starts.Schedule:
    interval = timedelta(seconds=row.interval_seconds) if row.interval_seconds else None
    return timer_starts.Schedule(row.next_at, row.remaining, interval, row.cron)


def _advance(row: Any, at: datetime, **values: Any) -> None:
    """Move the row past the firing it was read at; `Conflict` when another worker moved it first."""
    following = _schedule(row).following(at)
    moved = core(update(ROWS).where(ROWS.c.id == row.id, ROWS.c.next_at == row.next_at).values(
        next_at=following.at if following else None, remaining=following.remaining if following else 0,
        **values))
    if moved.rowcount != 1:
        raise Conflict("this firing was started by another worker", code="timer_start_taken")


def due_rows(limit: int = BATCH) -> list[Any]:
    return list(db.session.execute(select(ROWS).where(ROWS.c.next_at <= now())
                                   .order_by(ROWS.c.next_at, ROWS.c.id).limit(limit)).all())


def start_one(row: Any) -> int | None:
    """Start the instance of one due firing; its id, or None when another worker took the firing."""
    from app.services.workflow.instances import StartAt, start

    at = now()

    def claim(instance_id: int) -> None:
        _advance(row, at, started=ROWS.c.started + 1, last_started_at=at, last_instance_id=instance_id,
                 last_error=None)

    firing = StartAt(lambda engine, workflow: engine.start_on_timer(workflow, row.element_id), row.element_id,
                     {"timer": row.element_id}, row.process_version_id, claim)
    try:
        return int(start(row.process_id, None, event=firing)["id"])
    except Conflict:
        return None
    except ServiceError as exc:  # the process cannot start: said on the row, and the schedule goes on
        db.session.rollback()
        reason = {"due_at": row.next_at.isoformat(), "why": str(exc.message)}
        try:
            _advance(row, at, last_error=reason)
            db.session.commit()
        except Conflict:
            db.session.rollback()
            return None
        log.warning("timer start event %s of %s started no instance: %s", row.element_id, row.process_id,
                    exc.message)
        raise


def start_due(max_instances: int | None = None) -> TimerStartReport:
    """Start an instance for every timer start event due now, batch by batch (or up to `max_instances`)."""
    report = TimerStartReport()
    seen: set[tuple[int, datetime]] = set()
    while max_instances is None or len(report.started) < max_instances:
        batch = [row for row in due_rows() if (row.id, row.next_at) not in seen]
        if not batch:
            break
        for row in batch:
            seen.add((row.id, row.next_at))
            try:
                started = start_one(row)
            except ServiceError:
                report.failed += 1
                continue
            except Exception:  # one process's failure never stops the others' schedules
                log.exception("starting %s at its timer start event %s failed; it stays due", row.process_id,
                              row.element_id)
                db.session.rollback()
                report.failed += 1
                continue
            if started is None:
                report.skipped += 1
            else:
                report.started.append(started)
            if max_instances is not None and len(report.started) >= max_instances:
                break
    return report


def schedules(process_id: str | None = None) -> list[Any]:
    """The timer start schedules, by process and element (the console's processes page)."""
    query = select(ROWS).order_by(ROWS.c.process_id, ROWS.c.element_id)
    if process_id is not None:
        query = query.where(ROWS.c.process_id == process_id)
    return list(db.session.execute(query).all())


__all__ = ["TimerStartReport", "new_versions", "reschedule", "schedules", "start_due", "start_one"]
