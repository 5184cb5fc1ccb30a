"""Waking instances whose timers or service retries are due — what the worker and `timers run-due` do.

Due instances are found by the indexed `due_at` column, never by loading workflows. Each one is
stepped in its own transaction after `SELECT … FOR UPDATE SKIP LOCKED` on its row, so several
workers on one PostgreSQL never wake the same instance twice; on SQLite, which has one writer,
the versioned UPDATE turns a race into a harmless 409 for the loser.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select

from app.engine.limits import cap_memory
from app.extensions import db
from app.services import context
from app.services.clock import now
from app.services.errors import Conflict
from app.services.workflow.runtime import runtime
from app.services.workflow.step_runner import atomic_step, run_step
from app.services.workflow.step_store import INSTANCES, core, load_instance

BATCH = 100
log = logging.getLogger("loanflow.worker")


@dataclass
class WakeReport:
    woken: list[int] = field(default_factory=list)
    skipped: int = 0  # taken by another worker meanwhile, or no longer due
    failed: list[int] = field(default_factory=list)  # an error outside the diagram (logged): tried again next pass


def cap_worker_memory() -> None:
    """Cap this worker process's address space at `MEMORY_LIMIT_MB` (0: no cap), before it runs any
    diagram script: a script that grows past it fails alone instead of taking the machine."""
    cap_memory(context.config("MEMORY_LIMIT_MB"))


def due_instance_ids(limit: int = BATCH) -> list[int]:
    at = now()
    return list(core(select(INSTANCES.c.id).where(INSTANCES.c.due_at <= at, INSTANCES.c.status == "waiting")
                     .order_by(INSTANCES.c.due_at, INSTANCES.c.id).limit(limit)).scalars())


def wake_instance(instance_id: int) -> bool:
    """Step one instance if it is (still) due and no other worker holds it; whether it was woken."""
    rt = runtime()
    with atomic_step() as on_commit:
        locked = core(select(INSTANCES.c.id).where(
            INSTANCES.c.id == instance_id, INSTANCES.c.due_at <= now(), INSTANCES.c.status == "waiting")
            .with_for_update(skip_locked=True)).first()
        if locked is None:
            return False
        run_step(load_instance(instance_id), rt.engine.wake, on_commit, None)
    return True


def wake_due(max_instances: int | None = None) -> WakeReport:
    """Wake every instance due now, batch by batch, until none is left (or `max_instances`).

    A diagram's failure is the instance's incident (the step commits it); anything else that goes
    wrong waking one instance is logged and the pass goes on with the others."""
    report = WakeReport()
    seen: set[int] = set()
    while max_instances is None or len(report.woken) < max_instances:
        batch = [i for i in due_instance_ids() if i not in seen]
        if not batch:
            break
        for instance_id in batch:
            seen.add(instance_id)
            try:
                woken = wake_instance(instance_id)
            except Conflict:
                woken = False
            except Exception:  # one instance's failure never stops the others' timers
                log.exception("waking instance %s failed; it stays due", instance_id,
                              extra={"instance_id": instance_id})
                db.session.rollback()
                report.failed.append(instance_id)
                continue
            if woken:
                report.woken.append(instance_id)
            else:
                report.skipped += 1
            if max_instances is not None and len(report.woken) >= max_instances:
                break
    return report
