"""Incidents: instances that cannot go on by themselves, and retrying them."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from app.engine.runner import TaskNotReady
from app.extensions import db
from app.models import Incident, InstanceEvent
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict, NotFound
from app.services.identity import policy
from app.services.identity.directory import Actor
from app.services.workflow import incident_reasons
from app.services.workflow.queries import get_instance
from app.services.workflow.runtime import runtime
from app.services.workflow.step_runner import atomic_step, run_step
from app.services.workflow.step_store import load_instance


def incident_dict(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id, "instance_id": incident.instance_id, "element_id": incident.element_id,
        "kind": incident.kind, "message": incident.message, "attempts": incident.attempts,
        "last_attempt_at": incident.last_attempt_at, "created_at": incident.created_at,
        "resolved_at": incident.resolved_at, "state": "resolved" if incident.resolved_at else "open",
        # what failed and what to do, in the reader's language (None for a failure of an unknown kind)
        "reason": incident_reasons.reason_text(incident.details),
    }


def list_incidents(actor: Actor, page: int, per_page: int, state: str | None = None,
                   instance_id: int | None = None) -> dict:
    """A page of incidents, newest first: for the platform's staff (`incidents.read`)."""
    policy.require(actor, "incidents.read")
    query = select(Incident)
    if state == "open":
        query = query.where(Incident.resolved_at.is_(None))
    elif state == "resolved":
        query = query.where(Incident.resolved_at.is_not(None))
    if instance_id is not None:
        query = query.where(Incident.instance_id == instance_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.order_by(Incident.id.desc()).limit(per_page).offset((page - 1) * per_page))
    return {"items": [incident_dict(r) for r in rows], "total": total, "page": page, "per_page": per_page}


def get_incident(incident_id: int) -> Incident:
    incident = db.session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(_l("incident not found"))
    return incident


def visible_incident(actor: Actor, incident_id: int) -> Incident:
    """The incident if the actor may see its instance: another organisation's incidents are 404, not 403."""
    incident = get_incident(incident_id)
    get_instance(actor, incident.instance_id)
    return incident


def incident_for(actor: Actor, incident_id: int) -> dict[str, Any]:
    """One incident: 404 unless its instance is visible, then 403 unless `incidents.read`."""
    incident = visible_incident(actor, incident_id)
    policy.require(actor, "incidents.read")
    return incident_dict(incident)


def note_of(note: str | None) -> dict[str, str]:
    text = (note or "").strip()
    return {"note": text} if text else {}


def retry_incident(incident_id: int, actor: Actor, note: str | None = None) -> dict[str, Any]:
    """Run the failed task again; the incident is resolved when the instance gets past it.
    404 unless the actor sees its instance, then 403 unless `incidents.retry`. The note (why, what was
    fixed), if given, goes to the history with who retried."""
    visible_incident(actor, incident_id)
    policy.require(actor, "incidents.retry")
    rt = runtime()
    with atomic_step() as on_commit:
        incident = get_incident(incident_id)
        if incident.resolved_at is not None:
            raise Conflict(_l("incident is already resolved"), code="incident_resolved")
        instance = load_instance(incident.instance_id)
        if instance.status != "error" or not incident.engine_task_id:
            raise Conflict(_l("this incident has no failed task to run again"), code="not_retryable")
        task_id = incident.engine_task_id

        def act(workflow):  # noqa: ANN001, ANN202
            try:
                return rt.engine.retry_failed(workflow, task_id)
            except TaskNotReady as exc:
                raise Conflict(str(exc), code="not_retryable") from None

        run_step(instance, act, on_commit, actor.id,
                 [("incident_retried", incident.element_id, {"incident_id": incident.id, **note_of(note)})])
    db.session.expire_all()
    return incident_dict(get_incident(incident_id))


def next_try_after_retry(incident_id: int) -> datetime | None:
    """When the step an incident's retry ran again is tried next, if it failed again at once and waits for its next
    automatic try (its retry reads as done, the instance as waiting: the repair page says so); else None."""
    incident = get_incident(incident_id)
    retried = db.session.scalar(select(func.max(InstanceEvent.id)).where(
        InstanceEvent.instance_id == incident.instance_id, InstanceEvent.kind == "incident_retried"))
    details = db.session.scalar(select(InstanceEvent.details).where(
        InstanceEvent.instance_id == incident.instance_id, InstanceEvent.kind == "service_failed",
        InstanceEvent.element_id == incident.element_id, InstanceEvent.id > (retried or 0))
        .order_by(InstanceEvent.id.desc()).limit(1))
    try:
        return datetime.fromisoformat(str((details or {})["retry_at"]))
    except (KeyError, ValueError):
        return None
