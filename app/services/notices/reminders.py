"""催办: reminding whoever holds a task that waits too long (`tasks.remind`: the platform's operators, and a
team lead for their own organisation's tasks).

The reminder goes to the task's holder, or while nobody holds it to everyone it is offered to: the users it
names, else the active holders of its lane's role in its organisation (a platform lane: anywhere), else (no
lane) the platform's operators. Each reads it in their own language, in-app and by SMS or e-mail where their
account has one (`sending.send`). The instance's history records it (`task_reminded`, by the sender, with how
many it reached), which the task page and the instance page show; a task is reminded at most once per
`INTERVAL`, and a refusal says when it was and when it may be again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, InstanceEvent, ProcessInstance, TaskCandidate, User, UserRole
from app.models.task import OPEN_TASK_STATES
from app.services import clock, context
from app.services.context import lazy_gettext as _l
from app.services.errors import Conflict, NotFound
from app.services.identity import policy
from app.services.identity.access import ROLE_PARTY, UNLANED_ROLE, task_visible
from app.services.identity.directory import Principal
from app.services.identity.grants import CANDIDATES_LANE
from app.services.notices.sending import send
from app.services.workflow import labels
from app.services.workflow.step_store import record

INTERVAL = timedelta(hours=1)
EVENT = "task_reminded"
NOT_FOUND = _l("There is no such task, or it is not one you may see.")


def _task(task_id: int, actor: Principal) -> HumanTask:
    task = db.session.scalar(select(HumanTask).where(HumanTask.id == task_id, task_visible(actor)))
    if task is None:
        raise NotFound(NOT_FOUND)
    return task


def may_remind(task_id: int, actor: Principal) -> bool:
    """Whether the task page offers the reminder: an open task the actor may remind its holders of."""
    if not policy.may_ever(actor, "tasks.remind"):
        return False  # most readers of a task: no query
    task = db.session.scalar(select(HumanTask).where(HumanTask.id == task_id, task_visible(actor)))
    return task is not None and task.state in OPEN_TASK_STATES and policy.allowed(
        actor, "tasks.remind", org_id=task.org_id)


def recipients(task: HumanTask) -> list[int]:
    """The ids of the active users the task's reminder goes to: its holder, else those it is offered to."""
    active = select(User.id).where(User.active.is_(True))
    if task.state == "claimed" and task.claimed_by_id is not None:
        query = active.where(User.id == task.claimed_by_id)
    elif task.lane == CANDIDATES_LANE:
        query = active.where(User.id.in_(select(TaskCandidate.user_id).where(TaskCandidate.task_id == task.id)))
    else:
        query = active.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == (task.lane or UNLANED_ROLE))))
        if task.lane in ROLE_PARTY and task.org_id is not None:
            query = query.where(User.org_id == task.org_id)
    return list(db.session.scalars(query.order_by(User.id)))


@dataclass(frozen=True)
class Reminded:
    """A reminder sent: when, about which task, by whom (the sender's organisation)."""

    at: datetime
    task: HumanTask
    sender_org_id: int | None


def reminded(instance_id: int) -> list[Reminded]:
    """The reminders sent about the instance's tasks, oldest first (a deal's timeline says them)."""
    rows = db.session.execute(
        select(InstanceEvent.at, InstanceEvent.details, User.org_id).outerjoin(User, User.id == InstanceEvent.actor_id)
        .where(InstanceEvent.instance_id == instance_id, InstanceEvent.kind == EVENT)
        .order_by(InstanceEvent.at, InstanceEvent.id)).all()
    ids = {int(d["task_id"]) for _at, d, _o in rows if isinstance((d or {}).get("task_id"), int)}
    found = {t.id: t for t in db.session.scalars(select(HumanTask).where(HumanTask.id.in_(ids)))} if ids else {}
    return [Reminded(at, found[d["task_id"]], org_id) for at, d, org_id in rows
            if (d or {}).get("task_id") in found]


def _last_reminded(task: HumanTask) -> Any:
    for at, details in db.session.execute(
            select(InstanceEvent.at, InstanceEvent.details).where(
                InstanceEvent.instance_id == task.instance_id, InstanceEvent.kind == EVENT,
                InstanceEvent.element_id == task.element_id).order_by(InstanceEvent.id.desc())):
        if (details or {}).get("task_id") == task.id:
            return at
    return None


def remind(task_id: int, actor: Principal) -> dict[str, Any]:
    """Send the task's reminder (404: a task the actor may not see; 403: not theirs to remind; 409: closed,
    reminded within the hour, or nobody to remind). How many people it reached."""
    task = _task(task_id, actor)
    policy.require(actor, "tasks.remind", org_id=task.org_id, code="not_yours_to_remind", message=_l(
        "Reminding a task's holders needs the platform's operator role, or the team lead role in the task's "
        "organisation."))
    if task.state not in OPEN_TASK_STATES:
        raise Conflict(_l("This task is no longer open: there is nobody to remind."), code="task_closed")
    at = clock.now()
    last = _last_reminded(task)
    if last is not None and at - last < INTERVAL:
        raise Conflict(_l("This task was reminded at %(at)s: a task is reminded at most once an hour. You may "
                          "remind it again after %(next)s.", at=context.moment(last),
                          next=context.moment(last + INTERVAL)), code="reminded_recently")
    to = recipients(task)
    if not to:
        raise Conflict(_l("Nobody can receive this reminder: no active user holds the role this task waits for in "
                          "its organisation. Register one, or ask the organisation to."), code="nobody_to_remind")
    instance = db.session.get(ProcessInstance, task.instance_id)
    key = instance.business_key if instance is not None and instance.business_key else f"#{task.instance_id}"
    base = str(context.config("PUBLIC_URL", "") or "").rstrip("/")
    sender = actor.name
    since = task.created_at.astimezone(context.business_tz()).date().isoformat()
    send("task_reminder", {"task_en": labels.task_title(task.title, task.properties, "en"),
                           "task_zh": labels.task_title(task.title, task.properties, "zh"),
                           "number": key, "since": since, "sender": sender, "link": f"{base}/tasks/{task.id}"},
         user_ids=to, business_key=instance.business_key if instance is not None else None)
    head = instance.last_event_hash if instance is not None else None
    record(task.instance_id, head, EVENT, at, actor.id, task.element_id, {"task_id": task.id, "recipients": len(to)})
    db.session.commit()
    return {"task_id": task.id, "recipients": len(to), "at": at}
