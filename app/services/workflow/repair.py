"""What an instance's repair page shows: its open incidents (what failed and where, in the reader's
language; the exception's text only for the platform's staff), whether it can be cancelled, the other
versions of its process it might move to, and what the reader may do of it (retry, cancel, migrate)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.engine.migration import element_labels
from app.extensions import db
from app.models import Incident, ProcessVersion
from app.services.context import lazy_gettext as _l
from app.services.identity import policy
from app.services.identity.directory import Principal
from app.services.workflow import incident_reasons, labels
from app.services.workflow.queries import get_instance
from app.services.workflow.runtime import runtime

FINISHED = ("completed", "cancelled")
KINDS = {
    "service": _l("A service call failed after its retries"),
    "business_error": _l("A business error that the diagram does not catch"),
    "unknown_operator": _l("The step calls a service operator that is not registered"),
    "depth_limit": _l("The instance ran too many steps in a loop"),
    "external_task_failed": _l("An external worker failed the task and left it no retries"),
}
OTHER_KIND = _l("A step failed")
STATUS_LABELS = {"running": _l("Running"), "waiting": _l("Waiting"), "error": _l("Failed"),
                 "completed": _l("Completed"), "cancelled": _l("Cancelled")}
ELEMENT_STATES = {"ready": _l("a task is open"), "waiting": _l("waiting for an event"),
                  "started": _l("running a subprocess"), "error": _l("failed")}
NO_ELEMENT = _l("the instance as a whole")


@dataclass(frozen=True)
class IncidentView:
    id: int
    element_id: str | None
    element: str  # its name in the reader's language
    what: str  # what kind of step failed, in words
    message: str | None  # the exception's text: for the platform's staff only
    attempts: int | None
    created_at: datetime
    reason: str | None = None  # what failed and what to do (`incident_reasons`), when the engine said it


@dataclass(frozen=True)
class RepairView:
    instance_id: int
    process_id: str
    process_name: str
    version: int
    status: str
    business_key: str | None
    incidents: list[IncidentView]
    versions: list[int]  # the process's other versions, newest first
    may_retry: bool
    may_cancel: bool
    may_migrate: bool
    repairers: str  # who may retry, move and cancel it, in words (said to a reader who may not)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, self.status))


def element_state_label(state: str) -> str:
    """Where an instance is in an element (a migration preview's rows), in words."""
    return str(ELEMENT_STATES.get(state, STATUS_LABELS["running"]))


def repair_view(actor: Principal, instance_id: int, language: str) -> RepairView:
    """The repair page of an instance: 404 unless the actor sees it, then 403 unless `incidents.read`."""
    instance = get_instance(actor, instance_id)
    policy.require(actor, "incidents.read")
    rt = runtime()
    spec, subprocess_specs = rt.specs.workflow_specs(instance.process_version_id, instance.pins or {})
    named = element_labels(spec, subprocess_specs)
    staff = policy.allowed(actor, "incidents.read")
    incidents = []
    for row in db.session.scalars(select(Incident).where(Incident.instance_id == instance.id,
                                                         Incident.resolved_at.is_(None)).order_by(Incident.id)):
        name, props = named.get(row.element_id or "", (None, {}))
        element = labels.task_title(name or row.element_id, props, language) if row.element_id else str(NO_ELEMENT)
        reason = incident_reasons.reason_text(row.details, element if row.element_id else None)
        incidents.append(IncidentView(row.id, row.element_id, element, str(KINDS.get(row.kind, OTHER_KIND)),
                                      row.message if staff and not incident_reasons.in_its_own_words(row.details)
                                      else None, row.attempts, row.created_at, reason))  # said once, as the
        # instance page says it: the engine's own sentence in the reader's language, not again in English
    versions = db.session.execute(select(ProcessVersion.version, ProcessVersion.names).where(
        ProcessVersion.kind == "process", ProcessVersion.process_id == instance.process_id)
        .order_by(ProcessVersion.version.desc())).all()
    names = next((v.names for v in versions if v.version == instance.version), None)
    return RepairView(instance.id, instance.process_id, labels.process_title(names, instance.process_id, language),
                      instance.version, instance.status, instance.business_key, incidents,
                      [v.version for v in versions if v.version != instance.version],
                      policy.allowed(actor, "incidents.retry"), policy.allowed(actor, "instances.cancel"),
                      policy.allowed(actor, "instances.migrate"), str(policy.who_may("incidents.retry")))


def stopped(actor: Principal, instance_id: int | None, language: str) -> dict[str, Any] | None:
    """Whether the instance is stopped on an open incident, as this reader may read it: the platform's staff
    (`incidents.read`) where and why, with the instance to repair; anyone else only that it is (a deal's
    parties read that it is being processed, never the error). None when it is not stopped."""
    if instance_id is None or db.session.scalar(select(Incident.id).where(
            Incident.instance_id == instance_id, Incident.resolved_at.is_(None)).limit(1)) is None:
        return None
    if not policy.allowed(actor, "incidents.read"):
        return {"instance_id": None, "incidents": []}
    view = repair_view(actor, instance_id, language)
    words = {row.id: incident_reasons.own_words(row.details) for row in db.session.scalars(
        select(Incident).where(Incident.instance_id == instance_id, Incident.resolved_at.is_(None)))}
    return {"instance_id": instance_id, "may_retry": view.may_retry,  # the handler's words where it said why
            "incidents": [{"element": i.element, "reason": words.get(i.id) or i.reason or i.message}
                          for i in view.incidents]}
