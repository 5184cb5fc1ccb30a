"""Which processes a message starts: those whose newest version has a message start event of its name.

A message a process throws that no instance of its business key waits for starts the first of them by
process id (`outbox_delivery`); a deploy that makes a second process start on the same message says so
(`deployment`), since that second one would never start from it.
"""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import ProcessVersion
from app.services.workflow.runtime import runtime


def deployed_message_starts() -> dict[str, frozenset[str]]:
    """By process id, the messages its newest version starts on (processes that start on none left out)."""
    newest = (select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("version"))
              .where(ProcessVersion.kind == "process").group_by(ProcessVersion.process_id).subquery())
    versions = db.session.execute(
        select(ProcessVersion.id, ProcessVersion.process_id).join(newest, (
            ProcessVersion.process_id == newest.c.process_id) & (ProcessVersion.version == newest.c.version))
        .where(ProcessVersion.kind == "process")).all()
    rt = runtime()
    specs = rt.specs.get_many([version_id for version_id, _ in versions])
    found = {process_id: rt.engine.message_starts(specs[version_id][0]) for version_id, process_id in versions}
    return {process_id: names for process_id, names in found.items() if names}


def message_start_processes(name: str) -> list[str]:
    """The processes whose newest version starts on message `name`, by process id."""
    return sorted(pid for pid, names in deployed_message_starts().items() if name in names)
